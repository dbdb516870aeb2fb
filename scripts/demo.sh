#!/usr/bin/env bash
# make demo: with `make dev` running, plays the story with curl and checks
# every outcome on the starter's status API and the sandbox ledger:
#
#   1. a refund that succeeds
#   2. the same webhook again: a duplicate, nothing new happens
#   3. a gateway outage (a FAIL- transaction) that ends in finance review
#   4. the outage healed, a finance approval, and the refund completed
#   5. a card number in the webhook, rejected with 422
#   6. a non-financial disposition, ignored
#
# It needs the sandbox as gateway and Genesys (make dev's default). Exits
# non-zero if anything did not happen as told.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# DEMO_ENV picks another stack's settings: `make demo DEMO_ENV=.prod/demo.env`
# plays the story against `make prod-local`.
demo_env="${DEMO_ENV:-$root/.dev/demo.env}"
if [[ -n "${DEMO_ENV:-}" && ! -f "$demo_env" ]]; then
	echo "make demo: DEMO_ENV=$demo_env does not exist (is the stack that writes it running?)" >&2
	exit 1
fi
if [[ -f "$demo_env" ]]; then
	# shellcheck disable=SC1090 # written by scripts/dev.sh or deploy/prod-local.sh
	source "$demo_env"
fi
STARTER_URL="${STARTER_URL:-http://localhost:8080}"
SANDBOX_URL="${SANDBOX_URL:-http://localhost:8090}"
# An empty UI_URL (make prod-local runs no UI) prints CLI commands instead.
UI_URL="${UI_URL-http://localhost:8233}"
NAMESPACE="${NAMESPACE:-default}"
WEBHOOK_TOKEN="${WEBHOOK_TOKEN:-dev-webhook-token}"
APPROVER_TOKEN="${APPROVER_TOKEN:-dev-approver-token}"

if ! curl -fsS -o /dev/null "$STARTER_URL/readyz" 2>/dev/null || ! curl -fsS -o /dev/null "$SANDBOX_URL/healthz" 2>/dev/null; then
	echo "make demo: the stack is not running at $STARTER_URL and $SANDBOX_URL; start 'make dev' (or 'make prod-local' with DEMO_ENV=.prod/demo.env) in another terminal first" >&2
	exit 1
fi

failures=0
links=()
status=""
body=""

# Colour only on a terminal, and never with NO_COLOR set non-empty (https://no-color.org).
bold="" green="" red="" reset=""
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
	bold=$'\033[1m' green=$'\033[32m' red=$'\033[31m' reset=$'\033[0m'
fi

step() { printf '\n%s%s%s\n' "$bold" "$*" "$reset"; }
ok() { printf '  %sok%s   %s\n' "$green" "$reset" "$*"; }
bad() {
	printf '  %sFAIL%s %s\n' "$red" "$reset" "$*"
	failures=$((failures + 1))
}

# str FIELD / num FIELD: a field of the last JSON body, without needing jq.
str() {
	sed -En 's/.*"'"$1"'":"(([^"\\]|\\.)*)".*/\1/p' <<<"$body" | head -n 1 | sed 's/\\"/"/g' | cut -c1-140
}
num() { sed -n 's/.*"'"$1"'":\([0-9-]*\).*/\1/p' <<<"$body" | head -n 1; }

