package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// run is one remediation in progress. What it must remember is held once,
// in carried, the struct a review hands whole to its next run when it
// continues as new; the other fields are this run's own (timers, futures,
// channels) or derived from carried.
type run struct {
	settings    Settings
	disposition remediation.Disposition
	decisions   workflow.ReceiveChannel

	carried ContinuedReview
	// status is carried.Status, the status query's answer.
	status *remediation.Status
	// seen holds the decisionIds of applied decisions, derived from
	// status.Decisions (restore) and kept with it (apply).
	seen map[string]bool

	// reminder is the timer to the next reminder (due at
	// carried.NextReminder).
	reminder workflow.Future
	// reminding is a RemindFinance still in flight, and stopReminding
	// cancels it (non-blocking reminders only, see remind).
	reminding     workflow.Future
	stopReminding workflow.CancelFunc
	// continued is true in a run that took over a review from an earlier one.
	continued bool
	// gatewayEvents is the gateway's word (webhooks, from the starter).
	// Reading a signal channel is no command: histories without such a
	// signal replay as before.
	gatewayEvents workflow.ReceiveChannel
	// reopened is true in a run the gateway's failure or reversal started
	// after the remediation had ended Completed (reopen).
	reopened bool
	// lateChecks counts the continue-as-new checks of a run that had met
	// the history limit before continue-as-new shipped (reviewOutgrown).
	lateChecks int
}

// a names the activities for ExecuteActivity; the worker registers the real
// struct, which holds the clients.
var a *activities.Activities

// startRun sets up a remediation: a new one, or the review continued (non
// nil) that a previous run of this workflow handed over.
func startRun(ctx workflow.Context, s Settings, d remediation.Disposition, continued *ContinuedReview) (*run, error) {
	r := &run{
		settings:    s,
		disposition: d,
		decisions:   workflow.GetSignalChannel(ctx, remediation.DecisionSignal),
		seen:        map[string]bool{},

		gatewayEvents: workflow.GetSignalChannel(ctx, remediation.GatewayEventSignal),
		carried: ContinuedReview{Status: remediation.Status{
			State:         d.InitialState(),
			Action:        d.Action,
			TransactionID: d.TransactionID,
			AmountMinor:   d.AmountMinor,
			Currency:      d.Currency,
			Decisions:     []remediation.DecisionRecord{},
		}},
	}
	r.status = &r.carried.Status
	if continued != nil {
		r.restore(continued)
	}
	if err := workflow.SetQueryHandler(ctx, remediation.StatusQuery, func() (remediation.Status, error) {
		return *r.status, nil
	}); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	// A workflow started by hand (CLI or UI) may have no search attributes;
	// give it the same ones the starter sets, once.
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(TransactionIDKey); !ok {
		if err := workflow.UpsertTypedSearchAttributes(ctx, startAttributeUpdates(d)...); err != nil {
			return nil, fmt.Errorf("set search attributes: %w", err)
		}
	}
	r.setState(ctx, r.status.State)
	return r, nil
}

// setState records a new state and upserts RemediationState only when it
// differs from what visibility already holds.
func (r *run) setState(ctx workflow.Context, s remediation.State) {
	r.status.State = s
	if current, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(StateKey); current == string(s) {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, StateKey.ValueSet(string(s))); err != nil {
		// Only a malformed key can fail here; the query still shows the state.
		workflow.GetLogger(ctx).Error("upsert RemediationState", "error", err)
	}
}

// now is workflow time in UTC, as every record shows it.
func now(ctx workflow.Context) string {
	return workflow.Now(ctx).UTC().Format(time.RFC3339)
}
