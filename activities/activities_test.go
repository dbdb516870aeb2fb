package activities

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow/internal/remediation"
)

// These run the activities as a worker does, built by New from config, and
// read the errors as the workflow receives them: the ApplicationError type,
// retryability and NextRetryDelay must survive the SDK's conversion.

func newTestActivities(t *testing.T, gw GatewayConfig, gen GenesysConfig) (*testsuite.TestActivityEnvironment, *Activities) {
	t.Helper()
	a, err := New(gw, gen, nil)
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env, a
}

func asApplicationError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("want an ApplicationError in %T: %v", err, err)
	}
	return ae
}

func TestActivitiesAsTheWorkflowSeesThem(t *testing.T) {
	t.Parallel()
	erp := newERP(t, 3600, 5*time.Second, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/chargebacks"):
			w.WriteHeader(http.StatusUnprocessableEntity)
		case n == 1:
			answer(201, `{"refundId":"R-9"}`)(w, r, n)
		default:
			w.Header().Set("Retry-After", "42")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	g := newFakeGenesys(t)
	env, a := newTestActivities(t, erp.config(5*time.Second), g.config())

	val, err := env.ExecuteActivity(a.SubmitRefund, refundSubmission())
	if err != nil {
		t.Fatal(err)
	}
	var res SubmissionResult
	if err := val.Get(&res); err != nil || res.GatewayReference != "R-9" {
		t.Errorf("result %+v, %v", res, err)
	}

	_, err = env.ExecuteActivity(a.SubmitRefund, refundSubmission())
	ae := asApplicationError(t, err)
	if ae.Type() != ErrGatewayUnavailable || ae.NonRetryable() || ae.NextRetryDelay() != 42*time.Second {
		t.Errorf("429 reaches the workflow as %s nonRetryable=%v delay=%s", ae.Type(), ae.NonRetryable(), ae.NextRetryDelay())
	}

	cb := refundSubmission()
	cb.Action, cb.IdempotencyKey = remediation.ActionChargeback, "T1:chargeback"
	_, err = env.ExecuteActivity(a.SubmitChargeback, cb)
	ae = asApplicationError(t, err)
	if ae.Type() != ErrGatewayRejected || !ae.NonRetryable() {
		t.Errorf("422 reaches the workflow as %s nonRetryable=%v", ae.Type(), ae.NonRetryable())
	}

	// The wrong activity for the action is refused before any call.
	_, err = env.ExecuteActivity(a.SubmitChargeback, refundSubmission())
	if ae := asApplicationError(t, err); ae.Type() != ErrInvalidRequest || !ae.NonRetryable() {
		t.Errorf("mismatched action: %v", err)
	}

	if _, err := env.ExecuteActivity(a.UpdateInteraction, interactionUpdate()); err != nil {
		t.Error(err)
	}
	val, err = env.ExecuteActivity(a.EscalateToFinance, escalation())
	if err != nil {
		t.Fatal(err)
	}
	var er EscalationResult
	if err := val.Get(&er); err != nil || er.WorkitemID != "wi-1" || !er.Created {
		t.Errorf("escalation %+v, %v", er, err)
	}
	if _, err := env.ExecuteActivity(a.RemindFinance, Reminder{TransactionID: "T1", WorkitemID: er.WorkitemID, Count: 1, WaitingSince: "2026-11-25T06:00:00Z"}); err != nil {
		t.Error(err)
	}
}

func TestStripeChargebackAsTheWorkflowSeesIt(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	g := newFakeGenesys(t)
	env, a := newTestActivities(t, GatewayConfig{Kind: "stripe", StripeBaseURL: f.srv.URL, StripeAPIKey: testStripeKey, Timeout: 5 * time.Second}, g.config())
	s := stripeSubmission("pi_1")
	s.Action = remediation.ActionChargeback
	_, err := env.ExecuteActivity(a.SubmitChargeback, s)
	ae := asApplicationError(t, err)
	if ae.Type() != ErrConfiguration || !ae.NonRetryable() || !strings.Contains(ae.Error(), "finance review") {
		t.Errorf("Stripe chargeback reaches the workflow as %s nonRetryable=%v: %v", ae.Type(), ae.NonRetryable(), err)
	}
	val, err := env.ExecuteActivity(a.SubmitRefund, stripeSubmission("pi_1"))
	if err != nil {
		t.Fatal(err)
	}
	var res SubmissionResult
	if err := val.Get(&res); err != nil || res.GatewayReference != "re_3Abc" {
		t.Errorf("result %+v, %v", res, err)
	}
}

// TestFinalErrorTypesAreTheOnesRaisedFinal keeps the workflow's policy list
// and what this package raises as final in step.
func TestFinalErrorTypesAreTheOnesRaisedFinal(t *testing.T) {
	t.Parallel()
	final := map[string]bool{}
	for _, typ := range FinalErrorTypes {
		final[typ] = true
	}
	for _, typ := range []string{ErrGatewayRejected, ErrAuthFailed, ErrInvalidRequest, ErrConfiguration, ErrGenesysRejected} {
		if !final[typ] {
			t.Errorf("%s is raised as final but missing from FinalErrorTypes", typ)
		}
	}
	for _, typ := range []string{ErrGatewayUnavailable, ErrGenesysUnavailable} {
		if final[typ] {
			t.Errorf("%s is retryable but listed in FinalErrorTypes", typ)
		}
	}
}
