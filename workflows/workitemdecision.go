package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// A decision made in Genesys: finance ops set a review workitem to a
// decision status, a Process Automation trigger posts the workitem's id
// to the starter, and the starter signals-with-start one short workflow
// per workitem. It reads the workitem back (the event is only a hint) and
// signals what its status decides to the remediation, as finance-decision:
// RemediationWorkflow's commands and rules (four-eyes, a repeated
// decisionId ignored, a state that cannot take it) stay as they are.
const (
	// WorkitemDecisionWorkflowType is the short workflow's type.
	WorkitemDecisionWorkflowType = "GenesysWorkitemDecision"
	// WorkitemEventSignal is the starter's hint that the workitem changed.
	WorkitemEventSignal = "workitem-event"
)

// WorkitemDecisionWorkflowID is the short workflow's ID: one per workitem,
// so events about it while one runs join it instead of racing it.
func WorkitemDecisionWorkflowID(workitemID string) string {
	return "genesys-workitem-" + workitemID
}

// WorkitemDecisionOutcome is what the short workflow did, for the UI.
type WorkitemDecisionOutcome struct {
	WorkitemID string `json:"workitemId"`
	// Reads are what each read of the workitem said, in order.
	Reads []activities.WorkitemDecision `json:"reads"`
	// Signalled are the decisionIds sent to the remediation; Refused says
	// why one could not be (no such remediation running).
	Signalled []string `json:"signalled,omitempty"`
	Refused   []string `json:"refused,omitempty"`
}

// RegisterWorkitemDecision adds the short workflow to a worker (or a
// replayer).
func (r *Remediation) RegisterWorkitemDecision(reg interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}) {
	reg.RegisterWorkflowWithOptions(r.WorkitemDecisionWorkflow, workflow.RegisterOptions{Name: WorkitemDecisionWorkflowType})
}

// WorkitemDecisionWorkflow reads the workitem and applies what its status
// says, then again for as long as more events arrived meanwhile: the
// last read always follows the last event.
func (r *Remediation) WorkitemDecisionWorkflow(ctx workflow.Context, workitemID string) (WorkitemDecisionOutcome, error) {
	out := WorkitemDecisionOutcome{WorkitemID: workitemID}
	events := workflow.GetSignalChannel(ctx, WorkitemEventSignal)
	opts := r.Settings.genesysOptions("Read workitem " + workitemID + " back from Genesys")
	// On the paced queue, as every Genesys call: its hour of retries
	// includes the wait for its turn, which a burst makes long.
	opts.TaskQueue = GenesysTaskQueue(workflow.GetInfo(ctx).TaskQueueName)
	actx := workflow.WithActivityOptions(ctx, opts)
	for {
		for events.ReceiveAsync(nil) {
		}
		var read activities.WorkitemDecision
		if err := workflow.ExecuteActivity(actx, a.ReadWorkitemDecision, activities.WorkitemDecisionRead{WorkitemID: workitemID}).Get(ctx, &read); err != nil {
			return out, err
		}
		out.Reads = append(out.Reads, read)
		if read.Decision != nil {
			target := remediation.WorkflowID(read.TransactionID)
			err := workflow.SignalExternalWorkflow(ctx, target, "", remediation.DecisionSignal, *read.Decision).Get(ctx, nil)
			if err != nil {
				// No such remediation running: an externalTag of no
				// remediation, or one that has ended.
				out.Refused = append(out.Refused, read.Decision.DecisionID+": "+target+": "+err.Error())
			} else {
				out.Signalled = append(out.Signalled, read.Decision.DecisionID)
			}
		}
		if !events.ReceiveAsync(nil) {
			return out, nil
		}
	}
}
