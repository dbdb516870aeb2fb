#!/usr/bin/env bash
# make dev: the whole pipeline on this machine.
#
#   Temporal dev server  localhost:7233, UI :8233, state in .dev/temporal.db
#   sandbox              :8090, the gateway and Genesys stand-in
#   worker               runs RemediationWorkflow and its activities
#   starter              :8080, the webhook and the finance-ops API
#
# Every REFUNDFLOW_* variable already set in the environment wins. The sandbox
# is wired in only for a side that has no real endpoint configured:
# REFUNDFLOW_GATEWAY_REFUND_URL (or REFUNDFLOW_GATEWAY_KIND=stripe) replaces
# the sandbox gateway, REFUNDFLOW_GENESYS_API_URL the sandbox Genesys, and a
# REFUNDFLOW_TEMPORAL_ADDRESS other than localhost:7233 replaces the dev server.
#
# Ctrl-C (or SIGTERM) stops everything this script started, last started
# first. The Temporal DB and the sandbox ledger stay in .dev/, so a restart
# carries on where it stopped; `make clean` forgets them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dev="$root/.dev"
logs="$dev/logs"

say() { printf '%s\n' "$*"; }
die() {
	printf 'make dev: %s\n' "$*" >&2
	exit 1
}

port_of() { # host:port, :port or a URL's authority -> port
	local addr="${1##*:}"
	printf '%s' "${addr%%/*}"
}

# shellcheck source=SCRIPTDIR/lib/processes.sh
source "$root/scripts/lib/processes.sh"
stop_grace=15

scripts/install-tools.sh
mkdir -p "$logs"

# --- configuration -----------------------------------------------------------
sandbox_port="$(port_of "${REFUNDFLOW_SANDBOX_ADDR:-:8090}")"
sandbox_url="http://localhost:$sandbox_port"
export REFUNDFLOW_SANDBOX_ADDR="${REFUNDFLOW_SANDBOX_ADDR:-:$sandbox_port}"
export REFUNDFLOW_SANDBOX_STATE_FILE="${REFUNDFLOW_SANDBOX_STATE_FILE-$dev/sandbox-ledger.json}"
export REFUNDFLOW_SANDBOX_CLIENTS="${REFUNDFLOW_SANDBOX_CLIENTS-sandbox-gateway:sandbox-gateway-secret,sandbox-genesys:sandbox-genesys-secret}"
# Genesys allows about 300 requests a minute per OAuth client; so does the sandbox.
export REFUNDFLOW_SANDBOX_GENESYS_RATE_LIMIT="${REFUNDFLOW_SANDBOX_GENESYS_RATE_LIMIT-300}"

gateway_side="sandbox"
if [[ -n "${REFUNDFLOW_GATEWAY_REFUND_URL+set}" ]]; then
	gateway_side="$REFUNDFLOW_GATEWAY_REFUND_URL"
elif [[ "${REFUNDFLOW_GATEWAY_KIND:-erp}" == "stripe" && -n "${REFUNDFLOW_STRIPE_BASE_URL+set}" ]]; then
	gateway_side="Stripe at $REFUNDFLOW_STRIPE_BASE_URL"
elif [[ "${REFUNDFLOW_GATEWAY_KIND:-erp}" == "adyen" && -n "${REFUNDFLOW_ADYEN_BASE_URL+set}" ]]; then
	gateway_side="Adyen at $REFUNDFLOW_ADYEN_BASE_URL"
