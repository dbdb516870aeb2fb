#!/usr/bin/env bash
# make prod-local: Refundflow in its production shape on this machine,
# without Docker: what docker-compose.yml runs, from the same files.
#
#   PostgreSQL     127.0.0.1:55432, a private cluster in .prod/postgres
#   schemas        deploy/temporal/setup-postgres.sh (compose's temporal-schema)
#   Temporal       the real server (not the dev server), 127.0.0.1:7333, with
#                  deploy/temporal/config/refundflow-postgres.yaml through
#                  deploy/temporal/start-server.sh (compose's temporal)
#   namespace      deploy/temporal/create-namespace.sh (compose's temporal-init)
#   sandbox        :8091, the gateway and Genesys stand-in
#   workers        2, polling one task queue
#   starters       2, on :8081 and :8082, both taking webhooks
#
# It installs what is missing first (deploy/local/install.sh: Debian's
# postgresql package, the server and its SQL tool into bin/). A program
# that dies is restarted, as an orchestrator would (kill -9 a worker, and
# see the other carry on and the first come back); PostgreSQL or Temporal
# dying stops everything. Ctrl-C (or SIGTERM) stops all it started. State
# stays in .prod/, so a restart carries on; `rm -rf .prod` forgets it.
#
# Settings (environment):
#   PROD_DIR            state, logs, built programs    .prod
#   PROD_PG_PORT        PostgreSQL                     55432
#   PROD_TEMPORAL_PORT  frontend gRPC; the server's other ports follow it
#                       (+1 history, +2 matching, +6 worker, +10 HTTP,
#                       -300.. membership; below 32758)  7333
#   PROD_SANDBOX_PORT                                  8091
#   PROD_STARTER_PORTS  one starter per port           "8081 8082"
#   PROD_WORKERS        how many workers               2
#   PROD_RETENTION      the namespace's retention      2160h (90 days)
# and any REFUNDFLOW_* variable, which wins over what this script sets
# (except each starter's REFUNDFLOW_LISTEN_ADDR and REFUNDFLOW_TEMPORAL_ADDRESS).
#
# When everything is ready it writes $PROD_DIR/demo.env (the URLs and
# tokens, in the form scripts/demo.sh reads) and $PROD_DIR/run/NAME.pid.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/local/common.sh
source "$here/local/common.sh"
cd "$repo_root"

say() { printf 'prod-local: %s\n' "$*"; }
die() {
	say "$*" >&2
	exit 1
}

prod="${PROD_DIR:-$repo_root/.prod}"
mkdir -p "$prod"
prod="$(cd "$prod" && pwd)"
logs="$prod/logs"
run="$prod/run"
pg_port="${PROD_PG_PORT:-55432}"
temporal_port="${PROD_TEMPORAL_PORT:-7333}"
sandbox_port="${PROD_SANDBOX_PORT:-8091}"
read -r -a starter_ports <<<"${PROD_STARTER_PORTS:-8081 8082}"
workers="${PROD_WORKERS:-2}"
retention="${PROD_RETENTION:-2160h}"
namespace="${REFUNDFLOW_TEMPORAL_NAMESPACE:-default}"
temporal_address="127.0.0.1:$temporal_port"
sandbox_url="http://127.0.0.1:$sandbox_port"

# shellcheck source=SCRIPTDIR/../scripts/lib/processes.sh
source "$repo_root/scripts/lib/processes.sh"

# timed WHAT CMD...: runs a set-up step, saying how long it took.
timed() {
	local what="$1" start=$SECONDS
	shift
	"$@" || die "$what failed"
	say "$what: $((SECONDS - start))s"
}

# --- what must be there first --------------------------------------------------
timed "install check" "$here/local/install.sh"

# The server's ports, laid out as in its own configs around the frontend's.
# It records membership ports in a smallint column: all must stay below 32768.
if ((temporal_port < 1324 || temporal_port > 32757)); then
	die "PROD_TEMPORAL_PORT must be between 1324 and 32757 (its layout spans -300..+10)"
