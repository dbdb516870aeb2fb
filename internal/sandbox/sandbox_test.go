package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/pci"
)

const (
	testClient = "sandbox-gateway"
	testSecret = "sandbox-gateway-secret"
)

// harness is one sandbox behind an httptest server, with a clock the test moves.
type harness struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server

	mu  sync.Mutex
	now time.Time
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := Config{
		Clients:  testClient + ":" + testSecret + ",sandbox-genesys:sandbox-genesys-secret",
		TokenTTL: 60 * time.Second,
		HangFor:  time.Hour,
		Seed:     1,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	srv.now = func() time.Time {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.now
	}
	h.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(h.ts.Close)
	return h
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (h *harness) do(method, path string, header map[string]string, body string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (h *harness) token(client, secret string) string {
	h.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, secret)
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("token: status %d", resp.StatusCode)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		h.t.Fatalf("token body: %v", err)
	}
	return tok.AccessToken
}

// refundBody is a contract-shaped gateway body.
func refundBody(txn, amount string) string {
	return `{"transactionId":"` + txn + `","customerId":"cus_1","refundAmount":` + amount +
		`,"currency":"USD","reasonCode":"Refund_Processed","initiatedBy":"Genesys_Automation","timestamp":"2026-11-25T09:00:00Z"}`
}

func (h *harness) refund(tok, key, body string, extra ...string) response {
	h.t.Helper()
	header := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json", "Idempotency-Key": key}
	for i := 0; i+1 < len(extra); i += 2 {
		header[extra[i]] = extra[i+1]
	}
	return h.do(http.MethodPost, "/erp/refunds", header, body)
}

func (h *harness) txn(id string) TransactionView {
	h.t.Helper()
	r := h.do(http.MethodGet, "/sandbox/ledger/"+id, nil, "")
	var v TransactionView
	if err := json.Unmarshal([]byte(r.raw), &v); err != nil {
		h.t.Fatal(err)
	}
	return v
}

func TestTokenClientAuthentication(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.token(testClient, testSecret)

	// Form client authentication works too.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClient}, "client_secret": {testSecret}, "scope": {"refunds:write"}}
	r := h.do(http.MethodPost, "/oauth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
	if r.status != http.StatusOK || r.body["expires_in"] != float64(60) || r.body["scope"] != "refunds:write" {
		t.Fatalf("form auth: %d %s", r.status, r.raw)
	}

	form.Set("client_secret", "wrong")
	if r := h.do(http.MethodPost, "/oauth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode()); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", r.status)
	}
	form.Set("grant_type", "password")
	if r := h.do(http.MethodPost, "/oauth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode()); r.status != http.StatusBadRequest {
		t.Fatalf("password grant: %d", r.status)
	}
}

func TestExpiredAndUnknownTokensGet401(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	if r := h.refund("not-a-token", "T1:refund", refundBody("T1", "10.00")); r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("unknown token: %d", r.status)
	}
	if r := h.refund(tok, "T1:refund", refundBody("T1", "10.00")); r.status != http.StatusCreated {
		t.Fatalf("fresh token: %d %s", r.status, r.raw)
	}
	h.advance(61 * time.Second)
	if r := h.refund(tok, "T1:refund", refundBody("T1", "10.00")); r.status != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", r.status)
	}
	// A new token is accepted, and the key is replayed, not refunded again.
	if r := h.refund(h.token(testClient, testSecret), "T1:refund", refundBody("T1", "10.00")); r.status != http.StatusCreated {
		t.Fatalf("refreshed token: %d", r.status)
	}
	if v := h.txn("T1"); v.RefundsCreated != 1 {
		t.Fatalf("refunds created = %d, want 1", v.RefundsCreated)
	}
}

func TestTokenExpireEveryNCalls(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.TokenExpireEvery = 2 })
	tok := h.token(testClient, testSecret)
	if r := h.refund(tok, "T2:refund", refundBody("T2", "5")); r.status != http.StatusCreated {
		t.Fatalf("call 1: %d", r.status)
	}
	if r := h.refund(tok, "T2:refund", refundBody("T2", "5")); r.status != http.StatusUnauthorized {
		t.Fatalf("call 2: %d, want 401", r.status)
	}
	// The revoked token stays revoked.
	if r := h.refund(tok, "T2:refund", refundBody("T2", "5")); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked token reused: %d", r.status)
	}
	tok = h.token(testClient, testSecret)
	if r := h.refund(tok, "T2:refund", refundBody("T2", "5")); r.status != http.StatusCreated {
		t.Fatalf("new token: %d", r.status)
	}
	var l struct {
		Stats Stats `json:"stats"`
	}
	_ = json.Unmarshal([]byte(h.do(http.MethodGet, "/sandbox/ledger", nil, "").raw), &l)
	if l.Stats.Faults["token_expired"] != 1 {
		t.Fatalf("token_expired faults = %d, want 1", l.Stats.Faults["token_expired"])
	}
}

