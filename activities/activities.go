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

	"github.com/refundflow/refundflow/internal/remediation"
)

// Gateway submits refunds and chargebacks to the ERP or payment gateway.
// The workflow does not know which one it talks to.
type Gateway interface {
	Submit(ctx context.Context, s Submission) (SubmissionResult, error)
}

// Interactions writes outcomes back onto Genesys conversations.
type Interactions interface {
	UpdateAttributes(ctx context.Context, u InteractionUpdate) error
	SetWrapup(ctx context.Context, w FailedWrapup) error
}

// Escalator tells finance operations that a transaction needs a human.
type Escalator interface {
	Escalate(ctx context.Context, e Escalation) (EscalationResult, error)
	Remind(ctx context.Context, r Reminder) error
}

// Activities are registered with the worker; main builds them with their
// clients, so nothing here is global and tests run side by side.
type Activities struct {
	Gateway      Gateway
	Interactions Interactions
	Finance      Escalator
	Logger       *slog.Logger
}

// New builds the activities from the worker's config: one HTTP client per
// remote (connections are reused across activities), the OAuth token
// sources, and the gateway the config names. Every problem in the config is
// reported at once, by variable name.
func New(gw GatewayConfig, gen GenesysConfig, logger *slog.Logger) (*Activities, error) {
	if err := errors.Join(gw.Validate(), gen.Validate()); err != nil {
		return nil, err
	}
	logger = orDiscard(logger)
	gatewayHTTP := NewHTTPClient(gw.Timeout)
	var gateway Gateway
	var err error
	switch gw.KindOrDefault() {
	case GatewayKindStripe:
		gateway, err = NewStripeGateway(gw, gatewayHTTP, logger)
	default:
		gateway, err = NewERPGateway(gw, gatewayHTTP, logger)
	}
	if err != nil {
		return nil, err
	}
	genesys, err := NewGenesysClient(gen, NewHTTPClient(gen.Timeout), logger)
	if err != nil {
		return nil, err
	}
	return &Activities{Gateway: gateway, Interactions: genesys, Finance: genesys, Logger: logger}, nil
}

// SubmitRefund asks the gateway for a refund.
func (a *Activities) SubmitRefund(ctx context.Context, s Submission) (SubmissionResult, error) {
	if s.Action != remediation.ActionRefund {
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("SubmitRefund called with action %q", s.Action))
	}
	return a.Gateway.Submit(ctx, s)
}

// SubmitChargeback asks the gateway for a chargeback.
func (a *Activities) SubmitChargeback(ctx context.Context, s Submission) (SubmissionResult, error) {
	if s.Action != remediation.ActionChargeback {
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("SubmitChargeback called with action %q", s.Action))
	}
	return a.Gateway.Submit(ctx, s)
}

// UpdateInteraction writes refundStatus, refundReference and
// refundTransactionId onto the call participant.
func (a *Activities) UpdateInteraction(ctx context.Context, u InteractionUpdate) error {
	return a.Interactions.UpdateAttributes(ctx, u)
}

// SetFailedWrapup sets the failure wrap-up code. Genesys takes it only during
// after-call work, so its 4xx is final and the workflow records it.
func (a *Activities) SetFailedWrapup(ctx context.Context, w FailedWrapup) error {
	return a.Interactions.SetWrapup(ctx, w)
}

// EscalateToFinance opens (at most) one review for the transaction.
func (a *Activities) EscalateToFinance(ctx context.Context, e Escalation) (EscalationResult, error) {
	return a.Finance.Escalate(ctx, e)
}

// RemindFinance nudges finance ops about a review still waiting.
func (a *Activities) RemindFinance(ctx context.Context, r Reminder) error {
	return a.Finance.Remind(ctx, r)
}
