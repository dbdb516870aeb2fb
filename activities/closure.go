package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// closedCategory is the Genesys status category of a finished workitem
// (the others are Open, InProgress and Waiting).
const closedCategory = "Closed"

// closedPrefix starts the outcome line a closed review's description ends
// with.
const closedPrefix = "Review closed: "

// workitemState is the part of a workitem closing reads: its description,
// its worktype and where it stands.
type workitemState struct {
	Description    string `json:"description"`
	StatusCategory string `json:"statusCategory"`
	Type           struct {
		ID string `json:"id"`
	} `json:"type"`
}

type workitemStatus struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
}

// CloseWorkitem sets the review's workitem to the worktype's closed status
// and ends its description with the outcome. A retry repeats the same
// PATCH: the outcome line replaces itself, and a workitem already in a
// Closed status (closed by an earlier attempt, or by hand in Genesys) only
// gets the line.
func (g *GenesysClient) CloseWorkitem(ctx context.Context, c WorkitemClosure) error {
	op := fmt.Sprintf("close workitem %s of %s", c.WorkitemID, c.TransactionID)
	if c.WorkitemID == "" {
		return invalidRequest(op + ": no workitemId")
	}
	path := "/api/v2/taskmanagement/workitems/" + url.PathEscape(c.WorkitemID)
	resp, err := g.api.do(ctx, op, outgoing{method: http.MethodGet, url: g.base + path, accept: []int{http.StatusNotFound}})
	if err != nil {
		return err
	}
	if resp.status == http.StatusNotFound {
		// Deleted in Genesys, or expired under a review that outlived it:
		// nothing is left open in a queue, so nothing is wrong.
		g.logger.Info("review workitem no longer exists; nothing to close", "op", op, "workitemId", c.WorkitemID)
		return nil
	}
	var current workitemState
	if err := json.Unmarshal(resp.body, &current); err != nil {
		// Closing on a guess could overwrite the review's description.
		return g.api.fail(op, failure{errType: ErrGenesysUnavailable, msg: "Genesys answered the workitem read with something that is not a workitem" + quoteExcerpt(resp.body)}, "")
	}
	fields := map[string]any{"description": withReminder(current.Description, closedLine(c))}
	worktype := ""
	if current.StatusCategory != closedCategory {
		worktype = current.Type.ID
		if worktype == "" {
			worktype = g.cfg.WorktypeID
		}
		statusID, err := g.closedStatusID(ctx, op, worktype)
		if err != nil {
			return err
		}
		fields["statusId"] = statusID
	}
	if err := g.patchWorkitem(ctx, op, c.WorkitemID, fields); err != nil {
		var ae *temporal.ApplicationError
		if worktype != "" && errors.As(err, &ae) && ae.NonRetryable() {
			// The status looked up may be gone (an admin recreated the
			// worktype's Closed status): look again next time rather than
			// fail every close until the worker restarts.
			g.forgetClosedStatus(worktype)
		}
		return err
	}
	g.logger.Info("review workitem closed", "op", op, "workitemId", c.WorkitemID, "state", c.State)
	return nil
}

