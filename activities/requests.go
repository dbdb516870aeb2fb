package activities

import "github.com/refundflow/refundflow/internal/remediation"

// Submission asks the gateway for one refund or chargeback. The workflow
// builds it, so the Idempotency-Key is decided deterministically there.
type Submission struct {
	TransactionID   string             `json:"transactionId"`
	Action          remediation.Action `json:"action"`
	CustomerID      string             `json:"customerId,omitempty"`
	CustomerTokenID string             `json:"customerTokenId,omitempty"`
	AmountMinor     int64              `json:"amountMinor"`
	Currency        string             `json:"currency"`
	DispositionCode string             `json:"dispositionCode"`
	IdempotencyKey  string             `json:"idempotencyKey"`
	// Timestamp is the disposition's RFC 3339 time, sent on as is.
	Timestamp string `json:"timestamp"`
}

// SubmissionResult is what the gateway answered on success.
type SubmissionResult struct {
	// GatewayReference is the response's id or refundId, if any.
	GatewayReference string `json:"gatewayReference"`
	HTTPStatus       int    `json:"httpStatus"`
	// GatewayStatus is the gateway's word on the refund when it gave one
	// (Stripe's status, the ERP body's "status"); empty for a plain 200/201,
	// which is final success. A pending one is settled later
	// (CheckSettlement, or the gateway's webhook).
	GatewayStatus string `json:"gatewayStatus,omitempty"`
}

// SettlementCheck asks the gateway where a refund it took stands.
type SettlementCheck struct {
	TransactionID    string `json:"transactionId"`
	GatewayReference string `json:"gatewayReference"`
	// Poll numbers the question within the run; the answer's eventId.
	Poll int `json:"poll"`
}

// InteractionUpdate writes the outcome onto the Genesys call participant.
type InteractionUpdate struct {
	ConversationID string `json:"conversationId"`
	ParticipantID  string `json:"participantId"`
	TransactionID  string `json:"transactionId"`
	// RefundStatus is one of remediation.RefundStatus*.
	RefundStatus     string `json:"refundStatus"`
	GatewayReference string `json:"gatewayReference,omitempty"`
}

// FailedWrapup sets the failure wrap-up code on the agent's communication.
type FailedWrapup struct {
	ConversationID  string `json:"conversationId"`
	ParticipantID   string `json:"participantId"`
	CommunicationID string `json:"communicationId"`
	TransactionID   string `json:"transactionId"`
	Notes           string `json:"notes"`
}

// Escalation asks finance ops to decide on a transaction.
type Escalation struct {
	TransactionID   string             `json:"transactionId"`
	WorkflowID      string             `json:"workflowId"`
	Action          remediation.Action `json:"action"`
	DispositionCode string             `json:"dispositionCode"`
	AmountMinor     int64              `json:"amountMinor"`
	Currency        string             `json:"currency"`
	// AmountText is the amount as received, shown when it could not be parsed.
	AmountText     string `json:"amountText,omitempty"`
	Reason         string `json:"reason"`
	ConversationID string `json:"conversationId,omitempty"`
	AgentID        string `json:"agentId,omitempty"`
	CustomerID     string `json:"customerId,omitempty"`
	// Reopen: the review is of a remediation that had ended Completed and
	// was reopened by the gateway's failure or reversal; its workitem was
	// closed with the earlier review and is opened again (one workitem per
	// transaction).
	Reopen bool `json:"reopen,omitempty"`
}

// EscalationResult says where finance ops were told.
type EscalationResult struct {
	// Channel is "workitem" or "email".
	Channel    string `json:"channel"`
	WorkitemID string `json:"workitemId,omitempty"`
	// Created is false when a workitem for the transaction already existed.
	Created bool `json:"created"`
}

// Reminder nudges finance ops about a review still waiting.
type Reminder struct {
	TransactionID string `json:"transactionId"`
	WorkflowID    string `json:"workflowId"`
	WorkitemID    string `json:"workitemId,omitempty"`
	Reason        string `json:"reason"`
	// Count is 1 for the first reminder.
	Count int `json:"count"`
	// WaitingSince is when the review started, RFC 3339.
	WaitingSince string `json:"waitingSince"`
}

// WorkitemClosure closes the review workitem of a remediation that has
// ended, and records the outcome on it. IDs, names and the gateway
// reference only: no amount, customer or card data.
type WorkitemClosure struct {
	TransactionID string `json:"transactionId"`
	WorkflowID    string `json:"workflowId"`
	WorkitemID    string `json:"workitemId"`
	// State is the final state: Completed, Rejected or ResolvedManually.
	State remediation.State `json:"state"`
	// DecidedBy and DecisionID name the finance decision that ended the
	// review; DecidedAt is when it was received (RFC 3339).
	DecidedBy        string `json:"decidedBy,omitempty"`
	DecisionID       string `json:"decisionId,omitempty"`
	DecidedAt        string `json:"decidedAt,omitempty"`
	GatewayReference string `json:"gatewayReference,omitempty"`
}