func TestRepeatedKeyReplaysWithoutSecondRefund(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	first := h.refund(tok, "T3:refund", refundBody("T3", "49.99"))
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.raw)
	}
	ref, _ := first.body["refundId"].(string)
	if !strings.HasPrefix(ref, "rf_") {
		t.Fatalf("refundId %q", ref)
	}
	second := h.refund(tok, "T3:refund", refundBody("T3", "49.99"))
	if second.status != http.StatusCreated || second.body["refundId"] != ref || second.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", second.status, second.raw)
	}
	v := h.txn("T3")
	if v.RefundsCreated != 1 || len(v.Submissions) != 1 || v.Submissions[0].Requests != 2 || v.Submissions[0].Replays != 1 || v.Submissions[0].AmountMinor != 4999 {
		t.Fatalf("ledger: %+v", v)
	}
	// The same key with another amount is refused, as real gateways do.
	if r := h.refund(tok, "T3:refund", refundBody("T3", "50.00")); r.status != http.StatusUnprocessableEntity || r.body["error"] != "idempotency_key_reused" {
		t.Fatalf("same key, other amount: %d %s", r.status, r.raw)
	}
	// A corrected amount has its own key, and creates its own refund.
	if r := h.refund(tok, "T3:refund:5000", refundBody("T3", "50.00")); r.status != http.StatusCreated {
		t.Fatalf("corrected amount: %d %s", r.status, r.raw)
	}
	if v := h.txn("T3"); v.RefundsCreated != 2 {
		t.Fatalf("refunds = %d", v.RefundsCreated)
	}
	var l LedgerView
	_ = json.Unmarshal([]byte(h.do(http.MethodGet, "/sandbox/ledger", nil, "").raw), &l)
	if len(l.Summary.MultipleCreations) != 1 || l.Summary.MultipleCreations[0] != "T3" {
		t.Fatalf("summary should flag T3: %+v", l.Summary)
	}
}

func TestKeyReusedWithOtherParameters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	h.refund(tok, "T4:refund", refundBody("T4", "10"))
	other := strings.Replace(refundBody("T4", "10"), "cus_1", "cus_2", 1)
	if r := h.refund(tok, "T4:refund", other); r.status != http.StatusUnprocessableEntity || r.body["error"] != "idempotency_key_reused" {
		t.Fatalf("reuse: %d %s", r.status, r.raw)
	}
}

func TestConcurrentSameKeyCreatesOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	var wg sync.WaitGroup
	refs := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/erp/refunds", strings.NewReader(refundBody("T5", "1.00")))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "T5:refund")
			resp, err := h.ts.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var b map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&b)
			refs <- b["refundId"].(string)
		}()
	}
	wg.Wait()
	close(refs)
	distinct := map[string]bool{}
	for r := range refs {
		distinct[r] = true
	}
	if len(distinct) != 1 {
		t.Fatalf("%d distinct refunds for one key", len(distinct))
	}
	if v := h.txn("T5"); v.RefundsCreated != 1 || v.GatewayRequests != 20 {
		t.Fatalf("ledger: created %d requests %d", v.RefundsCreated, v.GatewayRequests)
	}
}

func TestContractValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	cases := []struct {
		name, key, body string
	}{
		{"missing key", "", refundBody("V1", "10")},
		{"amount as string", "V1:refund", refundBody("V1", `"10.00"`)},
		{"amount zero", "V1:refund", refundBody("V1", "0")},
		{"amount negative", "V1:refund", refundBody("V1", "-1")},
		{"amount exponent", "V1:refund", refundBody("V1", "1e2")},
		{"too many decimals", "V1:refund", refundBody("V1", "1.001")},
		{"unknown field", "V1:refund", strings.Replace(refundBody("V1", "10"), `"customerId"`, `"cardNumber":"x","customerId"`, 1)},
		{"wrong initiatedBy", "V1:refund", strings.Replace(refundBody("V1", "10"), "Genesys_Automation", "someone", 1)},
		{"bad currency", "V1:refund", strings.Replace(refundBody("V1", "10"), "USD", "usd", 1)},
		{"key of another transaction", "V2:refund", refundBody("V1", "10")},
		{"key of another action", "V1:chargeback", refundBody("V1", "10")},
	}
	for _, c := range cases {
		if r := h.refund(tok, c.key, c.body); r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (%s)", c.name, r.status, r.raw)
		}
	}
	if v := h.txn("V1"); len(v.Submissions) != 0 {
		t.Errorf("invalid requests were recorded: %+v", v.Submissions)
	}
	// JPY has no minor unit; KWD has three.
	jpy := strings.Replace(refundBody("V3", "500"), "USD", "JPY", 1)
	if r := h.refund(tok, "V3:refund", jpy); r.status != http.StatusCreated {
		t.Errorf("JPY 500: %d %s", r.status, r.raw)
	}
	kwd := strings.Replace(refundBody("V4", "1.250"), "USD", "KWD", 1)
	if r := h.refund(tok, "V4:refund", kwd); r.status != http.StatusCreated {
		t.Errorf("KWD 1.250: %d %s", r.status, r.raw)
	}
}

func TestFailRuleUntilHealed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	for i := range 3 {
		if r := h.refund(tok, "FAIL-1:refund", refundBody("FAIL-1", "20")); r.status != http.StatusServiceUnavailable {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	if v := h.txn("FAIL-1"); v.RefundsCreated != 0 || v.GatewayRequests != 3 || v.Healed {
		t.Fatalf("before heal: %+v", v)
	}
	if r := h.do(http.MethodPost, "/sandbox/heal/FAIL-1", nil, ""); r.status != http.StatusOK {
		t.Fatalf("heal: %d", r.status)
	}
	if r := h.refund(tok, "FAIL-1:refund", refundBody("FAIL-1", "20")); r.status != http.StatusCreated {
		t.Fatalf("after heal: %d", r.status)
	}
	if v := h.txn("FAIL-1"); v.RefundsCreated != 1 || !v.Healed || v.Submissions[0].Faults["rule_fail"] != 3 {
		t.Fatalf("after heal: %+v", v)
	}
}

func TestFailNTimesThenSucceed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	var got []int
	for range 4 {
		got = append(got, h.refund(tok, "FAIL2-x:refund", refundBody("FAIL2-x", "3")).status)
	}
	want := []int{503, 503, 201, 201}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
}

func TestRejectRuleIsFinal(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	h.do(http.MethodPost, "/sandbox/heal/REJECT-1", nil, "")
	for range 2 {
		if r := h.refund(tok, "REJECT-1:refund", refundBody("REJECT-1", "20")); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("reject: %d", r.status)
		}
	}
	if v := h.txn("REJECT-1"); v.RefundsCreated != 0 {
		t.Fatalf("rejected transaction refunded: %+v", v)
	}
}

func TestForcedFailureHeader(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.RetryAfter = 3 * time.Second })
	tok := h.token(testClient, testSecret)
	r := h.refund(tok, "H1:refund", refundBody("H1", "1"), "X-Sandbox-Fail", "429")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "3" {
		t.Fatalf("429: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if r := h.refund(tok, "H1:refund", refundBody("H1", "1"), "X-Sandbox-Fail", "nonsense"); r.status != http.StatusBadRequest {
		t.Fatalf("bad header: %d", r.status)
	}
	if r := h.refund(tok, "H1:refund", refundBody("H1", "1")); r.status != http.StatusCreated {
		t.Fatalf("without header: %d", r.status)
	}
}

// A hang after the record is the case idempotency exists for: the caller
// times out, retries, and must get the same refund back.
func TestHangAfterRecordThenReplay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	recordedWhileHanging := make(chan int, 1)
	h.srv.sleep = func(time.Duration, <-chan struct{}) {
		h.srv.mu.Lock()
		recordedWhileHanging <- h.srv.ledger.Refunds["HANG-1:refund"].Creations
		h.srv.mu.Unlock()
	}
	tok := h.token(testClient, testSecret)
	first := h.refund(tok, "HANG-1:refund", refundBody("HANG-1", "7.50"))
	if n := <-recordedWhileHanging; n != 1 {
		t.Fatalf("creations while hanging = %d, want 1", n)
	}
	second := h.refund(tok, "HANG-1:refund", refundBody("HANG-1", "7.50"))
	if first.body["refundId"] != second.body["refundId"] || second.status != http.StatusCreated {
		t.Fatalf("retry after hang: %s vs %s", first.raw, second.raw)
	}
	if v := h.txn("HANG-1"); v.RefundsCreated != 1 || v.Submissions[0].Faults["hang"] != 1 {
		t.Fatalf("ledger: %+v", v)
	}
}