// closedStatusID is the status a review workitem is closed with: the
// configured one (REFUNDFLOW_GENESYS_CLOSED_STATUS_ID), or the worktype's
// status in category Closed, looked up once and cached. Of several Closed
// statuses the one named "Closed" is taken; a worktype with none, or with
// several and none of them so named, needs the variable: a guess would
// close reviews in the wrong status.
func (g *GenesysClient) closedStatusID(ctx context.Context, op, worktype string) (string, error) {
	if g.cfg.ClosedStatusID != "" {
		return g.cfg.ClosedStatusID, nil
	}
	if worktype == "" {
		return "", ErrConfiguration.Final(fmt.Sprintf(
			"%s: the workitem has no worktype and none is configured: set %sGENESYS_CLOSED_STATUS_ID", op, envPrefix), nil)
	}
	g.closedMu.Lock()
	cached := g.closedStatus[worktype]
	g.closedMu.Unlock()
	if cached != "" {
		return cached, nil
	}
	statuses, err := g.worktypeStatuses(ctx, op, worktype)
	if err != nil {
		return "", err
	}
	var closed []workitemStatus
	for _, s := range statuses {
		if s.Category == closedCategory && s.ID != "" {
			closed = append(closed, s)
		}
	}
	if len(closed) > 1 {
		// Genesys names the Closed status it creates with a worktype
		// "Closed"; other Closed ones are the customer's own.
		var named []workitemStatus
		for _, s := range closed {
			if strings.EqualFold(strings.TrimSpace(s.Name), closedCategory) {
				named = append(named, s)
			}
		}
		if len(named) == 1 {
			closed = named
		}
	}
	switch len(closed) {
	case 0:
		return "", ErrConfiguration.Final(fmt.Sprintf(
			"%s: worktype %s has no status in category Closed: add one, or set %sGENESYS_CLOSED_STATUS_ID", op, worktype, envPrefix), nil)
	case 1:
	default:
		names := make([]string, len(closed))
		for i, s := range closed {
			names[i] = fmt.Sprintf("%s (%s)", sanitize(s.Name, 60), s.ID)
		}
		return "", ErrConfiguration.Final(fmt.Sprintf(
			"%s: worktype %s has %d statuses in category Closed (%s): set %sGENESYS_CLOSED_STATUS_ID to the one reviews end in",
			op, worktype, len(closed), strings.Join(names, ", "), envPrefix), nil)
	}
	g.closedMu.Lock()
	g.closedStatus[worktype] = closed[0].ID
	g.closedMu.Unlock()
	g.logger.Info("closed status of the review worktype found", "worktypeId", worktype, "statusId", closed[0].ID, "name", sanitize(closed[0].Name, 60))
	return closed[0].ID, nil
}

// forgetClosedStatus drops the cached closed status of a worktype.
func (g *GenesysClient) forgetClosedStatus(worktype string) {
	g.closedMu.Lock()
	delete(g.closedStatus, worktype)
	g.closedMu.Unlock()
}

// closedLine is the outcome as the workitem records it: the final state,
// who decided, and the gateway's reference when money moved.
func closedLine(c WorkitemClosure) string {
	line := closedPrefix + string(c.State)
	if c.DecidedBy != "" {
		line += ", decided by " + sanitize(c.DecidedBy, 80)
		if c.DecisionID != "" {
			line += " (decision " + sanitize(c.DecisionID, 64) + ")"
		}
	}
	if c.DecidedAt != "" {
		line += " at " + sanitize(c.DecidedAt, 40)
	}
	if c.GatewayReference != "" {
		line += "; gateway reference " + sanitizeReference(c.GatewayReference, 80)
	}
	return line + "."
}

// openCategory is the status category of a workitem waiting in its queue.
const openCategory = "Open"

// openStatusID is the worktype's status a reopened review's workitem goes
// back to: of its Open statuses the one named "Open", else the first.
func (g *GenesysClient) openStatusID(ctx context.Context, op, worktype string) (string, error) {
	statuses, err := g.worktypeStatuses(ctx, op, worktype)
	if err != nil {
		return "", err
	}
	return openStatusIn(op, worktype, statuses)
}

// openStatusIn is openStatusID of a worktype's statuses already read.
func openStatusIn(op, worktype string, statuses []workitemStatus) (string, error) {
	first := ""
	for _, s := range statuses {
		if s.Category != openCategory || s.ID == "" {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(s.Name), openCategory) {
			return s.ID, nil
		}
		if first == "" {
			first = s.ID
		}
	}
	if first == "" {
		return "", ErrConfiguration.Final(fmt.Sprintf("%s: worktype %s has no status in category Open to reopen the review's workitem in", op, worktype), nil)
	}
	return first, nil
}

// worktypeStatuses lists the statuses of a worktype.
func (g *GenesysClient) worktypeStatuses(ctx context.Context, op, worktype string) ([]workitemStatus, error) {
	resp, err := g.call(ctx, op, http.MethodGet, "/api/v2/taskmanagement/worktypes/"+url.PathEscape(worktype)+"/statuses", nil)
	if err != nil {
		return nil, err
	}
	var listing struct {
		Entities []workitemStatus `json:"entities"`
	}
	if err := json.Unmarshal(resp.body, &listing); err != nil {
		return nil, g.api.fail(op, failure{errType: ErrGenesysUnavailable, msg: "Genesys answered the worktype's statuses with something that is not a status listing" + quoteExcerpt(resp.body)}, "")
	}
	return listing.Entities, nil
}
