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

// Escalation channels reported in EscalationResult.Channel.
const (
	ChannelWorkitem = "workitem"
	ChannelEmail    = "email"
)

const (
	// workitemPriority is a new review's priority; each reminder raises it
	// by one, to a fixed value per reminder so a retried reminder does not
	// raise it twice. Genesys routes higher values first.
	workitemPriority = 10
	// maxDescription is Genesys' limit on a workitem description as its
	// older SDKs document it (newer ones say 4096): what we write fits
	// either. A description someone made longer in Genesys is never cut
	// below its length (see withReminder).
	maxDescription = 512
	// reminderPrefix starts the line a reminder writes into the description;
	// the next reminder replaces it.
	reminderPrefix = "Reminder #"
)

// workitem is the part of a Genesys workitem this package reads.
type workitem struct {
	ID             string `json:"id"`
	Description    string `json:"description"`
	StatusCategory string `json:"statusCategory"`
	Status         struct {
		ID string `json:"id"`
	} `json:"status"`
}

// workitemCreate is the POST body.
type workitemCreate struct {
	Name        string `json:"name"`
	TypeID      string `json:"typeId"`
	QueueID     string `json:"queueId,omitempty"`
	Description string `json:"description"`
	Priority    int    `json:"priority"`
	ExternalTag string `json:"externalTag"`
	// CustomFields let finance ops search and report on reviews. Genesys
	// refuses fields the worktype's data schema does not define (the schema
	// is the customer's: genesys/README.md gives ours), so a create refused
	// with them is tried once more without them.
	CustomFields map[string]string `json:"customFields,omitempty"`
}

// reviewCustomFields are the workitem's custom fields, named with the type
// suffixes Genesys data schemas use. IDs only: no amount or customer data.
func reviewCustomFields(txn string) map[string]string {
	return map[string]string{
		"transactionid_text": txn,
		"workflowid_text":    remediation.WorkflowID(txn),
	}
}

type workitemFilter struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

type workitemQuery struct {
	Filters  []workitemFilter `json:"filters"`
	PageSize int              `json:"pageSize"`
}

type emailAddress struct {
	Email string `json:"email"`
}

type agentlessEmail struct {
	SenderType  string         `json:"senderType"`
	FromAddress emailAddress   `json:"fromAddress"`
	ToAddresses []emailAddress `json:"toAddresses"`
	Subject     string         `json:"subject"`
	TextBody    string         `json:"textBody"`
}

// Escalate opens the transaction's review: a Task Management workitem when
// a worktype is configured, otherwise an agentless email to finance ops.
//
// Genesys has no idempotency key, yet a retried activity (a timeout, a
// worker crash after the POST) must not open a second workitem. So the
// workitem carries the transaction ID as its externalTag and is looked up
// first; it is created only when none exists.
func (g *GenesysClient) Escalate(ctx context.Context, e Escalation) (EscalationResult, error) {
	op := "escalate " + e.TransactionID + " to finance ops"
	if e.TransactionID == "" {
		return EscalationResult{}, invalidRequest(op + ": no transactionId")
	}
	if g.cfg.WorktypeID == "" {
		// An email cannot be looked up, so a retry after a lost answer may
		// send a second one: a duplicate email is better than none.
		if err := g.sendEmail(ctx, op, "Refund review needed: "+e.TransactionID, reviewEmail(e)); err != nil {
			return EscalationResult{}, err
		}
		return EscalationResult{Channel: ChannelEmail}, nil
	}

	description := reviewDescription(e)
	existing, err := g.findWorkitem(ctx, op, e.TransactionID)
	if err != nil {
		return EscalationResult{}, err
	}
	if existing != nil {
		if existing.StatusCategory == closedCategory && e.Reopen {
			// The earlier review closed it; this one needs it open again.
			open, err := g.openStatusID(ctx, op, g.cfg.WorktypeID)
			if err != nil {
				return EscalationResult{}, err
			}
			if err := g.patchWorkitem(ctx, op, existing.ID, map[string]any{"statusId": open, "description": description}); err != nil {
				return EscalationResult{}, err
			}
			return EscalationResult{Channel: ChannelWorkitem, WorkitemID: existing.ID, Created: false}, nil
		}
		if existing.StatusCategory == closedCategory {
			g.logger.Warn("the transaction's workitem is closed; reusing it (one workitem per transaction)", "op", op, "workitemId", existing.ID)
		}
		if existing.Description != description {
			// A new review round (an approval that failed again): the reason
			// has changed, and finance ops should read the current one.
			fields := map[string]any{"description": description}
			// Approved in Genesys and failed again: the workitem must not
			// go on saying Approved while it waits for a new decision.
			open, err := g.reopenFromDecisionStatus(ctx, op, existing)
			if err != nil {
				return EscalationResult{}, err
			}
			if open != "" {
				fields["statusId"] = open
			}
			if err := g.patchWorkitem(ctx, op, existing.ID, fields); err != nil {
				return EscalationResult{}, err
			}
		}
		return EscalationResult{Channel: ChannelWorkitem, WorkitemID: existing.ID, Created: false}, nil
	}
	id, err := g.createWorkitem(ctx, op, e.TransactionID, description)
	if err != nil {
		return EscalationResult{}, err
	}
	return EscalationResult{Channel: ChannelWorkitem, WorkitemID: id, Created: true}, nil
}

