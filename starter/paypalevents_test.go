package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/paypalverify"
	"github.com/refundflow/refundflow/internal/remediation"
)

// fakePayPalVerify is PayPal's verify-webhook-signature as the starter
// sees it: SUCCESS for transmissions signed "genuine", 503 for "outage",
// FAILURE for anything else.
func fakePayPalVerify(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var asked atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/oauth2/token":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "A21AA", "token_type": "Bearer", "expires_in": 32400})
		case "/v1/notifications/verify-webhook-signature":
			asked.Add(1)
			var req struct {
				TransmissionSig string `json:"transmission_sig"`
				WebhookID       string `json:"webhook_id"`
			}
			_ = json.NewDecoder(r.Body).Decode(&req)
			status := "FAILURE"
			switch {
			case req.TransmissionSig == "outage":
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			case req.TransmissionSig == "genuine" && req.WebhookID == "WHTEST1":
				status = "SUCCESS"
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"verification_status": status})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts, &asked
}

// paypalEventBody is a PayPal refund event for txn.
func paypalEventBody(id, typ, txn, refund, status string) []byte {
	details := ""
	if status == "FAILED" || status == "PENDING" {
		details = `,"status_details":{"reason":"ECHECK"}`
	}
	return []byte(fmt.Sprintf(`{"id":%q,"event_version":"1.0","create_time":%q,"resource_type":"refund","resource_version":"2.0","event_type":%q,"summary":"refund","resource":{"id":%q,"status":%q,"custom_id":%q%s,"amount":{"value":"20.00","currency_code":"USD"},"links":[{"href":"https://api-m.paypal.com/v2/payments/captures/%s","rel":"up","method":"GET"}]}}`,
		id, time.Now().UTC().Format(time.RFC3339), typ, refund, status, txn, details, txn))
}

