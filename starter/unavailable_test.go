package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/testenv"
)

// TestTemporalDown points the handler at an address nothing listens on:
// the API answers 503 with Retry-After and a JSON error, quickly, and the
// liveness probe stays green.
func TestTemporalDown(t *testing.T) {
	t.Parallel()
	api := newAPIServer(t, testenv.FreeAddr(t), "nowhere", 500*time.Millisecond)
	begin := time.Now()

	if resp := api.request(http.MethodGet, "/healthz", "", nil); resp.code != http.StatusOK || resp.str("status") != "ok" {
		t.Errorf("healthz: %d %s", resp.code, resp.raw)
	}
	if resp := api.request(http.MethodGet, "/readyz", "", nil); resp.code != http.StatusServiceUnavailable {
		t.Errorf("readyz: %d %s", resp.code, resp.raw)
	}
	check := func(name string, resp response) {
		t.Helper()
		if resp.code != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" || resp.str("error") == "" {
			t.Errorf("%s: %d %v %s", name, resp.code, resp.header, resp.raw)
		}
	}
	check("disposition", api.postDisposition(dispositionBody(txnID("down"), "Refund_Processed", "1.00")))
	check("disposition with an invalid amount", api.postDisposition(dispositionBody(txnID("down"), "Refund_Processed", "x")))
	check("status", api.status(txnID("down"), aliceToken))
	check("decision", api.decide(txnID("down"), aliceToken, map[string]any{"decision": "approve"}))
	check("list", api.list("state=AwaitingReview", aliceToken))
	check("gateway event", api.request(http.MethodPost, "/v1/gateway-events/erp", gatewayEventToken,
		map[string]any{"eventId": "evt-down", "transactionId": txnID("down"), "refundId": "r", "status": "succeeded"}))
	// Adyen delivers the batch again on anything but its [accepted].
	check("Adyen event", api.send(http.MethodPost, "/v1/gateway-events/adyen",
		adyenBody(adyenItem(t, adyenHMACOld, txnID("down"), "REFUND", "true", "")), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
			r.SetBasicAuth(adyenWebhookUser, adyenWebhookPassword)
		}))

	// What does not need Temporal still answers as usual.
	if resp := api.postDisposition(dispositionBody(txnID("down"), "Issue_Resolved", "1.00")); resp.code != http.StatusOK {
		t.Errorf("ignored: %d %s", resp.code, resp.raw)
	}
	if resp := api.postDisposition(`{"transactionId":"t","dispositionCode":"Refund_Processed","cvv":"1"}`); resp.code != http.StatusUnprocessableEntity {
		t.Errorf("422: %d %s", resp.code, resp.raw)
	}
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("took %s", elapsed)
	}
}

// TestTemporalNotSetUp runs a real dev server whose namespace lacks the
// contract's search attributes: the start is refused (InvalidArgument, "no
// mapping defined for search attribute"), which the operator fixes, so the
// webhook answers 503 for Genesys to retry and logs how to fix it; once the
// attributes are registered, the same disposition starts. A namespace that
// does not exist is the same kind of fault.
func TestTemporalNotSetUp(t *testing.T) {
	t.Parallel()
	serverLogs := &logBuffer{}
	hostPort := testenv.FreeAddr(t)
	dev, err := testsuite.StartDevServer(t.Context(), testsuite.DevServerOptions{
		ExistingPath:  testenv.Binary(t, "temporal"),
		ClientOptions: &client.Options{HostPort: hostPort, Namespace: remediation.DefaultNamespace, Logger: testenv.QuietLogger()},
		LogLevel:      "error",
		Stdout:        serverLogs,
		Stderr:        serverLogs,
	})
	if err != nil {
		t.Fatalf("start dev server without search attributes: %v\n%s", err, serverLogs)
	}
	t.Cleanup(func() { _ = dev.Stop() })
	api := newAPIServer(t, dev.FrontendHostPort(), "not-set-up", 5*time.Second)

	txn := txnID("nosa")
	resp := api.postDisposition(dispositionBody(txn, "Refund_Processed", "1.00"))
	if resp.code != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" || resp.str("error") == "" {
		t.Fatalf("without search attributes: %d %v %s\nlog: %s", resp.code, resp.header, resp.raw, api.logs)
	}
	if logs := api.logs.String(); !strings.Contains(logs, "temporal operator search-attribute create --namespace default --name ") ||
		!strings.Contains(logs, `"searchAttribute":"`) || !strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("the log does not say which search attribute to register, and how:\n%s", logs)
	}

	// The operator registers them; Genesys's retry of the same request starts.
	attrs := map[string]enumspb.IndexedValueType{}
	for _, name := range remediation.SearchAttributeNames {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if _, err := dev.Client().OperatorService().AddSearchAttributes(t.Context(), &operatorservice.AddSearchAttributesRequest{
		Namespace: remediation.DefaultNamespace, SearchAttributes: attrs,
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for resp.code == http.StatusServiceUnavailable && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		resp = api.postDisposition(dispositionBody(txn, "Refund_Processed", "1.00"))
	}
	if resp.code != http.StatusAccepted || resp.str("status") != "started" {
		t.Errorf("retry after registering: %d %s", resp.code, resp.raw)
	}

	missing := newAPIServerIn(t, dev.FrontendHostPort(), "no-such-namespace", "not-set-up", 5*time.Second)
	resp = missing.postDisposition(dispositionBody(txnID("nons"), "Refund_Processed", "1.00"))
	if resp.code != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" || resp.str("error") == "" {
		t.Errorf("unknown namespace: %d %v %s", resp.code, resp.header, resp.raw)
	}
	if !strings.Contains(missing.logs.String(), "temporal operator namespace create --namespace no-such-namespace") {
		t.Errorf("the log does not say how to create the namespace:\n%s", missing.logs)
	}
}