elif [[ "${REFUNDFLOW_GATEWAY_KIND:-erp}" == "adyen" ]]; then
	# The sandbox's own Adyen: validates against Adyen's spec, answers
	# "received", settles by HMAC-signed webhook only (docs/adyen.md).
	gateway_side="the sandbox's Adyen"
	export REFUNDFLOW_ADYEN_BASE_URL="$sandbox_url/adyen"
	export REFUNDFLOW_ADYEN_API_KEY="${REFUNDFLOW_ADYEN_API_KEY-sandbox-adyen-api-key}"
	export REFUNDFLOW_ADYEN_MERCHANT_ACCOUNT="${REFUNDFLOW_ADYEN_MERCHANT_ACCOUNT-SandboxMerchantECOM}"
	export REFUNDFLOW_SANDBOX_ADYEN_API_KEYS="${REFUNDFLOW_SANDBOX_ADYEN_API_KEYS-$REFUNDFLOW_ADYEN_API_KEY}"
	export REFUNDFLOW_SANDBOX_ADYEN_MERCHANT_ACCOUNT="${REFUNDFLOW_SANDBOX_ADYEN_MERCHANT_ACCOUNT-$REFUNDFLOW_ADYEN_MERCHANT_ACCOUNT}"
	# As for the ERP: an outage reaches review in seconds here.
	export REFUNDFLOW_GATEWAY_TIMEOUT="${REFUNDFLOW_GATEWAY_TIMEOUT-5s}"
	export REFUNDFLOW_GATEWAY_RETRY_WINDOW="${REFUNDFLOW_GATEWAY_RETRY_WINDOW-30s}"
elif [[ "${REFUNDFLOW_GATEWAY_KIND:-erp}" == "stripe" ]]; then
	# The sandbox's own Stripe: stateful, settles later, signs its webhooks.
	gateway_side="the sandbox's Stripe"
	export REFUNDFLOW_STRIPE_BASE_URL="$sandbox_url/stripe"
	export REFUNDFLOW_STRIPE_API_KEY="${REFUNDFLOW_STRIPE_API_KEY-sk_test_123}"
	export REFUNDFLOW_SANDBOX_STRIPE_API_KEYS="${REFUNDFLOW_SANDBOX_STRIPE_API_KEYS-$REFUNDFLOW_STRIPE_API_KEY}"
elif [[ "${REFUNDFLOW_GATEWAY_KIND:-erp}" == "paypal" && -n "${REFUNDFLOW_PAYPAL_BASE_URL+set}" ]]; then
	gateway_side="PayPal at $REFUNDFLOW_PAYPAL_BASE_URL"
elif [[ "${REFUNDFLOW_GATEWAY_KIND:-erp}" == "paypal" ]]; then
	# The sandbox's own PayPal: OAuth, refunds that settle later, webhooks
	# the starter verifies by asking it (verify-webhook-signature).
	gateway_side="the sandbox's PayPal"
	export REFUNDFLOW_PAYPAL_BASE_URL="$sandbox_url/paypal"
	export REFUNDFLOW_PAYPAL_CLIENT_ID="${REFUNDFLOW_PAYPAL_CLIENT_ID-sandbox-gateway}"
	export REFUNDFLOW_PAYPAL_CLIENT_SECRET="${REFUNDFLOW_PAYPAL_CLIENT_SECRET-sandbox-gateway-secret}"
	export REFUNDFLOW_PAYPAL_WEBHOOK_ID="${REFUNDFLOW_PAYPAL_WEBHOOK_ID-SANDBOXWEBHOOK01}"
	export REFUNDFLOW_SANDBOX_PAYPAL_WEBHOOK_ID="${REFUNDFLOW_SANDBOX_PAYPAL_WEBHOOK_ID-$REFUNDFLOW_PAYPAL_WEBHOOK_ID}"
	# As for the ERP below: an outage reaches review in seconds here.
	export REFUNDFLOW_GATEWAY_TIMEOUT="${REFUNDFLOW_GATEWAY_TIMEOUT-5s}"
	export REFUNDFLOW_GATEWAY_RETRY_WINDOW="${REFUNDFLOW_GATEWAY_RETRY_WINDOW-30s}"
