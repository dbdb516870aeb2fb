package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
	"github.com/refundflow/refundflow/internal/testenv"
	"github.com/refundflow/refundflow/workflows"
)

// gatewayFailingOnce refuses the first submission with a message that must
// never be readable in history without the key.
type gatewayFailingOnce struct {
	fakeActivities
	failed bool
}

const gatewaySecretText = "GATEWAY-SAYS-card-holder-Jane-Roe"

func (g *gatewayFailingOnce) Submit(ctx context.Context, s activities.Submission) (activities.SubmissionResult, error) {
	if !g.failed {
		g.failed = true
		return activities.SubmissionResult{}, temporal.NewNonRetryableApplicationError(gatewaySecretText, string(activities.ErrGatewayRejected), nil)
	}
	return g.fakeActivities.Submit(ctx, s)
}

// TestHistoryIsEncryptedAndTheCodecServerDecodesIt runs a remediation with
// encryption on through the real starter and worker, then reads the raw
// history as anyone with plain Temporal access would: no customer token,
// customer ID, amount, note or error text may be found. Through the codec
// server, with a finance-ops token, all of them are.
func TestHistoryIsEncryptedAndTheCodecServerDecodesIt(t *testing.T) {
	t.Parallel()
	env := testenv.StartTemporal(t)
	const taskQueue = "codec-test"
	keys := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))
	tcfg := temporalclient.Config{Address: env.HostPort, Namespace: remediation.DefaultNamespace, TaskQueue: taskQueue, CodecKeys: keys}

	// The worker, with the codec.
	opts, err := tcfg.Options(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	wc, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wc.Close)
	gw := &gatewayFailingOnce{}
	w := worker.New(wc, taskQueue, worker.Options{})
	(&workflows.Remediation{Settings: workflows.DefaultSettings()}).Register(w)
	acts := &activities.Activities{Gateway: gw, Interactions: gw, Finance: gw}
	w.RegisterActivity(acts)
	startGenesysWorker(t, wc, taskQueue, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	// The starter, with the codec and its codec server.
	cfg := Config{
		Config: tcfg, WebhookTokens: []string{webhookToken}, ApproverTokens: "alice:" + aliceToken,
		Dispositions: remediation.DefaultDispositions, DefaultCurrency: "USD", StartTimeout: 5 * time.Second,
		CodecOrigins: []string{"http://localhost:8233"},
	}
	st, err := cfg.parse()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := newTemporalClient(tcfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.Close)
	logs := &logBuffer{}
	hs := httptest.NewServer(newServer(st, sc, logging.New(logs, "debug", "starter")).routes())
	t.Cleanup(hs.Close)
	api := &apiServer{t: t, url: hs.URL, logs: logs}

	txn := txnID("CODEC")
	body := dispositionBody(txn, "Refund_Processed", "12345.67")
	body["customerTokenId"] = "tok_secret_4242"
	body["customerId"] = "CUST-SECRET-77"
	if r := api.postDisposition(body); r.code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.code, r.raw)
	}
	api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateAwaitingReview })
	if r := api.decide(txn, aliceToken, map[string]any{"decision": "approve", "note": "NOTE-SECRET-approved-by-phone"}); r.code != http.StatusAccepted {
		t.Fatalf("decide: %d %s", r.code, r.raw)
	}
	final := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
	if final.GatewayReference == "" {
		t.Fatalf("completed without a reference: %+v", final)
	}

	// Read the raw history with a client that has no codec.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var raw [][]byte
	var payloads []*commonpb.Payload
	iter := env.Client.GetWorkflowHistory(ctx, remediation.WorkflowID(txn), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b)
		payloads = append(payloads, collectPayloads(ev.ProtoReflect())...)
	}
	secrets := []string{"tok_secret_4242", "CUST-SECRET-77", "12345.67", "1234567", "NOTE-SECRET-approved-by-phone", gatewaySecretText}
	for _, s := range secrets {
		for i, b := range raw {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("event %d of the raw history holds %q in clear", i+1, s)
			}
		}
	}
	if len(payloads) < 10 {
		t.Fatalf("found only %d payloads in the history", len(payloads))
	}
	for _, p := range payloads {
		if enc := string(p.GetMetadata()["encoding"]); enc != "binary/encrypted" {
			t.Errorf("a payload is stored as %q, not encrypted", enc)
		}
	}

	// Through the codec server, with a finance-ops token, everything reads.
	reqBody, _ := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	decode := func(auth string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/codec/decode", bytes.NewReader(reqBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := decode("Bearer " + webhookToken); code != http.StatusUnauthorized {
		t.Errorf("codec decode with a webhook token: %d, want 401", code)
	}
	code, out := decode("Bearer " + aliceToken)
	if code != http.StatusOK {
		t.Fatalf("codec decode: %d %s", code, out)
	}
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal(out, &decoded); err != nil {
		t.Fatal(err)
	}
	var plain strings.Builder
	for _, p := range decoded.GetPayloads() {
		plain.Write(p.GetData())
		plain.WriteByte('\n')
	}
	for _, s := range []string{"tok_secret_4242", "CUST-SECRET-77", "12345.67", "NOTE-SECRET-approved-by-phone", gatewaySecretText} {
		if !strings.Contains(plain.String(), s) {
			t.Errorf("decoded history lacks %q", s)
		}
	}
	if strings.Contains(logs.String(), aliceToken) {
		t.Error("the approver token reached the starter's log")
	}
}

// collectPayloads finds every Payload anywhere inside a history event,
// including failures' encoded attributes and user metadata (summaries).
// Search attributes are left out: the server must read them to index them,
// so they hold only IDs and the state, and the raw-byte check above covers
// them.
func collectPayloads(m protoreflect.Message) []*commonpb.Payload {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		return []*commonpb.Payload{p}
	}
	var out []*commonpb.Payload
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() != nil && fd.Message().FullName() == "temporal.api.common.v1.SearchAttributes" {
			return true
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				out = append(out, collectPayloads(v.List().Get(i).Message())...)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				out = append(out, collectPayloads(mv.Message())...)
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			out = append(out, collectPayloads(v.Message())...)
		}
		return true
	})
	return out
}