fi
export FRONTEND_GRPC_PORT="$temporal_port"
export FRONTEND_HTTP_PORT=$((temporal_port + 10))
export HISTORY_GRPC_PORT=$((temporal_port + 1))
export MATCHING_GRPC_PORT=$((temporal_port + 2))
export WORKER_GRPC_PORT=$((temporal_port + 6))
export FRONTEND_MEMBERSHIP_PORT=$((temporal_port - 300))
export HISTORY_MEMBERSHIP_PORT=$((temporal_port - 299))
export MATCHING_MEMBERSHIP_PORT=$((temporal_port - 298))
export WORKER_MEMBERSHIP_PORT=$((temporal_port - 294))
for p in "$pg_port" "$sandbox_port" "${starter_ports[@]}" \
	"$FRONTEND_GRPC_PORT" "$FRONTEND_HTTP_PORT" "$HISTORY_GRPC_PORT" "$MATCHING_GRPC_PORT" "$WORKER_GRPC_PORT" \
	"$FRONTEND_MEMBERSHIP_PORT" "$HISTORY_MEMBERSHIP_PORT" "$MATCHING_MEMBERSHIP_PORT" "$WORKER_MEMBERSHIP_PORT"; do
	if port_busy "$p"; then
		die "port $p is already in use: is another 'make prod-local' running? (logs in $logs)"
	fi
done

mkdir -p "$logs" "$run" "$prod/bin"
rm -f "$prod/demo.env"
# Built into the state folder, not bin/: `make dev` may be building there.
build() {
	local prog
	for prog in sandbox worker starter; do
		go build -o "$prod/bin/$prog" "./$prog" || return 1
	done
}
timed "build sandbox, worker, starter" build

# The ready marker goes first: whoever waits for it must not see a stale one.
# shellcheck disable=SC2317 # called by the EXIT trap
before_stop() { rm -f "$prod/demo.env"; }
stop_on_exit

# --- PostgreSQL and the schemas --------------------------------------------------
pg="$(pg_bin)"
start=$SECONDS
launch postgres no "$here/local/postgres.sh" "$prod/postgres" "$pg_port"
wait_for "PostgreSQL" 120 postgres "$pg/pg_isready" -q -h 127.0.0.1 -p "$pg_port"
say "PostgreSQL ready on 127.0.0.1:$pg_port: $((SECONDS - start))s"

export POSTGRES_SEEDS=127.0.0.1 DB_PORT="$pg_port" POSTGRES_USER=temporal
POSTGRES_PWD="$(cat "$prod/postgres/password")"
export POSTGRES_PWD

setup_schema() {
	local module
	# The schema files of the very module the server was built from.
	module="$(go mod download -json "$TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -d "$module/schema/postgresql/v12" ]] || {
		say "no schema folder in the module cache ($module)"
		return 1
	}
	SQL_TOOL="$tools_bin/temporal-sql-tool" SQL_HOST=127.0.0.1 SQL_PORT="$pg_port" \
		SQL_USER=temporal SQL_PASSWORD="$POSTGRES_PWD" SCHEMA_DIR="$module/schema/postgresql/v12" \
		sh "$repo_root/deploy/temporal/setup-postgres.sh" >>"$logs/schema.log" 2>&1 || {
		tail -n 20 "$logs/schema.log" >&2
		return 1
	}
}
timed "schemas" setup_schema

# --- the Temporal server and the namespace -------------------------------------
launch temporal no env LOG_LEVEL="${TEMPORAL_LOG_LEVEL:-warn}" TEMPORAL_SERVER_BIN="$tools_bin/temporal-server" \
	BIND_ON_IP=127.0.0.1 sh "$repo_root/deploy/temporal/start-server.sh"
