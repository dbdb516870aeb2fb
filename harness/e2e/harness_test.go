// Package e2e runs the real programs (sandbox, worker, starter) as processes
// against a real Temporal dev server, and checks outcomes where the world
// sees them: the sandbox's ledger, the starter's API, the workflow status.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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

const (
	webhookToken  = "e2e-webhook-token"
	approverToken = "e2e-approver-token"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// programs builds sandbox, worker and starter once per test binary.
func programs(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "refundflow-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		buildErr = stack.Build(ctx, testenv.RepoRoot(t), dir, "sandbox", "worker", "starter")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// world is one running Refundflow: dev server, sandbox, worker, starter.
type world struct {
	t          *testing.T
	hostPort   string
	client     client.Client
	sandboxURL string
	starterURL string
	worker     *stack.Process
	starter    *stack.Process
	sandbox    *stack.Process
	logDir     string
}

// options adjust the processes' environment before they start.
type options struct {
	workerEnv []string
	// codecKeys turns on payload encryption in worker and starter.
	codecKeys string
	// uiPort > 0 runs the dev server with its Web UI there, decoding
	// payloads through the starter's codec server.
	uiPort int
}

func startWorld(t *testing.T, opt options) *world {
	t.Helper()
	bin := programs(t)
	logDir := t.TempDir()
	sandboxPort, starterPort := freePort(t), freePort(t)
	w := &world{
		t: t, logDir: logDir,
		sandboxURL: fmt.Sprintf("http://127.0.0.1:%d", sandboxPort),
		starterURL: fmt.Sprintf("http://127.0.0.1:%d", starterPort),
	}
	if opt.uiPort > 0 {
		w.hostPort, w.client = startDevServerWithUI(t, logDir, opt.uiPort, w.starterURL+"/codec/"+approverToken)
	} else {
		temporal := testenv.StartTemporal(t)
		w.hostPort, w.client = temporal.HostPort, temporal.Client
	}
	taskQueue := "e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	common := []string{
		"REFUNDFLOW_TEMPORAL_ADDRESS=" + w.hostPort,
		"REFUNDFLOW_TASK_QUEUE=" + taskQueue,
		"REFUNDFLOW_LOG_LEVEL=debug",
		"REFUNDFLOW_CODEC_KEYS=" + opt.codecKeys,
		fmt.Sprintf("REFUNDFLOW_CODEC_CORS_ORIGINS=http://127.0.0.1:%d,http://localhost:%d", opt.uiPort, opt.uiPort),
	}
	w.sandbox = &stack.Process{Name: "sandbox", Path: filepath.Join(bin, "sandbox"), LogPath: filepath.Join(logDir, "sandbox.log"),
		Env: []string{fmt.Sprintf("REFUNDFLOW_SANDBOX_ADDR=127.0.0.1:%d", sandboxPort), "REFUNDFLOW_SANDBOX_TOKEN_TTL=3s"}}
	w.worker = &stack.Process{Name: "worker", Path: filepath.Join(bin, "worker"), LogPath: filepath.Join(logDir, "worker.log"),
		Env: slices.Concat(stack.SandboxWorkerEnv(w.sandboxURL), []string{
			"REFUNDFLOW_GATEWAY_TIMEOUT=2s",
			"REFUNDFLOW_GATEWAY_RETRY_WINDOW=4s",
			"REFUNDFLOW_GENESYS_WORKTYPE_ID=e2e-worktype",
			"REFUNDFLOW_GENESYS_FAILED_WRAPUP_CODE_ID=e2e-failed-wrapup",
			"REFUNDFLOW_REVIEW_REMINDER=1h",
		}, common, opt.workerEnv)}
	w.starter = &stack.Process{Name: "starter", Path: filepath.Join(bin, "starter"), LogPath: filepath.Join(logDir, "starter.log"),
		Env: append([]string{
			fmt.Sprintf("REFUNDFLOW_LISTEN_ADDR=127.0.0.1:%d", starterPort),
			"REFUNDFLOW_WEBHOOK_TOKENS=" + webhookToken,
			"REFUNDFLOW_APPROVER_TOKENS=alice:" + approverToken,
		}, common...)}
	for _, p := range []*stack.Process{w.sandbox, w.worker, w.starter} {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Stop(5 * time.Second) })
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"sandbox", "worker", "starter"} {
				b, _ := os.ReadFile(filepath.Join(logDir, name+".log"))
				t.Logf("---- %s log (last 4 KiB) ----\n%s", name, tail(b, 4096))
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, url := range []string{w.sandboxURL + "/healthz", w.starterURL + "/readyz"} {
		if err := stack.WaitHTTP(ctx, url); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// startDevServerWithUI runs a dev server (file DB, WAL, the contract's
// search attributes) with its Web UI on uiPort, decoding through codecURL.
func startDevServerWithUI(t *testing.T, logDir string, uiPort int, codecURL string) (string, client.Client) {
	t.Helper()
	port := freePort(t)
	p := &stack.Process{
		Name: "temporal", Path: testenv.Binary(t, "temporal"), LogPath: filepath.Join(logDir, "temporal.log"),
		Args: stack.DevServerArgs(filepath.Join(logDir, "temporal.db"), port, uiPort, codecURL),
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(5 * time.Second) })
	hostPort := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := stack.WaitTemporal(ctx, hostPort); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: hostPort, Logger: testenv.QuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return hostPort, c
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := stack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// reply is an HTTP answer with its JSON body.
type reply struct {
	Code int
	Body map[string]any
	Raw  string
}

func (w *world) call(method, url, token string, body any) reply {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			w.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Code: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func (w *world) postDisposition(body map[string]any) reply {
	return w.call(http.MethodPost, w.starterURL+"/v1/dispositions", webhookToken, body)
}

func (w *world) decide(txn string, body map[string]any) reply {
	return w.call(http.MethodPost, w.starterURL+"/v1/remediations/"+txn+"/decision", approverToken, body)
}

// waitState polls the finance API's status until the state is reached (and,
// for a review, until finance ops have been told).
func (w *world) waitState(txn string, want remediation.State) remediation.Status {
	w.t.Helper()
	return w.waitStatus(txn, string(want), func(st remediation.Status) bool {
		return st.State == want && (want != remediation.StateAwaitingReview || st.Escalation != "")
	})
}

func (w *world) waitStatus(txn, what string, ok func(remediation.Status) bool) remediation.Status {
	w.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		r := w.call(http.MethodGet, w.starterURL+"/v1/remediations/"+txn, approverToken, nil)
		if r.Code == http.StatusOK {
			var st remediation.Status
			if err := json.Unmarshal([]byte(r.Raw), &st); err == nil && ok(st) {
				return st
			}
		}
		last = r.Raw
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("%s never reached %s; last status %s", txn, what, last)
	return remediation.Status{}
}

// txView is the sandbox's ledger for one transaction.
type txView struct {
	RefundsCreated     int `json:"refundsCreated"`
	ChargebacksCreated int `json:"chargebacksCreated"`
	GatewayRequests    int `json:"gatewayRequests"`
	Submissions        []struct {
		IdempotencyKey string `json:"idempotencyKey"`
		Kind           string `json:"kind"`
		AmountMinor    int64  `json:"amountMinor"`
		Creations      int    `json:"creations"`
		Reference      string `json:"reference"`
	} `json:"submissions"`
	AttributeWrites []struct {
		ConversationID string            `json:"conversationId"`
		Attributes     map[string]string `json:"attributes"`
	} `json:"attributeWrites"`
	Wrapups []struct {
		Code     string `json:"code"`
		Accepted bool   `json:"accepted"`
	} `json:"wrapups"`
	Workitems []struct {
		ID             string `json:"id"`
		ExternalTag    string `json:"externalTag"`
		Description    string `json:"description"`
		StatusCategory string `json:"statusCategory"`
		Updates        int    `json:"updates"`
	} `json:"workitems"`
}

func (w *world) ledger(txn string) txView {
	w.t.Helper()
	r := w.call(http.MethodGet, w.sandboxURL+"/sandbox/ledger/"+txn, "", nil)
	if r.Code != http.StatusOK {
		w.t.Fatalf("ledger: %d %s", r.Code, r.Raw)
	}
	var v txView
	if err := json.Unmarshal([]byte(r.Raw), &v); err != nil {
		w.t.Fatal(err)
	}
	return v
}

// waitLedger polls the sandbox until the transaction's ledger satisfies ok:
// the workflow's state can change a moment before Genesys is told.
func (w *world) waitLedger(txn, what string, ok func(txView) bool) txView {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := w.ledger(txn)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("ledger of %s never showed %s: %+v", txn, what, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// told reports whether Genesys has been told refundStatus.
func told(status string) func(txView) bool {
	return func(v txView) bool { return v.lastRefundStatus() == status }
}

// lastRefundStatus is the refundStatus Genesys was last told.
func (v txView) lastRefundStatus() string {
	if len(v.AttributeWrites) == 0 {
		return ""
	}
	return v.AttributeWrites[len(v.AttributeWrites)-1].Attributes["refundStatus"]
}
