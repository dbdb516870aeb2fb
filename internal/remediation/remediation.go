// Package remediation holds the shapes of the external contract that both the
// starter and the worker speak: the disposition a workflow is started with,
// the finance decision it waits for, and the status it reports. It has no
// Temporal imports, so the starter's validation and the workflow's rules use
// one definition.
package remediation

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/refundflow/refundflow/internal/money"
)

// Action is what a financial disposition asks for.
type Action string

const (
	ActionRefund     Action = "refund"
	ActionChargeback Action = "chargeback"
	// ActionReview sends the transaction straight to finance ops.
	ActionReview Action = "review"
)

// State is the RemediationState search attribute and the status query's state.
type State string

const (
	StateSubmitting State = "Submitting"
	// StateAwaitingGateway: the gateway took the refund and has not given
	// its final word.
	StateAwaitingGateway  State = "AwaitingGateway"
	StateCompleted        State = "Completed"
	StateAwaitingReview   State = "AwaitingReview"
	StateRejected         State = "Rejected"
	StateResolvedManually State = "ResolvedManually"
)

// Terminal reports whether no decision can change the state any more.
func (s State) Terminal() bool {
	return s == StateCompleted || s == StateRejected || s == StateResolvedManually
}

// Names fixed by the contract.
const (
	WorkflowType        = "RemediationWorkflow"
	WorkflowIDPrefix    = "remediation-"
	StatusQuery         = "status"
	DecisionSignal      = "finance-decision"
	GatewayEventSignal  = "gateway-event"
	InitiatedBy         = "Genesys_Automation"
	DefaultTaskQueue    = "refund-remediation"
	DefaultNamespace    = "default"
	DefaultDispositions = "Refund_Processed=refund,Chargeback_Requested=chargeback,Escalation_Sent=review"
)

// Search attribute names (all Keyword).
const (
	AttrTransactionID   = "TransactionId"
	AttrDispositionCode = "DispositionCode"
	AttrState           = "RemediationState"
	AttrConversationID  = "ConversationId"
)

// SearchAttributeNames lists them in the order the dev server registers them.
var SearchAttributeNames = []string{AttrTransactionID, AttrDispositionCode, AttrState, AttrConversationID}

var transactionIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// ValidTransactionID applies the contract's rule: 1-128 chars of [A-Za-z0-9._:-].
func ValidTransactionID(id string) bool { return transactionIDPattern.MatchString(id) }

// WorkflowID is the one workflow a transaction can ever have.
func WorkflowID(transactionID string) string { return WorkflowIDPrefix + transactionID }

// Disposition is the workflow input: a validated webhook, with the amount
// already parsed into minor units (or the reason it could not be).
type Disposition struct {
	TransactionID   string `json:"transactionId"`
	DispositionCode string `json:"dispositionCode"`
	Action          Action `json:"action"`
	CustomerTokenID string `json:"customerTokenId,omitempty"`
	CustomerID      string `json:"customerId,omitempty"`
	// AmountText is the amount exactly as Genesys sent it, for finance ops.
	AmountText  string `json:"amountText,omitempty"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
	// AmountError is set when AmountText cannot be refunded (missing, zero,
	// negative, malformed, too many decimals): the workflow goes to review.
	AmountError     string `json:"amountError,omitempty"`
	ConversationID  string `json:"conversationId,omitempty"`
	ParticipantID   string `json:"participantId,omitempty"`
	CommunicationID string `json:"communicationId,omitempty"`
	AgentID         string `json:"agentId,omitempty"`
	QueueID         string `json:"queueId,omitempty"`
	// Timestamp is RFC 3339, the caller's or the starter's receive time.
	Timestamp string `json:"timestamp"`
}

// NeedsReviewFromStart reports whether the workflow goes to finance ops
// without trying the gateway.
func (d Disposition) NeedsReviewFromStart() bool {
	return d.Action == ActionReview || d.AmountError != ""
}

// InitialState is the RemediationState the workflow is started with, so the
// happy path upserts its search attributes only once, at completion.
func (d Disposition) InitialState() State {
	if d.NeedsReviewFromStart() {
		return StateAwaitingReview
	}
	return StateSubmitting
}

// Summary is the one-line static summary shown in the Temporal UI.
func (d Disposition) Summary() string {
	amount := d.AmountText
	if d.AmountError == "" {
		if s, err := money.FormatMajor(d.AmountMinor, d.Currency); err == nil {
			amount = s
		}
	}
	if amount == "" {
		amount = "no amount"
	}
	return fmt.Sprintf("%s %s %s for transaction %s (%s)", titleCase(string(d.Action)), amount, d.Currency, d.TransactionID, d.DispositionCode)
}

// Decision kinds a finance operator can send.
const (
	DecisionApprove  = "approve"
	DecisionReject   = "reject"
	DecisionResolved = "resolved"
)

// Decision is the finance-decision signal payload.
type Decision struct {
	DecisionID string `json:"decisionId"`
	Decision   string `json:"decision"`
	Approver   string `json:"approver"`
	Note       string `json:"note,omitempty"`
	// RefundAmount optionally corrects the amount on approve, in major units.
	RefundAmount money.Text `json:"refundAmount,omitempty"`
}

// ValidDecision reports whether kind is one the workflow understands.
func ValidDecision(kind string) bool {
	return kind == DecisionApprove || kind == DecisionReject || kind == DecisionResolved
}

// Decision outcomes recorded in the status.
const (
	OutcomeApplied       = "applied"
	OutcomeDuplicate     = "duplicate"
	OutcomeRefused       = "refused"
	OutcomeNotApplicable = "not_applicable"
)

// DecisionRecord is one received decision and what the workflow did with it.
type DecisionRecord struct {
	Decision
	ReceivedAt string `json:"receivedAt"`
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason,omitempty"`
}

