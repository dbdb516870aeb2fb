# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Sourced by the scripts of the Docker-free production shape (deploy/local/
# and deploy/prod-local.sh): where things are, and the one Temporal server
# version they install. Not a program.

# The server the pinned Temporal CLI (v1.5.1) embeds as its dev server, and
# the temporalio/server image docker-compose.yml runs: one server everywhere
# (internal/deploycheck checks all three agree).
TEMPORAL_SERVER_VERSION="v1.29.1"
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
