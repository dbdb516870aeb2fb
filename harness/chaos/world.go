package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
)

// secrets are fresh for every run, so that finding one in a history or a
// log can only mean it leaked there during this run.
type secrets struct {
	webhookToken  string
	approverToken string
	// agentToken belongs to the plan's FourEyesAgent, an agent who is also
	// an approver.
	agentToken    string
	gatewaySecret string
	genesysSecret string
}

func newSecrets() secrets {
	return secrets{
		webhookToken:  randomSecret("whk_"),
		approverToken: randomSecret("apr_"),
		agentToken:    randomSecret("apr_"),
		gatewaySecret: randomSecret("gws_"),
		genesysSecret: randomSecret("gns_"),
	}
}

func (s secrets) all() map[string]string {
	return map[string]string{
		"webhook token":          s.webhookToken,
		"approver token":         s.approverToken,
		"agent's approver token": s.agentToken,
		"gateway client secret":  s.gatewaySecret,
		"Genesys client secret":  s.genesysSecret,
	}
}

func randomSecret(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + hex.EncodeToString(b[:])
}

// world is the running system under test: a Temporal dev server with a
// file DB, the sandbox as gateway and Genesys, the worker and the starter,
// each a real process that can be SIGKILLed and started again.
type world struct {
	dir        string
	hostPort   string
	sandboxURL string
	starterURL string
	secrets    secrets
	taskQueue  string

	temporal *stack.Process
	sandbox  *stack.Process
	worker   *stack.Process
	starter  *stack.Process
	client   client.Client
}

// programs are the processes whose logs are scanned, in stop order.
func (w *world) programs() []*stack.Process {
	return []*stack.Process{w.starter, w.worker, w.sandbox, w.temporal}
}

// startWorld builds the programs from the working tree and starts them all.
// The programs go to binDir, shared by the runs under one -out: each run
// rebuilds them (go's cache makes that quick), so they always match the
// working tree, without leaving 75 MB of binaries in every run directory.
func startWorld(ctx context.Context, cfg Config, root, dir, binDir, fourEyesAgent string, seed uint64, progress io.Writer) (*world, error) {
	temporalBin := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(temporalBin); err != nil {
		return nil, fmt.Errorf("the Temporal CLI is missing at %s (run `make tools`): %w", temporalBin, err)
	}
	fmt.Fprintf(progress, "building sandbox, worker and starter into %s\n", binDir)
	buildCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := stack.Build(buildCtx, root, binDir, "sandbox", "worker", "starter"); err != nil {
		return nil, err
	}
	ports := make([]int, 3)
	for i := range ports {
		p, err := stack.FreePort()
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ports[i] = p
	}
	w := &world{
		dir:        dir,
		hostPort:   fmt.Sprintf("127.0.0.1:%d", ports[0]),
		sandboxURL: fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		starterURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
		secrets:    newSecrets(),
		taskQueue:  "chaos-" + strconv.FormatInt(time.Now().Unix(), 36),
		temporal:   stack.NewDevServer(temporalBin, dir, ports[0]),
	}
	w.sandbox = &stack.Process{Name: "sandbox", Path: filepath.Join(binDir, "sandbox"), LogPath: filepath.Join(dir, "sandbox.log"), Env: w.sandboxEnv(cfg, seed)}
	w.worker = &stack.Process{Name: "worker", Path: filepath.Join(binDir, "worker"), LogPath: filepath.Join(dir, "worker.log"), Env: w.workerEnv(cfg)}
	w.starter = &stack.Process{Name: "starter", Path: filepath.Join(binDir, "starter"), LogPath: filepath.Join(dir, "starter.log"), Env: w.starterEnv(fourEyesAgent)}

	fmt.Fprintf(progress, "starting Temporal dev server on %s (DB %s)\n", w.hostPort, filepath.Join(dir, "temporal.db"))
	if err := w.temporal.Start(); err != nil {
		return nil, err
	}
	if err := w.waitTemporal(ctx); err != nil {
		w.stop()
		return nil, err
	}
	c, err := client.Dial(client.Options{HostPort: w.hostPort, Namespace: remediation.DefaultNamespace, Logger: quietLogger()})
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("dial Temporal at %s: %w", w.hostPort, err)
	}
	w.client = c
	for _, p := range []*stack.Process{w.sandbox, w.worker, w.starter} {
		if err := p.Start(); err != nil {
			w.stop()
			return nil, err
		}
	}
	waitCtx, cancelWait := context.WithTimeout(ctx, time.Minute)
	defer cancelWait()
	for _, url := range []string{w.sandboxURL + "/healthz", w.starterURL + "/readyz"} {
		if err := stack.WaitHTTP(waitCtx, url); err != nil {
			w.stop()
			return nil, err
		}
	}
	return w, nil
}