else
	export REFUNDFLOW_GATEWAY_KIND="${REFUNDFLOW_GATEWAY_KIND-erp}"
	export REFUNDFLOW_GATEWAY_REFUND_URL="$sandbox_url/erp/refunds"
	export REFUNDFLOW_GATEWAY_CHARGEBACK_URL="${REFUNDFLOW_GATEWAY_CHARGEBACK_URL-$sandbox_url/erp/chargebacks}"
	export REFUNDFLOW_GATEWAY_TOKEN_URL="${REFUNDFLOW_GATEWAY_TOKEN_URL-$sandbox_url/oauth/token}"
	export REFUNDFLOW_GATEWAY_STATUS_URL="${REFUNDFLOW_GATEWAY_STATUS_URL-$sandbox_url/erp/refunds}"
	export REFUNDFLOW_GATEWAY_CLIENT_ID="${REFUNDFLOW_GATEWAY_CLIENT_ID-sandbox-gateway}"
	export REFUNDFLOW_GATEWAY_CLIENT_SECRET="${REFUNDFLOW_GATEWAY_CLIENT_SECRET-sandbox-gateway-secret}"
	# A short window, so an outage reaches finance review in seconds here,
	# not in the contract's 10 minutes. The window must outlast one attempt
	# (4 x the call timeout + 5s): a 5s timeout, ample for a sandbox on
	# loopback, makes an attempt 25s, so a lost attempt is retried, not sent
	# to review.
	export REFUNDFLOW_GATEWAY_TIMEOUT="${REFUNDFLOW_GATEWAY_TIMEOUT-5s}"
	export REFUNDFLOW_GATEWAY_RETRY_WINDOW="${REFUNDFLOW_GATEWAY_RETRY_WINDOW-30s}"
fi

genesys_side="sandbox"
if [[ -n "${REFUNDFLOW_GENESYS_API_URL+set}" ]]; then
	genesys_side="$REFUNDFLOW_GENESYS_API_URL"
else
	export REFUNDFLOW_GENESYS_API_URL="$sandbox_url"
	export REFUNDFLOW_GENESYS_LOGIN_URL="${REFUNDFLOW_GENESYS_LOGIN_URL-$sandbox_url}"
	export REFUNDFLOW_GENESYS_CLIENT_ID="${REFUNDFLOW_GENESYS_CLIENT_ID-sandbox-genesys}"
	export REFUNDFLOW_GENESYS_CLIENT_SECRET="${REFUNDFLOW_GENESYS_CLIENT_SECRET-sandbox-genesys-secret}"
	export REFUNDFLOW_GENESYS_WORKTYPE_ID="${REFUNDFLOW_GENESYS_WORKTYPE_ID-7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c}"
	export REFUNDFLOW_GENESYS_QUEUE_ID="${REFUNDFLOW_GENESYS_QUEUE_ID-0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b}"
	export REFUNDFLOW_GENESYS_FAILED_WRAPUP_CODE_ID="${REFUNDFLOW_GENESYS_FAILED_WRAPUP_CODE_ID-5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b}"
	export REFUNDFLOW_FINANCE_OPS_EMAIL="${REFUNDFLOW_FINANCE_OPS_EMAIL-finance-ops@example.com}"
	export REFUNDFLOW_GENESYS_EMAIL_FROM="${REFUNDFLOW_GENESYS_EMAIL_FROM-refunds@example.com}"
fi
# Every worker together stays within this many Genesys requests a minute.
export REFUNDFLOW_GENESYS_RATE_LIMIT="${REFUNDFLOW_GENESYS_RATE_LIMIT-300}"
# Review workitem statuses that are a finance decision when set in Genesys.
export REFUNDFLOW_GENESYS_DECISION_STATUSES="${REFUNDFLOW_GENESYS_DECISION_STATUSES-Approved=approve,Rejected=reject,Resolved=resolved}"

