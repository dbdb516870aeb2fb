package request

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// MaxNoteChars bounds a decision's note; it is kept in workflow history.
const MaxNoteChars = 2000

// Decision is the body of POST /v1/remediations/{transactionId}/decision, a
// finance operator's approve, reject or resolved.
type Decision struct {
	DecisionID   string
	Decision     string
	Note         string
	RefundAmount money.Text
}

// DecodeDecision checks a decision body: the decision is one the workflow
// takes (lower-cased), a decisionId is safe to log and put in a URL, the
// note fits in history, and an amount comes only with approve. The amount's
// value is not checked: that needs the remediation's currency, which only
// the workflow's status knows.
func DecodeDecision(body []byte) (Decision, *Error) {
	var req Decision
	members, perr := decodeObject(body)
	if perr != nil {
		return req, perr
	}
	errs := &Error{}
	stringField(members, "decisionId", &req.DecisionID, errs)
	stringField(members, "decision", &req.Decision, errs)
	if raw, ok := members["note"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &req.Note); err != nil {
			errs.add("note", "note must be a string")
		} else if utf8.RuneCountInString(req.Note) > MaxNoteChars {
			errs.add("note", fmt.Sprintf("note is longer than %d characters", MaxNoteChars))
		}
	}
	if raw, ok := members["refundAmount"]; ok {
		if err := json.Unmarshal(raw, &req.RefundAmount); err != nil {
			errs.add("refundAmount", "refundAmount must be a string or a number")
		}
	}
	req.Decision = strings.ToLower(strings.TrimSpace(req.Decision))
	if !errs.has("decision") && !remediation.ValidDecision(req.Decision) {
		errs.add("decision", "decision must be approve, reject or resolved")
	}
	// A decisionId makes a retried request harmless: the workflow ignores
	// one it has seen. The transaction ID rule keeps it log- and URL-safe.
	if req.DecisionID != "" && !errs.has("decisionId") && !remediation.ValidTransactionID(req.DecisionID) {
		errs.add("decisionId", "decisionId must be 1-128 characters of A-Z a-z 0-9 . _ : -")
	}
	if req.RefundAmount != "" && req.Decision != remediation.DecisionApprove && !errs.has("refundAmount") {
		errs.add("refundAmount", "refundAmount goes only with approve")
	}
	if !errs.empty() {
		return req, errs
	}
	return req, nil
}
