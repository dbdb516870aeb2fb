package testenv

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
	"github.com/refundflow/refundflow/internal/stack"
)

// World is a stack.World that fails the test instead of returning errors.
type World struct {
	*API
	Stack *stack.World
}

// StartWorld starts a stack.World for the test and stops it when the test
// ends, logging the tail of every program's log if the test failed. By
// default its Dir is a t.TempDir and its programs are built once per test
// binary.
func StartWorld(t testing.TB, o stack.Options) *World {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.BinDir == "" && !o.Build {
		o.BinDir = Programs(t)
	}
	if o.TemporalAddress == "" && o.TemporalCLI == "" {
		o.TemporalCLI = Binary(t, "temporal")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w, err := stack.Start(ctx, o)
	if err != nil {
		dumpLogs(t, o.Dir)
		t.Fatalf("testenv: start the stack: %v", err)
	}
	t.Cleanup(func() {
		// Every test through the stack holds the worker to Genesys's spec:
		// whatever else it checks, no request may be one Genesys refuses.
		lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
		if led, err := w.API.Ledger(lctx); err == nil && led.Stats.GenesysSpecViolations != 0 {
			t.Errorf("the worker sent %d Genesys requests that violate the Platform API spec: %q",
				led.Stats.GenesysSpecViolations, led.Stats.GenesysSpecViolationNotes)
		}
		lcancel()
		_ = w.Stop()
		if t.Failed() {
			dumpLogs(t, o.Dir)
		}
	})
	return &World{API: NewAPI(t, w.API), Stack: w}
}

func dumpLogs(t testing.TB, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		t.Logf("---- %s (last 4 KiB) ----\n%s", filepath.Base(l), logTail(l))
	}
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Programs builds sandbox, worker and starter once per test binary and
// returns their folder.
func Programs(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "refundflow-bin"); buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		buildErr = stack.Build(ctx, root, binDir, "sandbox", "worker", "starter")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// API is stack.API for a test: a call that gets no answer fails the test,
// and a wait gives up, failing it, after Wait.
type API struct {
	stack.API
	t    testing.TB
	Wait time.Duration
}

// NewAPI wraps a for t, waiting at most 90s.
func NewAPI(t testing.TB, a stack.API) *API { return &API{API: a, t: t, Wait: 90 * time.Second} }

// Via is the API with its calls sent to starter n (stack.API.Via).
func (a *API) Via(n int) *API {
	b := *a
	b.API = a.API.Via(n)
	return &b
}

// Call is stack.API.Call.
func (a *API) Call(method, url, token string, body any) stack.Reply {
	a.t.Helper()
	return a.must(a.API.Call(context.Background(), method, url, token, body))
}

// PostDisposition is stack.API.PostDisposition.
func (a *API) PostDisposition(body any) stack.Reply {
	a.t.Helper()
	return a.must(a.API.PostDisposition(context.Background(), body))
}

// Decide is stack.API.Decide.
func (a *API) Decide(txn string, body any) stack.Reply {
	a.t.Helper()
	return a.must(a.API.Decide(context.Background(), txn, body))
}

// Status is stack.API.Status.
func (a *API) Status(txn string) stack.Reply {
	a.t.Helper()
	return a.must(a.API.Status(context.Background(), txn))
}

// WaitState is stack.API.WaitState.
func (a *API) WaitState(txn string, want remediation.State) remediation.Status {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), a.Wait)
	defer cancel()
	st, err := a.API.WaitState(ctx, txn, want)
	if err != nil {
		a.t.Fatal(err)
	}
	return st
}

// WaitReview waits until txn awaits review and finance ops have it: its
// workitem exists. The state comes first, the escalation after it (on the
// paced Genesys queue, which may keep it waiting its turn).
func (a *API) WaitReview(txn string) remediation.Status {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), a.Wait)
	defer cancel()
	st, err := a.API.WaitStatus(ctx, txn, func(s remediation.Status) bool {
		return s.State == remediation.StateAwaitingReview && s.WorkitemID != ""
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return st
}

// Transaction is stack.API.Transaction.
func (a *API) Transaction(txn string) sandbox.TransactionView {
	a.t.Helper()
	v, err := a.API.Transaction(context.Background(), txn)
	if err != nil {
		a.t.Fatal(err)
	}
	return v
}

// WaitTransaction is stack.API.WaitTransaction; what says what ok waits
// for, for the failure.
func (a *API) WaitTransaction(txn, what string, ok func(sandbox.TransactionView) bool) sandbox.TransactionView {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), a.Wait)
	defer cancel()
	v, err := a.API.WaitTransaction(ctx, txn, ok)
	if err != nil {
		a.t.Fatalf("never showed %s: %v", what, err)
	}
	return v
}

// Heal is stack.API.Heal.
func (a *API) Heal(txn string) {
	a.t.Helper()
	if err := a.API.Heal(context.Background(), txn); err != nil {
		a.t.Fatal(err)
	}
}

// Told is a WaitTransaction condition: Genesys was last told refundStatus.
func Told(refundStatus string) func(sandbox.TransactionView) bool {
	return func(v sandbox.TransactionView) bool { return v.LastRefundStatus() == refundStatus }
}

func (a *API) must(r stack.Reply, err error) stack.Reply {
	a.t.Helper()
	if err != nil {
		a.t.Fatal(err)
	}
	return r
}
