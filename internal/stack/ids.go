package stack

import (
	"strconv"
	"time"
)

// The names and tokens every stack runs with unless its Options say
// otherwise: one set, so that a harness's checks and the programs agree.
const (
	WebhookToken = "stack-webhook-token"
	// GatewayEventToken is the Bearer of the sandbox's ERP webhooks, and
	// what the starters accept on POST /v1/gateway-events/erp.
	GatewayEventToken = "stack-gateway-event-token"
	ApproverName      = "alice"
	ApproverToken     = "stack-approver-token"
	// The Genesys ids the worker is configured with: UUIDs, as Genesys's
	// are (its spec refuses a queueId that is not one).
	WorktypeID         = "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c"
	GenesysQueueID     = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
	FailedWrapupCodeID = "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"
	// AgentID is the Genesys user who wraps up every stack disposition, and
	// CallQueueID the queue of the call.
	AgentID     = "a7e1c0de-0007-4a7a-8a7a-0000000000a7"
	CallQueueID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
	// StripeAPIKey is what stripe-mock and the sandbox's Stripe side accept.
	StripeAPIKey = "sk_test_123"
	// StripeWebhookSecret signs the sandbox's Stripe webhooks, and is what
	// the starters verify POST /v1/gateway-events/stripe with.
	StripeWebhookSecret = "whsec_stack_sandbox"
	// The sandbox's Adyen side: the API key and merchant account the worker
	// sends, the HMAC key (hex) its webhooks are signed with and the
	// starters verify, and the webhooks' Basic auth.
	AdyenAPIKey          = "stack-adyen-api-key"
	AdyenMerchantAccount = "StackMerchantECOM"
	AdyenHMACKey         = "5AC1E0A9F3B7D2E46C8A1B3D5F7092E4C6A8B0D2F4163E5A7C9B1D3F5E7A9C0B"
	AdyenWebhookUser     = "stack-adyen-webhooks"
	AdyenWebhookPassword = "stack-adyen-webhook-password"
	// PayPalWebhookID is the webhook the sandbox's PayPal side sends for
	// and the starters verify deliveries of (letters and digits, as
	// PayPal's are).
	PayPalWebhookID = "STACKWEBHOOK01"
)

// Disposition is the body Genesys posts to the starter's POST
// /v1/dispositions when an agent wraps up the call about transaction txn
// with code (e.g. Refund_Processed) and a refund of amount in USD; the
// customer's card is a token, and the conversation is conv-<txn>.
func Disposition(txn, code, amount string) map[string]any {
	return map[string]any{
		"transactionId":   txn,
		"dispositionCode": code,
		"customerTokenId": "tok_visa_1234",
		"customerId":      "C-" + txn,
		"refundAmount":    amount,
		"currency":        "USD",
		"conversationId":  "conv-" + txn,
		"participantId":   "part-agent",
		"communicationId": "comm-1",
		"agentId":         AgentID,
		"queueId":         CallQueueID,
	}
}

// Unique is prefix followed by the clock's nanoseconds modulo 10^12 in base
// 36: a short transaction ID that no other call made within about 16
// minutes returns, so tests sharing a server or sandbox keep apart.
func Unique(prefix string) string {
	return prefix + strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
}