// reopenFromDecisionStatus is the Open status to set a workitem back to
// when it stands in a decision status (REFUNDFLOW_GENESYS_DECISION_STATUSES),
// or "" when it does not.
func (g *GenesysClient) reopenFromDecisionStatus(ctx context.Context, op string, w *workitem) (string, error) {
	if w.Status.ID == "" || w.StatusCategory == openCategory {
		return "", nil
	}
	statuses, err := g.worktypeStatuses(ctx, op, g.cfg.WorktypeID)
	if err != nil {
		return "", err
	}
	for _, s := range statuses {
		if s.ID == w.Status.ID {
			if _, decides := g.cfg.decisionOf(s.Name); decides {
				return openStatusIn(op, g.cfg.WorktypeID, statuses)
			}
		}
	}
	return "", nil
}

// Remind nudges finance ops about a review still waiting: the workitem's
// priority goes up and its description says since when it waits; an email
// goes out as well when an address is configured (the only channel without
// a worktype).
func (g *GenesysClient) Remind(ctx context.Context, r Reminder) error {
	op := fmt.Sprintf("remind finance ops (#%d) about %s", r.Count, r.TransactionID)
	line := fmt.Sprintf("%s%d: still waiting for a decision since %s.", reminderPrefix, r.Count, sanitize(r.WaitingSince, 40))
	if g.cfg.WorktypeID != "" {
		if err := g.remindWorkitem(ctx, op, r, line); err != nil {
			return err
		}
	}
	if g.cfg.FinanceOpsEmail != "" {
		subject := fmt.Sprintf("%s%d: refund review waiting: %s", reminderPrefix, r.Count, r.TransactionID)
		if err := g.sendEmail(ctx, op, subject, reminderEmail(r, line)); err != nil {
			return err
		}
	}
	return nil
}

func (g *GenesysClient) remindWorkitem(ctx context.Context, op string, r Reminder, line string) error {
	id := r.WorkitemID
	var current string
	if id == "" {
		// Escalated by email before a worktype was configured, or the
		// workflow did not keep the id: find the review, or open it now.
		existing, err := g.findWorkitem(ctx, op, r.TransactionID)
		if err != nil {
			return err
		}
		if existing == nil {
			_, err := g.createWorkitem(ctx, op, r.TransactionID, withLastLine(reminderDescription(r), line, maxDescription))
			return err
		}
		if existing.StatusCategory == closedCategory {
			g.logger.Warn("review workitem already closed while the review waits; no reminder on it", "op", op, "workitemId", existing.ID)
			return nil
		}
		id, current = existing.ID, existing.Description
	} else {
		resp, err := g.call(ctx, op, http.MethodGet, "/api/v2/taskmanagement/workitems/"+url.PathEscape(id), nil)
		if err != nil {
			return err
		}
		var w workitem
		_ = json.Unmarshal(resp.body, &w)
		if w.StatusCategory == closedCategory {
			// The review ended (CloseWorkitem ran while this reminder was
			// still on its way, or someone closed it in Genesys): a nudge
			// now would overwrite the outcome line and lift a closed item
			// back up the queue.
			g.logger.Warn("review workitem already closed; no reminder on it", "op", op, "workitemId", id)
			return nil
		}
		current = w.Description
	}
	return g.patchWorkitem(ctx, op, id, map[string]any{
		"priority":    workitemPriority + min(max(r.Count, 0), 1000),
		"description": withReminder(current, line),
	})
}