export REFUNDFLOW_WEBHOOK_TOKENS="${REFUNDFLOW_WEBHOOK_TOKENS-dev-webhook-token}"
export REFUNDFLOW_APPROVER_TOKENS="${REFUNDFLOW_APPROVER_TOKENS-alice:dev-approver-token}"
export REFUNDFLOW_LISTEN_ADDR="${REFUNDFLOW_LISTEN_ADDR-:8080}"
starter_port="$(port_of "$REFUNDFLOW_LISTEN_ADDR")"
starter_url="http://localhost:$starter_port"
# The sandbox's gateway webhooks go to this starter, with a token it accepts.
export REFUNDFLOW_GATEWAY_EVENT_TOKENS="${REFUNDFLOW_GATEWAY_EVENT_TOKENS-dev-gateway-event-token}"
export REFUNDFLOW_SANDBOX_WEBHOOK_URL="${REFUNDFLOW_SANDBOX_WEBHOOK_URL-$starter_url}"
export REFUNDFLOW_SANDBOX_GATEWAY_EVENT_TOKEN="${REFUNDFLOW_SANDBOX_GATEWAY_EVENT_TOKEN-${REFUNDFLOW_GATEWAY_EVENT_TOKENS%%,*}}"
# Its Stripe webhooks are signed with a secret this starter verifies.
export REFUNDFLOW_STRIPE_WEBHOOK_SECRETS="${REFUNDFLOW_STRIPE_WEBHOOK_SECRETS-whsec_dev_sandbox}"
export REFUNDFLOW_SANDBOX_STRIPE_WEBHOOK_SECRET="${REFUNDFLOW_SANDBOX_STRIPE_WEBHOOK_SECRET-${REFUNDFLOW_STRIPE_WEBHOOK_SECRETS%%,*}}"
# Its Adyen webhooks are signed with an HMAC key this starter verifies, and
# carry the Basic auth it asks for.
export REFUNDFLOW_ADYEN_HMAC_KEYS="${REFUNDFLOW_ADYEN_HMAC_KEYS-6465762D6164796E2D686D61632D6B65792D666F722D6D616B652D6465762121}"
export REFUNDFLOW_SANDBOX_ADYEN_HMAC_KEY="${REFUNDFLOW_SANDBOX_ADYEN_HMAC_KEY-${REFUNDFLOW_ADYEN_HMAC_KEYS%%,*}}"
export REFUNDFLOW_ADYEN_WEBHOOK_USERNAME="${REFUNDFLOW_ADYEN_WEBHOOK_USERNAME-dev-adyen-webhooks}"
export REFUNDFLOW_ADYEN_WEBHOOK_PASSWORD="${REFUNDFLOW_ADYEN_WEBHOOK_PASSWORD-dev-adyen-webhook-password}"
export REFUNDFLOW_SANDBOX_ADYEN_WEBHOOK_USERNAME="${REFUNDFLOW_SANDBOX_ADYEN_WEBHOOK_USERNAME-$REFUNDFLOW_ADYEN_WEBHOOK_USERNAME}"
export REFUNDFLOW_SANDBOX_ADYEN_WEBHOOK_PASSWORD="${REFUNDFLOW_SANDBOX_ADYEN_WEBHOOK_PASSWORD-$REFUNDFLOW_ADYEN_WEBHOOK_PASSWORD}"

temporal_port=7233
ui_port=8233
local_temporal=true
case "${REFUNDFLOW_TEMPORAL_ADDRESS:-localhost:$temporal_port}" in
localhost:"$temporal_port" | 127.0.0.1:"$temporal_port") ;;
*) local_temporal=false ;;
esac
export REFUNDFLOW_TEMPORAL_ADDRESS="${REFUNDFLOW_TEMPORAL_ADDRESS-localhost:$temporal_port}"
namespace="${REFUNDFLOW_TEMPORAL_NAMESPACE:-default}"
ui_url="http://localhost:$ui_port"

# Each program's /metrics on a port of its own (docs/operations.md).
worker_metrics=127.0.0.1:9464
starter_metrics=127.0.0.1:9465

ports=("$sandbox_port" "$starter_port" 9464 9465)
if $local_temporal; then ports+=("$temporal_port" "$ui_port"); fi
for p in "${ports[@]}"; do
	if port_busy "$p"; then
		die "port $p is already in use: is another 'make dev' running? (logs in .dev/logs/)"
	fi
done

# --- build first, so a compile error starts nothing ---------------------------
say "building sandbox, worker and starter..."
for prog in sandbox worker starter; do
	go build -o "bin/$prog" "./$prog" || die "go build ./$prog failed"
done

# --- processes -----------------------------------------------------------------
# None is restarted: a program that dies stops the stack (scripts/lib/processes.sh).
stop_on_exit