func TestRandomFaults(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		set    func(*Config)
		status int
	}{
		{"5xx", func(c *Config) { c.Fault5xx = 1 }, 0},
		{"429", func(c *Config) { c.Fault429 = 1 }, http.StatusTooManyRequests},
		{"422", func(c *Config) { c.Fault422 = 1 }, http.StatusUnprocessableEntity},
	} {
		h := newHarness(t, c.set)
		tok := h.token(testClient, testSecret)
		r := h.refund(tok, "R1:refund", refundBody("R1", "1"))
		if c.status == 0 && r.status < 500 || c.status != 0 && r.status != c.status {
			t.Errorf("%s: status %d", c.name, r.status)
		}
		if v := h.txn("R1"); v.RefundsCreated != 0 {
			t.Errorf("%s: a faulted call created a refund", c.name)
		}
	}
	// Off by default.
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	for i := range 50 {
		if r := h.refund(tok, "R2:refund", refundBody("R2", "1")); r.status != http.StatusCreated {
			t.Fatalf("call %d with no faults configured: %d", i, r.status)
		}
	}
	if _, err := New(Config{Clients: "a:b", TokenTTL: time.Second, Fault5xx: 1.5}, nil); err == nil {
		t.Error("a rate above 1 was accepted")
	}
}

func TestChargebackAnswersWithID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	body := strings.Replace(refundBody("C1", "12.34"), "Refund_Processed", "Chargeback_Requested", 1)
	r := h.do(http.MethodPost, "/erp/chargebacks", map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json", "Idempotency-Key": "C1:chargeback"}, body)
	if id, _ := r.body["id"].(string); r.status != http.StatusCreated || !strings.HasPrefix(id, "cb_") {
		t.Fatalf("chargeback: %d %s", r.status, r.raw)
	}
	if v := h.txn("C1"); v.ChargebacksCreated != 1 || v.RefundsCreated != 0 {
		t.Fatalf("ledger: %+v", v)
	}
}

func TestGenesysEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token("sandbox-genesys", "sandbox-genesys-secret")
	auth := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}

	attrs := `{"attributes":{"refundStatus":"Completed","refundReference":"rf_1","refundTransactionId":"G1"}}`
	if r := h.do(http.MethodPatch, "/api/v2/conversations/calls/conv-1/participants/part-1/attributes", auth, attrs); r.status != http.StatusAccepted {
		t.Fatalf("attributes: %d %s", r.status, r.raw)
	}
	if r := h.do(http.MethodPatch, "/api/v2/conversations/calls/conv-1/participants/part-1/attributes", map[string]string{"Content-Type": "application/json"}, attrs); r.status != http.StatusUnauthorized {
		t.Fatalf("attributes without token: %d", r.status)
	}
	if r := h.do(http.MethodPatch, "/api/v2/conversations/calls/conv-1/participants/part-1/attributes", auth, `{"attributes":{"n":1}}`); r.status != http.StatusBadRequest {
		t.Fatalf("non-string attribute: %d", r.status)
	}

	wrap := `{"code":"5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b","notes":"refund for G1 failed"}`
	if r := h.do(http.MethodPost, "/api/v2/conversations/calls/conv-1/participants/part-1/communications/comm-1/wrapup", auth, wrap); r.status != http.StatusAccepted {
		t.Fatalf("wrapup: %d %s", r.status, r.raw)
	}
	if r := h.do(http.MethodPost, "/api/v2/conversations/calls/ENDED-conv/participants/part-1/communications/comm-1/wrapup", auth, `{"code":"5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b","notes":"other"}`); r.status != http.StatusBadRequest {
		t.Fatalf("wrapup after ACW: %d", r.status)
	}

	query := `{"filters":[{"name":"externalTag","type":"String","operator":"EQ","values":["G1"]}],"pageSize":1}`
	if r := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems/query", auth, query); r.status != http.StatusOK || len(r.body["entities"].([]any)) != 0 {
		t.Fatalf("query before create: %d %s", r.status, r.raw)
	}
	create := `{"name":"Refund review G1","typeId":"7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c","queueId":"0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b","description":"gateway unavailable","priority":5,"externalTag":"G1","customFields":{"transactionid_text":"G1"}}`
	created := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems", auth, create)
	id, _ := created.body["id"].(string)
	if created.status != http.StatusOK || id == "" || created.body["type"].(map[string]any)["id"] != "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c" {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	found := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems/query", auth, query)
	entities, _ := found.body["entities"].([]any)
	if len(entities) != 1 || entities[0].(map[string]any)["id"] != id {
		t.Fatalf("query after create: %s", found.raw)
	}
	if r := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems/query", auth, `{"filters":[{"name":"description","operator":"EQ","values":["x"]}]}`); r.status != http.StatusBadRequest {
		t.Fatalf("unsupported filter: %d", r.status)
	}
	if r := h.do(http.MethodPatch, "/api/v2/taskmanagement/workitems/"+id, auth, `{"description":"reminder 1"}`); r.status != http.StatusOK || r.body["description"] != "reminder 1" {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	if r := h.do(http.MethodPatch, "/api/v2/taskmanagement/workitems/nope", auth, `{"description":"x"}`); r.status != http.StatusNotFound {
		t.Fatalf("update unknown: %d", r.status)
	}
	if r := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems", auth, `{"name":"x"}`); r.status != http.StatusBadRequest {
		t.Fatalf("create without typeId: %d", r.status)
	}

	email := `{"senderType":"Outbound","fromAddress":{"email":"refunds@example.com"},"toAddresses":[{"email":"finance@example.com"}],"subject":"Refund review G1","textBody":"please review G1"}`
	if r := h.do(http.MethodPost, "/api/v2/conversations/emails/agentless", auth, email); r.status != http.StatusAccepted {
		t.Fatalf("email: %d %s", r.status, r.raw)
	}
	if r := h.do(http.MethodPost, "/api/v2/conversations/emails/agentless", auth, strings.Replace(email, "Outbound", "Inbound", 1)); r.status != http.StatusBadRequest {
		t.Fatalf("inbound email: %d", r.status)
	}

	v := h.txn("G1")
	if len(v.AttributeWrites) != 1 || len(v.Wrapups) != 1 || !v.Wrapups[0].Accepted || len(v.Workitems) != 1 || v.Workitems[0].Updates != 1 || len(v.Emails) != 1 {
		t.Fatalf("ledger for G1: %+v", v)
	}
}

// A review workitem is closed the way Genesys closes one: a PATCH to a
// status of its worktype whose category is Closed, found by listing the
// worktype's statuses. The ledger shows the status, the close and the
// update count.
func TestWorkitemClosedToAWorktypeStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token("sandbox-genesys", "sandbox-genesys-secret")
	auth := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}

	if r := h.do(http.MethodGet, "/api/v2/taskmanagement/worktypes/7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c/statuses", map[string]string{}, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("statuses without token: %d", r.status)
	}
	listed := h.do(http.MethodGet, "/api/v2/taskmanagement/worktypes/7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c/statuses", auth, "")
	entities, _ := listed.body["entities"].([]any)
	closedID := ""
	for _, e := range entities {
		st := e.(map[string]any)
		if st["category"] == "Closed" {
			if closedID != "" {
				t.Fatalf("two Closed statuses: %s", listed.raw)
			}
			closedID, _ = st["id"].(string)
		}
	}
	if listed.status != http.StatusOK || len(entities) != 7 || closedID == "" {
		t.Fatalf("statuses: %d %s", listed.status, listed.raw)
	}

	created := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems", auth,
		`{"name":"Refund review G2","typeId":"7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c","description":"gateway unavailable","priority":5,"externalTag":"G2"}`)
	id, _ := created.body["id"].(string)
	if created.status != http.StatusOK || created.body["statusCategory"] != "Open" {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	if r := h.do(http.MethodPatch, "/api/v2/taskmanagement/workitems/"+id, auth, `{"statusId":"no-such-status"}`); r.status != http.StatusBadRequest {
		t.Fatalf("update to an unknown status: %d %s", r.status, r.raw)
	}
	h.advance(time.Minute)
	closed := h.do(http.MethodPatch, "/api/v2/taskmanagement/workitems/"+id, auth,
		`{"statusId":"`+closedID+`","description":"gateway unavailable\nReview closed: Rejected, decided by alice."}`)
	if closed.status != http.StatusOK || closed.body["statusCategory"] != "Closed" || closed.body["dateClosed"] == nil ||
		closed.body["status"].(map[string]any)["id"] != closedID {
		t.Fatalf("close: %d %s", closed.status, closed.raw)
	}
	closedQuery := `{"filters":[{"name":"typeId","type":"String","operator":"EQ","values":["7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c"]},{"name":"statusCategory","type":"String","operator":"EQ","values":["Closed"]}]}`
	if r := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems/query", auth, closedQuery); len(r.body["entities"].([]any)) != 1 {
		t.Fatalf("query for Closed workitems: %s", r.raw)
	}

	v := h.txn("G2")
	if len(v.Workitems) != 1 {
		t.Fatalf("ledger for G2: %+v", v)
	}
	wi := v.Workitems[0]
	if wi.StatusID != closedID || wi.StatusCategory != "Closed" || wi.DateClosed == nil || wi.Updates != 1 ||
		!strings.HasSuffix(wi.Description, "Review closed: Rejected, decided by alice.") {
		t.Fatalf("ledger workitem: %+v", wi)
	}
	var sum Summary
	r := h.do(http.MethodGet, "/sandbox/ledger", nil, "")
	if err := json.Unmarshal([]byte(r.raw), &struct {
		Summary *Summary `json:"summary"`
	}{&sum}); err != nil || sum.WorkitemsClosed != 1 {
		t.Fatalf("summary: %v %s", err, r.raw)
	}
	if r.body["worktypeStatusQueries"] != float64(1) {
		t.Fatalf("worktypeStatusQueries: %s", r.raw)
	}
}

