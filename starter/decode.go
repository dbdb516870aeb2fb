package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// dispositionRequest is the webhook body, field for field as the contract
// names them. Unknown fields are allowed (Genesys flows grow), but a known
// field of the wrong type is an error, never silently zero.
type dispositionRequest struct {
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

// maxFieldChars bounds the identifier fields. Genesys IDs are 36-character
// UUIDs; the bound keeps one absurd value from making the workflow start
// fail on Temporal's search-attribute and metadata size limits.
const maxFieldChars = 256

// requestError is a 400: what is wrong, and which fields.
type requestError struct {
	problems []string
	fields   []string
}

func (e *requestError) add(field, problem string) {
	e.fields = append(e.fields, field)
	e.problems = append(e.problems, problem)
}

func (e *requestError) Error() string { return strings.Join(e.problems, "; ") }

func (e *requestError) empty() bool { return len(e.fields) == 0 }

// decodeObject parses a JSON object into its members, leaving each value
// raw. It is the only place that reports malformed JSON, by offset: the body
// is never echoed.
func decodeObject(body []byte) (map[string]json.RawMessage, *requestError) {
	var members map[string]json.RawMessage
	err := json.Unmarshal(body, &members)
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return nil, &requestError{problems: []string{fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)}}
	case err != nil && !json.Valid(body):
		return nil, &requestError{problems: []string{"malformed JSON"}}
	case err != nil || members == nil:
		// An array, a string, a number or null.
		return nil, &requestError{problems: []string{"body must be a JSON object"}}
	}
	return members, nil
}

// stringField decodes members[name] into dst: a JSON string, or null or
// absent for "". Anything else is recorded as a type error.
func stringField(members map[string]json.RawMessage, name string, dst *string, errs *requestError) {
	raw, ok := members[name]
	if !ok {
		return
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		errs.add(name, name+" must be a string")
		return
	}
	if utf8.RuneCountInString(*dst) > maxFieldChars {
		errs.add(name, fmt.Sprintf("%s is longer than %d characters", name, maxFieldChars))
	}
}

// decodeDisposition checks the webhook body: types, required fields, the
// transaction ID pattern and the timestamp. It does not look at the
// disposition code's meaning or the amount's value: an unusable amount is
// not a bad request but a case for finance review.
func decodeDisposition(body []byte) (dispositionRequest, *requestError) {
	var req dispositionRequest
	members, perr := decodeObject(body)
	if perr != nil {
		return req, perr
	}
	errs := &requestError{}
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
	if !hasField(errs, "transactionId") {
		switch {
		case req.TransactionID == "":
			errs.add("transactionId", "transactionId is required")
		case !remediation.ValidTransactionID(req.TransactionID):
			errs.add("transactionId", "transactionId must be 1-128 characters of A-Z a-z 0-9 . _ : -")
		}
	}
	if !hasField(errs, "dispositionCode") && req.DispositionCode == "" {
		errs.add("dispositionCode", "dispositionCode is required")
	}
	if req.Timestamp != "" && !hasField(errs, "timestamp") {
		if _, err := time.Parse(time.RFC3339, req.Timestamp); err != nil {
			errs.add("timestamp", "timestamp must be RFC 3339, e.g. 2024-05-27T10:55:00Z")
		}
	}
	if !errs.empty() {
		return req, errs
	}
	return req, nil
}

func hasField(errs *requestError, name string) bool {
	for _, f := range errs.fields {
		if f == name {
			return true
		}
	}
	return false
}

// maxAmountTextChars bounds the amount kept as received: enough for any
// real amount, short enough for the workflow's one-line summary.
const maxAmountTextChars = 64

// disposition turns a valid request into the workflow input. The amount is
// parsed exactly; if it cannot be refunded (missing, zero, negative,
// malformed, too many decimals, unknown currency) the reason is recorded
// and the workflow sends the case to finance review instead of the gateway.
func disposition(req dispositionRequest, action remediation.Action, defaultCurrency string, now time.Time) remediation.Disposition {
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

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
