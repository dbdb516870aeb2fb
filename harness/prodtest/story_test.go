package prodtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/testenv"
)

// The namespace retention deploy/prod-local.sh states by default: 90 days.
const statedRetention = 2160 * time.Hour

// TestProductionShape is the demo story on the production shape: a real
// Temporal server on PostgreSQL, two workers, two starters taken in turn,
// one worker SIGKILLed while it holds a refund's gateway call; every
// outcome checked on the sandbox ledger (one refund per transaction) and
// in PostgreSQL-backed visibility.
func TestProductionShape(t *testing.T) {
	// Short gateway settings so that a killed attempt is retried within
	// seconds: one attempt may take 4 x 2s + 5s = 13s before the server
	// gives it to the other worker, inside a 25s retry window. HANG-
	// transactions hold the gateway call for 1.5s, so a worker can be
	// caught holding one.
	p := startProdLocal(t,
		"REFUNDFLOW_GATEWAY_TIMEOUT=2s",
		"REFUNDFLOW_GATEWAY_RETRY_WINDOW=25s",
		"REFUNDFLOW_SANDBOX_HANG_FOR=1500ms",
		"REFUNDFLOW_SANDBOX_TOKEN_TTL=3s",
		"REFUNDFLOW_REVIEW_REMINDER=1h",
	)
	a := p.api()

	t.Run("cluster", func(t *testing.T) { checkCluster(t, p) })

	// The outage first: its retry window runs while the rest of the story does.
	down := testenv.Unique("FAIL-")
	if r := a.Via(1).PostDisposition(testenv.Disposition(down, "Refund_Processed", "20.00")); r.Code != http.StatusAccepted {
		t.Fatalf("outage refund: %d %s", r.Code, r.Raw)
	}

	// 1. A refund that succeeds, through the first starter.
	ok := testenv.Unique("OK-")
	r := a.Via(0).PostDisposition(testenv.Disposition(ok, "Refund_Processed", "49.99"))
	if r.Code != http.StatusAccepted || r.Body["status"] != "started" || r.Body["workflowId"] != "remediation-"+ok {
		t.Fatalf("refund: %d %s", r.Code, r.Raw)
	}
	st := a.Via(1).WaitState(ok, remediation.StateCompleted)
	led := oneRefund(t, a, ok, 4999)
	if st.GatewayReference == "" || len(led.Submissions) == 0 || st.GatewayReference != led.Submissions[0].Reference {
		t.Errorf("status %+v, ledger %+v", st, led)
	}
	a.WaitTransaction(ok, "Genesys told Completed", testenv.Told(remediation.RefundStatusCompleted))

	// 2. The same webhook through the other starter: a duplicate. So is a
	// chargeback on the same transaction, through the first again.
	r = a.Via(1).PostDisposition(testenv.Disposition(ok, "Refund_Processed", "49.99"))
	if r.Code != http.StatusOK || r.Body["status"] != "duplicate" || r.Body["state"] != "Completed" {
		t.Fatalf("duplicate: %d %s", r.Code, r.Raw)
	}
	if r = a.Via(0).PostDisposition(testenv.Disposition(ok, "Chargeback_Requested", "49.99")); r.Code != http.StatusOK || r.Body["status"] != "duplicate" {
		t.Fatalf("chargeback on a refunded transaction: %d %s", r.Code, r.Raw)
	}

	// 3. A worker dies mid-refund.
	killed := killWorkerMidRefund(t, p, a)

	// 4. The outage ended in review; finance approves through one starter
	// after the gateway heals; it completes, once.
	st = a.Via(0).WaitState(down, remediation.StateAwaitingReview)
	if !strings.Contains(st.LastError, "GatewayUnavailable") || st.WorkitemID == "" {
		t.Errorf("review status: %+v", st)
	}
	p.waitCount(fmt.Sprintf(`RemediationState = "AwaitingReview" AND TransactionId = %q`, down), 1)
	if led := a.Transaction(down); led.RefundsCreated != 0 || led.GatewayRequests < 2 || len(led.Workitems) != 1 {
		t.Errorf("an outage is retried, creates nothing, and opens one workitem: %+v", led)
	}
	a.Heal(down)
	if r := a.Via(1).Decide(down, map[string]any{"decisionId": "dec-1", "decision": "approve", "note": "gateway back"}); r.Code != http.StatusAccepted {
		t.Fatalf("approve: %d %s", r.Code, r.Raw)
	}
	st = a.Via(0).WaitState(down, remediation.StateCompleted)
	if len(st.Decisions) != 1 || st.Decisions[0].Approver != "alice" || st.Decisions[0].Outcome != remediation.OutcomeApplied {
		t.Errorf("decisions: %+v", st.Decisions)
	}
	oneRefund(t, a, down, 2000)

	// 5. A card number, refused by either starter; 6. a non-financial code, ignored.
	card := testenv.Unique("CARD-")
	body := testenv.Disposition(card, "Refund_Processed", "10.00")
	body["notes"] = "customer read out 4111 1111 1111 1111"
	if r := a.Via(1).PostDisposition(body); r.Code != http.StatusUnprocessableEntity {
		t.Errorf("card number: %d %s", r.Code, r.Raw)
	}
	if r := a.Via(0).PostDisposition(testenv.Disposition(testenv.Unique("IGN-"), "Issue_Resolved", "1.00")); r.Code != http.StatusOK || r.Body["status"] != "ignored" {
		t.Errorf("ignored: %d %s", r.Code, r.Raw)
	}

	// Every completed remediation, found by its search attributes in
	// PostgreSQL visibility, once each; and nothing else there.
	completed := append([]string{ok, down}, killed...)
	for _, txn := range []string{ok, down, killed[0]} {
		p.waitCount(fmt.Sprintf(`RemediationState = "Completed" AND TransactionId = %q`, txn), 1)
	}
	p.waitCount(fmt.Sprintf(`RemediationState = "Completed" AND ExecutionStatus = "Completed" AND TransactionId IN (%s)`, quoteList(completed)), int64(len(completed)))
	p.waitCount(`WorkflowType = "RemediationWorkflow"`, int64(len(completed)))
	p.waitCount(fmt.Sprintf(`TransactionId = %q`, card), 0)
	checkVisibilityRows(t, p, completed)

	// Ctrl-C: everything the script started stops, and its ports close.
	p.stop()
}

