package activities

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

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
	if ae.Type() != string(ErrGatewayUnavailable) || ae.NonRetryable() || ae.NextRetryDelay() != 42*time.Second {
		t.Errorf("429 reaches the workflow as %s nonRetryable=%v delay=%s", ae.Type(), ae.NonRetryable(), ae.NextRetryDelay())
	}

	cb := refundSubmission()
	cb.Action, cb.IdempotencyKey = remediation.ActionChargeback, "T1:chargeback"
	_, err = env.ExecuteActivity(a.SubmitChargeback, cb)
	ae = asApplicationError(t, err)
	if ae.Type() != string(ErrGatewayRejected) || !ae.NonRetryable() {
		t.Errorf("422 reaches the workflow as %s nonRetryable=%v", ae.Type(), ae.NonRetryable())
	}

	// The wrong activity for the action is refused before any call.
	_, err = env.ExecuteActivity(a.SubmitChargeback, refundSubmission())
	if ae := asApplicationError(t, err); ae.Type() != string(ErrInvalidRequest) || !ae.NonRetryable() {
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
	if ae.Type() != string(ErrConfiguration) || !ae.NonRetryable() || !strings.Contains(ae.Error(), "finance review") {
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
	for _, typ := range []ErrorType{ErrGatewayRejected, ErrAuthFailed, ErrInvalidRequest, ErrConfiguration, ErrGenesysRejected} {
		if !final[string(typ)] {
			t.Errorf("%s is raised as final but missing from FinalErrorTypes", typ)
		}
	}
	for _, typ := range []ErrorType{ErrGatewayUnavailable, ErrGenesysUnavailable} {
		if final[string(typ)] {
			t.Errorf("%s is retryable but listed in FinalErrorTypes", typ)
		}
	}
}

// scriptedGateway answers each submission with the next error in turn; the
// last repeats.
type scriptedGateway struct {
	mu      sync.Mutex
	answers []error
	calls   int
}

func (g *scriptedGateway) Check(context.Context, SettlementCheck) (remediation.GatewayEvent, error) {
	return remediation.GatewayEvent{}, nil
}

func (g *scriptedGateway) Submit(context.Context, Submission) (SubmissionResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	err := g.answers[min(g.calls, len(g.answers)-1)]
	g.calls++
	return SubmissionResult{}, err
}

func unanswered() error {
	return failure{errType: ErrGatewayUnavailable, outcomeUnknown: true, msg: "gateway did not answer within 15s after the request was sent"}.applicationError()
}

// Only the last attempt's failure reaches the workflow. After a call that
// went unanswered, the attempts that follow may all meet a 503 (as in the
// chaos run's CHAOS-00145); the failure that ends the retries must still
// say that the gateway may have made the refund.
func TestSubmitCarriesAnUnansweredCallAcrossAttempts(t *testing.T) {
	t.Parallel()
	status := func(code int) error {
		return classifyStatus(gatewayRemote("gateway"), &response{status: code}).applicationError()
	}
	for _, tc := range []struct {
		name      string
		answers   []error
		unknown   bool
		wantType  ErrorType
		wantFinal bool
	}{
		{"unanswered, then 503s until the attempts run out", []error{unanswered(), status(503)}, true, ErrGatewayUnavailable, false},
		{"503s only", []error{status(503)}, false, ErrGatewayUnavailable, false},
		{"unanswered, then a final 422", []error{unanswered(), status(503), status(422)}, true, ErrGatewayRejected, true},
		{"unanswered last", []error{status(503), unanswered()}, true, ErrGatewayUnavailable, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gw := &scriptedGateway{answers: tc.answers}
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			env.RegisterActivity(&Activities{Gateway: gw})
			env.RegisterWorkflowWithOptions(func(ctx workflow.Context, s Submission) error {
				var a *Activities
				ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
					StartToCloseTimeout: time.Minute,
					RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 4, NonRetryableErrorTypes: FinalErrorTypes},
				})
				return workflow.ExecuteActivity(ctx, a.SubmitRefund, s).Get(ctx, nil)
			}, workflow.RegisterOptions{Name: "submit"})
			env.ExecuteWorkflow("submit", refundSubmission())
			err := env.GetWorkflowError()
			ae := asApplicationError(t, err)
			if got := SubmissionOutcomeUnknown(err); got != tc.unknown {
				t.Errorf("outcome unknown = %v, want %v: %v", got, tc.unknown, err)
			}
			if ae.Type() != string(tc.wantType) || ae.NonRetryable() != tc.wantFinal {
				t.Errorf("type %s nonRetryable %v, want %s %v: the mark must not change what is retried", ae.Type(), ae.NonRetryable(), tc.wantType, tc.wantFinal)
			}
			if want := map[bool]int{true: len(tc.answers), false: 4}[tc.wantFinal]; gw.calls != want {
				t.Errorf("%d calls, want %d", gw.calls, want)
			}
		})
	}
}

// An attempt that left no verdict was cut off mid-call (a worker crash, a
// start-to-close timeout), so it counts as unanswered.
func TestUnansweredBefore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempt int32
		last    *SubmissionFailure
		want    bool
	}{
		{1, nil, false},
		{1, &SubmissionFailure{OutcomeUnknown: true, Attempt: 1}, false},
		{2, &SubmissionFailure{Attempt: 1}, false},
		{2, &SubmissionFailure{OutcomeUnknown: true, Attempt: 1}, true},
		{2, nil, true},
		{3, &SubmissionFailure{Attempt: 1}, true},
		{3, &SubmissionFailure{Attempt: 2}, false},
	} {
		if got := unansweredBefore(tc.attempt, tc.last); got != tc.want {
			t.Errorf("attempt %d after %+v: %v, want %v", tc.attempt, tc.last, got, tc.want)
		}
	}
}

// Genesys writes move no money: their unanswered calls carry no mark.
func TestOnlyTheGatewayMarksAnUnansweredCall(t *testing.T) {
	t.Parallel()
	cause := errors.New("read: connection reset by peer")
	if err := classifyTransport(genesysRemote(), cause, time.Second, true).applicationError(); SubmissionOutcomeUnknown(err) {
		t.Errorf("Genesys: %v", err)
	}
	if err := classifyTransport(gatewayRemote("gateway"), cause, time.Second, true).applicationError(); !SubmissionOutcomeUnknown(err) {
		t.Errorf("gateway: %v", err)
	}
	if err := classifyTransport(gatewayRemote("gateway"), cause, time.Second, false).applicationError(); SubmissionOutcomeUnknown(err) {
		t.Errorf("gateway, nothing sent: %v", err)
	}
}
