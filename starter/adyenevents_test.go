package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/adyensig"
	"github.com/refundflow/refundflow/internal/remediation"
)

const (
	adyenHMACOld         = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	adyenHMACNew         = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"
	adyenWebhookUser     = "adyen-webhooks"
	adyenWebhookPassword = "adyen-webhook-password"
)

// adyenItem builds a NotificationRequestItem for txn's refund, signed with
// hexKey ("" leaves it unsigned).
func adyenItem(t *testing.T, hexKey, txn, eventCode, success, reason string) map[string]any {
	t.Helper()
	it := adyensig.Item{PSPReference: "gw-" + txn, OriginalReference: txn, MerchantAccountCode: "TestMerchantECOM",
		MerchantReference: txn, Value: 2000, Currency: "USD", EventCode: eventCode, Success: success}
	extra := map[string]any{}
	if hexKey != "" {
		key, err := adyensig.ParseKey(hexKey)
		if err != nil {
			t.Fatal(err)
		}
		extra["hmacSignature"] = adyensig.Sign(key, it)
	}
	item := map[string]any{
		"additionalData": extra, "amount": map[string]any{"currency": it.Currency, "value": it.Value},
		"eventCode": eventCode, "eventDate": time.Now().UTC().Format(time.RFC3339), "merchantAccountCode": it.MerchantAccountCode,
		"merchantReference": txn, "originalReference": txn, "paymentMethod": "visa", "pspReference": it.PSPReference, "success": success,
	}
	if reason != "" {
		item["reason"] = reason
	}
	return item
}

func adyenBody(items ...map[string]any) []byte {
	wrapped := make([]any, len(items))
	for i, it := range items {
		wrapped[i] = map[string]any{"NotificationRequestItem": it}
	}
	b, _ := json.Marshal(map[string]any{"live": "false", "notificationItems": wrapped})
	return b
}