start=$SECONDS
wait_for "the Temporal server" 180 temporal "$tools_bin/temporal" operator cluster health --address "$temporal_address"
say "Temporal server ready on $temporal_address: $((SECONDS - start))s"

# The server keeps the shard count the cluster was created with and ignores
# another one in the config, with only a warning in its log: say it louder.
want_shards="$(sed -n 's/^  numHistoryShards: \([0-9][0-9]*\)$/\1/p' "$repo_root/deploy/temporal/config/refundflow-postgres.yaml")"
have_shards="$("$tools_bin/temporal" operator cluster describe --address "$temporal_address" -o json |
	sed -n 's/^ *"historyShardCount": \([0-9][0-9]*\),*$/\1/p')"
if [[ "$have_shards" != "$want_shards" ]]; then
	say "WARNING: this cluster has $have_shards history shards, the config says $want_shards;"
	say "         the count is fixed when a cluster is created: rm -rf $prod to start over with $want_shards"
fi

create_namespace() {
	TEMPORAL_CLI="$tools_bin/temporal" TEMPORAL_ADDRESS="$temporal_address" NAMESPACE="$namespace" \
		NAMESPACE_RETENTION="$retention" sh "$repo_root/deploy/temporal/create-namespace.sh" >>"$logs/namespace.log" 2>&1 || {
		tail -n 20 "$logs/namespace.log" >&2
		return 1
	}
}
timed "namespace $namespace (retention $retention) and search attributes" create_namespace

# --- Refundflow -------------------------------------------------------------------
export REFUNDFLOW_TEMPORAL_ADDRESS="$temporal_address"
export REFUNDFLOW_SANDBOX_ADDR="127.0.0.1:$sandbox_port"
export REFUNDFLOW_SANDBOX_STATE_FILE="${REFUNDFLOW_SANDBOX_STATE_FILE-$prod/sandbox-ledger.json}"
export REFUNDFLOW_SANDBOX_CLIENTS="${REFUNDFLOW_SANDBOX_CLIENTS-sandbox-gateway:sandbox-gateway-secret,sandbox-genesys:sandbox-genesys-secret}"
export REFUNDFLOW_GATEWAY_REFUND_URL="${REFUNDFLOW_GATEWAY_REFUND_URL-$sandbox_url/erp/refunds}"
export REFUNDFLOW_GATEWAY_CHARGEBACK_URL="${REFUNDFLOW_GATEWAY_CHARGEBACK_URL-$sandbox_url/erp/chargebacks}"
export REFUNDFLOW_GATEWAY_TOKEN_URL="${REFUNDFLOW_GATEWAY_TOKEN_URL-$sandbox_url/oauth/token}"
export REFUNDFLOW_GATEWAY_CLIENT_ID="${REFUNDFLOW_GATEWAY_CLIENT_ID-sandbox-gateway}"
export REFUNDFLOW_GATEWAY_CLIENT_SECRET="${REFUNDFLOW_GATEWAY_CLIENT_SECRET-sandbox-gateway-secret}"
# An outage reaches finance review in 2 minutes, not the contract's 10. Not
# shorter: the window must outlast one attempt (4 x the 15s gateway timeout
# + 5s), or an attempt lost with a dying worker, or a task lost between
# server and worker under load, goes to review instead of being retried.
export REFUNDFLOW_GATEWAY_RETRY_WINDOW="${REFUNDFLOW_GATEWAY_RETRY_WINDOW-2m}"
export REFUNDFLOW_GENESYS_API_URL="${REFUNDFLOW_GENESYS_API_URL-$sandbox_url}"
export REFUNDFLOW_GENESYS_LOGIN_URL="${REFUNDFLOW_GENESYS_LOGIN_URL-$sandbox_url}"
export REFUNDFLOW_GENESYS_CLIENT_ID="${REFUNDFLOW_GENESYS_CLIENT_ID-sandbox-genesys}"
export REFUNDFLOW_GENESYS_CLIENT_SECRET="${REFUNDFLOW_GENESYS_CLIENT_SECRET-sandbox-genesys-secret}"
export REFUNDFLOW_GENESYS_WORKTYPE_ID="${REFUNDFLOW_GENESYS_WORKTYPE_ID-7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c}"
export REFUNDFLOW_GENESYS_QUEUE_ID="${REFUNDFLOW_GENESYS_QUEUE_ID-0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b}"
export REFUNDFLOW_GENESYS_FAILED_WRAPUP_CODE_ID="${REFUNDFLOW_GENESYS_FAILED_WRAPUP_CODE_ID-5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b}"
export REFUNDFLOW_WEBHOOK_TOKENS="${REFUNDFLOW_WEBHOOK_TOKENS-prod-webhook-token}"
export REFUNDFLOW_APPROVER_TOKENS="${REFUNDFLOW_APPROVER_TOKENS-alice:prod-approver-token}"

