package prodtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow/internal/remediation"
)

// api talks to the starters and the sandbox of a running stack.
type api struct {
	t           testing.TB
	starterURLs []string
	sandboxURL  string
	webhook     string
	approver    string
	http        *http.Client
}

func (p *prodLocal) api() *api {
	return &api{
		t: p.t, starterURLs: p.starterURLs, sandboxURL: p.sandboxURL,
		webhook: p.env["WEBHOOK_TOKEN"], approver: p.env["APPROVER_TOKEN"],
		http: &http.Client{Timeout: 30 * time.Second},
	}
}

// reply is an HTTP answer with its JSON body.
type reply struct {
	Code int
	Body map[string]any
	Raw  string
}

// do sends one request; errors are returned, not fatal, so goroutines may call it.
func (a *api) do(method, url, token string, body any) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{Code: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r, nil
}

func (a *api) call(method, url, token string, body any) reply {
	a.t.Helper()
	r, err := a.do(method, url, token, body)
	if err != nil {
		a.t.Fatal(err)
	}
	return r
}

// starter is the n-th starter, round the list: callers alternate by n.
func (a *api) starter(n int) string { return a.starterURLs[n%len(a.starterURLs)] }

func (a *api) postDisposition(n int, body map[string]any) reply {
	a.t.Helper()
	return a.call(http.MethodPost, a.starter(n)+"/v1/dispositions", a.webhook, body)
}

func (a *api) decide(n int, txn string, body map[string]any) reply {
	a.t.Helper()
	return a.call(http.MethodPost, a.starter(n)+"/v1/remediations/"+txn+"/decision", a.approver, body)
}

// waitState polls the finance API's status until the state is reached (for
// a review: until finance ops have been told).
func (a *api) waitState(n int, txn string, want remediation.State, within time.Duration) remediation.Status {
	a.t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		r, err := a.do(http.MethodGet, a.starter(n)+"/v1/remediations/"+txn, a.approver, nil)
		if err == nil && r.Code == http.StatusOK {
			var st remediation.Status
			if json.Unmarshal([]byte(r.Raw), &st) == nil && st.State == want &&
				(want != remediation.StateAwaitingReview || st.Escalation != "") {
				return st
			}
		}
		if err != nil {
			last = err.Error()
		} else {
			last = r.Raw
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.t.Fatalf("%s never reached %s within %s; last status %s", txn, want, within, last)
	return remediation.Status{}
}

// ledgerView is the sandbox's ledger for one transaction.
type ledgerView struct {
	RefundsCreated     int `json:"refundsCreated"`
	ChargebacksCreated int `json:"chargebacksCreated"`
	GatewayRequests    int `json:"gatewayRequests"`
	Submissions        []struct {
		IdempotencyKey string `json:"idempotencyKey"`
		AmountMinor    int64  `json:"amountMinor"`
		Creations      int    `json:"creations"`
		Reference      string `json:"reference"`
	} `json:"submissions"`
	AttributeWrites []struct {
		Attributes map[string]string `json:"attributes"`
	} `json:"attributeWrites"`
	Workitems []struct {
		ID string `json:"id"`
	} `json:"workitems"`
}

func (a *api) ledger(txn string) ledgerView {
	a.t.Helper()
	r := a.call(http.MethodGet, a.sandboxURL+"/sandbox/ledger/"+txn, "", nil)
	if r.Code != http.StatusOK {
		a.t.Fatalf("ledger of %s: %d %s", txn, r.Code, r.Raw)
	}
	var v ledgerView
	if err := json.Unmarshal([]byte(r.Raw), &v); err != nil {
		a.t.Fatal(err)
	}
	return v
}

// lastRefundStatus is the refundStatus Genesys was last told.
func (v ledgerView) lastRefundStatus() string {
	if len(v.AttributeWrites) == 0 {
		return ""
	}
	return v.AttributeWrites[len(v.AttributeWrites)-1].Attributes["refundStatus"]
}

// waitGenesysTold polls the ledger until Genesys was last told status: the
// workflow writes it back just after it enters the state.
func (a *api) waitGenesysTold(txn, status string) {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := a.ledger(txn)
		if v.lastRefundStatus() == status {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("%s: Genesys was told %+v, not %s", txn, v.AttributeWrites, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// oneRefund fails unless the gateway created exactly one refund for txn,
// under the key the contract derives from it.
func (a *api) oneRefund(txn string, amountMinor int64) ledgerView {
	a.t.Helper()
	v := a.ledger(txn)
	if v.RefundsCreated != 1 || v.ChargebacksCreated != 0 || len(v.Submissions) != 1 ||
		v.Submissions[0].IdempotencyKey != txn+":refund" || v.Submissions[0].Creations != 1 ||
		v.Submissions[0].AmountMinor != amountMinor {
		a.t.Errorf("%s: want exactly one refund of %d under %s:refund, ledger %+v", txn, amountMinor, txn, v)
	}
	return v
}

// quoteList renders ids for a visibility query's IN (...).
func quoteList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = strconv.Quote(id)
	}
	return strings.Join(q, ", ")
}

// waitCount polls visibility until query counts want workflows: visibility
// is written after the fact, by the server's visibility queue.
func (p *prodLocal) waitCount(query string, want int64) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got int64
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := p.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		cancel()
		if err == nil {
			got = resp.GetCount()
			if got == want {
				return
			}
		} else if strings.Contains(err.Error(), "invalid") {
			p.t.Fatalf("visibility query %q: %v", query, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.t.Fatalf("visibility: %q counts %d, want %d", query, got, want)
}
