#!/usr/bin/env bash
# Runs a private PostgreSQL cluster for Temporal in the foreground, listening
# on 127.0.0.1:PORT only, with its data in DIR/data; creates the cluster
# first when DIR has none. SIGTERM stops it cleanly (SIGINT faster).
#
#   deploy/local/postgres.sh DIR PORT
#
# The cluster's superuser is "temporal", as in docker-compose.yml, with a
# password generated when the cluster is created and kept in DIR/password
# (mode 600): the schema tool and the server read it from there. PostgreSQL
# refuses to run as root, so under root the cluster belongs to the "postgres"
# user that Debian's package creates (POSTGRES_OS_USER names another).
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

die() {
	printf 'postgres.sh: %s\n' "$*" >&2
	exit 1
}

[[ $# -eq 2 ]] || die "usage: deploy/local/postgres.sh DIR PORT"
dir="$1"
port="$2"
bin="$(pg_bin)"
[[ -n "$bin" ]] || die "no PostgreSQL server installed: deploy/local/install.sh installs Debian's"

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
run_as=()
if [[ $EUID -eq 0 ]]; then
	user="${POSTGRES_OS_USER:-postgres}"
	id "$user" >/dev/null 2>&1 || die "user $user does not exist (POSTGRES_OS_USER names the user to run PostgreSQL as)"
	chown "$user:" "$dir"
	# setpriv execs in place: the PID the caller started stays PostgreSQL's,
	# so its signals reach the server itself.
	run_as=(setpriv "--reuid=$user" "--regid=$user" --init-groups)
	"${run_as[@]}" test -w "$dir" ||
		die "$user cannot write $dir: put it where every user may enter each parent folder"
fi

if [[ ! -s "$dir/data/PG_VERSION" ]]; then
	(
		umask 077
		head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$dir/password"
	)
	[[ $EUID -ne 0 ]] || chown "$user:" "$dir/password"
	rm -rf "$dir/data"
	"${run_as[@]}" "$bin/initdb" --pgdata="$dir/data" --username=temporal --pwfile="$dir/password" \
		--auth-host=scram-sha-256 --auth-local=peer --encoding=UTF8 --no-locale --no-instructions >/dev/null
	echo "postgres.sh: created a cluster in $dir/data"
fi

# No Unix socket: everything connects over loopback TCP with the password.
# max_connections covers the server's pools: one per service per store, up to
# 4 x (20 + 10) with the defaults of deploy/temporal/config (see
# docs/production.md), plus the tools.
exec "${run_as[@]}" "$bin/postgres" -D "$dir/data" \
	-c listen_addresses=127.0.0.1 -p "$port" -c unix_socket_directories= \
	-c max_connections=200
