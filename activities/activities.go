// Package activities holds every side effect of a remediation: the gateway
// call, the Genesys write-backs and the escalation to finance ops. The
// workflow decides; these act, and classify what the world answered into
// errors the retry policy can read.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/internal/metricnames"
	"github.com/refundflow/refundflow/internal/remediation"
)

// Gateway submits refunds and chargebacks to the ERP or payment gateway.
// The workflow does not know which one it talks to.
type Gateway interface {
	Submit(ctx context.Context, s Submission) (SubmissionResult, error)
	// Check asks where a refund the gateway took stands; an empty status
	// means it has nothing to say (no read configured, or none exists).
	Check(ctx context.Context, c SettlementCheck) (remediation.GatewayEvent, error)
}

// Interactions writes outcomes back onto Genesys conversations.
type Interactions interface {
	UpdateAttributes(ctx context.Context, u InteractionUpdate) error
	SetWrapup(ctx context.Context, w FailedWrapup) error
}

// Escalator tells finance operations that a transaction needs a human,
// reminds them, and closes the review's workitem once the review has ended
// (an escalation by email has nothing to close: CloseWorkitem is then a
// no-op).
type Escalator interface {
	Escalate(ctx context.Context, e Escalation) (EscalationResult, error)
	Remind(ctx context.Context, r Reminder) error
	CloseWorkitem(ctx context.Context, c WorkitemClosure) error
}

// Activities are registered with the worker; main builds them with their
// clients, so nothing here is global and tests run side by side.
type Activities struct {
	Gateway      Gateway
	Interactions Interactions
	Finance      Escalator
	// Workitems reads decisions made in Genesys (genesysdecision.go).
	Workitems WorkitemReader
	Logger    *slog.Logger
}

// WorkitemReader reads what a review workitem's status decides.
type WorkitemReader interface {
	ReadWorkitemDecision(ctx context.Context, r WorkitemDecisionRead) (WorkitemDecision, error)
}

// New builds the activities from the worker's config: one HTTP client per
// remote (connections are reused across activities), the OAuth token
// sources, and the gateway the config names. The config has passed
// Validate: main checks it once, where it is read, and names every bad
// variable at once (worker's loadConfig); nothing below checks it again.
func New(gw GatewayConfig, gen GenesysConfig, logger *slog.Logger) (*Activities, error) {
	return NewWithMetrics(gw, gen, logger, nil)
}

// NewWithMetrics is New with every HTTP call of the gateway and Genesys
// clients recorded in calls (nil records nothing).
func NewWithMetrics(gw GatewayConfig, gen GenesysConfig, logger *slog.Logger, calls *CallMetrics) (*Activities, error) {
	logger = orDiscard(logger)
	gatewayHTTP := calls.instrument(NewHTTPClient(gw.Timeout), metricnames.RemoteGateway)
	var gateway Gateway
	var err error
	switch gw.KindOrDefault() {
	case GatewayKindStripe:
		gateway, err = NewStripeGateway(gw, gatewayHTTP, logger)
	case GatewayKindAdyen:
		gateway, err = NewAdyenGateway(gw, gatewayHTTP, logger)
	case GatewayKindPayPal:
		gateway, err = NewPayPalGateway(gw, gatewayHTTP, logger)
	default:
		gateway, err = NewERPGateway(gw, gatewayHTTP, logger)
	}
	if err != nil {
		return nil, err
	}
	genesys, err := NewGenesysClient(gen, calls.instrument(NewHTTPClient(gen.Timeout), metricnames.RemoteGenesys), logger)
	if err != nil {
		return nil, err
	}
	return &Activities{Gateway: gateway, Interactions: genesys, Finance: genesys, Workitems: genesys, Logger: logger}, nil
}

// SubmitRefund asks the gateway for a refund.
func (a *Activities) SubmitRefund(ctx context.Context, s Submission) (SubmissionResult, error) {
	if s.Action != remediation.ActionRefund {
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("SubmitRefund called with action %q", s.Action))
	}
	return a.submit(ctx, s)
}

// SubmitChargeback asks the gateway for a chargeback.
func (a *Activities) SubmitChargeback(ctx context.Context, s Submission) (SubmissionResult, error) {
	if s.Action != remediation.ActionChargeback {
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("SubmitChargeback called with action %q", s.Action))
	}
	return a.submit(ctx, s)
}