// The ledger keeps what a business would, never a credential.
func TestLedgerHoldsNoCredentialsAndFlagsCardData(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	h.refund(tok, "L1:refund", refundBody("L1", "1"))
	gtok := h.token("sandbox-genesys", "sandbox-genesys-secret")
	h.do(http.MethodPatch, "/api/v2/conversations/calls/c/participants/p/attributes",
		map[string]string{"Authorization": "Bearer " + gtok, "Content-Type": "application/json"},
		`{"attributes":{"refundStatus":"x","note":"4111 1111 1111 1111"}}`)
	raw := h.do(http.MethodGet, "/sandbox/ledger", nil, "").raw
	for _, secret := range []string{tok, gtok, testSecret, "Bearer"} {
		if strings.Contains(raw, secret) {
			t.Errorf("ledger holds %q", secret)
		}
	}
	var l struct {
		Stats Stats `json:"stats"`
	}
	_ = json.Unmarshal([]byte(raw), &l)
	if l.Stats.CardDataSeen != 1 || len(l.Stats.CardDataPaths) != 1 {
		t.Errorf("card data: %+v", l.Stats)
	}
	if r := h.do(http.MethodDelete, "/sandbox/ledger", nil, ""); r.status != http.StatusNoContent {
		t.Fatalf("reset: %d", r.status)
	}
	if v := h.txn("L1"); len(v.Submissions) != 0 {
		t.Fatal("reset kept submissions")
	}
}