// Status is the status query result.
type Status struct {
	State            State  `json:"state"`
	Action           Action `json:"action"`
	TransactionID    string `json:"transactionId"`
	AmountMinor      int64  `json:"amountMinor"`
	Currency         string `json:"currency"`
	Attempts         int    `json:"attempts"`
	LastError        string `json:"lastError"`
	GatewayReference string `json:"gatewayReference"`
	// GatewayStatus is the gateway's own last word on the refund (pending,
	// succeeded, failed, canceled, reversed, or its own term); empty
	// before one.
	GatewayStatus string           `json:"gatewayStatus"`
	WorkitemID    string           `json:"workitemId"`
	Decisions     []DecisionRecord `json:"decisions"`
	// Escalation is how finance ops were told: "workitem", "email" or "".
	Escalation string `json:"escalation,omitempty"`
	// WritebackErrors are Genesys write-backs that did not take (for example
	// a wrap-up code after after-call work ended); the outcome is still in
	// the participant attributes or the workitem.
	WritebackErrors []string `json:"writebackErrors,omitempty"`
}

// Genesys refundStatus participant-attribute values.
const (
	RefundStatusPending          = "Refund_Pending"
	RefundStatusCompleted        = "Completed"
	RefundStatusFailedReview     = "Refund_Failed_Manual_Review"
	RefundStatusReversedReview   = "Refund_Reversed_Manual_Review"
	RefundStatusRejected         = "Rejected"
	RefundStatusResolvedManually = "ResolvedManually"
)

// IdempotencyKey is the gateway key for a submission: stable across retries
// and approvals of the original amount, new only for a corrected amount.
func IdempotencyKey(transactionID string, action Action, amountMinor, originalMinor int64) string {
	if amountMinor == originalMinor {
		return transactionID + ":" + string(action)
	}
	return fmt.Sprintf("%s:%s:%d", transactionID, action, amountMinor)
}

// ParseDispositions reads REFUNDFLOW_DISPOSITIONS ("Code=action,...").
func ParseDispositions(spec string) (map[string]Action, error) {
	out := map[string]Action{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		code, action, ok := strings.Cut(part, "=")
		code, action = strings.TrimSpace(code), strings.TrimSpace(action)
		if !ok || code == "" {
			return nil, fmt.Errorf("disposition %q: want Code=action", part)
		}
		switch a := Action(action); a {
		case ActionRefund, ActionChargeback, ActionReview:
			out[code] = a
		default:
			return nil, fmt.Errorf("disposition %q: action must be refund, chargeback or review", part)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no dispositions configured")
	}
	return out, nil
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Outcome is the workflow's result: its status when it ended.
type Outcome = Status