# call METHOD URL TOKEN [JSON]: sets status and body.
call() {
	local method="$1" url="$2" token="$3" data="${4:-}"
	local out
	out="$(mktemp)"
	local args=(-sS -o "$out" -w '%{http_code}' -X "$method" "$url")
	[[ -n "$token" ]] && args+=(-H "Authorization: Bearer $token")
	[[ -n "$data" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	status="$(curl "${args[@]}")" || status="000"
	body="$(cat "$out")"
	rm -f "$out"
}

disposition() { # TXN CODE AMOUNT [TOKEN-ID]
	local txn="$1" code="$2" amount="$3" tok="${4:-tok_visa_4242}"
	printf '{"transactionId":"%s","dispositionCode":"%s","customerId":"cus_42","customerTokenId":"%s","refundAmount":"%s","currency":"USD","conversationId":"conv-%s","participantId":"part-1","communicationId":"comm-1","agentId":"agent-7","queueId":"queue-billing"}' \
		"$txn" "$code" "$tok" "$amount" "$txn"
}

post_disposition() { call POST "$STARTER_URL/v1/dispositions" "$WEBHOOK_TOKEN" "$1"; }

# wait_state TXN STATE SECONDS: polls the status query until STATE.
wait_state() {
	local txn="$1" want="$2" secs="$3" state=""
	local deadline=$((SECONDS + secs))
	while ((SECONDS < deadline)); do
		call GET "$STARTER_URL/v1/remediations/$txn" "$APPROVER_TOKEN"
		state="$(str state)"
		[[ "$state" == "$want" ]] && return 0
		sleep 1
	done
	echo "  (state after ${secs}s: ${state:-unknown}; last answer $status $body)" >&2
	return 1
}

ledger() { call GET "$SANDBOX_URL/sandbox/ledger/$1" ""; }

link() { links+=("$1|$UI_URL/namespaces/$NAMESPACE/workflows/remediation-$1"); }

run="$(date +%s)"
ok_txn="DEMO-$run-OK"
fail_txn="FAIL-DEMO-$run"
card_txn="DEMO-$run-CARD"
if [[ "${GATEWAY_KIND:-erp}" == "adyen" ]]; then
	# Adyen refunds a payment by its pspReference, 16 letters and digits;
	# the sandbox's Adyen fails FAIL... ones until healed, as the ERP does.
	ok_txn="KDEMO${run}A"
	fail_txn="FAIL${run}DM"
	card_txn="KCARD${run}A"
elif [[ "${GATEWAY_KIND:-erp}" == paypal ]]; then
	# PayPal refunds captures, whose IDs are [A-Z0-9]{1,20}: the sandbox's
	# PayPal reads OUTAGE... as 503 until healed.
	ok_txn="DEMO${run}OK"
	fail_txn="OUTAGE$run"
	card_txn="DEMO${run}CARD"
fi

step "1. A refund that succeeds ($ok_txn, 49.99 USD)"
post_disposition "$(disposition "$ok_txn" Refund_Processed 49.99)"
if [[ "$status" == 202 && "$(str status)" == started ]]; then ok "webhook answered 202 started, workflow $(str workflowId)"; else bad "webhook answered $status $body"; fi
link "$ok_txn"
if wait_state "$ok_txn" Completed 60; then ok "workflow Completed, gateway reference $(str gatewayReference)"; else bad "workflow did not complete"; fi
ledger "$ok_txn"
if [[ "$(num refundsCreated)" == 1 ]]; then ok "sandbox gateway: exactly 1 refund created"; else bad "sandbox ledger: $body"; fi
if grep -q '"refundStatus":"Completed"' <<<"$body"; then ok "Genesys participant attribute refundStatus=Completed written"; else bad "no Completed write-back in the ledger"; fi

step "2. The same webhook again"
post_disposition "$(disposition "$ok_txn" Refund_Processed 49.99)"
if [[ "$status" == 200 && "$(str status)" == duplicate ]]; then ok "answered 200 duplicate (state $(str state)): nothing new happens"; else bad "answered $status $body"; fi
ledger "$ok_txn"
if [[ "$(num refundsCreated)" == 1 ]]; then ok "still exactly 1 refund at the gateway"; else bad "sandbox ledger: $body"; fi

step "3. A gateway outage ($fail_txn: the sandbox answers 503 until healed; gateway ${GATEWAY_KIND:-erp})"
post_disposition "$(disposition "$fail_txn" Refund_Processed 120.00)"
if [[ "$status" == 202 ]]; then ok "webhook answered 202 started"; else bad "webhook answered $status $body"; fi
link "$fail_txn"
echo "  the worker retries with backoff for REFUNDFLOW_GATEWAY_RETRY_WINDOW (make dev: 30s, make prod-local: 2m), then asks finance..."
if wait_state "$fail_txn" AwaitingReview 180; then ok "workflow AwaitingReview after $(num attempts) submission(s): $(str lastError)"; else bad "workflow did not reach AwaitingReview"; fi
ledger "$fail_txn"
if [[ "$(num refundsCreated)" == 0 ]]; then ok "sandbox gateway: $(num gatewayRequests) calls, 0 refunds created"; else bad "sandbox ledger: $body"; fi
if grep -q '"externalTag":"'"$fail_txn"'"' <<<"$body"; then ok "finance-ops workitem created in Genesys"; else bad "no workitem for $fail_txn in the ledger"; fi

step "4. The outage ends; finance approves"
call POST "$SANDBOX_URL/sandbox/heal/$fail_txn" ""
if [[ "$status" == 200 ]]; then ok "sandbox healed $fail_txn"; else bad "heal answered $status"; fi
call POST "$STARTER_URL/v1/remediations/$fail_txn/decision" "$APPROVER_TOKEN" \
	'{"decisionId":"demo-'"$run"'-approve","decision":"approve","note":"gateway outage over, submit again"}'
if [[ "$status" == 202 ]]; then ok "approval sent (202)"; else bad "decision answered $status $body"; fi
if wait_state "$fail_txn" Completed 60; then ok "workflow Completed, gateway reference $(str gatewayReference)"; else bad "workflow did not complete after approval"; fi
ledger "$fail_txn"
if [[ "$(num refundsCreated)" == 1 ]]; then ok "sandbox gateway: exactly 1 refund created, same Idempotency-Key $fail_txn:refund"; else bad "sandbox ledger: $body"; fi

step "5. A card number in the webhook"
post_disposition "$(disposition "$card_txn" Refund_Processed 10.00 '4111 1111 1111 1111')"
if [[ "$status" == 422 ]]; then ok "rejected with 422 $(str error); nothing started, nothing logged"; else bad "answered $status $body"; fi
call GET "$STARTER_URL/v1/remediations/$card_txn" "$APPROVER_TOKEN"
if [[ "$status" == 404 ]]; then ok "no workflow exists for $card_txn"; else bad "status for $card_txn answered $status"; fi

step "6. A disposition that is not financial"
post_disposition "$(disposition "DEMO-$run-INFO" Issue_Resolved 0)"
if [[ "$status" == 200 && "$(str status)" == ignored ]]; then ok "answered 200 ignored: $(str reason)"; else bad "answered $status $body"; fi

if [[ -n "$UI_URL" ]]; then
	step "Workflows in the Temporal UI"
	for l in "${links[@]}"; do
		printf '  %-24s %s\n' "${l%%|*}" "${l#*|}"
	done
else
	step "Workflows (no UI on this stack)"
	for l in "${links[@]}"; do
		printf '  bin/temporal workflow show --address %s --namespace %s --workflow-id remediation-%s\n' "${TEMPORAL_ADDRESS:-localhost:7233}" "$NAMESPACE" "${l%%|*}"
	done
fi
echo "  sandbox ledger: $SANDBOX_URL/sandbox/ledger"

if ((failures > 0)); then
	printf '\n%d step(s) did not go as told.\n' "$failures"
	exit 1
fi
printf '\nAll steps went as told.\n'
