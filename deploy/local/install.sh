#!/usr/bin/env bash
# Installs what the Docker-free production shape runs, only what is missing
# or of another version, and is quiet when there is nothing to do:
#
#   PostgreSQL     Debian's postgresql package, with apt-get (as root: CI runs
#                  as root with no stdin); PG_BIN points at another install
#   Temporal CLI   bin/temporal, through scripts/install-tools.sh
#   Temporal       bin/temporal-server and bin/temporal-sql-tool, built from
#                  go.temporal.io/server at the version in common.sh: a patch
#                  of the line the CLI embeds (the dev server), never older
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

# build_info BINARY KIND MODULE prints the version of MODULE in BINARY's Go
# build info: KIND "mod" for the module of its main package, "dep" for a
# dependency.
build_info() {
	[[ -x "$1" ]] || return 0
	{ go version -m "$1" 2>/dev/null || true; } |
		awk -v k="$2" -v m="$3" '$1 == k && $2 == m { print $3 }'
}

built_version() { build_info "$1" mod "$TEMPORAL_SERVER_MODULE"; }

# minor_line v1.29.2 prints v1.29; patch_not_older A B: A's patch >= B's.
minor_line() { printf '%s\n' "${1%.*}"; }
patch_not_older() { (( ${1##*.} >= ${2##*.} )); }

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
	# The pinned Temporal CLI embeds a server of this line as its dev
	# server; production runs the newest patch of that line, so a fix
	# reaches production without waiting for a CLI release.
	local cli="$tools_bin/temporal" cli_version embedded
	cli_version="$(build_info "$cli" mod github.com/temporalio/cli)"
	embedded="$(build_info "$cli" dep "$TEMPORAL_SERVER_MODULE")"
	if [[ -z "$cli_version" || "$(minor_line "$embedded")" != "$(minor_line "$TEMPORAL_SERVER_VERSION")" ]] ||
		! patch_not_older "$TEMPORAL_SERVER_VERSION" "$embedded"; then
		die "bin/temporal (CLI ${cli_version:-?}) embeds server ${embedded:-?}; $TEMPORAL_SERVER_VERSION is not a patch of its line at least as new: fix deploy/local/common.sh or scripts/install-tools.sh"
	fi
	say "building the Temporal server and SQL tool $TEMPORAL_SERVER_VERSION into bin/ (was: $(built_version "$server"))"
	local start=$SECONDS tmp cli_dir
	# Built in the CLI's module graph: the server's own code at its version,
	# with the dependency versions of the dev server the tests run. It also
	# finds nearly every package already compiled by the CLI's build: 12s
	# here, where `go install go.temporal.io/server/cmd/server@v1.29.1`
	# alone, with the server's own dependency versions, took 5 to 11 minutes.
	cli_dir="$(cd "$repo_root" && go mod download -json "github.com/temporalio/cli@$cli_version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -f "$cli_dir/go.mod" ]] || die "no go.mod for github.com/temporalio/cli@$cli_version in the module cache"
	tmp="$(mktemp -d)"
	cp "$cli_dir/go.mod" "$cli_dir/go.sum" "$tmp/"
	chmod u+w "$tmp/go.mod" "$tmp/go.sum"
	# -mod=mod: the server's SQL drivers may need go.sum lines the CLI lacks.
	# The newer patch replaces the CLI's server in that graph; the rest of
	# the graph moves only where the patch itself requires it.
	(cd "$tmp" && GOFLAGS=-mod=mod GOWORK=off go get "$TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION" &&
		GOFLAGS=-mod=mod GOWORK=off go build -o "$tmp/" \
		"$TEMPORAL_SERVER_MODULE/cmd/server" "$TEMPORAL_SERVER_MODULE/cmd/tools/sql") ||
		die "go build of the Temporal server failed"
	mv -f "$tmp/server" "$server"
	mv -f "$tmp/sql" "$sql"
	rm -rf "$tmp"
	for b in "$server" "$sql"; do
		[[ "$(built_version "$b")" == "$TEMPORAL_SERVER_VERSION" ]] ||
			die "$b reports '$(built_version "$b")' after building $TEMPORAL_SERVER_VERSION"
	done
	say "Temporal server $TEMPORAL_SERVER_VERSION ready in $((SECONDS - start))s"
}

mkdir -p "$tools_bin"
# One installer at a time: `make prod-local` and the tests may start together.
exec 9>"$tools_bin/.install-prod.lock"
flock 9

install_postgres
# The CLI first: the server is built in its module graph.
"$repo_root/scripts/install-tools.sh"
install_server
