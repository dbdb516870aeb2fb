package prodtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow/internal/testenv"
)

// BenchmarkScaleClosedWorkflows measures how cost grows with the closed
// workflows visibility holds, on the production shape (deploy/prod-local.sh:
// the real server on PostgreSQL, two workers, two starters). It keeps 20
// reviews open throughout (the review queue), then at each step fills
// visibility with real refunds, through the starters and the workers, until
// that many have closed, and measures at that size: throughput and time to
// Completed (100 refunds by 8 posters who post on answer, so the backlog
// waits in the task queue, then 100 by 8 who post on completion, a refund's
// own time); the duplicate webhook (200 posts of closed transactions, 8 at
// a time, each answered 200 duplicate); the review-queue list (100 GET
// /v1/remediations?state=AwaitingReview&limit=50) and 100 first pages of
// the whole list (limit=200), which visibility picks from every closed
// workflow.
//
//	go test ./harness/prodtest -run '^$' -bench Scale -benchtime 1x -timeout 90m
//
// REFUNDFLOW_SCALE_STEPS (1000,10000) sets the sizes. It ignores b.N.
func BenchmarkScaleClosedWorkflows(b *testing.B) {
	steps := envSteps(b, "REFUNDFLOW_SCALE_STEPS", []int{1000, 10000})
	pg := startProdLocal(b, "REFUNDFLOW_SANDBOX_STATE_FILE=", "REFUNDFLOW_GATEWAY_RETRY_WINDOW=10m")
	defer pg.stop()
	api := pg.api()
	tg := &target{api: api, client: pg.client}
	id := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)

	const reviews = 20
	for i := range reviews {
		txn := "SCALE-REVIEW-" + id + "-" + strconv.Itoa(i)
		if r := api.Via(i).PostDisposition(testenv.Disposition(txn, "Escalation_Sent", "10.00")); r.Code != http.StatusAccepted {
			b.Fatalf("%s: %d %s", txn, r.Code, r.Raw)
		}
	}
	pg.waitCount("RemediationState = 'AwaitingReview'", reviews)

	var filled []string
	var rows []scaleRow
	for _, step := range steps {
		start := time.Now()
		fill := step - int(countWorkflows(b, pg, "ExecutionStatus = 'Completed'"))
		for i := range max(fill, 0) {
			filled = append(filled, fmt.Sprintf("SCALE-FILL-%s-%d-%d", id, step, i))
		}
		postAll(b, api, filled[len(filled)-max(fill, 0):], 16)
		waitCompleted(b, pg, int64(step))
		closed := countWorkflows(b, pg, "ExecutionStatus = 'Completed'")
		fillTook := time.Since(start)

		open := measure(b, tg, "pg", 100, 8, false)
		loop := measure(b, tg, "pg", 100, 8, true)
		dup := duplicates(b, api, filled, 200, 8)
		queue := listLatency(b, api, "state=AwaitingReview&limit=50", 100, reviews)
		firstPage := listLatency(b, api, "limit=200", 100, 200)
		rows = append(rows, scaleRow{closed: closed, fillTook: fillTook, open: open, loop: loop, dup: dup, queue: queue, firstPage: firstPage})
		// Printed at once, so a later step's failure keeps this one.
		printScale(rows[len(rows)-1:], reviews)
	}
	printScale(rows, reviews)
}

func printScale(rows []scaleRow, reviews int) {
	fmt.Printf("\nscale on %s: 2 workers, 2 starters, %d reviews open throughout\n", open0(rows).name, reviews)
	fmt.Printf("%8s %9s %10s %10s %10s %10s %10s %10s %10s %10s %10s\n", "closed", "fill", "refunds/s", "open p99", "loop p50", "loop p99", "dup p50", "dup p99", "queue p50", "queue p99", "page p99")
	for _, r := range rows {
		fmt.Printf("%8d %9s %10.1f %10s %10s %10s %10s %10s %10s %10s %10s\n", r.closed, r.fillTook.Round(time.Second), r.open.throughput, r.open.p99,
			r.loop.p50, r.loop.p99, r.dup.p50, r.dup.p99, r.queue.p50, r.queue.p99, r.firstPage.p99)
	}
	fmt.Println()
}

type scaleRow struct {
	closed           int64
	fillTook         time.Duration
	open, loop       result
	dup              latencies
	queue, firstPage latencies
}