// TestAdyenEvents drives Adyen's webhook against a real dev server: a
// refund Adyen received waits in AwaitingGateway until its REFUND item.
func TestAdyenEvents(t *testing.T) {
	t.Parallel()
	const queue = "adyen-events-test"
	env, _ := startTemporal(t, queue)
	api := newAPIServer(t, env.HostPort, queue, 5*time.Second)

	awaitingGateway := func(t *testing.T, prefix string) string {
		t.Helper()
		txn := txnID("pending-adyen-" + prefix)
		if resp := api.postDisposition(dispositionBody(txn, "Refund_Processed", "20.00")); resp.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateAwaitingGateway })
		return txn
	}
	post := func(user, password string, body []byte) response {
		return api.send(http.MethodPost, "/v1/gateway-events/adyen", body, func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
			if user != "" {
				r.SetBasicAuth(user, password)
			}
		})
	}
	accepted := func(t *testing.T, resp response) {
		t.Helper()
		if resp.code != http.StatusOK || resp.raw != adyenAccepted {
			t.Fatalf("want 200 %s, got %d %q", adyenAccepted, resp.code, resp.raw)
		}
	}

	t.Run("REFUND success=true completes it; a redelivery changes nothing", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "ok")
		body := adyenBody(adyenItem(t, adyenHMACOld, txn, "REFUND", "true", ""))
		accepted(t, post(adyenWebhookUser, adyenWebhookPassword, body))
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		if st.GatewayStatus != "succeeded" || st.GatewayReference != "gw-"+txn {
			t.Errorf("status %+v", st)
		}
		// Adyen delivers again what it thinks unanswered: the same eventId.
		accepted(t, post(adyenWebhookUser, adyenWebhookPassword, body))
	})
	t.Run("a bad HMAC, Basic auth or body is refused and nothing applied", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "bad")
		forged := adyenItem(t, "0badc0de0badc0de", txn, "REFUND", "true", "FORGED-BODY-MARKER")
		if resp := post(adyenWebhookUser, adyenWebhookPassword, adyenBody(forged)); resp.code != http.StatusBadRequest {
			t.Errorf("wrong key: %d %s", resp.code, resp.raw)
		}
		if resp := post(adyenWebhookUser, adyenWebhookPassword, adyenBody(adyenItem(t, "", txn, "REFUND", "true", ""))); resp.code != http.StatusBadRequest {
			t.Errorf("unsigned: %d %s", resp.code, resp.raw)
		}
		// Signed for a failure, then changed to a success on the way.
		tampered := adyenItem(t, adyenHMACNew, txn, "REFUND", "false", "")
		tampered["success"] = "true"
		if resp := post(adyenWebhookUser, adyenWebhookPassword, adyenBody(tampered)); resp.code != http.StatusBadRequest {
			t.Errorf("tampered: %d %s", resp.code, resp.raw)
		}
		// One good item does not carry a forged one: the batch is refused whole.
		good := adyenItem(t, adyenHMACNew, txn, "REFUND", "true", "")
		if resp := post(adyenWebhookUser, adyenWebhookPassword, adyenBody(good, forged)); resp.code != http.StatusBadRequest {
			t.Errorf("mixed batch: %d %s", resp.code, resp.raw)
		}
		for _, creds := range [][2]string{{"", ""}, {adyenWebhookUser, "nope"}, {"someone", adyenWebhookPassword}} {
			if resp := post(creds[0], creds[1], adyenBody(good)); resp.code != http.StatusUnauthorized {
				t.Errorf("Basic %q: %d %s", creds, resp.code, resp.raw)
			}
		}
		for _, body := range []string{"{not json", `{"live":"false","notificationItems":[]}`, `{"notificationItems":[{}]}`} {
			if resp := post(adyenWebhookUser, adyenWebhookPassword, []byte(body)); resp.code != http.StatusBadRequest {
				t.Errorf("body %s: %d %s", body, resp.code, resp.raw)
			}
		}
		if strings.Contains(api.logs.String(), "FORGED-BODY-MARKER") {
			t.Error("a refused event's body was logged")
		}
		if st := api.waitStatus(txn, func(remediation.Status) bool { return true }); st.State != remediation.StateAwaitingGateway {
			t.Errorf("state %s after refused events", st.State)
		}
	})
	t.Run("REFUND success=false sends it to review with Adyen's reason", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "fail")
		accepted(t, post(adyenWebhookUser, adyenWebhookPassword, adyenBody(adyenItem(t, adyenHMACNew, txn, "REFUND", "false", "Insufficient balance on payment"))))
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateAwaitingReview })
		if st.GatewayStatus != "failed" || !strings.Contains(st.LastError, "Insufficient balance on payment") {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("REFUNDED_REVERSED after Completed puts it back in front of finance", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "rev")
		accepted(t, post(adyenWebhookUser, adyenWebhookPassword, adyenBody(adyenItem(t, adyenHMACOld, txn, "REFUND", "true", ""))))
		api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		if err := env.Client.GetWorkflow(t.Context(), remediation.WorkflowID(txn), "").Get(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		accepted(t, post(adyenWebhookUser, adyenWebhookPassword, adyenBody(adyenItem(t, adyenHMACOld, txn, "REFUNDED_REVERSED", "true", "returned by the bank"))))
		st := api.waitStatus(txn, func(s remediation.Status) bool {
			return s.State == remediation.StateAwaitingReview && s.WorkitemID != ""
		})
		if st.GatewayStatus != "refunded_reversed" || !strings.Contains(st.LastError, "returned by the bank") {
			t.Errorf("reopened status %+v", st)
		}
	})
	t.Run("a signed event that is no refund outcome is accepted and ignored", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "other")
		accepted(t, post(adyenWebhookUser, adyenWebhookPassword, adyenBody(adyenItem(t, adyenHMACOld, txn, "AUTHORISATION", "true", ""))))
		if st := api.waitStatus(txn, func(remediation.Status) bool { return true }); st.State != remediation.StateAwaitingGateway {
			t.Errorf("state %s", st.State)
		}
	})
}

func TestAdyenWebhookConfig(t *testing.T) {
	base := func() Config {
		return Config{WebhookTokens: []string{"w"}, Dispositions: remediation.DefaultDispositions, DefaultCurrency: "USD",
			StartTimeout: time.Second, ApproverTokens: ""}
	}
	c := base()
	c.TaskQueue = "q"
	c.AdyenHMACKeys = []string{"not-hex"}
	if _, err := c.parse(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_ADYEN_HMAC_KEYS") || strings.Contains(err.Error(), "not-hex") {
		t.Errorf("bad key: %v", err)
	}
	c = base()
	c.TaskQueue = "q"
	c.AdyenWebhookUsername = "u"
	if _, err := c.parse(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_ADYEN_WEBHOOK_PASSWORD") {
		t.Errorf("user without password: %v", err)
	}
	c = base()
	c.TaskQueue = "q"
	c.AdyenHMACKeys = []string{adyenHMACOld, " "}
	st, err := c.parse()
	if err != nil || len(st.adyenHMACKeys) != 1 || st.adyenBasic != nil {
		t.Errorf("keys without Basic auth: %+v, %v", st.adyenHMACKeys, err)
	}
}
