package request

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// Disposition is the body of POST /v1/dispositions, the Genesys Data
// Action's call, field for field as the contract names them. Unknown fields
// are allowed (Genesys flows grow), but a known field of the wrong type is
// an error, never silently zero.
type Disposition struct {
	TransactionID   string
	DispositionCode string
	CustomerTokenID string
	CustomerID      string
	RefundAmount    money.Text
	Currency        string
	ConversationID  string
	ParticipantID   string
	CommunicationID string
	AgentID         string
	QueueID         string
	Timestamp       string
}

// dispositionFields are the body's members in the contract's spelling.
var dispositionFields = []string{"transactionId", "dispositionCode", "customerTokenId", "customerId", "refundAmount", "currency",
	"conversationId", "participantId", "communicationId", "agentId", "queueId", "timestamp"}

// DispositionFields returns the members of the disposition body, as the
// contract spells them. The Genesys Data Action's inputs are checked against
// it, so the action an admin imports sends what the webhook reads.
func DispositionFields() []string { return slices.Clone(dispositionFields) }

// DecodeDisposition checks the webhook body: types, required fields, the
// transaction ID pattern and the timestamp. It does not look at the
// disposition code's meaning or the amount's value: an unusable amount is
// not a bad request but a case for finance review (see WorkflowInput).
func DecodeDisposition(body []byte) (Disposition, *Error) {
	var req Disposition
	members, perr := decodeObject(body)
	if perr != nil {
		return req, perr
	}
	errs := &Error{}
	stringField(members, "transactionId", &req.TransactionID, errs)
	stringField(members, "dispositionCode", &req.DispositionCode, errs)
	stringField(members, "customerTokenId", &req.CustomerTokenID, errs)
	stringField(members, "customerId", &req.CustomerID, errs)
	if raw, ok := members["refundAmount"]; ok {
		if err := json.Unmarshal(raw, &req.RefundAmount); err != nil {
			errs.add("refundAmount", "refundAmount must be a string or a number")
		}
	}
	stringField(members, "currency", &req.Currency, errs)
	stringField(members, "conversationId", &req.ConversationID, errs)
	stringField(members, "participantId", &req.ParticipantID, errs)
	stringField(members, "communicationId", &req.CommunicationID, errs)
	stringField(members, "agentId", &req.AgentID, errs)
	stringField(members, "queueId", &req.QueueID, errs)
	stringField(members, "timestamp", &req.Timestamp, errs)

	req.DispositionCode = strings.TrimSpace(req.DispositionCode)
	if !errs.has("transactionId") {
		switch {
		case req.TransactionID == "":
			errs.add("transactionId", "transactionId is required")
		case !remediation.ValidTransactionID(req.TransactionID):
			errs.add("transactionId", "transactionId must be 1-128 characters of A-Z a-z 0-9 . _ : -")
		}
	}
	if !errs.has("dispositionCode") && req.DispositionCode == "" {
		errs.add("dispositionCode", "dispositionCode is required")
	}
	if req.Timestamp != "" && !errs.has("timestamp") {
		if _, err := time.Parse(time.RFC3339, req.Timestamp); err != nil {
			errs.add("timestamp", "timestamp must be RFC 3339, e.g. 2024-05-27T10:55:00Z")
		}
	}
	if !errs.empty() {
		return req, errs
	}
	return req, nil
}

// maxAmountTextChars bounds the amount kept as received: enough for any
// real amount, short enough for the workflow's one-line summary.
const maxAmountTextChars = 64

// WorkflowInput turns a decoded disposition into the remediation workflow's
// input, with the action its code maps to. The amount is parsed exactly; if
// it cannot be refunded (missing, zero, negative, malformed, too many
// decimals, unknown currency) the reason is recorded and the workflow sends
// the case to finance review instead of the gateway. A body without a
// currency is in defaultCurrency, one without a timestamp was sent now.
func (req Disposition) WorkflowInput(action remediation.Action, defaultCurrency string, now time.Time) remediation.Disposition {
	currency := money.NormalizeCurrency(req.Currency)
	if currency == "" {
		currency = defaultCurrency
	}
	d := remediation.Disposition{
		TransactionID:   req.TransactionID,
		DispositionCode: req.DispositionCode,
		Action:          action,
		CustomerTokenID: req.CustomerTokenID,
		CustomerID:      req.CustomerID,
		AmountText:      truncate(strings.TrimSpace(string(req.RefundAmount)), maxAmountTextChars),
		Currency:        currency,
		ConversationID:  req.ConversationID,
		ParticipantID:   req.ParticipantID,
		CommunicationID: req.CommunicationID,
		AgentID:         req.AgentID,
		QueueID:         req.QueueID,
		Timestamp:       req.Timestamp,
	}
	if d.Timestamp == "" {
		d.Timestamp = now.UTC().Format(time.RFC3339)
	}
	minor, err := money.ParseRefund(string(req.RefundAmount), currency)
	if err != nil {
		d.AmountError = err.Error()
	} else {
		d.AmountMinor = minor
	}
	return d
}