func open0(rows []scaleRow) result {
	if len(rows) == 0 {
		return result{}
	}
	return rows[0].open
}

type latencies struct{ p50, p99, max time.Duration }

func summarizeLatencies(ds []time.Duration) latencies {
	slices.Sort(ds)
	n := len(ds)
	return latencies{p50: ds[n/2].Round(100 * time.Microsecond), p99: ds[(n*99+99)/100-1].Round(100 * time.Microsecond), max: ds[n-1].Round(100 * time.Microsecond)}
}

// postAll posts a refund disposition for every txn, concurrency at a time,
// through the starters in turn, without waiting for the workflows. A 503
// (Temporal too slow to answer the start in time, on a loaded machine) is
// posted again, as Genesys does: a retry is always safe.
func postAll(b *testing.B, api *testenv.API, txns []string, concurrency int) {
	b.Helper()
	next := make(chan int)
	errs := make(chan error, len(txns))
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := api.Via(i).API.PostDisposition(context.Background(), testenv.Disposition(txns[i], "Refund_Processed", "5.00"))
				for try := 1; err == nil && r.Code == http.StatusServiceUnavailable && try < 10; try++ {
					time.Sleep(time.Duration(try) * time.Second)
					r, err = api.Via(i+try).API.PostDisposition(context.Background(), testenv.Disposition(txns[i], "Refund_Processed", "5.00"))
				}
				if err == nil && r.Code == http.StatusOK && strings.Contains(r.Raw, `"duplicate"`) {
					continue // an earlier try was started after all
				}
				if err == nil && r.Code != http.StatusAccepted {
					err = fmt.Errorf("%s: %d %s", txns[i], r.Code, r.Raw)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range txns {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// duplicates posts n of the closed transactions again and times each
// answer, which must be 200 duplicate of a Completed remediation.
func duplicates(b *testing.B, api *testenv.API, closed []string, n, concurrency int) latencies {
	b.Helper()
	took := make([]time.Duration, n)
	next := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				txn := closed[(i*7919)%len(closed)]
				start := time.Now()
				r, err := api.Via(i).API.PostDisposition(context.Background(), testenv.Disposition(txn, "Refund_Processed", "5.00"))
				took[i] = time.Since(start)
				if err == nil && (r.Code != http.StatusOK || !strings.Contains(r.Raw, `"duplicate"`) || !strings.Contains(r.Raw, `"Completed"`)) {
					err = fmt.Errorf("duplicate %s: %d %s", txn, r.Code, r.Raw)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return summarizeLatencies(took)
}

// listLatency times n GET /v1/remediations?query, one after the other,
// each answering want items (the page's bound) and no more.
func listLatency(b *testing.B, api *testenv.API, query string, n, want int) latencies {
	b.Helper()
	took := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		r := api.Via(i).Call(http.MethodGet, api.Via(i).StarterURL()+"/v1/remediations?"+query, api.ApproverToken, nil)
		took[i] = time.Since(start)
		items, _ := r.Body["remediations"].([]any)
		if r.Code != http.StatusOK || len(items) != want {
			b.Fatalf("list %s: %d, %d items, want %d: %.300s", query, r.Code, len(items), want, r.Raw)
		}
	}
	return summarizeLatencies(took)
}

func countWorkflows(b *testing.B, pg *prodLocal, query string) int64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := pg.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		b.Fatal(err)
	}
	return resp.GetCount()
}

// waitCompleted waits until visibility counts at least want closed
// Completed remediations, failing when it stops moving for two minutes.
func waitCompleted(b *testing.B, pg *prodLocal, want int64) {
	b.Helper()
	last, lastMoved := int64(-1), time.Now()
	for {
		got := countWorkflows(b, pg, "ExecutionStatus = 'Completed'")
		if got >= want {
			return
		}
		if got != last {
			last, lastMoved = got, time.Now()
		}
		if time.Since(lastMoved) > 2*time.Minute {
			b.Fatalf("visibility counts %d Completed, want %d, and has not moved for 2 minutes", got, want)
		}
		time.Sleep(time.Second)
	}
}

func envSteps(b *testing.B, name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || (len(out) > 0 && n <= out[len(out)-1]) {
			b.Fatalf("%s=%q: want increasing positive numbers, comma-separated", name, v)
		}
		out = append(out, n)
	}
	return out
}
