package prodtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// BenchmarkHappyPathPostgresVsDevServer measures, in one run, the happy
// path on the production shape (deploy/prod-local.sh: the real server on
// PostgreSQL) against the same topology on the dev server `make dev` runs
// (SQLite file with WAL): two workers, two starters, the sandbox; refunds
// posted through both starters in turn by concurrent posters. It reports
// throughput (refunds per second from the first post to the last close),
// the p50 and p99 time from a post to its workflow closing Completed, and
// how fast the posts themselves were answered: when posts outpace the
// workers, time to Completed includes the wait in the task queue.
//
//	go test ./harness/prodtest -run '^$' -bench HappyPath -benchtime 1x
//
// REFUNDFLOW_COMPARE_N (200) and REFUNDFLOW_COMPARE_POSTERS (8) change the
// load. It ignores b.N: one measured pass per stack is the result.
func BenchmarkHappyPathPostgresVsDevServer(b *testing.B) {
	n := envInt(b, "REFUNDFLOW_COMPARE_N", 200)
	posters := envInt(b, "REFUNDFLOW_COMPARE_POSTERS", 8)

	dev := startDevStack(b)
	devBurst := measure(b, dev, "dev", n, posters, false)
	devLoop := measure(b, dev, "dev", n, posters, true)
	dev.stop()

	// The contract's settings on both stacks (the dev stack sets none).
	pg := startProdLocal(b, "REFUNDFLOW_SANDBOX_STATE_FILE=", "REFUNDFLOW_GATEWAY_RETRY_WINDOW=10m")
	pgTarget := &target{api: pg.api(), client: pg.client}
	pgBurst := measure(b, pgTarget, "pg", n, posters, false)
	pgLoop := measure(b, pgTarget, "pg", n, posters, true)
	pg.stop()

	// Printed, not logged: a benchmark's log is cut to a few lines.
	fmt.Printf("\n%d refunds, %d concurrent posters, 2 workers, 2 starters; latency is post to workflow closed Completed\n", n, posters)
	fmt.Printf("%-38s %-28s %10s %10s %9s %9s %9s %8s\n", "stack", "posters", "refunds/s", "to 99%/s", "p50", "p99", "max", "posts/s")
	for _, r := range []result{devBurst, pgBurst, devLoop, pgLoop} {
		fmt.Printf("%-38s %-28s %10.1f %10.1f %9s %9s %9s %8.1f\n", r.name, r.mode, r.throughput, r.throughput99, r.p50, r.p99, r.max, r.postRate)
	}
	fmt.Println()
	b.ReportMetric(devBurst.throughput, "dev-refunds/s")
	b.ReportMetric(pgBurst.throughput, "pg-refunds/s")
	b.ReportMetric(float64(devLoop.p99.Milliseconds()), "dev-loop-p99-ms")
	b.ReportMetric(float64(pgLoop.p99.Milliseconds()), "pg-loop-p99-ms")
}

// target is a running stack as the load sees it.
type target struct {
	api    *testenv.API
	client client.Client
	stop   func()
}

type result struct {
	name, mode                         string
	throughput, throughput99, postRate float64
	p50, p99, max                      time.Duration
}

// measure runs a warm-up, then n refunds with posters in flight, each
// followed to its close. Open (waitEach false), a poster posts its next
// refund as soon as the last is answered, so posts can outrun the workers
// and the backlog waits in the task queue; closed (waitEach true), it waits
// for its refund to complete first, so at most posters refunds are in
// flight and the latency is a refund's own.
func measure(b *testing.B, tg *target, name string, n, posters int, waitEach bool) result {
	b.Helper()
	run := func(prefix string, count int) (first, lastPost time.Time, closedAt []time.Time, toClose []time.Duration) {
		toClose = make([]time.Duration, count)
		answered := make([]time.Time, count)
		closed := make([]time.Time, count)
		sent := make([]time.Time, count)
		errs := make(chan error, count)
		next := make(chan int)
		var wg sync.WaitGroup
		for range posters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					txn := prefix + strconv.Itoa(i)
					sent[i] = time.Now()
					r, err := tg.api.Via(i).API.PostDisposition(context.Background(), testenv.Disposition(txn, "Refund_Processed", "19.99"))
					answered[i] = time.Now()
					if err == nil && r.Code != http.StatusAccepted {
						err = fmt.Errorf("%s: %d %s", txn, r.Code, r.Raw)
					}
					if err != nil {
						errs <- err
						continue
					}
					follow := func() {
						at, err := closeTime(tg.client, "remediation-"+txn)
						if err != nil {
							errs <- err
						}
						closed[i] = at
					}
					if waitEach {
						follow()
						continue
					}
					// Follow it to its close without holding up the poster.
					wg.Add(1)
					go func() {
						defer wg.Done()
						follow()
					}()
				}
			}()
		}
		for i := range count {
			next <- i
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		first, lastPost = sent[0], answered[0]
		for i := range count {
			toClose[i] = closed[i].Sub(sent[i])
			if sent[i].Before(first) {
				first = sent[i]
			}
			if answered[i].After(lastPost) {
				lastPost = answered[i]
			}
		}
		return first, lastPost, closed, toClose
	}

	mode := "open: post on answer"
	if waitEach {
		mode = "closed: post on completion"
	}
	id := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	run("WARM-"+name+id+"-", 20)
	first, lastPost, closedAt, toClose := run("BENCH-"+name+id+"-", n)
	slices.Sort(toClose)
	slices.SortFunc(closedAt, func(a, b time.Time) int { return a.Compare(b) })
	p99 := (n*99+99)/100 - 1
	stackName := map[string]string{"dev": "dev server (SQLite file, WAL)", "pg": "server " + pinnedServerVersion(b) + " on PostgreSQL, 8 shards"}[name]
	return result{
		name:       stackName,
		mode:       mode,
		throughput: float64(n) / closedAt[n-1].Sub(first).Seconds(),
		// One straggler (a task redelivered after its timeout) sets the
		// last close; the rate until 99% had closed shows the rest.
		throughput99: float64(p99+1) / closedAt[p99].Sub(first).Seconds(),
		postRate:     float64(n) / lastPost.Sub(first).Seconds(),
		p50:          toClose[n/2].Round(time.Millisecond),
		p99:          toClose[p99].Round(time.Millisecond),
		max:          toClose[n-1].Round(time.Millisecond),
	}
}

// closeTime waits for the workflow to close and returns when it did, by
// the server's clock, after checking it closed Completed.
func closeTime(c client.Client, workflowID string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var st remediation.Status
	if err := c.GetWorkflow(ctx, workflowID, "").Get(ctx, &st); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", workflowID, err)
	}
	if st.State != remediation.StateCompleted {
		return time.Time{}, fmt.Errorf("%s ended %s", workflowID, st.State)
	}
	d, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return time.Time{}, err
	}
	return d.GetWorkflowExecutionInfo().GetCloseTime().AsTime(), nil
}

// startDevStack runs what `make dev` runs, but with two workers and two
// starters as prod-local does: the dev server with its file DB in WAL mode,
// the sandbox, and the programs built fresh.
func startDevStack(b *testing.B) *target {
	b.Helper()
	install(b, testenv.RepoRoot(b))
	w := testenv.StartWorld(b, stack.Options{Workers: 2, Starters: 2, LogLevel: "info"})
	return &target{api: w.API, client: w.Stack.Client, stop: func() { _ = w.Stack.Stop() }}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