func (w *world) sandboxEnv(cfg Config, seed uint64) []string {
	return []string{
		"REFUNDFLOW_SANDBOX_ADDR=" + w.sandboxURL[len("http://"):],
		"REFUNDFLOW_SANDBOX_CLIENTS=chaos-gateway:" + w.secrets.gatewaySecret + ",chaos-genesys:" + w.secrets.genesysSecret,
		"REFUNDFLOW_SANDBOX_TOKEN_EXPIRE_EVERY=" + strconv.Itoa(cfg.TokenExpireEvery),
		"REFUNDFLOW_SANDBOX_FAULT_5XX=" + ftoa(cfg.Fault5xx),
		"REFUNDFLOW_SANDBOX_FAULT_429=" + ftoa(cfg.Fault429),
		"REFUNDFLOW_SANDBOX_FAULT_422=" + ftoa(cfg.Fault422),
		"REFUNDFLOW_SANDBOX_FAULT_HANG=" + ftoa(cfg.FaultHang),
		"REFUNDFLOW_SANDBOX_GENESYS_FAULT_5XX=" + ftoa(cfg.GenesysFault5xx),
		"REFUNDFLOW_SANDBOX_HANG_FOR=" + cfg.HangFor.String(),
		"REFUNDFLOW_SANDBOX_RETRY_AFTER=" + cfg.RetryAfter.String(),
		"REFUNDFLOW_SANDBOX_SEED=" + strconv.FormatUint(seed, 10),
		"REFUNDFLOW_SANDBOX_STATE_FILE=" + filepath.Join(w.dir, "sandbox-ledger.json"),
		"REFUNDFLOW_SANDBOX_IGNORE_IDEMPOTENCY_KEY=" + strconv.FormatBool(cfg.BreakIdempotency),
		"REFUNDFLOW_LOG_LEVEL=info",
	}
}

// temporalEnv is what worker and starter must agree on: one server,
// namespace and task queue, and no payload codec. Debug logging on
// purpose: the more the programs log, the more a leak of a token or a card
// number into the logs would show.
func (w *world) temporalEnv() []string {
	return []string{
		"REFUNDFLOW_TEMPORAL_ADDRESS=" + w.hostPort,
		"REFUNDFLOW_TEMPORAL_NAMESPACE=" + remediation.DefaultNamespace,
		"REFUNDFLOW_TASK_QUEUE=" + w.taskQueue,
		"REFUNDFLOW_CODEC_KEYS=",
		"REFUNDFLOW_LOG_LEVEL=debug",
	}
}

// workerEnv sets every variable the worker reads that matters here, so a
// developer's own REFUNDFLOW_* settings cannot change the experiment: with
// temporalEnv, the gateway's and Genesys's URLs (the sandbox) and OAuth
// clients (those sandboxEnv makes it accept, with this run's secrets).
func (w *world) workerEnv(cfg Config) []string {
	sandbox := stack.SandboxWorkerEnvAs(w.sandboxURL, stack.SandboxClients{
		GatewayID: "chaos-gateway", GatewaySecret: w.secrets.gatewaySecret,
		GenesysID: "chaos-genesys", GenesysSecret: w.secrets.genesysSecret,
	})
	return slices.Concat(w.temporalEnv(), sandbox, []string{
		"REFUNDFLOW_GATEWAY_KIND=erp",
		"REFUNDFLOW_GATEWAY_TIMEOUT=" + cfg.GatewayTimeout.String(),
		"REFUNDFLOW_GATEWAY_RETRY_WINDOW=" + cfg.RetryWindow.String(),
		"REFUNDFLOW_GENESYS_WORKTYPE_ID=chaos-refund-review",
		"REFUNDFLOW_GENESYS_QUEUE_ID=chaos-finance-queue",
		"REFUNDFLOW_GENESYS_FAILED_WRAPUP_CODE_ID=chaos-refund-failed",
		"REFUNDFLOW_FINANCE_OPS_EMAIL=",
		"REFUNDFLOW_REVIEW_REMINDER=" + cfg.ReviewReminder.String(),
	})
}

// starterEnv, likewise, sets every variable the starter reads that matters.
func (w *world) starterEnv(fourEyesAgent string) []string {
	return slices.Concat(w.temporalEnv(), []string{
		"REFUNDFLOW_LISTEN_ADDR=" + w.starterURL[len("http://"):],
		"REFUNDFLOW_WEBHOOK_TOKENS=" + w.secrets.webhookToken,
		"REFUNDFLOW_APPROVER_TOKENS=alice:" + w.secrets.approverToken + "," + fourEyesAgent + ":" + w.secrets.agentToken,
		"REFUNDFLOW_DISPOSITIONS=" + remediation.DefaultDispositions,
		"REFUNDFLOW_DEFAULT_CURRENCY=USD",
	})
}

func (w *world) waitTemporal(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return stack.WaitTemporal(ctx, w.hostPort)
}

// killWorker is a worker crash: SIGKILL, then a supervisor's restart.
func (w *world) killWorker() error {
	if err := w.worker.Kill(); err != nil {
		return err
	}
	time.Sleep(time.Second)
	return w.worker.Start()
}

// killStarter crashes the webhook's endpoint; Genesys's deliveries meet
// refused connections until it is back.
func (w *world) killStarter(ctx context.Context) error {
	if err := w.starter.Kill(); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	if err := w.starter.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return stack.WaitHTTP(ctx, w.starterURL+"/healthz")
}

// restartServer kills the Temporal server and starts it again on the same
// port and database, as after a host crash: the starter answers 503 and the
// worker's polls fail until it is back.
func (w *world) restartServer(ctx context.Context, down time.Duration) error {
	if err := w.temporal.Kill(); err != nil {
		return err
	}
	time.Sleep(down)
	if err := w.temporal.Start(); err != nil {
		return err
	}
	return w.waitTemporal(ctx)
}

// stop ends every program, gently, so their logs are complete.
func (w *world) stop() {
	if w.client != nil {
		w.client.Close()
		w.client = nil
	}
	var errs []error
	for _, p := range w.programs() {
		if p != nil {
			errs = append(errs, p.Stop(10*time.Second))
		}
	}
	_ = errors.Join(errs...)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// quietLogger keeps the SDK's own lines to warnings: while the server is
// down on purpose, the client would otherwise fill the terminal.
func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}
