package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/adyensig"
)

const (
	testAdyenKey      = "test-adyen-api-key"
	testAdyenMerchant = "TestMerchantECOM"
	testAdyenHMAC     = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	testAdyenUser     = "adyen-webhook"
	testAdyenPassword = "adyen-webhook-password"
)

// adyenItem is what the starter reads of a NotificationRequestItem.
type adyenItem struct {
	AdditionalData map[string]string `json:"additionalData"`
	Amount         struct {
		Currency string `json:"currency"`
		Value    int64  `json:"value"`
	} `json:"amount"`
	EventCode           string `json:"eventCode"`
	EventDate           string `json:"eventDate"`
	MerchantAccountCode string `json:"merchantAccountCode"`
	MerchantReference   string `json:"merchantReference"`
	OriginalReference   string `json:"originalReference"`
	PSPReference        string `json:"pspReference"`
	Reason              string `json:"reason"`
	Success             string `json:"success"`
}

type adyenNotificationBody struct {
	Live              string `json:"live"`
	NotificationItems []struct {
		Item adyenItem `json:"NotificationRequestItem"`
	} `json:"notificationItems"`
}

func (i adyenItem) sig() adyensig.Item {
	return adyensig.Item{PSPReference: i.PSPReference, OriginalReference: i.OriginalReference, MerchantAccountCode: i.MerchantAccountCode,
		MerchantReference: i.MerchantReference, Value: i.Amount.Value, Currency: i.Amount.Currency, EventCode: i.EventCode, Success: i.Success}
}

// newAdyenStarterStub is the Adyen route: Basic auth and every item's HMAC,
// as the starter checks them.
func newAdyenStarterStub(t *testing.T) *starterStub[adyenNotificationBody] {
	key, err := adyensig.ParseKey(testAdyenHMAC)
	if err != nil {
		t.Fatal(err)
	}
	return newEventStub(t, "/v1/gateway-events/adyen", http.StatusBadRequest, func(_ *starterStub[adyenNotificationBody], r *http.Request, raw []byte) bool {
		if u, p, ok := r.BasicAuth(); !ok || u != testAdyenUser || p != testAdyenPassword {
			return false
		}
		var n adyenNotificationBody
		if json.Unmarshal(raw, &n) != nil || len(n.NotificationItems) == 0 {
			return false
		}
		for _, w := range n.NotificationItems {
			if !adyensig.Verify(w.Item.AdditionalData["hmacSignature"], w.Item.sig(), [][]byte{key}) {
				return false
			}
		}
		return true
	})
}

func adyenHarness(t *testing.T) (*harness, *starterStub[adyenNotificationBody]) {
	st := newAdyenStarterStub(t)
	h := newHarness(t, func(c *Config) {
		c.SettleAfter = 2 * time.Second
		c.WebhookDelay = 3 * time.Second
		c.WebhookURL = st.ts.URL
		c.AdyenAPIKeys = testAdyenKey
		c.AdyenMerchantAccount = testAdyenMerchant
		c.AdyenHMACKey = testAdyenHMAC
		c.AdyenWebhookUsername, c.AdyenWebhookPassword = testAdyenUser, testAdyenPassword
	})
	h.srv.sleep = func(time.Duration, <-chan struct{}) {}
	return h, st
}

func (h *harness) adyenRefund(payment, key, body string) response {
	h.t.Helper()
	header := map[string]string{"X-API-Key": testAdyenKey, "Content-Type": "application/json"}
	if key != "" {
		header["Idempotency-Key"] = key
	}
	return h.do(http.MethodPost, "/adyen/v71/payments/"+payment+"/refunds", header, body)
}

func adyenRefundBody(payment string, value int64) string {
	b, _ := json.Marshal(map[string]any{
		"merchantAccount": testAdyenMerchant, "amount": map[string]any{"currency": "EUR", "value": value},
		"reference": payment, "merchantRefundReason": "CUSTOMER REQUEST",
	})
	return string(b)
}

// events lists the stub's accepted items as eventCode/success.
func events(st *starterStub[adyenNotificationBody]) []string {
	var out []string
	for _, n := range st.got() {
		for _, w := range n.NotificationItems {
			out = append(out, w.Item.EventCode+"/"+w.Item.Success)
		}
	}
	return out
}

