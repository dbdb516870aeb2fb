package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/metricnames"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// TestMetricsInPrometheus runs a real Prometheus against the running worker
// and starter, with the alert rules loaded, drives a few refunds and a
// review, and checks the series through Prometheus's HTTP API: the counts,
// the money, the review queue, every metric the rules and the dashboard
// name, and that no label holds a transaction ID.
func TestMetricsInPrometheus(t *testing.T) {
	t.Parallel()
	workerMetrics, starterMetrics := testenv.FreeAddr(t), testenv.FreeAddr(t)
	w := startWorld(t, stack.Options{
		WorkerEnv:  []string{"REFUNDFLOW_METRICS_ADDRESS=" + workerMetrics},
		StarterEnv: []string{"REFUNDFLOW_METRICS_ADDRESS=" + starterMetrics, "REFUNDFLOW_REVIEW_METRICS_INTERVAL=1s"},
	})
	root := testenv.RepoRoot(t)
	rules := filepath.Join(root, "deploy", "prometheus", "refundflow.rules.yml")
	prom := testenv.StartPrometheus(t, map[string][]string{
		"refundflow-worker":  {workerMetrics},
		"refundflow-starter": {starterMetrics},
	}, rules)

	// Two refunds that complete, one outage that goes to review, a card
	// number refused.
	var txns []string
	for _, amount := range []string{"49.99", "10.00"} {
		txn := testenv.Unique("MET-OK-")
		txns = append(txns, txn)
		if r := w.PostDisposition(testenv.Disposition(txn, "Refund_Processed", amount)); r.Code != http.StatusAccepted {
			t.Fatalf("refund %s: %d %s", txn, r.Code, r.Raw)
		}
		w.WaitState(txn, remediation.StateCompleted)
	}
	review := testenv.Unique("FAIL-MET-")
	txns = append(txns, review)
	if r := w.PostDisposition(testenv.Disposition(review, "Refund_Processed", "20.00")); r.Code != http.StatusAccepted {
		t.Fatalf("outage refund: %d %s", r.Code, r.Raw)
	}
	w.WaitState(review, remediation.StateAwaitingReview)
	card := testenv.Disposition(testenv.Unique("MET-CARD-"), "Refund_Processed", "5.00")
	card["notes"] = "4111 1111 1111 1111"
	if r := w.PostDisposition(card); r.Code != http.StatusUnprocessableEntity {
		t.Fatalf("card number: %d %s", r.Code, r.Raw)
	}

	// The review queue, as the starter polls it and Prometheus scrapes it.
	waitValue(t, prom, `max(refundflow_reviews_waiting)`, func(v float64) bool { return v == 1 })
	waitValue(t, prom, `max(refundflow_review_oldest_age_seconds)`, func(v float64) bool { return v > 0 && v < 600 })

	// What the first worker counted: two refunds straight through, one
	// submission that failed into review.
	for expr, want := range map[string]float64{
		`sum(refundflow_remediations_started_total{action="refund"})`:                     3,
		`sum(refundflow_remediations_ended_total{action="refund",outcome="Completed"})`:   2,
		`sum(refundflow_reviews_opened_total{action="refund"})`:                           1,
		`sum(refundflow_refunded_minor_units_total{currency="USD",action="refund"})`:      4999 + 1000,
		`sum(refundflow_submitted_minor_units_total{currency="USD",action="refund"})`:     4999 + 1000 + 2000,
		`sum(refundflow_webhook_to_completed_seconds_count{path="direct"})`:               2,
		`sum(refundflow_http_responses_total{route="POST /v1/dispositions",code="202"})`:  3,
		`sum(refundflow_http_responses_total{route="POST /v1/dispositions",code="422"})`:  1,
		`sum(refundflow_cardholder_data_rejections_total{route="POST /v1/dispositions"})`: 1,
		`sum(refundflow_escalations_undelivered_total)`:                                   0,
	} {
		waitValue(t, prom, expr, func(v float64) bool { return v == want })
	}
	for expr, atLeast := range map[string]float64{
		// The outage: 503s retried within the window.
		`sum(refundflow_remote_calls_total{remote="gateway",outcome="retryable"})`: 2,
		`sum(refundflow_remote_calls_total{remote="gateway",outcome="ok"})`:        2,
		`sum(refundflow_remote_calls_total{remote="genesys",outcome="ok"})`:        3,
		`sum(refundflow_remote_call_duration_seconds_count{remote="gateway"})`:     4,
		`sum(temporal_workflow_task_schedule_to_start_latency_seconds_count)`:      3,
		`sum(temporal_activity_schedule_to_start_latency_seconds_count)`:           1,
		`sum(temporal_request_total{job="refundflow-starter"})`:                    3,
	} {
		waitValue(t, prom, expr, func(v float64) bool { return v >= atLeast })
	}

	// A new worker process takes over the review with no cache: deciding it
	// replays its whole history, escalation included. Replay must count
	// nothing, so the new worker's counters hold only the approval.
	if err := w.Stack.CrashWorker(0, 0); err != nil {
		t.Fatal(err)
	}
	waitValue(t, prom, `sum(refundflow_escalations_undelivered_total)`, func(v float64) bool { return v == 0 })
	// One series per action, set to 0 at start: the one a failing
	// escalation adds to, so its first failure is an increase.
	waitValue(t, prom, `count(refundflow_escalations_undelivered_total)`, func(v float64) bool { return v == 3 })
	w.Heal(review)
	// Until the new worker polls, the starter's status query (which the
	// decision asks first) answers 503; the decisionId makes a retry safe.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		r := w.Decide(review, map[string]any{"decisionId": "met-1", "decision": "approve"})
		if r.Code == http.StatusAccepted {
			break
		}
		if r.Code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("approve: %d %s", r.Code, r.Raw)
		}
	}
	w.WaitState(review, remediation.StateCompleted)
	waitValue(t, prom, `max(refundflow_reviews_waiting)`, func(v float64) bool { return v == 0 })
	// The new process's counters began at 0 and hold the approval alone:
	// nothing of the replayed history (its escalation, its first
	// submission) is counted again.
	for expr, want := range map[string]float64{
		`sum(refundflow_webhook_to_completed_seconds_count{path="after_review"})`:       1,
		`sum(refundflow_remediations_ended_total{action="refund",outcome="Completed"})`: 1,
		`sum(refundflow_submitted_minor_units_total{currency="USD",action="refund"})`:   2000,
		`sum(refundflow_refunded_minor_units_total{currency="USD",action="refund"})`:    2000,
	} {
		waitValue(t, prom, expr, func(v float64) bool { return v == want })
	}
	waitValue(t, prom, `sum(refundflow_http_responses_total{route="POST /v1/remediations/{transactionId}/decision",code="202"})`, func(v float64) bool { return v == 1 })
	if got := prom.Query(`sum(refundflow_reviews_opened_total)`); len(got) != 0 {
		t.Errorf("the replayed escalation was counted again: %+v", got)
	}

	// A workflow type no worker knows fails its workflow task: what a bad
	// deploy looks like to the SDK's metrics.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := w.Stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: testenv.Unique("metrics-unknown-type-"), TaskQueue: w.Stack.TaskQueue},
		"NoSuchWorkflowType")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Stack.Client.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") })
	waitValue(t, prom, `sum(temporal_workflow_task_execution_failed_total)`, func(v float64) bool { return v >= 1 })

	// Every metric the alerts and the dashboard name is one the programs
	// expose (a renamed metric would leave an alert that can never fire).
	have := prom.Names()
	for _, name := range namedMetrics(t, rules, filepath.Join(root, "deploy", "grafana", "refundflow.json")) {
		if !slices.Contains(have, name) {
			t.Errorf("the rules or the dashboard name %s; the worker and starter expose no such metric", name)
		}
	}
	for _, name := range metricnames.Exposed {
		if !slices.Contains(have, name) {
			t.Errorf("metricnames.Exposed lists %s; not scraped", name)
		}
	}
	// Every rule evaluates, and every dashboard query runs.
	for name, health := range prom.Rules() {
		if health != "ok" {
			t.Errorf("rule %s: %s", name, health)
		}
	}
	for _, expr := range dashboardQueries(t, filepath.Join(root, "deploy", "grafana", "refundflow.json")) {
		prom.Query(expr)
	}
	// The one alert this run must raise: the unknown workflow type's
	// failing task (it keeps failing until terminated).
	waitValue(t, prom, `count(ALERTS{alertname="TemporalWorkflowTaskFailures",alertstate="firing"})`, func(v float64) bool { return v >= 1 })

	// No label holds a transaction ID, and the scrape sizes, for the record.
	for job, addr := range map[string]string{"worker": workerMetrics, "starter": starterMetrics} {
		text := scrape(t, "http://"+addr+"/metrics")
		for _, txn := range txns {
			if strings.Contains(text, txn) {
				t.Errorf("%s /metrics holds transaction ID %s", job, txn)
			}
		}
		// The card's digits in a label (a sample value may hold them by chance).
		for _, line := range strings.Split(text, "\n") {
			if open, close := strings.IndexByte(line, '{'), strings.IndexByte(line, '}'); open >= 0 && close > open && strings.Contains(line[open:close], "4111") {
				t.Errorf("%s /metrics: a label holds digits of the card number: %s", job, line)
			}
		}
		samples, families := 0, map[string]int{}
		for _, line := range strings.Split(text, "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				samples++
				families[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0], "_bucket"), "_sum"), "_count")]++
			}
		}
		t.Logf("%s /metrics: %d bytes, %d samples, %d families; largest: %s", job, len(text), samples, len(families), largest(families, 6))
	}
	for _, s := range prom.Query(`scrape_duration_seconds`) {
		t.Logf("scrape of %s took %.1f ms", s.Metric["job"], s.Value*1000)
	}
}

