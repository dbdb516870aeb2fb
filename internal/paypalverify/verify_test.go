package paypalverify

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakePayPal answers the token endpoint and verify-webhook-signature.
type fakePayPal struct {
	mu        sync.Mutex
	tokens    int
	verifies  int
	reject401 int    // answer this many verify calls 401 first
	status    int    // verify's HTTP status (0: 200)
	answer    string // verification_status
	last      map[string]any
}

func (f *fakePayPal) handler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch r.URL.Path {
		case "/v1/oauth2/token":
			if id, secret, ok := r.BasicAuth(); !ok || id != "cid" || secret != "csecret" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			f.tokens++
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "A" + string(rune('0'+f.tokens)), "token_type": "Bearer", "expires_in": 32400})
		case "/v1/notifications/verify-webhook-signature":
			f.verifies++
			if f.reject401 > 0 {
				f.reject401--
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			f.last = nil
			_ = json.NewDecoder(r.Body).Decode(&f.last)
			if f.status != 0 {
				w.WriteHeader(f.status)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"verification_status": f.answer})
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	})
}

func delivery() http.Header {
	h := http.Header{}
	h.Set(HeaderTransmissionID, "69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	h.Set(HeaderTransmissionTime, "2026-11-25T09:00:00Z")
	h.Set(HeaderTransmissionSig, "c2lnbmF0dXJl")
	h.Set(HeaderCertURL, "https://api.paypal.com/v1/notifications/certs/CERT-1")
	h.Set(HeaderAuthAlgo, "SHA256withRSA")
	return h
}

func newVerifier(t *testing.T, f *fakePayPal) *Verifier {
	ts := httptest.NewServer(f.handler(t))
	t.Cleanup(ts.Close)
	return New(Config{BaseURL: ts.URL, ClientID: "cid", ClientSecret: "csecret", WebhookID: "WH1"})
}

const event = `{"id":"WH-1","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"R1"}}`

func TestVerifyAsksPayPalWithTheRawEventAndCachesTheToken(t *testing.T) {
	f := &fakePayPal{answer: "SUCCESS"}
	v := newVerifier(t, f)
	for range 3 {
		ok, err := v.Verify(t.Context(), delivery(), []byte(event))
		if !ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
	}
	if f.tokens != 1 || f.verifies != 3 {
		t.Errorf("tokens %d, verifies %d: the token is not cached", f.tokens, f.verifies)
	}
	var want any
	_ = json.Unmarshal([]byte(event), &want)
	got, _ := json.Marshal(f.last["webhook_event"])
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) || f.last["webhook_id"] != "WH1" || f.last["transmission_sig"] != "c2lnbmF0dXJl" || f.last["auth_algo"] != "SHA256withRSA" {
		t.Errorf("asked %v", f.last)
	}
	f.answer = "FAILURE"
	if ok, err := v.Verify(t.Context(), delivery(), []byte(event)); ok || err != nil {
		t.Errorf("FAILURE: %v, %v", ok, err)
	}
}

func TestVerifyRenewsTheTokenOnceOn401(t *testing.T) {
	f := &fakePayPal{answer: "SUCCESS", reject401: 1}
	v := newVerifier(t, f)
	if ok, err := v.Verify(t.Context(), delivery(), []byte(event)); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	if f.tokens != 2 {
		t.Errorf("tokens %d, want 2", f.tokens)
	}
	f.reject401 = 5
	if _, err := v.Verify(t.Context(), delivery(), []byte(event)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("401 twice: %v", err)
	}
	if f.tokens != 3 {
		t.Errorf("tokens %d, want 3: one renewal per Verify", f.tokens)
	}
}

func TestVerifyUnavailableAndRefused(t *testing.T) {
	f := &fakePayPal{status: http.StatusServiceUnavailable}
	v := newVerifier(t, f)
	if _, err := v.Verify(t.Context(), delivery(), []byte(event)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("503: %v", err)
	}
	f.status = http.StatusBadRequest
	if ok, err := v.Verify(t.Context(), delivery(), []byte(event)); ok || err != nil {
		t.Errorf("400: %v, %v", ok, err)
	}
	before := f.verifies
	h := delivery()
	h.Del(HeaderTransmissionSig)
	if ok, err := v.Verify(t.Context(), h, []byte(event)); ok || err != nil {
		t.Errorf("no signature: %v, %v", ok, err)
	}
	if ok, err := v.Verify(t.Context(), delivery(), []byte(`not json`)); ok || err != nil {
		t.Errorf("not JSON: %v, %v", ok, err)
	}
	if f.verifies != before {
		t.Errorf("PayPal was asked about a delivery that cannot be genuine")
	}
	down := New(Config{BaseURL: "http://127.0.0.1:1", ClientID: "cid", ClientSecret: "csecret", WebhookID: "WH1"})
	if _, err := down.Verify(t.Context(), delivery(), []byte(event)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("unreachable: %v", err)
	}
}
