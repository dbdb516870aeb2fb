package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
	"github.com/refundflow/refundflow/internal/testenv"
	"github.com/refundflow/refundflow/workflows"
)

// Credentials the test servers accept.
const (
	webhookToken    = "wh-token-0123456789abcdef"
	webhookTokenOld = "wh-token-being-rotated-out"
	aliceToken      = "approver-alice-0123456789"
	bobToken        = "approver-bob-0123456789"

	gatewayEventToken = "erp-events-0123456789"
	stripeSecretOld   = "whsec_being_rotated_out"
	stripeSecretNew   = "whsec_0123456789abcdef"
)

// testSettings are the parsed settings every test server uses.
func testSettings(t *testing.T, namespace, taskQueue string, startTimeout time.Duration) settings {
	t.Helper()
	cfg := Config{
		Config:          temporalclient.Config{Namespace: namespace, TaskQueue: taskQueue},
		WebhookTokens:   []string{webhookToken, webhookTokenOld},
		ApproverTokens:  "alice:" + aliceToken + ", bob:" + bobToken,
		Dispositions:    remediation.DefaultDispositions,
		DefaultCurrency: "usd",
		StartTimeout:    startTimeout,

		GatewayEventTokens:   []string{gatewayEventToken},
		StripeWebhookSecrets: []string{stripeSecretOld, stripeSecretNew},
		AdyenHMACKeys:        []string{adyenHMACOld, adyenHMACNew},
		AdyenWebhookUsername: adyenWebhookUser,
		AdyenWebhookPassword: adyenWebhookPassword,
	}
	st, err := cfg.parse()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// logBuffer collects the server's log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// apiServer is the real handler behind a real HTTP listener.
type apiServer struct {
	t    *testing.T
	srv  *server
	url  string
	logs *logBuffer
}

// newAPIServer builds the handler the way main does: settings, a lazy
// client with the start interceptor, the JSON logger, the routes.
func newAPIServer(t *testing.T, hostPort, taskQueue string, startTimeout time.Duration) *apiServer {
	t.Helper()
	return newAPIServerIn(t, hostPort, remediation.DefaultNamespace, taskQueue, startTimeout)
}

// newAPIServerIn is newAPIServer on another namespace.
func newAPIServerIn(t *testing.T, hostPort, namespace, taskQueue string, startTimeout time.Duration) *apiServer {
	t.Helper()
	logs := &logBuffer{}
	logger := logging.New(logs, "debug", "starter")
	c, err := newTemporalClient(temporalclient.Config{Address: hostPort, Namespace: namespace, TaskQueue: taskQueue}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv := newServer(testSettings(t, namespace, taskQueue, startTimeout), c, logger)
	hs := httptest.NewServer(srv.routes())
	t.Cleanup(hs.Close)
	return &apiServer{t: t, srv: srv, url: hs.URL, logs: logs}
}

// startWorker runs the real workflow with fake activities on taskQueue.
func startWorker(t *testing.T, c client.Client, taskQueue string) (*fakeActivities, worker.Worker) {
	t.Helper()
	fakes := &fakeActivities{}
	w := worker.New(c, taskQueue, worker.Options{})
	settings := workflows.DefaultSettings()
	settings.ReviewReminder = 5 * time.Second
	(&workflows.Remediation{Settings: settings}).Register(w)
	acts := &activities.Activities{Gateway: fakes, Interactions: fakes, Finance: fakes}
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	startGenesysWorker(t, c, taskQueue, acts)
	return fakes, w
}

// startGenesysWorker serves the workflow's paced Genesys queue, as the
// worker program does.
func startGenesysWorker(t *testing.T, c client.Client, taskQueue string, acts *activities.Activities) {
	t.Helper()
	gw := worker.New(c, workflows.GenesysTaskQueue(taskQueue), worker.Options{DisableWorkflowWorker: true})
	activities.RegisterGenesysActivities(gw, acts)
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Stop)
}

// fakeActivities stands in for the gateway, Genesys and finance ops: every
// call succeeds and is counted.
type fakeActivities struct {
	submissions, updates, wrapups, escalations, reminders atomic.Int64
}

func (f *fakeActivities) Check(context.Context, activities.SettlementCheck) (remediation.GatewayEvent, error) {
	return remediation.GatewayEvent{}, nil
}

func (f *fakeActivities) Submit(ctx context.Context, s activities.Submission) (activities.SubmissionResult, error) {
	f.submissions.Add(1)
	// A transaction named retry-... meets a gateway outage for two attempts.
	if strings.HasPrefix(s.TransactionID, "retry-") && activity.GetInfo(ctx).Attempt < 3 {
		return activities.SubmissionResult{}, temporal.NewApplicationError("gateway answered 503 Service Unavailable", string(activities.ErrGatewayUnavailable))
	}
	if strings.HasPrefix(s.TransactionID, "pending-") {
		// The gateway takes it and settles it later (its webhook).
		return activities.SubmissionResult{GatewayReference: "gw-" + s.TransactionID, HTTPStatus: http.StatusOK, GatewayStatus: "pending"}, nil
	}
	return activities.SubmissionResult{GatewayReference: "gw-" + s.TransactionID, HTTPStatus: http.StatusCreated}, nil
}

func (f *fakeActivities) UpdateAttributes(context.Context, activities.InteractionUpdate) error {
	f.updates.Add(1)
	return nil
}

func (f *fakeActivities) SetWrapup(context.Context, activities.FailedWrapup) error {
	f.wrapups.Add(1)
	return nil
}

func (f *fakeActivities) Escalate(_ context.Context, e activities.Escalation) (activities.EscalationResult, error) {
	f.escalations.Add(1)
	return activities.EscalationResult{Channel: "workitem", WorkitemID: "wi-" + e.TransactionID, Created: true}, nil
}

func (f *fakeActivities) Remind(context.Context, activities.Reminder) error {
	f.reminders.Add(1)
	return nil
}

func (f *fakeActivities) CloseWorkitem(context.Context, activities.WorkitemClosure) error {
	return nil
}

// response is an answer with its JSON body decoded loosely.
type response struct {
	code   int
	header http.Header
	raw    string
	body   map[string]any
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r response) fields() []string {
	var out []string
	list, _ := r.body["fields"].([]any)
	for _, f := range list {
		s, _ := f.(string)
		out = append(out, s)
	}
	return out
}

// request sends body (a string, or anything JSON-encodable) with a Bearer
// token (none if empty) and Content-Type application/json.
func (a *apiServer) request(method, path, token string, body any) response {
	a.t.Helper()
	return a.send(method, path, body, func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
	})
}

