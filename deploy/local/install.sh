#!/usr/bin/env bash
# Installs what the Docker-free production shape runs, only what is missing
# or of another version, and is quiet when there is nothing to do:
#
#   PostgreSQL     Debian's postgresql package, with apt-get (as root: CI runs
#                  as root with no stdin); PG_BIN points at another install
#   Temporal       bin/temporal-server and bin/temporal-sql-tool, built from
#                  go.temporal.io/server at the version in common.sh
#   Temporal CLI   bin/temporal, through scripts/install-tools.sh
#
# The version stamp is the binaries' own Go build info, as in
# scripts/install-tools.sh: it cannot drift from the binary.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

say() { printf 'install: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

# built_version BINARY prints the server module version that built it.
built_version() {
	[[ -x "$1" ]] || return 0
	{ go version -m "$1" 2>/dev/null || true; } |
		awk -v m="$TEMPORAL_SERVER_MODULE" '$1 == "mod" && $2 == m { print $3 }'
}

install_postgres() {
	[[ -n "$(pg_bin)" ]] && return 0
	export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
	if [[ $EUID -ne 0 ]]; then
		die "no PostgreSQL server here; install Debian's: sudo apt-get install postgresql (or set PG_BIN)"
	fi
	say "installing Debian's postgresql package..."
	local start=$SECONDS
	# Quiet unless it fails: no questions, no service restart prompts.
	local log
	log="$(mktemp)"
	# A fresh machine may have no package lists yet.
	if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } \
		</dev/null >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		die "apt-get install postgresql failed"
	fi
	rm -f "$log"
	[[ -n "$(pg_bin)" ]] || die "the postgresql package installed no server in /usr/lib/postgresql/*/bin"
	say "PostgreSQL $("$(pg_bin)/postgres" --version | awk '{ print $3 }') ready in $((SECONDS - start))s"
}

install_server() {
	local server="$tools_bin/temporal-server" sql="$tools_bin/temporal-sql-tool"
	if [[ "$(built_version "$server")" == "$TEMPORAL_SERVER_VERSION" && "$(built_version "$sql")" == "$TEMPORAL_SERVER_VERSION" ]]; then
		return 0
	fi
	say "building the Temporal server and SQL tool $TEMPORAL_SERVER_VERSION into bin/ (was: $(built_version "$server" || true))"
	local start=$SECONDS tmp
	tmp="$(mktemp -d)"
	# go install names the binaries after their folders (server, sql); one
	# command builds the shared dependencies once.
	GOBIN="$tmp" go install \
		"$TEMPORAL_SERVER_MODULE/cmd/server@$TEMPORAL_SERVER_VERSION" \
		"$TEMPORAL_SERVER_MODULE/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
	mv -f "$tmp/server" "$server"
	mv -f "$tmp/sql" "$sql"
	rmdir "$tmp"
	for b in "$server" "$sql"; do
		[[ "$(built_version "$b")" == "$TEMPORAL_SERVER_VERSION" ]] ||
			die "$b reports '$(built_version "$b")' after installing $TEMPORAL_SERVER_VERSION"
	done
	say "Temporal server $TEMPORAL_SERVER_VERSION ready in $((SECONDS - start))s"
}

mkdir -p "$tools_bin"
# One installer at a time: `make prod-local` and the tests may start together.
exec 9>"$tools_bin/.install-prod.lock"
flock 9

install_postgres
install_server
"$repo_root/scripts/install-tools.sh"