if $local_temporal; then
	sa_args=()
	for sa in TransactionId DispositionCode RemediationState ConversationId; do
		sa_args+=(--search-attribute "$sa=Keyword")
	done
	# With payload encryption on, the UI decodes through the starter's codec
	# server; the browser cannot send a header, so the approver token rides
	# in the path (see internal/codec).
	codec_args=()
	if [[ -n "${REFUNDFLOW_CODEC_KEYS:-}" ]]; then
		codec_args=(--ui-codec-endpoint "$starter_url/codec/$(printf '%s' "${REFUNDFLOW_APPROVER_TOKENS%%,*}" | cut -d: -f2-)")
	fi
	launch temporal no bin/temporal server start-dev \
		--port "$temporal_port" --ui-port "$ui_port" --namespace "$namespace" \
		--db-filename "$dev/temporal.db" \
		--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
		--dynamic-config-value system.enableActivityEagerExecution=true \
		"${sa_args[@]}" "${codec_args[@]}"
	say "waiting for the Temporal dev server..."
	wait_for "the Temporal dev server" 90 temporal bin/temporal operator cluster health --address "localhost:$temporal_port"
fi

launch sandbox no bin/sandbox
wait_for "the sandbox" 20 sandbox curl -fsS "$sandbox_url/healthz"

launch worker no env REFUNDFLOW_METRICS_ADDRESS="$worker_metrics" bin/worker
launch starter no env REFUNDFLOW_METRICS_ADDRESS="$starter_metrics" bin/starter
wait_for "the starter" 30 starter curl -fsS "$starter_url/readyz"
sleep 1
all_alive || die "a program stopped during start-up"

# What `make demo` needs to find this stack; mode 600, it holds the tokens.
(
	umask 077
	cat >"$dev/demo.env" <<ENV
STARTER_URL=$starter_url
SANDBOX_URL=$sandbox_url
UI_URL=$ui_url
NAMESPACE=$namespace
GATEWAY_KIND=${REFUNDFLOW_GATEWAY_KIND:-erp}
WEBHOOK_TOKEN=${REFUNDFLOW_WEBHOOK_TOKENS%%,*}
APPROVER_TOKEN=$(printf '%s' "${REFUNDFLOW_APPROVER_TOKENS%%,*}" | cut -d: -f2-)
GATEWAY_KIND=${REFUNDFLOW_GATEWAY_KIND:-erp}
ENV
)

txn="TXN-$(date +%s)"
if [[ "${REFUNDFLOW_GATEWAY_KIND:-erp}" == "adyen" ]]; then
	# Adyen refunds a payment by its pspReference: 16 letters and digits.
	txn="KDEV$(date +%s)AA"
fi
# A PayPal transaction is a capture ID: [A-Z0-9]{1,20}.
[[ "${REFUNDFLOW_GATEWAY_KIND:-erp}" == paypal ]] && txn="TXN$(date +%s)"
webhook_token="${REFUNDFLOW_WEBHOOK_TOKENS%%,*}"
cat <<MSG

Refundflow is running. Ctrl-C stops everything.

  Temporal UI     $(if $local_temporal; then printf '%s' "$ui_url"; else printf '(your cluster at %s)' "$REFUNDFLOW_TEMPORAL_ADDRESS"; fi)
  Temporal        $REFUNDFLOW_TEMPORAL_ADDRESS, namespace $namespace$(if $local_temporal; then printf ', state in .dev/temporal.db'; fi)
  Starter         $starter_url  (POST /v1/dispositions, /v1/remediations/{id})
  Sandbox ledger  $sandbox_url/sandbox/ledger
  Metrics         http://$worker_metrics/metrics (worker), http://$starter_metrics/metrics (starter)
  Gateway         $gateway_side
  Genesys         $genesys_side
  Logs            $(log_files)

Send a disposition:

  curl -sS -X POST $starter_url/v1/dispositions \\
    -H 'Authorization: Bearer $webhook_token' -H 'Content-Type: application/json' \\
    -d '{"transactionId":"$txn","dispositionCode":"Refund_Processed","customerId":"cus_42","customerTokenId":"tok_visa_4242","refundAmount":"49.99","currency":"USD","conversationId":"conv-1","participantId":"part-1","communicationId":"comm-1","agentId":"agent-7"}'

  then $ui_url/namespaces/$namespace/workflows/remediation-$txn
  and  curl -sS $sandbox_url/sandbox/ledger/$txn

'make demo' in another terminal plays the whole story.
MSG

supervise || exit 1
