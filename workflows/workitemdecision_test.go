package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// The short workflow signals what the workitem says to its remediation,
// signals nothing when it says nothing, and records a remediation that is
// not there.
func TestWorkitemDecisionWorkflow(t *testing.T) {
	const wi = "cdca633b-e587-42f7-bd28-020ba45d578f"
	approve := remediation.Decision{DecisionID: "genesys:" + wi + ":s:t", Decision: remediation.DecisionApprove, Approver: "genesys:u1"}
	for _, c := range []struct {
		name      string
		read      activities.WorkitemDecision
		signalErr error
		signalled int
		refused   int
	}{
		{"decision", activities.WorkitemDecision{WorkitemID: wi, TransactionID: "TX1", Decision: &approve}, nil, 1, 0},
		{"nothing", activities.WorkitemDecision{WorkitemID: wi, TransactionID: "TX1", Ignored: `status "Open" decides nothing`}, nil, 0, 0},
		{"no remediation", activities.WorkitemDecision{WorkitemID: wi, TransactionID: "TX9", Decision: &approve}, errors.New("workflow not found"), 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			rm := &Remediation{Settings: testSettings}
			env.RegisterWorkflow(rm.WorkitemDecisionWorkflow)
			env.RegisterActivity(&activities.Activities{})
			env.OnActivity(a.ReadWorkitemDecision, mock.Anything, activities.WorkitemDecisionRead{WorkitemID: wi}).
				Return(func(context.Context, activities.WorkitemDecisionRead) (activities.WorkitemDecision, error) {
					return c.read, nil
				}).Once()
			sent := 0
			if c.read.Decision != nil {
				env.OnSignalExternalWorkflow(mock.Anything, remediation.WorkflowID(c.read.TransactionID), "", remediation.DecisionSignal, *c.read.Decision).
					Return(func(string, string, string, string, any) error { sent++; return c.signalErr }).Once()
			}
			env.ExecuteWorkflow(rm.WorkitemDecisionWorkflow, wi)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var out WorkitemDecisionOutcome
			if err := env.GetWorkflowResult(&out); err != nil {
				t.Fatal(err)
			}
			if len(out.Reads) != 1 || len(out.Signalled) != c.signalled || len(out.Refused) != c.refused {
				t.Errorf("outcome %+v", out)
			}
			if c.read.Decision != nil && sent != 1 {
				t.Errorf("signalled %d times", sent)
			}
			env.AssertExpectations(t)
		})
	}
}
