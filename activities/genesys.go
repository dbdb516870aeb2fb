package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"go.temporal.io/sdk/activity"
)

// GenesysClient writes outcomes onto Genesys Cloud interactions and puts
// reviews in front of finance ops (contract section 5). It is both the
// Interactions and the Escalator of the activities.
type GenesysClient struct {
	api    *apiClient
	base   string
	cfg    GenesysConfig
	logger *slog.Logger

	// closedStatus caches, per worktype ID, the status a review workitem
	// is closed with (see closedStatusID): statuses are configuration, so
	// one lookup per worker serves every review.
	closedMu     sync.Mutex
	closedStatus map[string]string
}

// NewGenesysClient builds the Genesys client on client (see NewHTTPClient).
// The token comes from POST {login}/oauth/token with Basic auth.
func NewGenesysClient(cfg GenesysConfig, client *http.Client, logger *slog.Logger) (*GenesysClient, error) {
	login, err := cfg.LoginBase()
	if err != nil {
		return nil, err
	}
	r := genesysRemote()
	logger = orDiscard(logger)
	if cfg.LoginFromAPIURL() {
		logger.Warn("REFUNDFLOW_GENESYS_LOGIN_URL is not set and the API host has no \"api.\" to turn into \"login.\": tokens are fetched from the API URL",
			"tokenURL", login+"/oauth/token")
	}
	return &GenesysClient{
		api: &apiClient{
			http:    client,
			creds:   newOAuthCredentials(login+"/oauth/token", cfg.ClientID, cfg.ClientSecret, nil, client, r),
			timeout: cfg.Timeout,
			remote:  r,
			logger:  logger,
		},
		base:         strings.TrimRight(cfg.APIURL, "/"),
		cfg:          cfg,
		logger:       logger,
		closedStatus: map[string]string{},
	}, nil
}

// participantAttributes is the PATCH body; Genesys participant attributes
// are strings only.
type participantAttributes struct {
	Attributes struct {
		RefundStatus        string `json:"refundStatus"`
		RefundReference     string `json:"refundReference"`
		RefundTransactionID string `json:"refundTransactionId"`
	} `json:"attributes"`
}

// UpdateAttributes writes the outcome onto the call participant, where
// the agent's desktop, scripts and reporting can read it. Writing the same
// values twice is harmless, so retries need no lookup.
func (g *GenesysClient) UpdateAttributes(ctx context.Context, u InteractionUpdate) error {
	op := fmt.Sprintf("write refundStatus %s for %s", u.RefundStatus, u.TransactionID)
	if u.ConversationID == "" || u.ParticipantID == "" {
		return invalidRequest(op + ": conversationId and participantId are required")
	}
	var body participantAttributes
	body.Attributes.RefundStatus = u.RefundStatus
	body.Attributes.RefundReference = u.GatewayReference
	body.Attributes.RefundTransactionID = u.TransactionID
	path := fmt.Sprintf("/api/v2/conversations/calls/%s/participants/%s/attributes",
		url.PathEscape(u.ConversationID), url.PathEscape(u.ParticipantID))
	_, err := g.call(ctx, op, http.MethodPatch, path, body)
	return err
}

// SetWrapup sets the failed-refund wrap-up code. Genesys takes it only while
// the agent is in after-call work; afterwards it answers 4xx, which is final
// (ErrGenesysRejected) and recorded by the workflow: the attributes and the
// review carry the outcome anyway. With no code configured this does nothing,
// so that setting never changes which activities a workflow runs.
func (g *GenesysClient) SetWrapup(ctx context.Context, w FailedWrapup) error {
	op := "set the failed wrap-up code for " + w.TransactionID
	if g.cfg.FailedWrapupCodeID == "" {
		g.logger.Debug("no failed wrap-up code configured; wrap-up left alone", "op", op)
		return nil
	}
	if w.ConversationID == "" || w.ParticipantID == "" || w.CommunicationID == "" {
		return invalidRequest(op + ": conversationId, participantId and communicationId are required")
	}
	body := struct {
		Code  string `json:"code"`
		Notes string `json:"notes"`
	}{Code: g.cfg.FailedWrapupCodeID, Notes: w.Notes}
	path := fmt.Sprintf("/api/v2/conversations/calls/%s/participants/%s/communications/%s/wrapup",
		url.PathEscape(w.ConversationID), url.PathEscape(w.ParticipantID), url.PathEscape(w.CommunicationID))
	_, err := g.call(ctx, op, http.MethodPost, path, body)
	return err
}

// call sends a JSON request (or none for a nil body) to the API.
func (g *GenesysClient) call(ctx context.Context, op, method, path string, body any) (*response, error) {
	out := outgoing{method: method, url: g.base + path}
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, invalidRequest(fmt.Sprintf("%s: encode body: %v", op, err))
		}
		out.body, out.contentType = data, "application/json"
	}
	return g.api.do(ctx, op, out)
}

// GenesysRequestsPerActivity is what the pacing budgets each Genesys
// activity: the most requests most make (a review's query then create; a
// reminder's or a close's read then update; a decision's read of the
// workitem then of its worktype's statuses). Some make a third: a
// reminder when both a worktype and REFUNDFLOW_FINANCE_OPS_EMAIL are set
// (the email), a reopen or a new round after a decision made in Genesys
// (a status lookup), a worker's first close per worktype (before its
// closed status is cached). Reminders are spread by their timers; the
// rest are rare; Retry-After absorbs what exceeds the limit.
const GenesysRequestsPerActivity = 2

// RegisterGenesysActivities registers a's Genesys activities on reg, the
// worker of the paced Genesys task queue.
func RegisterGenesysActivities(reg interface {
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}, a *Activities) {
	for name, fn := range GenesysActivities(a) {
		reg.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// GenesysActivities are a's activities that call Genesys, by the names
// the workflow schedules them under: the worker serves them on the paced
// Genesys task queue as well as on the workflow's own. (A function, not
// a method: every exported method of Activities is registered as an
// activity.)
func GenesysActivities(a *Activities) map[string]any {
	return map[string]any{
		"UpdateInteraction": a.UpdateInteraction,
		"SetFailedWrapup":   a.SetFailedWrapup,
		"EscalateToFinance": a.EscalateToFinance,
		"RemindFinance":     a.RemindFinance,
		"CloseWorkitem":     a.CloseWorkitem,
		// Reads the workitem, then its worktype's statuses: 2 requests.
		"ReadWorkitemDecision": a.ReadWorkitemDecision,
	}
}