// submit carries what earlier attempts of one submission learnt into the
// failure the workflow sees. Only the last attempt's failure reaches it, and
// after a call that went unanswered the next attempts may all meet a 503:
// the review would then read as a plain outage when the gateway may have
// made the refund. So each failed attempt leaves its verdict in its
// heartbeat details, which the server hands to the next attempt, and a
// failure after an unanswered call says so. An attempt that left no verdict
// was cut off (a worker crash, a start-to-close timeout) and counts as
// unanswered: the error is always on the side of "check the gateway first".
func (a *Activities) submit(ctx context.Context, s Submission) (SubmissionResult, error) {
	earlier := earlierAttemptUnanswered(ctx)
	var inFlight []any
	if activity.IsActivity(ctx) {
		// Cut off while it waits on the gateway, this attempt's outcome is
		// unknown to the next one.
		inFlight = []any{SubmissionFailure{OutcomeUnknown: true, Attempt: activity.GetInfo(ctx).Attempt}}
	}
	stopHeartbeats := heartbeatWhileRunning(ctx, inFlight...)
	res, err := a.Gateway.Submit(ctx, s)
	// Stopped before the verdict below is recorded, so no keep-alive
	// heartbeat can overwrite it.
	stopHeartbeats()
	if err == nil {
		return res, nil
	}
	unknown := SubmissionOutcomeUnknown(err)
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, SubmissionFailure{OutcomeUnknown: earlier || unknown, Attempt: activity.GetInfo(ctx).Attempt})
	}
	if earlier && !unknown {
		return res, withOutcomeUnknown(err)
	}
	return res, err
}

// earlierAttemptUnanswered reads the verdict the previous attempt left.
func earlierAttemptUnanswered(ctx context.Context) bool {
	if !activity.IsActivity(ctx) {
		return false
	}
	var last *SubmissionFailure
	if activity.HasHeartbeatDetails(ctx) {
		var f SubmissionFailure
		if activity.GetHeartbeatDetails(ctx, &f) == nil {
			last = &f
		}
	}
	return unansweredBefore(activity.GetInfo(ctx).Attempt, last)
}

// unansweredBefore decides from the last verdict left (nil for none) whether
// an attempt before this one may have been made without an answer.
func unansweredBefore(attempt int32, last *SubmissionFailure) bool {
	switch {
	case attempt <= 1:
		return false
	case last == nil || last.Attempt < attempt-1:
		// The attempt just before left no verdict: it was cut off.
		return true
	}
	return last.OutcomeUnknown
}

// withOutcomeUnknown is err, same type, retryability and delay, marked as
// following an unanswered call.
func withOutcomeUnknown(err error) error {
	details := temporal.ApplicationErrorOptions{Details: []any{SubmissionFailure{OutcomeUnknown: true}}}
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), string(ErrGatewayUnavailable), details)
	}
	details.NonRetryable, details.NextRetryDelay, details.Category = ae.NonRetryable(), ae.NextRetryDelay(), ae.Category()
	return temporal.NewApplicationErrorWithOptions(ae.Message(), ae.Type(), details)
}

// CheckSettlement polls the gateway about a refund it took but has not
// settled; the workflow treats the answer as a gateway-event.
func (a *Activities) CheckSettlement(ctx context.Context, c SettlementCheck) (remediation.GatewayEvent, error) {
	defer heartbeatWhileRunning(ctx)()
	return a.Gateway.Check(ctx, c)
}

// UpdateInteraction writes refundStatus, refundReference and
// refundTransactionId onto the call participant.
func (a *Activities) UpdateInteraction(ctx context.Context, u InteractionUpdate) error {
	defer heartbeatWhileRunning(ctx)()
	return a.Interactions.UpdateAttributes(ctx, u)
}

// SetFailedWrapup sets the failure wrap-up code. Genesys takes it only during
// after-call work, so its 4xx is final and the workflow records it.
func (a *Activities) SetFailedWrapup(ctx context.Context, w FailedWrapup) error {
	defer heartbeatWhileRunning(ctx)()
	return a.Interactions.SetWrapup(ctx, w)
}

// EscalateToFinance opens (at most) one review for the transaction.
func (a *Activities) EscalateToFinance(ctx context.Context, e Escalation) (EscalationResult, error) {
	defer heartbeatWhileRunning(ctx)()
	return a.Finance.Escalate(ctx, e)
}

// RemindFinance nudges finance ops about a review still waiting.
func (a *Activities) RemindFinance(ctx context.Context, r Reminder) error {
	defer heartbeatWhileRunning(ctx)()
	return a.Finance.Remind(ctx, r)
}

// ReadWorkitemDecision reads a review workitem back from Genesys and says
// which finance-decision its status makes, if any.
func (a *Activities) ReadWorkitemDecision(ctx context.Context, r WorkitemDecisionRead) (WorkitemDecision, error) {
	defer heartbeatWhileRunning(ctx)()
	if a.Workitems == nil {
		return WorkitemDecision{WorkitemID: r.WorkitemID}, ErrConfiguration.Final("no Genesys workitem reader configured", nil)
	}
	return a.Workitems.ReadWorkitemDecision(ctx, r)
}

// CloseWorkitem sets the review's workitem to a closed status and records
// the outcome on it, so finance queues hold only reviews still waiting.
func (a *Activities) CloseWorkitem(ctx context.Context, c WorkitemClosure) error {
	defer heartbeatWhileRunning(ctx)()
	return a.Finance.CloseWorkitem(ctx, c)
}