launch sandbox yes "$prod/bin/sandbox"
wait_for "the sandbox" 30 sandbox curl -fsS "$sandbox_url/healthz"

for ((n = 1; n <= workers; n++)); do
	launch "worker-$n" yes "$prod/bin/worker"
done
starter_urls=()
for n in "${!starter_ports[@]}"; do
	launch "starter-$((n + 1))" yes env "REFUNDFLOW_LISTEN_ADDR=127.0.0.1:${starter_ports[n]}" "$prod/bin/starter"
	starter_urls+=("http://127.0.0.1:${starter_ports[n]}")
done
for n in "${!starter_urls[@]}"; do
	wait_for "starter-$((n + 1))" 60 "starter-$((n + 1))" curl -fsS "${starter_urls[n]}/readyz"
done
sleep 1
for ((n = 1; n <= workers; n++)); do
	alive "worker-$n" || die "worker-$n stopped during start-up"
done

webhook_token="${REFUNDFLOW_WEBHOOK_TOKENS%%,*}"
approver_token="$(printf '%s' "${REFUNDFLOW_APPROVER_TOKENS%%,*}" | cut -d: -f2-)"
# Last, so that its presence means ready. Mode 600: it holds the tokens.
(
	umask 077
	cat >"$prod/demo.env.tmp" <<ENV
STARTER_URL=${starter_urls[0]}
STARTER_URLS="${starter_urls[*]}"
SANDBOX_URL=$sandbox_url
UI_URL=
NAMESPACE=$namespace
TEMPORAL_ADDRESS=$temporal_address
WEBHOOK_TOKEN=$webhook_token
APPROVER_TOKEN=$approver_token
ENV
	mv "$prod/demo.env.tmp" "$prod/demo.env"
)

txn="TXN-$(date +%s)"
cat <<MSG

Refundflow runs in its production shape. Ctrl-C stops everything.

  PostgreSQL      127.0.0.1:$pg_port (data in $prod/postgres)
  Temporal        $temporal_address, namespace $namespace, retention $retention
  Starters        ${starter_urls[*]}
  Workers         $workers (kill -9 one: it is restarted; pids in $run/)
  Sandbox ledger  $sandbox_url/sandbox/ledger
  Logs            $logs/

Send a disposition through either starter:

  curl -sS -X POST ${starter_urls[0]}/v1/dispositions \\
    -H 'Authorization: Bearer $webhook_token' -H 'Content-Type: application/json' \\
    -d '{"transactionId":"$txn","dispositionCode":"Refund_Processed","customerId":"cus_42","customerTokenId":"tok_visa_4242","refundAmount":"49.99","currency":"USD","conversationId":"conv-1","participantId":"part-1","communicationId":"comm-1","agentId":"agent-7"}'

  bin/temporal workflow list --address $temporal_address \\
    --query 'RemediationState = "Completed" AND TransactionId = "$txn"'

MSG

supervise || exit 1
