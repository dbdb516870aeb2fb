package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// RefundAmountField is the review worktype's custom field that carries an
// approval's corrected amount, in major units as text ("39.50"), read
// exactly as the webhook's refundAmount is (internal/money).
const RefundAmountField = "refundamount_text"

// GenesysApproverPrefix marks an approver who decided in Genesys: the
// approver is "genesys:<user id>", and the four-eyes rule compares the
// user id with the disposition's agentId.
const GenesysApproverPrefix = "genesys:"

// WorkitemDecisionRead asks what a review workitem's current status
// decides. The event that prompted it is only a hint: what counts is what
// Genesys says now.
type WorkitemDecisionRead struct {
	WorkitemID string `json:"workitemId"`
}

// WorkitemDecision is what the workitem says.
type WorkitemDecision struct {
	WorkitemID string `json:"workitemId"`
	// TransactionID is the workitem's externalTag, when it is a review's.
	TransactionID string `json:"transactionId,omitempty"`
	// Decision is the finance-decision its status makes; nil when there is
	// none to apply, and Ignored then says why.
	Decision *remediation.Decision `json:"decision,omitempty"`
	Ignored  string                `json:"ignored,omitempty"`
}

// workitemDecisionView is the part of a workitem a decision is read from.
type workitemDecisionView struct {
	ID   string `json:"id"`
	Type struct {
		ID string `json:"id"`
	} `json:"type"`
	ExternalTag string `json:"externalTag"`
	Status      struct {
		ID string `json:"id"`
	} `json:"status"`
	DateStatusChanged string `json:"dateStatusChanged"`
	DateModified      string `json:"dateModified"`
	ModifiedBy        struct {
		ID string `json:"id"`
	} `json:"modifiedBy"`
	CustomFields map[string]json.RawMessage `json:"customFields"`
}

// ReadWorkitemDecision reads a review workitem back from Genesys and says
// which finance-decision its current status makes
// (REFUNDFLOW_GENESYS_DECISION_STATUSES, by status name). A workitem of
// another worktype, or whose externalTag is no transaction ID, is refused;
// a status not in the map decides nothing. The decisionId is derived from
// the workitem's status change (id, status, when it changed), so reading
// the same change again gives the same decision, which the remediation
// ignores, and the approver is the Genesys user who made the change.
func (g *GenesysClient) ReadWorkitemDecision(ctx context.Context, req WorkitemDecisionRead) (WorkitemDecision, error) {
	op := "read the decision of workitem " + req.WorkitemID
	out := WorkitemDecision{WorkitemID: req.WorkitemID}
	if !isUUID(req.WorkitemID) {
		return out, invalidRequest(op + ": the workitem id is not a Genesys id (a UUID)")
	}
	path := "/api/v2/taskmanagement/workitems/" + url.PathEscape(req.WorkitemID)
	resp, err := g.api.do(ctx, op, outgoing{method: http.MethodGet, url: g.base + path, accept: []int{http.StatusNotFound}})
	if err != nil {
		return out, err
	}
	if resp.status == http.StatusNotFound {
		out.Ignored = "no such workitem in Genesys"
		return out, nil
	}
	var wi workitemDecisionView
	if err := json.Unmarshal(resp.body, &wi); err != nil {
		return out, g.api.fail(op, failure{errType: ErrGenesysUnavailable, msg: "Genesys answered the workitem read with something that is not a workitem" + quoteExcerpt(resp.body)}, "")
	}
	switch {
	case g.cfg.WorktypeID == "" || wi.Type.ID != g.cfg.WorktypeID:
		out.Ignored = fmt.Sprintf("refused: the workitem's worktype %q is not the review worktype", sanitize(wi.Type.ID, 40))
		return out, nil
	case !remediation.ValidTransactionID(wi.ExternalTag):
		out.Ignored = fmt.Sprintf("refused: the workitem's externalTag %q is not a transaction ID", sanitize(wi.ExternalTag, 140))
		return out, nil
	}
	out.TransactionID = wi.ExternalTag
	if wi.Status.ID == "" {
		out.Ignored = "the workitem has no status"
		return out, nil
	}
	statuses, err := g.worktypeStatuses(ctx, op, wi.Type.ID)
	if err != nil {
		return out, err
	}
	name := ""
	for _, s := range statuses {
		if s.ID == wi.Status.ID {
			name = strings.TrimSpace(s.Name)
		}
	}
	kind, decides := g.cfg.decisionOf(name)
	if !decides {
		out.Ignored = fmt.Sprintf("status %q decides nothing", sanitize(name, 60))
		return out, nil
	}
	if !isUUID(wi.ModifiedBy.ID) {
		out.Ignored = "refused: Genesys names no user who set the status"
		return out, nil
	}
	changed := wi.DateStatusChanged
	if changed == "" {
		changed = wi.DateModified
	}
	dec := &remediation.Decision{
		DecisionID: sanitize(fmt.Sprintf("genesys:%s:%s:%s", wi.ID, wi.Status.ID, changed), 200),
		Decision:   kind,
		Approver:   GenesysApproverPrefix + wi.ModifiedBy.ID,
		Note:       fmt.Sprintf("status %s set on workitem %s in Genesys", sanitize(name, 60), wi.ID),
	}
	if raw, ok := wi.CustomFields[RefundAmountField]; ok && kind == remediation.DecisionApprove {
		var amount money.Text
		if err := json.Unmarshal(raw, &amount); err != nil {
			out.Ignored = fmt.Sprintf("refused: custom field %s is neither text nor a number", RefundAmountField)
			return out, nil
		}
		dec.RefundAmount = money.Text(strings.TrimSpace(string(amount)))
	}
	out.Decision = dec
	return out, nil
}