func TestAdyenRefundReceivedThenSignedWebhook(t *testing.T) {
	t.Parallel()
	h, st := adyenHarness(t)
	pay := "KX00000000000001"
	r := h.adyenRefund(pay, pay+":refund", adyenRefundBody(pay, 1000))
	if r.status != http.StatusCreated || r.body["status"] != "received" || r.body["paymentPspReference"] != pay || r.header.Get("Idempotency-Key") != pay+":refund" {
		t.Fatalf("refund: %d %s", r.status, r.raw)
	}
	ref := r.body["pspReference"].(string)
	// The same key again: the same answer, no second refund.
	if again := h.adyenRefund(pay, pay+":refund", adyenRefundBody(pay, 1000)); again.status != http.StatusCreated || again.body["pspReference"] != ref {
		t.Fatalf("replay: %d %s", again.status, again.raw)
	}
	// The same key, another amount: refused.
	if other := h.adyenRefund(pay, pay+":refund", adyenRefundBody(pay, 999)); other.status != http.StatusUnprocessableEntity {
		t.Fatalf("key reused: %d %s", other.status, other.raw)
	}
	h.flush()
	got := st.got()
	if len(got) != 1 || st.refused != 0 {
		t.Fatalf("webhooks: %+v, refused %d", got, st.refused)
	}
	it := got[0].NotificationItems[0].Item
	if got[0].Live != "false" || it.EventCode != "REFUND" || it.Success != "true" || it.PSPReference != ref || it.OriginalReference != pay ||
		it.MerchantReference != pay || it.Amount.Value != 1000 || it.MerchantAccountCode != testAdyenMerchant {
		t.Fatalf("REFUND item: %+v", it)
	}
	if v := h.txn(pay); v.RefundsCreated != 1 || v.GatewayRequests != 3 {
		t.Fatalf("ledger: %+v", v)
	}
	if n := h.specViolations(); n != 0 {
		t.Fatalf("spec violations: %d %v", n, h.srv.ledger.Stats.SpecViolationNotes)
	}
}

func TestAdyenLifecycles(t *testing.T) {
	t.Parallel()
	h, st := adyenHarness(t)
	for _, pay := range []string{"PEND000000000001", "PFAIL00000000001", "RFAIL00000000001", "REVERSE000000001"} {
		if r := h.adyenRefund(pay, pay+":refund", adyenRefundBody(pay, 500)); r.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", pay, r.status, r.raw)
		}
	}
	h.flush()
	before := map[string][]string{}
	byPayment := func() map[string][]string {
		out := map[string][]string{}
		for _, n := range st.got() {
			it := n.NotificationItems[0].Item
			out[it.OriginalReference] = append(out[it.OriginalReference], it.EventCode+"/"+it.Success)
		}
		return out
	}
	before = byPayment()
	if len(before["PEND000000000001"]) != 0 || len(before["PFAIL00000000001"]) != 0 ||
		strings.Join(before["RFAIL00000000001"], ",") != "REFUND/true" || strings.Join(before["REVERSE000000001"], ",") != "REFUND/true" {
		t.Fatalf("before settling: %v", before)
	}
	h.advance(2 * time.Second)
	h.flush()
	after := byPayment()
	want := map[string]string{
		"PEND000000000001": "REFUND/true",
		"PFAIL00000000001": "REFUND/false",
		"RFAIL00000000001": "REFUND/true,REFUND_FAILED/true",
		"REVERSE000000001": "REFUND/true,REFUNDED_REVERSED/true",
	}
	for pay, w := range want {
		if got := strings.Join(after[pay], ","); got != w {
			t.Errorf("%s: events %s, want %s", pay, got, w)
		}
	}
	for _, n := range st.got() {
		if it := n.NotificationItems[0].Item; it.Success == "false" && it.Reason == "" {
			t.Errorf("a failure without a reason: %+v", it)
		}
	}
	// Finance approves after the failure: a renewed key refunds at once.
	pay := "PFAIL00000000001"
	if r := h.adyenRefund(pay, pay+":refund:r2", adyenRefundBody(pay, 500)); r.status != http.StatusCreated {
		t.Fatalf("renewed key: %d %s", r.status, r.raw)
	}
	h.flush()
	if got := strings.Join(byPayment()[pay], ","); got != "REFUND/false,REFUND/true" {
		t.Errorf("after the renewed key: %s", got)
	}
	if n := h.specViolations(); n != 0 {
		t.Fatalf("spec violations: %d %v", n, h.srv.ledger.Stats.SpecViolationNotes)
	}
}

func TestAdyenRulesAndErrors(t *testing.T) {
	t.Parallel()
	h, _ := adyenHarness(t)
	cases := []struct {
		name, payment, key, apiKey, body string
		status                           int
		code                             string
	}{
		{"no API key", "KX00000000000002", "k1", "", adyenRefundBody("KX00000000000002", 1), 401, "000"},
		{"outage", "FAIL000000000001", "k2", testAdyenKey, adyenRefundBody("FAIL000000000001", 1), 503, "sandbox_unavailable"},
		{"reject", "REJECT0000000001", "k3", testAdyenKey, adyenRefundBody("REJECT0000000001", 1), 422, "sandbox_reject"},
		{"not a pspReference", "TXN-1", "k4", testAdyenKey, adyenRefundBody("TXN-1", 1), 422, "167"},
		{"zero", "KX00000000000003", "k5", testAdyenKey, adyenRefundBody("KX00000000000003", 0), 422, "137"},
	}
	for _, c := range cases {
		header := map[string]string{"Content-Type": "application/json", "Idempotency-Key": c.key}
		if c.apiKey != "" {
			header["X-API-Key"] = c.apiKey
		}
		r := h.do(http.MethodPost, "/adyen/v71/payments/"+c.payment+"/refunds", header, c.body)
		if r.status != c.status || r.body["errorCode"] != c.code || r.body["status"] != float64(c.status) {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.raw, c.status, c.code)
		}
	}
	if r := h.do(http.MethodPost, "/sandbox/heal/FAIL000000000001", nil, ""); r.status != 200 {
		t.Fatal(r.raw)
	}
	if r := h.adyenRefund("FAIL000000000001", "k2", adyenRefundBody("FAIL000000000001", 1)); r.status != http.StatusCreated {
		t.Errorf("healed: %d %s", r.status, r.raw)
	}
	if n := h.specViolations(); n != 0 {
		t.Fatalf("spec violations: %d", n)
	}
}