// The screen counts what the starter's webhook screen refuses (internal/pci),
// in whatever body reaches the sandbox, JSON or form, and never a GET.
func TestScreenCountsCardData(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seen := func() int {
		var l struct {
			Stats Stats `json:"stats"`
		}
		if err := json.Unmarshal([]byte(h.do(http.MethodGet, "/sandbox/ledger", nil, "").raw), &l); err != nil {
			t.Fatal(err)
		}
		return l.Stats.CardDataSeen
	}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name, method, path string
		header             map[string]string
		body               string
		counted            bool
	}{
		{"PAN string", http.MethodPost, "/erp/refunds", jsonCT, `{"n":"4111111111111111"}`, true},
		{"dashed PAN", http.MethodPost, "/erp/refunds", jsonCT, `{"n":"4111-1111-1111-1111"}`, true},
		{"PAN in text", http.MethodPost, "/erp/refunds", jsonCT, `{"n":"card 4111111111111111."}`, true},
		{"PAN after an underscore", http.MethodPost, "/erp/refunds", jsonCT, `{"r":"rf_4111111111111111"}`, true},
		// The old scan let digits glued to a letter pass, for the
		// sandbox's own references' sake; those are now drawn card-free
		// (TestNewIDIsNeverCardShaped), and the rule is the starter's.
		{"PAN glued to letters", http.MethodPost, "/erp/refunds", jsonCT, `{"r":"rf_4111111111111111abc"}`, true},
		{"PAN as a JSON number", http.MethodPost, "/erp/refunds", jsonCT, `{"customerId":4111111111111111}`, true},
		{"escaped PAN", http.MethodPost, "/erp/refunds", jsonCT, `{"x":"\u0034111111111111111"}`, true},
		{"card field key", http.MethodPost, "/erp/refunds", jsonCT, `{"transactionId":"t","cvv":"123"}`, true},
		{"digits of a UUID's last groups", http.MethodPost, "/erp/refunds", jsonCT, `{"id":"8489-048743255756"}`, true},
		{"PAN in a form", http.MethodPost, "/oauth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "grant_type=client_credentials&note=4111111111111111", true},
		{"PAN in a Genesys body", http.MethodPatch, "/api/v2/conversations/calls/c/participants/p/attributes", jsonCT, `{"attributes":{"refundStatus":"x","note":"5555 5555 5555 4444"}}`, true},
		{"Luhn fails", http.MethodPost, "/erp/refunds", jsonCT, `{"n":"4111 1111 1111 1112"}`, false},
		{"12 digits", http.MethodPost, "/erp/refunds", jsonCT, `{"n":"411111111111"}`, false},
		{"23 digits", http.MethodPost, "/erp/refunds", jsonCT, `{"n":"41111111111111111111111"}`, false},
		{"timestamp", http.MethodPost, "/erp/refunds", jsonCT, `{"t":"2026-11-25T09:00:00Z"}`, false},
		{"gateway token", http.MethodPost, "/erp/refunds", jsonCT, `{"id":"tok_visa_1234"}`, false},
		{"amount", http.MethodPost, "/erp/refunds", jsonCT, `{"amount":49.99}`, false},
		{"UUID", http.MethodPost, "/erp/refunds", jsonCT, `{"id":"01a211bd-7ab2-710b-8489-048743255756"}`, false},
		{"contract body", http.MethodPost, "/erp/refunds", jsonCT, refundBody("S1", "49.99"), false},
		{"GET is not read", http.MethodGet, "/sandbox/ledger", nil, `{"n":"4111111111111111"}`, false},
	}
	for _, c := range cases {
		before := seen()
		h.do(c.method, c.path, c.header, c.body)
		want := 0
		if c.counted {
			want = 1
		}
		if got := seen() - before; got != want {
			t.Errorf("%s: counted %d times, want counted=%v", c.name, got, c.counted)
		}
	}
}

// The sandbox's own references pass the screen: the service hands them on
// to Genesys, and a chance card-shaped one would fail a chaos run.
func TestNewIDIsNeverCardShaped(t *testing.T) {
	t.Parallel()
	// About one raw id in a thousand is card-shaped: 20000 draws meet ~20.
	for range 20000 {
		id := newID("rf_")
		if len(id) != len("rf_")+24 || !strings.HasPrefix(id, "rf_") {
			t.Fatalf("newID = %q: want rf_ and 24 hex digits", id)
		}
		if pci.ContainsCardholderData([]byte(`{"refundReference":"` + id + `"}`)) {
			t.Fatalf("newID = %q: card-shaped", id)
		}
	}
}

// With a state file, a restarted sandbox still replays the keys it saw.
func TestLedgerSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.json")
	h := newHarness(t, nil)
	tok := h.token(testClient, testSecret)
	first := h.refund(tok, "P1:refund", refundBody("P1", "9.99"))
	if err := h.srv.Save(path); err != nil {
		t.Fatal(err)
	}

	restarted := newHarness(t, nil)
	if err := restarted.srv.Load(path); err != nil {
		t.Fatal(err)
	}
	again := restarted.refund(restarted.token(testClient, testSecret), "P1:refund", refundBody("P1", "9.99"))
	if again.body["refundId"] != first.body["refundId"] {
		t.Fatalf("after restart: %s, before: %s", again.raw, first.raw)
	}
	if v := restarted.txn("P1"); v.RefundsCreated != 1 || v.GatewayRequests != 2 {
		t.Fatalf("ledger after restart: %+v", v)
	}
	// The old token did not survive: callers must fetch a new one.
	if r := restarted.refund(tok, "P1:refund", refundBody("P1", "9.99")); r.status != http.StatusUnauthorized {
		t.Fatalf("old token after restart: %d", r.status)
	}
}
