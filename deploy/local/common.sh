# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Sourced by the scripts of the Docker-free production shape (deploy/local/
# and deploy/prod-local.sh): where things are, and the one Temporal server
# version they install. Not a program.

# The newest patch the Go module proxy serves of the server line the pinned
# Temporal CLI (v1.5.1) embeds as its dev server (v1.29.1), and the
# temporalio/server image docker-compose.yml runs: one line everywhere, the
# newest patch in production (internal/deploycheck checks they agree).
# `go list -m -versions` lists only v1.29.1 of this line; v1.29.2 is served
# when asked for by name (go list -m go.temporal.io/server@v1.29.2).
TEMPORAL_SERVER_VERSION="v1.29.2"
TEMPORAL_SERVER_MODULE="go.temporal.io/server"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools_bin="$repo_root/bin"

# pg_bin prints the folder of the newest installed PostgreSQL server
# (Debian keeps initdb and postgres off PATH, in /usr/lib/postgresql/N/bin),
# or PG_BIN when set; nothing when there is none.
pg_bin() {
	if [[ -n "${PG_BIN:-}" ]]; then
		printf '%s\n' "$PG_BIN"
		return 0
	fi
	local dir
	# The glob sorts 9 after 16: order by the major version.
	for dir in /usr/lib/postgresql/*/bin; do
		[[ -x "$dir/postgres" && -x "$dir/initdb" ]] && printf '%s\n' "$dir"
	done | sort -t/ -k4,4n | tail -n 1
}
