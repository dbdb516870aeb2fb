# shellcheck shell=bash disable=SC2154 # logs (and run, stop_grace) come from the script that sources this
# Sourced by scripts/dev.sh (make dev) and deploy/prod-local.sh (make
# prod-local): the one way both start, watch and stop their programs. Each
# runs in the background in its own session, with its environment and its
# output appended to LOGS/NAME.log; a start waits for a health check; one
# marked so is restarted when it dies (as systemd or Kubernetes would); on
# exit or Ctrl-C everything stops, last started first. Not a program.
#
# The script that sources this provides:
#   say, die    print a line; print it to stderr and exit 1
#   logs        the folder of the NAME.log files
#   run         optional: a folder for NAME.pid files, each the current PID
#   stop_grace  optional: seconds from SIGTERM to SIGKILL (default 20)
#   before_stop optional: a function stop_on_exit runs before stopping

names=()   # name of each process, in start order
cmds=()    # its command line, as one string of quoted words (for a restart)
pids=()    # its current PID
restart=() # "yes" when it is restarted after dying, "no" when its death ends all
started=() # SECONDS when it last started

# port_busy PORT: something listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# where_logs: the log folder as the user reads it, relative when it is
# under the working directory.
where_logs() { printf '%s' "${logs#"$PWD"/}"; }

# log_files: the logs of all started processes, e.g. .dev/logs/{a,b}.log.
log_files() {
	local IFS=,
	if ((${#names[@]} == 1)); then
		printf '%s/%s.log' "$(where_logs)" "${names[0]}"
	else
		printf '%s/{%s}.log' "$(where_logs)" "${names[*]}"
	fi
}

# launch NAME RESTART CMD...: runs CMD in its own session, so its whole tree
# can be signalled and the terminal's Ctrl-C reaches the script only, with
# its output appended to logs/NAME.log (and its PID in run/NAME.pid). RESTART
# is yes or no, as supervise reads it.
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
	if [[ -n "${run:-}" ]]; then
		printf '%s\n' "${pids[i]}" >"$run/${names[i]}.pid"
	fi
}

# log_end I WHY: says WHY, then the end of process I's log, to stderr.
log_end() {
	local i="$1"
	say "$2; the end of $(where_logs)/${names[i]}.log:" >&2
	tail -n 30 "$logs/${names[i]}.log" >&2
}

# alive NAME...: fails, printing the end of its log, if one of them has died.
alive() {
	local i
	for i in "${!names[@]}"; do
		if [[ " $* " == *" ${names[i]} "* ]] && ! kill -0 "${pids[i]}" 2>/dev/null; then
			log_end "$i" "${names[i]} exited"
			return 1
		fi
	done
}

# all_alive: alive, for every process started.
all_alive() { alive "${names[@]}"; }

# wait_for WHAT SECONDS NAME CMD...: polls CMD until it succeeds; dies if a
# started process dies first, or after SECONDS pointing at NAME's log.
wait_for() {
	local what="$1" secs="$2" name="$3"
	shift 3
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		all_alive || die "$what did not start"
		((SECONDS < deadline)) || die "$what not ready after ${secs}s (see $(where_logs)/$name.log)"
		sleep 0.3
	done
}

# supervise: returns 1 when a process that is not restarted has died (after
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
			if [[ "${restart[i]}" != yes ]]; then
				log_end "$i" "${names[i]} (pid ${pids[i]}) exited with status $status"
				return 1
			fi
			say "${names[i]} (pid ${pids[i]}) exited with status $status"
			if ((SECONDS - started[i] < 5)); then
				fast=$((fast + 1))
				if ((fast >= 5)); then
					log_end "$i" "${names[i]} keeps dying at start"
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

# stop_all: SIGTERM to each process group, last started first (so a
# database goes after the server that uses it), SIGKILL after stop_grace.
stop_all() {
	trap - INT TERM EXIT
	[[ ${#pids[@]} -gt 0 ]] || return 0
	local i pid deadline grace="${stop_grace:-20}"
	printf '\n'
	say "stopping..."
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid="${pids[i]}"
		kill -TERM -- "-$pid" 2>/dev/null || true
		deadline=$((SECONDS + grace))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "  ${names[i]} did not stop within ${grace}s: killed"
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
		if [[ -n "${run:-}" ]]; then
			rm -f "$run/${names[i]}.pid"
		fi
		say "  ${names[i]} stopped"
	done
}

# stop_on_exit: on exit, Ctrl-C or SIGTERM, runs before_stop (when the
# script defines it) and then stop_all. Ctrl-C and SIGTERM exit 0: stopping
# is what was asked.
stop_on_exit() {
	trap on_exit_stop EXIT
	trap 'exit 0' INT TERM
}

# shellcheck disable=SC2317 # called by the EXIT trap
on_exit_stop() {
	if declare -F before_stop >/dev/null; then before_stop; fi
	stop_all
}