// checkCluster: the server is the pinned version on PostgreSQL for both
// stores, with the history shards of the config file in the repository,
// and the namespace has the stated retention.
func checkCluster(t *testing.T, p *prodLocal) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := p.client.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := pinnedServerVersion(t)
	if info.GetServerVersion() != want || info.GetPersistenceStore() != "postgres12" || info.GetVisibilityStore() != "postgres12" {
		t.Errorf("cluster: server %s, persistence %s, visibility %s; want %s on postgres12 for both",
			info.GetServerVersion(), info.GetPersistenceStore(), info.GetVisibilityStore(), want)
	}
	if want := configShards(t); info.GetHistoryShardCount() != want {
		t.Errorf("cluster has %d history shards, deploy/temporal/config says %d", info.GetHistoryShardCount(), want)
	}
	ns, err := p.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: remediation.DefaultNamespace})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != statedRetention {
		t.Errorf("namespace retention %s, stated %s", got, statedRetention)
	}
	sa, err := p.client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: remediation.DefaultNamespace})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range remediation.SearchAttributeNames {
		if sa.GetCustomAttributes()[name] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s: %v, want Keyword", name, sa.GetCustomAttributes()[name])
		}
	}
}

// configShards reads numHistoryShards from the config file in the repository.
// pinnedServerVersion is the server deploy/local/common.sh installs,
// without its "v".
func pinnedServerVersion(t testing.TB) string {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "deploy", "local", "common.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TEMPORAL_SERVER_VERSION="v([0-9.]+)"$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("deploy/local/common.sh sets no TEMPORAL_SERVER_VERSION")
	}
	return string(m[1])
}

func configShards(t *testing.T) int32 {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "deploy", "temporal", "config", "refundflow-postgres.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*numHistoryShards:\s*(\d+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no numHistoryShards in deploy/temporal/config/refundflow-postgres.yaml")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return int32(n)
}