// largest names the n families with the most samples.
func largest(families map[string]int, n int) string {
	names := slices.Collect(maps.Keys(families))
	slices.SortFunc(names, func(a, b string) int { return families[b] - families[a] })
	var parts []string
	for _, name := range names[:min(n, len(names))] {
		parts = append(parts, fmt.Sprintf("%s %d", name, families[name]))
	}
	return strings.Join(parts, ", ")
}

// waitValue polls the scalar-like query (one sample) until ok or a timeout.
func waitValue(t *testing.T, prom *testenv.Prometheus, expr string, ok func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last []testenv.Sample
	for time.Now().Before(deadline) {
		last = prom.Query(expr)
		if len(last) == 1 && ok(last[0].Value) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("%s: got %+v", expr, last)
}

var metricName = regexp.MustCompile(`\b(?:refundflow|temporal)_[a-z0-9_]+`)

// namedMetrics are the metric names the files' queries use.
func namedMetrics(t *testing.T, files ...string) []string {
	t.Helper()
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range metricName.FindAllString(string(data), -1) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("found only %v in %v", names, files)
	}
	return names
}

var dashboardExpr = regexp.MustCompile(`"expr": "((?:[^"\\]|\\.)*)"`)

func dashboardQueries(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, m := range dashboardExpr.FindAllStringSubmatch(string(data), -1) {
		exprs = append(exprs, strings.ReplaceAll(m[1], `\"`, `"`))
	}
	return exprs
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return string(body)
}
