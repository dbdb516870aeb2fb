package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow/internal/reconcile"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// BenchmarkExportWindow times GET /v1/reconciliation over a window of
// REFUNDFLOW_EXPORT_N (500) completed refunds on the dev server: how many
// rows a second the export streams, in each shape. It ignores b.N.
//
//	go test ./cmd/reconcile -run '^$' -bench Export -benchtime 1x
func BenchmarkExportWindow(b *testing.B) {
	n := 500
	if v := os.Getenv("REFUNDFLOW_EXPORT_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("REFUNDFLOW_EXPORT_N=%q", v)
		}
	}
	w := testenv.StartWorld(b, stack.Options{LogLevel: "info"})
	from := time.Now().UTC().Add(-time.Minute)
	id := stack.Unique("EXP-")
	next := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := w.API.API.PostDisposition(context.Background(), stack.Disposition(id+"-"+strconv.Itoa(i), "Refund_Processed", "3.00"))
				if err != nil || r.Code != http.StatusAccepted {
					b.Errorf("post %d: %v %d %s", i, err, r.Code, r.Raw)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		resp, err := w.Stack.Client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: "ExecutionStatus = 'Completed'"})
		if err == nil && resp.GetCount() >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d refunds did not complete in time: %v", n, err)
		}
		time.Sleep(time.Second)
	}
	q := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {time.Now().UTC().Add(time.Minute).Format(time.RFC3339Nano)}}
	fmt.Printf("\nexport of %d completed refunds (dev server, one starter, pages of %d, %d reads at a time)\n", n, reconcile.DefaultPageSize, reconcile.DefaultConcurrency)
	for _, format := range []string{"json", "csv", "financial_transaction_log"} {
		q.Set("format", format)
		req, _ := http.NewRequest(http.MethodGet, w.StarterURL()+"/v1/reconciliation?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+stack.ApproverToken)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		lines, bytes := 0, 0
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines++
			bytes += len(sc.Bytes()) + 1
		}
		resp.Body.Close()
		took := time.Since(start)
		if err := sc.Err(); err != nil || resp.StatusCode != http.StatusOK || lines < n+1 {
			b.Fatalf("%s: %d, %d lines: %v", format, resp.StatusCode, lines, err)
		}
		fmt.Printf("  %-26s %6d lines, %7.1f kB in %8s (%6.0f rows/s)\n", format, lines, float64(bytes)/1000, took.Round(time.Millisecond), float64(n)/took.Seconds())
	}
	fmt.Println()
}