// TestAdyenSpecViolationsAreCaught proves both checks can fail: a request
// Checkout v71 refuses, and a webhook body Webhooks v1 refuses.
func TestAdyenSpecViolationsAreCaught(t *testing.T) {
	t.Parallel()
	h, _ := adyenHarness(t)
	bad := []struct{ name, key, body string }{
		{"amount as text", "s1", `{"merchantAccount":"` + testAdyenMerchant + `","amount":{"currency":"EUR","value":"10.00"},"reference":"x"}`},
		{"no merchantAccount", "s2", `{"amount":{"currency":"EUR","value":1000}}`},
		{"unknown field", "s3", `{"merchantAccount":"` + testAdyenMerchant + `","amount":{"currency":"EUR","value":1000},"modificationAmount":{"currency":"EUR","value":1000}}`},
		{"reason not in the enum", "s4", `{"merchantAccount":"` + testAdyenMerchant + `","amount":{"currency":"EUR","value":1000},"merchantRefundReason":"Refund_Processed"}`},
		{"key longer than 64", strings.Repeat("k", 65), adyenRefundBody("KX00000000000004", 1000)},
	}
	for _, c := range bad {
		if r := h.adyenRefund("KX00000000000004", c.key, c.body); r.status != http.StatusUnprocessableEntity || r.body["errorCode"] != "sandbox_spec" {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	if n := h.specViolations(); n != len(bad) {
		t.Fatalf("spec violations %d, want %d: %v", n, len(bad), h.srv.ledger.Stats.SpecViolationNotes)
	}
	if v := h.txn("KX00000000000004"); v.RefundsCreated != 0 {
		t.Fatalf("a refused request refunded: %+v", v)
	}

	good := `{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"x"},"amount":{"currency":"EUR","value":1000},"eventCode":"REFUND","eventDate":"2026-01-01T01:00:00+01:00","merchantAccountCode":"M","merchantReference":"R","originalReference":"KX00000000000004","pspReference":"QFQTPCQ8HXSKGK82","success":"true"}}]}`
	if err := validateAdyenWebhook([]byte(good)); err != nil {
		t.Fatalf("a valid REFUND webhook refused: %v", err)
	}
	for name, body := range map[string]string{
		// Adyen sends success and live as strings; a JSON boolean is a mistake.
		"success as a boolean": strings.Replace(good, `"success":"true"`, `"success":true`, 1),
		"live as a boolean":    strings.Replace(good, `"live":"false"`, `"live":false`, 1),
		"no eventDate":         strings.Replace(good, `"eventDate":"2026-01-01T01:00:00+01:00",`, ``, 1),
		"unknown field":        strings.Replace(good, `"success":"true"`, `"success":"true","refundId":"x"`, 1),
		"unknown eventCode":    strings.Replace(good, `"REFUND"`, `"REFUND_DONE"`, 1),
	} {
		if err := validateAdyenWebhook([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAdyenWebhookFaults(t *testing.T) {
	t.Parallel()
	h, st := adyenHarness(t)
	for _, pay := range []string{"KDUP000000000001", "KBADSIG000000001", "KDROP00000000001"} {
		if r := h.adyenRefund(pay, pay+":refund", adyenRefundBody(pay, 100)); r.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", pay, r.status, r.raw)
		}
	}
	h.flush()
	h.advance(time.Second)
	h.flush()
	count := func(pay string) int {
		n := 0
		for _, b := range st.got() {
			if b.NotificationItems[0].Item.OriginalReference == pay {
				n++
			}
		}
		return n
	}
	if count("KDUP000000000001") != 2 {
		t.Errorf("duplicated: %d deliveries", count("KDUP000000000001"))
	}
	if count("KBADSIG000000001") != 1 || st.refused != 1 {
		t.Errorf("bad signature: %d accepted, %d refused; want the genuine one accepted and the forgery refused", count("KBADSIG000000001"), st.refused)
	}
	if count("KDROP00000000001") != 0 {
		t.Errorf("dropped, yet delivered before its redelivery")
	}
	h.advance(h.srv.redeliverAfter())
	h.flush()
	if count("KDROP00000000001") != 1 {
		t.Errorf("a dropped event is delivered again later: %d", count("KDROP00000000001"))
	}
	if n := h.specViolations(); n != 0 {
		t.Fatalf("spec violations: %d", n)
	}
}