func TestPayPalEvents(t *testing.T) {
	t.Parallel()
	const queue = "paypal-events-test"
	env, _ := startTemporal(t, queue)
	api := newAPIServer(t, env.HostPort, queue, 5*time.Second)
	pp, asked := fakePayPalVerify(t)
	api.srv.paypal = paypalverify.New(paypalverify.Config{BaseURL: pp.URL, ClientID: "cid", ClientSecret: "cs", WebhookID: "WHTEST1"})
	t.Cleanup(func() {
		// After the parallel subtests: every answer came from asking PayPal.
		if asked.Load() < 8 {
			t.Errorf("PayPal was asked %d times", asked.Load())
		}
	})

	awaitingGateway := func(t *testing.T, prefix string) string {
		t.Helper()
		txn := txnID("pending-" + prefix)
		if resp := api.postDisposition(dispositionBody(txn, "Refund_Processed", "20.00")); resp.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateAwaitingGateway })
		return txn
	}
	post := func(sig string, body []byte) response {
		return api.send(http.MethodPost, "/v1/gateway-events/paypal", body, func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(paypalverify.HeaderTransmissionID, "b2ad4a50-cc6d-11f0-9d0f-3b4a2d5e8c11")
			r.Header.Set(paypalverify.HeaderTransmissionTime, time.Now().UTC().Format(time.RFC3339))
			r.Header.Set(paypalverify.HeaderCertURL, "https://api-m.paypal.com/v1/notifications/certs/CERT-1")
			r.Header.Set(paypalverify.HeaderAuthAlgo, "SHA256withRSA")
			if sig != "" {
				r.Header.Set(paypalverify.HeaderTransmissionSig, sig)
			}
		})
	}

	t.Run("a verified PAYMENT.CAPTURE.REFUNDED completes it; a duplicate changes nothing", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "pp")
		body := paypalEventBody("WH-OK-"+txn, "PAYMENT.CAPTURE.REFUNDED", txn, "gw-"+txn, "COMPLETED")
		if resp := post("genuine", body); resp.code != http.StatusOK || resp.str("status") != "delivered" {
			t.Fatalf("event: %d %s", resp.code, resp.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		if st.GatewayStatus != "completed" {
			t.Errorf("gatewayStatus %q", st.GatewayStatus)
		}
		if resp := post("genuine", body); resp.code != http.StatusOK {
			t.Errorf("duplicate: %d %s", resp.code, resp.raw)
		}
		if st := api.waitStatus(txn, func(remediation.Status) bool { return true }); st.State != remediation.StateCompleted {
			t.Errorf("state after the duplicate: %s", st.State)
		}
	})
	t.Run("an unverifiable event is 400, nothing applied, its body never logged", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "ppbad")
		forged := paypalEventBody("WH-FORGED-"+txn, "PAYMENT.CAPTURE.REFUNDED", txn, "FORGED-BODY-MARKER", "COMPLETED")
		for _, sig := range []string{"", "forged"} {
			if resp := post(sig, forged); resp.code != http.StatusBadRequest {
				t.Errorf("signature %q: %d %s", sig, resp.code, resp.raw)
			}
		}
		if strings.Contains(api.logs.String(), "FORGED-BODY-MARKER") {
			t.Error("a refused event's body was logged")
		}
		if st := api.waitStatus(txn, func(remediation.Status) bool { return true }); st.State != remediation.StateAwaitingGateway {
			t.Errorf("state %s after refused events", st.State)
		}
	})
	t.Run("PayPal unreachable while verifying is 503, so PayPal retries", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "ppdown")
		body := paypalEventBody("WH-DOWN-"+txn, "PAYMENT.CAPTURE.REFUNDED", txn, "gw-"+txn, "COMPLETED")
		if resp := post("outage", body); resp.code != http.StatusServiceUnavailable {
			t.Errorf("%d %s", resp.code, resp.raw)
		}
		if st := api.waitStatus(txn, func(remediation.Status) bool { return true }); st.State != remediation.StateAwaitingGateway {
			t.Errorf("state %s", st.State)
		}
	})
	t.Run("a FAILED refund goes to review with PayPal's reason", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "ppfail")
		if resp := post("genuine", paypalEventBody("WH-FAIL-"+txn, "PAYMENT.CAPTURE.REFUNDED", txn, "gw-"+txn, "FAILED")); resp.code != http.StatusOK {
			t.Fatalf("event: %d %s", resp.code, resp.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateAwaitingReview })
		if st.GatewayStatus != "failed" || !strings.Contains(st.LastError, "ECHECK") {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("a capture reversed after Completed is back in front of finance", func(t *testing.T) {
		t.Parallel()
		txn := awaitingGateway(t, "pprev")
		if resp := post("genuine", paypalEventBody("WH-OK-"+txn, "PAYMENT.CAPTURE.REFUNDED", txn, "gw-"+txn, "COMPLETED")); resp.code != http.StatusOK {
			t.Fatalf("event: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		if err := env.Client.GetWorkflow(t.Context(), remediation.WorkflowID(txn), "").Get(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		// The reversal's resource is PayPal's, not our refund: another id.
		rev := paypalEventBody("WH-REV-"+txn, "PAYMENT.CAPTURE.REVERSED", txn, "PAYPALREVERSAL1", "COMPLETED")
		if resp := post("genuine", rev); resp.code != http.StatusOK || resp.str("status") != "reopened" {
			t.Fatalf("reversal: %d %s", resp.code, resp.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool {
			return s.State == remediation.StateAwaitingReview && s.WorkitemID != ""
		})
		if st.GatewayStatus != "reversed" || !strings.Contains(st.LastError, "PAYMENT.CAPTURE.REVERSED") {
			t.Errorf("reopened status %+v", st)
		}
	})
	t.Run("a verified event about something else is 200 ignored", func(t *testing.T) {
		t.Parallel()
		body := []byte(`{"id":"WH-ORDER","event_type":"CHECKOUT.ORDER.APPROVED","resource_type":"checkout-order","resource":{"id":"5O190127TN364715T"}}`)
		if resp := post("genuine", body); resp.code != http.StatusOK || resp.str("status") != "ignored" {
			t.Errorf("%d %s", resp.code, resp.raw)
		}
	})
}

func TestPayPalEventsRefusedWithoutAWebhookID(t *testing.T) {
	t.Parallel()
	srv := &server{logger: slog.New(slog.DiscardHandler)}
	rec := httptest.NewRecorder()
	srv.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/gateway-events/paypal", strings.NewReader(`{"id":"WH-1"}`)))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestPayPalWebhookConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg PayPalWebhookConfig
		ok  bool
	}{
		{PayPalWebhookConfig{}, true},
		{PayPalWebhookConfig{BaseURL: "https://api-m.paypal.com", ClientID: "c", ClientSecret: "s", WebhookID: "1JE4291016473214C"}, true},
		{PayPalWebhookConfig{BaseURL: "https://api-m.paypal.com", ClientID: "c", ClientSecret: "s", WebhookID: "not-alnum"}, false},
		{PayPalWebhookConfig{BaseURL: "https://api-m.paypal.com", WebhookID: "WH1"}, false},
		{PayPalWebhookConfig{BaseURL: "api-m.paypal.com", ClientID: "c", ClientSecret: "s", WebhookID: "WH1"}, false},
	} {
		if _, err := c.cfg.verifier(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.cfg, err)
		}
	}
}