// findWorkitem returns the transaction's workitem, or nil. Genesys requires
// an EQ filter on typeId (or workbin/assignee) in every query, hence the
// first filter. An open workitem is preferred to a closed one.
func (g *GenesysClient) findWorkitem(ctx context.Context, op, txn string) (*workitem, error) {
	query := workitemQuery{
		Filters: []workitemFilter{
			{Name: "typeId", Type: "String", Operator: "EQ", Values: []string{g.cfg.WorktypeID}},
			{Name: "externalTag", Type: "String", Operator: "EQ", Values: []string{txn}},
		},
		PageSize: 25,
	}
	resp, err := g.call(ctx, op, http.MethodPost, "/api/v2/taskmanagement/workitems/query", query)
	if err != nil {
		return nil, err
	}
	var listing struct {
		Entities []workitem `json:"entities"`
	}
	if err := json.Unmarshal(resp.body, &listing); err != nil {
		// Creating on an unreadable answer could duplicate the workitem.
		return nil, g.api.fail(op, failure{errType: ErrGenesysUnavailable, msg: "Genesys answered the workitem query with something that is not a workitem listing" + quoteExcerpt(resp.body)}, "")
	}
	var found *workitem
	for i := range listing.Entities {
		w := &listing.Entities[i]
		if w.ID == "" {
			continue
		}
		if found == nil || (found.StatusCategory == "Closed" && w.StatusCategory != "Closed") {
			found = w
		}
	}
	return found, nil
}

func (g *GenesysClient) createWorkitem(ctx context.Context, op, txn, description string) (string, error) {
	body := workitemCreate{
		Name:         "Refund review " + txn,
		TypeID:       g.cfg.WorktypeID,
		QueueID:      g.cfg.QueueID,
		Description:  description,
		Priority:     workitemPriority,
		ExternalTag:  txn,
		CustomFields: reviewCustomFields(txn),
	}
	resp, err := g.call(ctx, op, http.MethodPost, "/api/v2/taskmanagement/workitems", body)
	if ErrGenesysRejected.Of(err) {
		// A 4xx created nothing; the worktype's schema may lack our fields.
		g.logger.Warn("workitem refused with custom fields; creating it without them (add them to the worktype's schema, see genesys/README.md)", "op", op, "error", err)
		body.CustomFields = nil
		resp, err = g.call(ctx, op, http.MethodPost, "/api/v2/taskmanagement/workitems", body)
	}
	if err != nil {
		return "", err
	}
	var created workitem
	if json.Unmarshal(resp.body, &created) != nil || created.ID == "" {
		// It was created; the retry's lookup will find it.
		return "", g.api.fail(op, failure{errType: ErrGenesysUnavailable, msg: "Genesys created the workitem but its answer has no id" + quoteExcerpt(resp.body)}, "")
	}
	g.logger.Info("review workitem created", "op", op, "workitemId", created.ID)
	return created.ID, nil
}

func (g *GenesysClient) patchWorkitem(ctx context.Context, op, id string, fields map[string]any) error {
	_, err := g.call(ctx, op, http.MethodPatch, "/api/v2/taskmanagement/workitems/"+url.PathEscape(id), fields)
	return err
}

func (g *GenesysClient) sendEmail(ctx context.Context, op, subject, text string) error {
	_, err := g.call(ctx, op, http.MethodPost, "/api/v2/conversations/emails/agentless", agentlessEmail{
		SenderType:  "Outbound",
		FromAddress: emailAddress{Email: g.cfg.EmailFrom},
		ToAddresses: []emailAddress{{Email: g.cfg.FinanceOpsEmail}},
		Subject:     subject,
		TextBody:    text,
	})
	return err
}

