# shellcheck shell=bash disable=SC2154 # logs, run and say come from the script that sources this
# Sourced by deploy/prod-local.sh: starts long-running processes, restarts
# Refundflow's programs when they die (as systemd or Kubernetes would), and
# stops everything it started, last started first. Not a program.
#
# Needs: logs (a folder) and run (a folder for pid files).

names=()   # name of each process, in start order
cmds=()    # its command line, as one string of quoted words (for a restart)
pids=()    # its current PID
restart=() # "yes" when it is restarted after dying, "no" when its death ends all
started=() # SECONDS when it last started

# launch NAME RESTART CMD...: runs CMD in its own session, so its whole tree
# can be signalled and the terminal's Ctrl-C reaches this script only, with
# its output appended to logs/NAME.log and its PID in run/NAME.pid.
launch() {
	local name="$1" again="$2"
	shift 2
	names+=("$name")
	cmds+=("$(printf '%q ' "$@")")
	restart+=("$again")
	pids+=(0)
	started+=(0)
	start_at $((${#names[@]} - 1))
}

start_at() {
	local i="$1"
	printf '\n==== %s started %s\n' "${names[i]}" "$(date -u +%FT%TZ)" >>"$logs/${names[i]}.log"
	# exec in the subshell: $! is then the process itself. Without job
	# control it is no group leader, so setsid makes the session in place.
	(eval "exec setsid ${cmds[i]}") >>"$logs/${names[i]}.log" 2>&1 </dev/null &
	pids[i]=$!
	started[i]=$SECONDS
	printf '%s\n' "${pids[i]}" >"$run/${names[i]}.pid"
}

# supervise: returns when a process that is not restarted has died (after
# printing the end of its log); restarts the others. A program that dies
# within 5s of its start five times in a row is broken, not unlucky: that
# ends all too.
supervise() {
	local i status fast=0
	while sleep 1; do
		for i in "${!pids[@]}"; do
			kill -0 "${pids[i]}" 2>/dev/null && continue
			status=0
			wait "${pids[i]}" 2>/dev/null || status=$?
			say "${names[i]} (pid ${pids[i]}) exited with status $status"
			if [[ "${restart[i]}" != yes ]]; then
				tail -n 30 "$logs/${names[i]}.log" >&2
				return 1
			fi
			if ((SECONDS - started[i] < 5)); then
				fast=$((fast + 1))
				if ((fast >= 5)); then
					say "${names[i]} keeps dying at start; the end of its log:"
					tail -n 30 "$logs/${names[i]}.log" >&2
					return 1
				fi
			else
				fast=0
			fi
			start_at "$i"
			say "${names[i]} restarted as pid ${pids[i]}"
		done
	done
}

# alive NAME...: fails, printing the end of its log, if one has died.
alive() {
	local i name
	for name in "$@"; do
		for i in "${!names[@]}"; do
			[[ "${names[i]}" == "$name" ]] || continue
			if ! kill -0 "${pids[i]}" 2>/dev/null; then
				say "$name exited; the end of its log ($logs/$name.log):"
				tail -n 30 "$logs/$name.log" >&2
				return 1
			fi
		done
	done
}

# stop_all: SIGTERM to each process group, last started first, SIGKILL after
# 20s; PostgreSQL goes last, after the server that uses it.
# shellcheck disable=SC2317 # called by the EXIT trap
stop_all() {
	trap - INT TERM EXIT
	[[ ${#pids[@]} -gt 0 ]] || return 0
	say "stopping..."
	local i pid deadline
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid="${pids[i]}"
		kill -TERM -- "-$pid" 2>/dev/null || true
		deadline=$((SECONDS + 20))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "  ${names[i]} did not stop within 20s: killed"
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
		rm -f "$run/${names[i]}.pid"
		say "  ${names[i]} stopped"
	done
}