// killWorkerMidRefund posts a batch of refunds through both starters in
// turn, SIGKILLs whichever worker holds a gateway call in flight, and checks
// that every refund still completes exactly once, the caught one retried by
// the other worker under the same Idempotency-Key, and that the script
// restarts the dead worker. It returns the batch's transactions.
func killWorkerMidRefund(t *testing.T, p *prodLocal, a *testenv.API) []string {
	var txns []string
	for i := range 12 {
		prefix := "KILL-"
		if i%2 == 0 {
			prefix = "HANG-" // held 1.5s at the gateway
		}
		txns = append(txns, testenv.Unique(prefix)+"-"+strconv.Itoa(i))
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(txns))
	for i, txn := range txns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := a.Via(i).API.PostDisposition(context.Background(), testenv.Disposition(txn, "Refund_Processed", "12.34"))
			if err != nil || r.Code != http.StatusAccepted {
				errs <- fmt.Sprintf("%s: %v %d %s", txn, err, r.Code, r.Raw)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("post: %s", e)
	}

	// Find a refund whose gateway call a worker has started and not
	// finished, and kill that worker.
	victim, caught := "", ""
	deadline := time.Now().Add(30 * time.Second)
	for caught == "" && time.Now().Before(deadline) {
		for _, txn := range txns {
			if !strings.HasPrefix(txn, "HANG-") {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			d, err := p.client.DescribeWorkflowExecution(ctx, "remediation-"+txn, "")
			cancel()
			if err != nil {
				continue
			}
			for _, act := range d.GetPendingActivities() {
				// Just started, so that it is still running when the kill lands
				// (the gateway holds it 1.5s).
				if act.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED || act.GetAttempt() != 1 ||
					time.Since(act.GetLastStartedTime().AsTime()) > 700*time.Millisecond {
					continue
				}
				for _, name := range []string{"worker-1", "worker-2"} {
					// The SDK's default identity is "<pid>@<host>@".
					if strings.HasPrefix(act.GetLastWorkerIdentity(), strconv.Itoa(p.pid(name))+"@") {
						victim, caught = name, txn
					}
				}
			}
			if caught != "" {
				break
			}
		}
	}
	if caught == "" {
		t.Fatal("no worker was caught holding a gateway call")
	}
	oldPID := p.pid(victim)
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", victim, err)
	}
	t.Logf("SIGKILLed %s (pid %d) holding the gateway call of %s", victim, oldPID, caught)

	for i, txn := range txns {
		a.Via(i).WaitState(txn, remediation.StateCompleted)
	}
	for _, txn := range txns {
		oneRefund(t, a, txn, 1234)
	}
	// The caught submission finished on a later attempt, by another worker:
	// the server timed the killed attempt out and handed it over, and the
	// gateway, asked again under the same key, created nothing new.
	attempt, identity := submitAttempt(t, p, caught)
	if attempt < 2 || strings.HasPrefix(identity, strconv.Itoa(oldPID)+"@") {
		t.Errorf("%s: submission finished on attempt %d by %q; want a retry by a worker other than pid %d", caught, attempt, identity, oldPID)
	}
	p.waitCount(fmt.Sprintf(`RemediationState = "Completed" AND TransactionId IN (%s)`, quoteList(txns)), int64(len(txns)))

	// The script saw the death and started the worker again.
	deadline = time.Now().Add(20 * time.Second)
	for p.pid(victim) == oldPID || syscall.Kill(p.pid(victim), 0) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s was not restarted", victim)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return txns
}

// submitAttempt reads from the history the attempt on which the workflow's
// gateway submission finished, and the worker that ran it.
func submitAttempt(t *testing.T, p *prodLocal, txn string) (int32, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := p.client.GetWorkflowHistory(ctx, "remediation-"+txn, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	submit := map[int64]bool{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "SubmitRefund" {
			submit[ev.GetEventId()] = true
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && submit[a.GetScheduledEventId()] {
			return a.GetAttempt(), a.GetIdentity()
		}
	}
	t.Fatalf("%s: no started SubmitRefund in the history", txn)
	return 0, ""
}

// checkVisibilityRows looks in the visibility database itself: the
// remediations are rows there, closed as completed (status 2), with
// RemediationState among their search attributes.
func checkVisibilityRows(t *testing.T, p *prodLocal, txns []string) {
	ids := make([]string, len(txns))
	for i, txn := range txns {
		ids[i] = "'remediation-" + txn + "'"
	}
	pw, err := os.ReadFile(filepath.Join(p.dir, "postgres", "password"))
	if err != nil {
		t.Fatal(err)
	}
	query := fmt.Sprintf(`SELECT count(*) FROM executions_visibility
		WHERE workflow_id IN (%s) AND status = 2 AND search_attributes::text LIKE '%%"Completed"%%'`, strings.Join(ids, ", "))
	cmd := exec.Command(psql(), "-h", "127.0.0.1", "-p", strconv.Itoa(p.pgPort), "-U", "temporal", "-d", "temporal_visibility", "-Atc", query)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+strings.TrimSpace(string(pw)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Itoa(len(txns)) {
		t.Errorf("executions_visibility holds %s completed remediations of %d", got, len(txns))
	}
}

// psql is PostgreSQL's own client next to the server deploy/local/install.sh
// installs (Debian's /usr/bin/psql is a wrapper that wants a system cluster).
func psql() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(dirs) > 0 {
		return dirs[len(dirs)-1]
	}
	return "psql"
}