// reviewFacts are the lines finance ops need, shared by the workitem and
// the email. No card data or customer token is ever in an Escalation; the
// free text is masked all the same (see sanitize).
func reviewFacts(e Escalation) []string {
	facts := []string{"Amount: " + describeAmount(e)}
	add := func(label, v string) {
		if v != "" {
			facts = append(facts, label+": "+sanitize(v, 128))
		}
	}
	add("Customer", e.CustomerID)
	add("Conversation", e.ConversationID)
	add("Agent", e.AgentID)
	add("Workflow", e.WorkflowID)
	return facts
}

// reviewDescription fits the review into Genesys' 512 characters; the
// reason is what gives way.
func reviewDescription(e Escalation) string {
	head := fmt.Sprintf("Refund review for transaction %s: %s (%s).", e.TransactionID, e.Action, sanitize(e.DispositionCode, 64))
	tail := strings.Join(append(reviewFacts(e), decideHint), "\n")
	room := maxDescription - len([]rune(head)) - len([]rune(tail)) - len("\nReason: \n")
	return head + "\nReason: " + sanitize(e.Reason, max(room, 40)) + "\n" + tail
}

const decideHint = "Decide with the " + remediation.DecisionSignal + " signal: approve, reject or resolved."

func reviewEmail(e Escalation) string {
	lines := []string{
		fmt.Sprintf("Transaction %s needs a finance decision: %s (%s).", e.TransactionID, e.Action, sanitize(e.DispositionCode, 64)),
		"",
		"Reason: " + sanitize(e.Reason, 1000),
	}
	lines = append(lines, reviewFacts(e)...)
	return strings.Join(append(lines, "", decideHint), "\n")
}

func reminderDescription(r Reminder) string {
	return fmt.Sprintf("Refund review for transaction %s.\nReason: %s\nWorkflow: %s\n%s",
		r.TransactionID, sanitize(r.Reason, 300), r.WorkflowID, decideHint)
}

func reminderEmail(r Reminder, line string) string {
	lines := []string{
		fmt.Sprintf("Transaction %s still needs a finance decision.", r.TransactionID),
		line,
		"",
		"Reason: " + sanitize(r.Reason, 1000),
	}
	if r.WorkitemID != "" {
		lines = append(lines, "Workitem: "+r.WorkitemID)
	}
	if r.WorkflowID != "" {
		lines = append(lines, "Workflow: "+r.WorkflowID)
	}
	return strings.Join(append(lines, "", decideHint), "\n")
}

// withReminder replaces the previous reminder line of a description with
// line, so a retried or a later reminder leaves exactly one. The outcome
// line a closed review ends with (closedPrefix) is replaced the same way,
// so a retried close writes it once and it takes the reminder's place.
func withReminder(description, line string) string {
	// Genesys took the description as it is, so its length fits whatever
	// this org's limit is: a finance note that made it longer than ours is
	// kept, and only what the new line needs is cut from its end.
	return withLastLine(description, line, max(maxDescription, len([]rune(description))))
}

// withLastLine is withReminder for a description of at most limit runes: a
// description we compose ourselves (a new workitem) keeps to ours.
func withLastLine(description, line string, limit int) string {
	kept := strings.Split(description, "\n")
	// A reminder line never replaces the outcome line; the outcome line
	// replaces the last reminder (and itself, on a retry).
	closing := strings.HasPrefix(line, closedPrefix)
	for len(kept) > 0 {
		last := kept[len(kept)-1]
		if last != "" && !strings.HasPrefix(last, reminderPrefix) && !(closing && strings.HasPrefix(last, closedPrefix)) {
			break
		}
		kept = kept[:len(kept)-1]
	}
	body := []rune(strings.Join(kept, "\n"))
	if room := limit - len([]rune(line)) - 1; len(body) > room {
		body = body[:max(room, 0)]
	}
	if len(body) == 0 {
		return line
	}
	return string(body) + "\n" + line
}

func describeAmount(e Escalation) string {
	if e.AmountMinor > 0 {
		if s, err := money.FormatMajor(e.AmountMinor, e.Currency); err == nil {
			return s + " " + e.Currency
		}
	}
	if e.AmountText != "" {
		return fmt.Sprintf("%q %s as received (cannot be used as is)", sanitize(e.AmountText, 40), e.Currency)
	}
	return "none given"
}
