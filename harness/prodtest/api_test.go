package prodtest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow/internal/sandbox"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

func (p *prodLocal) api() *testenv.API {
	return testenv.NewAPI(p.t, stack.API{
		StarterURLs: p.starterURLs, SandboxURL: p.sandboxURL,
		WebhookToken: p.env["WEBHOOK_TOKEN"], ApproverToken: p.env["APPROVER_TOKEN"],
	})
}

// oneRefund fails unless the gateway created exactly one refund for txn,
// under the key the contract derives from it.
func oneRefund(t testing.TB, a *testenv.API, txn string, amountMinor int64) sandbox.TransactionView {
	t.Helper()
	v := a.Transaction(txn)
	if v.RefundsCreated != 1 || v.ChargebacksCreated != 0 || len(v.Submissions) != 1 ||
		v.Submissions[0].IdempotencyKey != txn+":refund" || v.Submissions[0].Creations != 1 ||
		v.Submissions[0].AmountMinor != amountMinor {
		t.Errorf("%s: want exactly one refund of %d under %s:refund, ledger %+v", txn, amountMinor, txn, v)
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got int64
	err := stack.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := p.client.CountWorkflow(callCtx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return strings.Contains(err.Error(), "invalid"), err
		}
		got = resp.GetCount()
		return got == want, nil
	})
	if err != nil || got != want {
		p.t.Fatalf("visibility: %q counts %d, want %d: %v", query, got, want, err)
	}
}
