package activities

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/internal/remediation"
)

// slowGateway answers after a delay, with err if set.
type slowGateway struct {
	delay time.Duration
	err   error
}

func (slowGateway) Check(context.Context, SettlementCheck) (remediation.GatewayEvent, error) {
	return remediation.GatewayEvent{}, nil
}

func (g slowGateway) Submit(ctx context.Context, _ Submission) (SubmissionResult, error) {
	select {
	case <-time.After(g.delay):
		return SubmissionResult{GatewayReference: "ref-1"}, g.err
	case <-ctx.Done():
		return SubmissionResult{}, ctx.Err()
	}
}

// A gateway call that runs longer than a quarter of the heartbeat timeout
// heartbeats, so the server can tell a running attempt from one it never
// handed to a worker; each heartbeat says that, cut off there, the
// attempt's outcome would be unknown. A quick call sends none. When the
// call fails with an answer, the verdict recorded last says so: no
// keep-alive may land after it.
func TestSubmitHeartbeatsOnlyWhileASlowCallRuns(t *testing.T) {
	t.Parallel()
	const heartbeatTimeout = 400 * time.Millisecond
	for _, tc := range []struct {
		name    string
		gateway slowGateway
		want    bool
	}{
		{"slow call", slowGateway{delay: 4 * heartbeatTimeout}, true},
		{"quick call", slowGateway{}, false},
		{"slow call answered 503", slowGateway{delay: 4 * heartbeatTimeout, err: classifyStatus(gatewayRemote("gateway"), &response{status: 503}).applicationError()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			env.RegisterActivity(&Activities{Gateway: tc.gateway})
			var mu sync.Mutex
			var beats []SubmissionFailure
			env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
				var f SubmissionFailure
				if details.HasValues() {
					if err := details.Get(&f); err != nil {
						t.Errorf("heartbeat details: %v", err)
					}
				}
				mu.Lock()
				beats = append(beats, f)
				mu.Unlock()
			})
			env.RegisterWorkflowWithOptions(func(ctx workflow.Context, s Submission) error {
				var a *Activities
				ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
					StartToCloseTimeout: time.Minute,
					HeartbeatTimeout:    heartbeatTimeout,
					RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
				})
				return workflow.ExecuteActivity(ctx, a.SubmitRefund, s).Get(ctx, nil)
			}, workflow.RegisterOptions{Name: "submit"})
			env.ExecuteWorkflow("submit", refundSubmission())
			if err := env.GetWorkflowError(); (err != nil) != (tc.gateway.err != nil) {
				t.Fatalf("workflow error %v, gateway answered %v", err, tc.gateway.err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got := len(beats) > 0; got != tc.want {
				t.Fatalf("%d heartbeats, want any: %v", len(beats), tc.want)
			}
			keepAlives := beats
			if tc.gateway.err != nil {
				verdict := beats[len(beats)-1]
				if verdict.OutcomeUnknown || verdict.Attempt != 1 {
					t.Errorf("last heartbeat %+v; want attempt 1's verdict: answered, so known", verdict)
				}
				keepAlives = beats[:len(beats)-1]
			}
			for _, b := range keepAlives {
				if !b.OutcomeUnknown || b.Attempt != 1 {
					t.Errorf("heartbeat %+v; want attempt 1 marked outcome unknown while in flight", b)
				}
			}
		})
	}
}