// TestTemporalErrorStatus maps each failure of a Temporal call to its
// answer: 503 with Retry-After for what a retry can get past (Temporal down,
// slow, overloaded, failing over, or not set up yet), 500 for the rest.
func TestTemporalErrorStatus(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("start remediation-t1: %w", err) }
	cases := []struct {
		name string
		err  error
		code int
		log  string // a part of the log line the answer must come with
	}{
		{"unreachable", serviceerror.NewUnavailable("connection refused"), http.StatusServiceUnavailable, "Temporal unavailable"},
		{"raw gRPC unavailable", status.Error(codes.Unavailable, "connection refused"), http.StatusServiceUnavailable, "Temporal unavailable"},
		{"deadline", wrap(serviceerror.NewDeadlineExceeded("slow")), http.StatusServiceUnavailable, "Temporal unavailable"},
		{"context deadline", wrap(context.DeadlineExceeded), http.StatusServiceUnavailable, "Temporal unavailable"},
		{"overloaded", wrap(serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "rps")), http.StatusServiceUnavailable, "Temporal unavailable"},
		{"namespace failing over", wrap(serviceerror.NewNamespaceUnavailable("default")), http.StatusServiceUnavailable, "Temporal unavailable"},
		{"search attribute not registered",
			wrap(serviceerror.NewInvalidArgument("Namespace default has no mapping defined for search attribute TransactionId")),
			http.StatusServiceUnavailable,
			`"register":"temporal operator search-attribute create --namespace default --name TransactionId --type Keyword"`},
		{"search attribute, older wording",
			wrap(serviceerror.NewInvalidArgument("BadSearchAttributes: Namespace default has no mapping defined for Search Attribute ConversationId.")),
			http.StatusServiceUnavailable,
			`"searchAttribute":"ConversationId"`},
		{"search attribute, Elasticsearch wording",
			wrap(serviceerror.NewInvalidArgument("search attribute RemediationState is not defined")),
			http.StatusServiceUnavailable,
			`"registerAll":"temporal operator search-attribute create --namespace default --name TransactionId --type Keyword --name DispositionCode --type Keyword --name RemediationState --type Keyword --name ConversationId --type Keyword"`},
		{"namespace missing", wrap(serviceerror.NewNamespaceNotFound("default")), http.StatusServiceUnavailable,
			`"create":"temporal operator namespace create --namespace default"`},
		{"other invalid argument", wrap(serviceerror.NewInvalidArgument("WorkflowId is too long")), http.StatusInternalServerError, "Temporal call failed"},
		{"internal", wrap(serviceerror.NewInternal("boom")), http.StatusInternalServerError, "Temporal call failed"},
		{"plain error", errors.New("decode: bad payload"), http.StatusInternalServerError, "Temporal call failed"},
	}
	for _, c := range cases {
		logs := &logBuffer{}
		s := newServer(testSettings(t, remediation.DefaultNamespace, "q", time.Second), nil, logging.New(logs, "debug", "starter"))
		rec := httptest.NewRecorder()
		s.temporalFailed(rec, httptest.NewRequest(http.MethodPost, "/v1/dispositions", nil), "start workflow", c.err)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body) != 1 || body["error"] == nil || body["error"] == "" {
			t.Errorf("%s: body %q is not {\"error\"}", c.name, rec.Body)
		}
		if rec.Code != c.code {
			t.Errorf("%s: %d, want %d", c.name, rec.Code, c.code)
		}
		if retry := rec.Header().Get("Retry-After"); (retry != "") != (c.code == http.StatusServiceUnavailable) {
			t.Errorf("%s: Retry-After %q with %d", c.name, retry, rec.Code)
		}
		if !strings.Contains(logs.String(), c.log) {
			t.Errorf("%s: log lacks %s:\n%s", c.name, c.log, logs)
		}
	}
}
