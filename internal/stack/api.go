package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
)

// Reply is an HTTP answer with its body, decoded when it is a JSON object.
type Reply struct {
	Code int
	Body map[string]any
	Raw  string
}

// Decode unmarshals the raw body into v.
func (r Reply) Decode(v any) error {
	if err := json.Unmarshal([]byte(r.Raw), v); err != nil {
		return fmt.Errorf("decode answer %d: %w", r.Code, err)
	}
	return nil
}

// CallJSON sends one request with body as JSON (none when nil) and token
// as a bearer token (none when ""), and reads the whole answer. An error
// means no complete answer came back; any status code is a Reply.
func CallJSON(ctx context.Context, hc *http.Client, method, url, token string, body any) (Reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Reply{}, fmt.Errorf("encode %s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return Reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		// The peer died mid-answer: as good as no answer.
		return Reply{}, fmt.Errorf("read answer to %s %s: %w", method, url, err)
	}
	r := Reply{Code: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r, nil
}

// API is what the outside world calls on a running stack: the starters'
// webhook and finance API, and the sandbox's ledger. Calls go to the first
// starter; Via picks another.
type API struct {
	StarterURLs   []string
	SandboxURL    string
	WebhookToken  string
	ApproverToken string
	// HTTP is the client for every call; nil is one with a 30s timeout.
	HTTP *http.Client
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// Via is the API with its calls sent to starter n (round the list), so
// callers can take the starters in turn.
func (a API) Via(n int) API {
	a.StarterURLs = []string{a.StarterURLs[n%len(a.StarterURLs)]}
	return a
}

// StarterURL is where the calls go.
func (a API) StarterURL() string { return a.StarterURLs[0] }

// Call is CallJSON with the API's client.
func (a API) Call(ctx context.Context, method, url, token string, body any) (Reply, error) {
	hc := a.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	return CallJSON(ctx, hc, method, url, token, body)
}

// PostDisposition is Genesys's POST /v1/dispositions.
func (a API) PostDisposition(ctx context.Context, body any) (Reply, error) {
	return a.Call(ctx, http.MethodPost, a.StarterURL()+"/v1/dispositions", a.WebhookToken, body)
}

// Decide is finance ops' POST /v1/remediations/{txn}/decision.
func (a API) Decide(ctx context.Context, txn string, body any) (Reply, error) {
	return a.Call(ctx, http.MethodPost, a.StarterURL()+"/v1/remediations/"+txn+"/decision", a.ApproverToken, body)
}

// Status is GET /v1/remediations/{txn}.
func (a API) Status(ctx context.Context, txn string) (Reply, error) {
	return a.Call(ctx, http.MethodGet, a.StarterURL()+"/v1/remediations/"+txn, a.ApproverToken, nil)
}

// Remediations is GET /v1/remediations, the review queue, with query
// (e.g. state=AwaitingReview).
func (a API) Remediations(ctx context.Context, query url.Values) (Reply, error) {
	return a.Call(ctx, http.MethodGet, a.StarterURL()+"/v1/remediations?"+query.Encode(), a.ApproverToken, nil)
}

// WaitStatus polls the status every 100ms until ok accepts it or ctx ends.
func (a API) WaitStatus(ctx context.Context, txn string, ok func(remediation.Status) bool) (remediation.Status, error) {
	var st remediation.Status
	last := ""
	err := Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		r, err := a.Status(ctx, txn)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = r.Raw
		st = remediation.Status{}
		return r.Code == http.StatusOK && r.Decode(&st) == nil && ok(st), nil
	})
	if err != nil {
		return st, fmt.Errorf("%s: %w; last status %s", txn, err, last)
	}
	return st, nil
}

// WaitState waits until the remediation is in state, and for a review
// until finance ops have been told.
func (a API) WaitState(ctx context.Context, txn string, want remediation.State) (remediation.Status, error) {
	st, err := a.WaitStatus(ctx, txn, func(st remediation.Status) bool {
		return st.State == want && (want != remediation.StateAwaitingReview || st.Escalation != "")
	})
	if err != nil {
		return st, fmt.Errorf("never reached %s: %w", want, err)
	}
	return st, nil
}

// Ledger is GET /sandbox/ledger.
func (a API) Ledger(ctx context.Context) (*sandbox.LedgerView, error) {
	var l sandbox.LedgerView
	if err := a.sandboxGet(ctx, "/sandbox/ledger", &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Transaction is GET /sandbox/ledger/{txn}.
func (a API) Transaction(ctx context.Context, txn string) (sandbox.TransactionView, error) {
	var v sandbox.TransactionView
	err := a.sandboxGet(ctx, "/sandbox/ledger/"+txn, &v)
	return v, err
}

// WaitTransaction polls the sandbox until the transaction's ledger
// satisfies ok: the workflow's state can change a moment before Genesys
// is told.
func (a API) WaitTransaction(ctx context.Context, txn string, ok func(sandbox.TransactionView) bool) (sandbox.TransactionView, error) {
	var v sandbox.TransactionView
	err := Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		var err error
		v, err = a.Transaction(ctx, txn)
		return err == nil && ok(v), err
	})
	if err != nil {
		return v, fmt.Errorf("ledger of %s: %w; last %+v", txn, err, v)
	}
	return v, nil
}

// Heal is POST /sandbox/heal/{txn}: a FAIL- transaction succeeds from now on.
func (a API) Heal(ctx context.Context, txn string) error {
	r, err := a.Call(ctx, http.MethodPost, a.SandboxURL+"/sandbox/heal/"+txn, "", nil)
	if err == nil && r.Code != http.StatusOK {
		err = fmt.Errorf("heal %s: %d %s", txn, r.Code, r.Raw)
	}
	return err
}

func (a API) sandboxGet(ctx context.Context, path string, v any) error {
	r, err := a.Call(ctx, http.MethodGet, a.SandboxURL+path, "", nil)
	if err != nil {
		return fmt.Errorf("sandbox %s: %w", path, err)
	}
	if r.Code != http.StatusOK {
		return fmt.Errorf("sandbox %s: %d %s", path, r.Code, r.Raw)
	}
	return r.Decode(v)
}