func (a *apiServer) send(method, path string, body any, edit func(*http.Request)) response {
	a.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	case io.Reader:
		reader = b
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		reader = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, a.url+path, reader)
	if err != nil {
		a.t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{code: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			a.t.Fatalf("%s %s: body %q is not JSON: %v", method, path, raw, err)
		}
	}
	return out
}

func (a *apiServer) postDisposition(body any) response {
	a.t.Helper()
	return a.request(http.MethodPost, "/v1/dispositions", webhookToken, body)
}

func (a *apiServer) status(txn, token string) response {
	a.t.Helper()
	return a.request(http.MethodGet, "/v1/remediations/"+txn, token, nil)
}

func (a *apiServer) decide(txn, token string, body any) response {
	a.t.Helper()
	return a.request(http.MethodPost, "/v1/remediations/"+txn+"/decision", token, body)
}

// list is GET /v1/remediations with query (e.g. "state=AwaitingReview").
func (a *apiServer) list(query, token string) response {
	a.t.Helper()
	return a.request(http.MethodGet, "/v1/remediations?"+query, token, nil)
}

// waitStatus polls GET /v1/remediations/{txn} until ok says so.
func (a *apiServer) waitStatus(txn string, ok func(remediation.Status) bool) remediation.Status {
	a.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last response
	for time.Now().Before(deadline) {
		last = a.status(txn, aliceToken)
		if last.code == http.StatusOK {
			var st remediation.Status
			if err := json.Unmarshal([]byte(last.raw), &st); err != nil {
				a.t.Fatal(err)
			}
			if ok(st) {
				return st
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Fatalf("status of %s never reached the expected condition; last answer %d %s", txn, last.code, last.raw)
	return remediation.Status{}
}

// txnID makes transaction IDs unique across the parallel subtests.
var txnSeq atomic.Int64

func txnID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000, txnSeq.Add(1))
}

// dispositionBody is a valid refund disposition for txn.
func dispositionBody(txn, code, amount string) map[string]any {
	return map[string]any{
		"transactionId":   txn,
		"dispositionCode": code,
		"customerTokenId": "tok_visa_1234",
		"customerId":      "cus_secret_42",
		"refundAmount":    amount,
		"currency":        "usd",
		"conversationId":  "conv-" + txn,
		"participantId":   "part-1",
		"communicationId": "comm-1",
		"agentId":         "agent-7",
		"queueId":         "queue-1",
	}
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// startTemporal is testenv.StartTemporal plus a worker on its own queue.
func startTemporal(t *testing.T, taskQueue string) (*testenv.Temporal, *fakeActivities) {
	t.Helper()
	env := testenv.StartTemporal(t)
	fakes, _ := startWorker(t, env.Client, taskQueue)
	return env, fakes
}
