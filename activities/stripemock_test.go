package activities

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/testenv"
)

// These tests run the Stripe gateway against stripe-mock, which validates
// every request against Stripe's own OpenAPI spec: a field Stripe does not
// know, or a value of the wrong type, is refused as Stripe would refuse it.

func stripeMockGateway(t *testing.T, base string) *StripeGateway {
	t.Helper()
	gw, err := NewStripeGateway(GatewayConfig{
		Kind: GatewayKindStripe, StripeBaseURL: base, StripeAPIKey: "sk_test_123", Timeout: 10 * time.Second,
	}, NewHTTPClient(10*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

func TestStripeMockAcceptsTheRefund(t *testing.T) {
	t.Parallel()
	gw := stripeMockGateway(t, testenv.StartStripeMock(t))
	for _, txn := range []string{"pi_3MtwBwLkdIwHu7ix28a3tqPa", "ch_3MtwBwLkdIwHu7ix0snN0B15"} {
		res, err := gw.Submit(t.Context(), stripeSubmission(txn))
		if err != nil {
			t.Fatalf("%s: %v", txn, err)
		}
		if !strings.HasPrefix(res.GatewayReference, "re_") || res.HTTPStatus != http.StatusOK {
			t.Errorf("%s: result = %+v, want a re_ reference", txn, res)
		}
	}
}

func TestStripeMockRejectionIsFinal(t *testing.T) {
	t.Parallel()
	gw := stripeMockGateway(t, testenv.StartStripeMock(t))
	// Major units where Stripe wants an integer of minor units: the mistake
	// the amount conversion exists to prevent.
	gw.editForm = func(v url.Values) { v.Set("amount", "49.99") }
	_, err := gw.Submit(t.Context(), stripeSubmission("pi_3MtwBwLkdIwHu7ix28a3tqPa"))
	ae := wantFinal(t, err, ErrGatewayRejected)
	if !strings.Contains(ae.Message(), "400") || !strings.Contains(ae.Message(), "amount") {
		t.Errorf("message %q does not say what Stripe refused", ae.Message())
	}
	noSecrets(t, "error", err.Error())
}

// TestStripeMockPinnedVersion proves StripeAPIVersion is the version of the
// spec the requests are validated against: stripe-mock in strict mode
// refuses any other Stripe-Version.
func TestStripeMockPinnedVersion(t *testing.T) {
	t.Parallel()
	base := startStrictStripeMock(t)
	if _, err := stripeMockGateway(t, base).Submit(t.Context(), stripeSubmission("pi_3MtwBwLkdIwHu7ix28a3tqPa")); err != nil {
		t.Fatalf("strict stripe-mock refused the pinned version %s: %v", StripeAPIVersion, err)
	}
	// Control: strict mode is on, so another version is refused.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/payment_intents/pi_1", nil)
	req.Header.Set("Authorization", "Bearer sk_test_123")
	req.Header.Set("Stripe-Version", "2020-08-27")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("strict stripe-mock answered %d to another Stripe-Version, want 400", resp.StatusCode)
	}
}

// startStrictStripeMock is testenv.StartStripeMock with
// -strict-version-check, which testenv does not offer.
func startStrictStripeMock(t *testing.T) string {
	t.Helper()
	httpAddr, httpsAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	var out bytes.Buffer
	cmd := exec.Command(testenv.Binary(t, "stripe-mock"), "-strict-version-check", "-http-addr", httpAddr, "-https-addr", httpsAddr)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", httpAddr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return fmt.Sprintf("http://%s", httpAddr)
		}
		if time.Now().After(deadline) {
			// out is only read once the process has been given up on.
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("stripe-mock did not listen on %s: %v\n%s", httpAddr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
