package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stripesig"
)

// stripeSignature is the Stripe-Signature header Stripe would send.
func stripeSignature(secret string, at time.Time, body []byte) string {
	return stripesig.Sign(secret, at.Unix(), body)
}

// TestGatewayEvents drives both webhooks against a real dev server: a
// pending refund waits in AwaitingGateway until its event settles it.
func TestGatewayEvents(t *testing.T) {
	t.Parallel()
	const queue = "gateway-events-test"
	env, _ := startTemporal(t, queue)
	api := newAPIServer(t, env.HostPort, queue, 5*time.Second)

	awaitingGateway := func(t *testing.T, prefix string) string {
		t.Helper()
		txn := txnID("pending-" + prefix)
		if resp := api.postDisposition(dispositionBody(txn, "Refund_Processed", "20.00")); resp.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateAwaitingGateway })
		return txn
	}
	erp := func(token string, body any) response {
		return api.request(http.MethodPost, "/v1/gateway-events/erp", token, body)
	}
	stripe := func(sig string, body []byte) response {
		return api.send(http.MethodPost, "/v1/gateway-events/stripe", body, func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
			if sig != "" {
				r.Header.Set("Stripe-Signature", sig)
			}
		})
	}

	t.Run("erp: succeeded completes the refund; a repeat is 200 and changes nothing", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "erp")
		ev := map[string]any{"eventId": "evt-" + txn, "transactionId": txn, "refundId": "gw-" + txn, "status": "succeeded"}
		if resp := erp(gatewayEventToken, ev); resp.code != http.StatusOK {
			t.Fatalf("event: %d %s", resp.code, resp.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		if st.GatewayStatus != "succeeded" {
			t.Errorf("gatewayStatus %q", st.GatewayStatus)
		}
		if resp := erp(gatewayEventToken, ev); resp.code != http.StatusOK {
			t.Errorf("repeat: %d %s", resp.code, resp.raw)
		}
	})
	t.Run("erp: a wrong token or a bad body is 400, and the refund still waits", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "erpbad")
		ev := map[string]any{"eventId": "evt-" + txn, "transactionId": txn, "refundId": "gw-" + txn, "status": "succeeded"}
		for _, token := range []string{"", webhookToken, aliceToken, "nope"} {
			if resp := erp(token, ev); resp.code != http.StatusBadRequest {
				t.Errorf("token %q: %d %s", token, resp.code, resp.raw)
			}
		}
		for _, body := range []any{"{not json", map[string]any{"transactionId": txn, "status": "succeeded"},
			map[string]any{"eventId": "e1", "transactionId": txn, "status": "maybe"}} {
			if resp := erp(gatewayEventToken, body); resp.code != http.StatusBadRequest {
				t.Errorf("body %v: %d %s", body, resp.code, resp.raw)
			}
		}
		if st := api.waitStatus(txn, func(remediation.Status) bool { return true }); st.State != remediation.StateAwaitingGateway {
			t.Errorf("state %s after refused events", st.State)
		}
	})
	t.Run("stripe: a signed refund.failed sends it to review with the reason", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "stripe")
		body := []byte(fmt.Sprintf(`{"id":"evt_%s","type":"refund.failed","created":%d,"data":{"object":{"id":"gw-%s","object":"refund","status":"failed","failure_reason":"expired_or_canceled_card","metadata":{"transaction_id":"%s"}}}}`,
			txn, time.Now().Unix(), txn, txn))
		if resp := stripe(stripeSignature(stripeSecretNew, time.Now(), body)+"x", body); resp.code != http.StatusBadRequest {
			t.Errorf("bad signature: %d %s", resp.code, resp.raw)
		}
		forged := []byte(`{"id":"evt_forged","type":"refund.updated","data":{"object":{"object":"refund","status":"succeeded","metadata":{"transaction_id":"` + txn + `"},"note":"FORGED-BODY-MARKER"}}}`)
		if resp := stripe(stripeSignature("whsec_attacker", time.Now(), forged), forged); resp.code != http.StatusBadRequest {
			t.Errorf("forged: %d %s", resp.code, resp.raw)
		}
		if strings.Contains(api.logs.String(), "FORGED-BODY-MARKER") {
			t.Error("a refused event's body was logged")
		}
		if resp := stripe(stripeSignature(stripeSecretOld, time.Now(), body), body); resp.code != http.StatusOK {
			t.Fatalf("event: %d %s", resp.code, resp.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateAwaitingReview })
		if st.GatewayStatus != "failed" || !strings.Contains(st.LastError, "expired_or_canceled_card") {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("erp: a reversal after Completed puts it back in front of finance", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "reversal")
		ok := map[string]any{"eventId": "evt-ok-" + txn, "transactionId": txn, "refundId": "gw-" + txn, "status": "succeeded"}
		if resp := erp(gatewayEventToken, ok); resp.code != http.StatusOK {
			t.Fatalf("event: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		// Once the run has closed, a reversal reopens it in a new run (one
		// that comes while it ends is taken by that run: the last test).
		if err := env.Client.GetWorkflow(t.Context(), remediation.WorkflowID(txn), "").Get(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		// A repeat after the end changes nothing.
		if resp := erp(gatewayEventToken, ok); resp.code != http.StatusOK || resp.str("status") != "no open remediation" {
			t.Errorf("repeat after the end: %d %s", resp.code, resp.raw)
		}
		rev := map[string]any{"eventId": "evt-rev-" + txn, "transactionId": txn, "refundId": "gw-" + txn, "status": "reversed", "reason": "bank returned it"}
		if resp := erp(gatewayEventToken, rev); resp.code != http.StatusOK || resp.str("status") != "reopened" {
			t.Fatalf("reversal: %d %s", resp.code, resp.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool {
			return s.State == remediation.StateAwaitingReview && s.WorkitemID != ""
		})
		if st.GatewayStatus != "reversed" || !strings.Contains(st.LastError, "bank returned it") || st.WorkitemID == "" {
			t.Errorf("reopened status %+v", st)
		}
		// The same reversal again goes to the open review, which ignores it.
		if resp := erp(gatewayEventToken, rev); resp.code != http.StatusOK || resp.str("status") != "delivered" {
			t.Errorf("repeat of the reversal: %d %s", resp.code, resp.raw)
		}
		if resp := api.decide(txn, aliceToken, map[string]any{"decision": "reject", "note": "customer refunded by cheque"}); resp.code != http.StatusAccepted {
			t.Fatalf("decide: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateRejected })
	})
	t.Run("erp: a failure that comes while the run is ending reopens it there", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "late")
		for _, ev := range []map[string]any{
			{"eventId": "evt-ok-" + txn, "transactionId": txn, "refundId": "gw-" + txn, "status": "succeeded"},
			{"eventId": "evt-fail-" + txn, "transactionId": txn, "refundId": "gw-" + txn, "status": "failed", "reason": "charge disputed"},
		} {
			if resp := erp(gatewayEventToken, ev); resp.code != http.StatusOK {
				t.Fatalf("event: %d %s", resp.code, resp.raw)
			}
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool {
			return s.State == remediation.StateAwaitingReview && s.WorkitemID != ""
		})
		if st.GatewayStatus != "failed" || !strings.Contains(st.LastError, "charge disputed") {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("an event for a transaction no remediation knows is 200", func(t *testing.T) {
		t.Parallel()
		txn := txnID("nobody")
		ev := map[string]any{"eventId": "evt-x", "transactionId": txn, "refundId": "r", "status": "succeeded"}
		if resp := erp(gatewayEventToken, ev); resp.code != http.StatusOK || resp.str("status") != "no open remediation" {
			t.Errorf("%d %s", resp.code, resp.raw)
		}
		if logs := api.logs.String(); !strings.Contains(logs, "no open remediation") || !strings.Contains(logs, txn) {
			t.Errorf("the unknown transaction is not logged as a warning:\n%s", logs)
		}
	})
}
