package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/temporalclient"
)

const (
	webhookToken  = "bench-webhook-token"
	approverToken = "bench-approver-token"
	// bareTaskQueue keeps the baseline's tasks away from refundflow's.
	bareTaskQueue = "bench-bare"
)

// world is one fresh stack: a dev server with a file DB, the sandbox, the
// refundflow worker and starter, and the bare worker, each a process.
type world struct {
	dir        string
	hostPort   string
	client     client.Client
	sandboxURL string
	starterURL string
	// sandboxPort is where the worker's gateway and Genesys calls go.
	sandboxPort int

	temporal, sandbox, worker, starter, bare *stack.Process
}

// startWorld builds the programs and starts everything but the bare worker,
// which runs only during the baseline (startBare).
func startWorld(ctx context.Context, cfg config, logw io.Writer) (_ *world, err error) {
	// Under the output folder, not /tmp: the work folder holds the logs to
	// read after a failed run, and nobody else's clean-up may sweep it away
	// in the middle of one.
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", cfg.outDir, err)
	}
	dir, err := os.MkdirTemp(cfg.outDir, "work-")
	if err != nil {
		return nil, fmt.Errorf("work folder: %w", err)
	}
	w := &world{dir: dir}
	defer func() {
		if err != nil {
			w.stop(false)
		}
	}()
	binDir := filepath.Join(dir, "bin")
	fmt.Fprintln(logw, "building sandbox, worker, starter ...")
	if err := stack.Build(ctx, cfg.repoRoot, binDir, "sandbox", "worker", "starter"); err != nil {
		return w, err
	}

	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = stack.FreePort(); err != nil {
			return w, fmt.Errorf("free port: %w", err)
		}
	}
	temporalPort, sandboxPort, starterPort := ports[0], ports[1], ports[2]
	w.sandboxPort = sandboxPort
	w.hostPort = fmt.Sprintf("127.0.0.1:%d", temporalPort)
	w.sandboxURL = fmt.Sprintf("http://127.0.0.1:%d", sandboxPort)
	w.starterURL = fmt.Sprintf("http://127.0.0.1:%d", starterPort)

	// The file DB with WAL is what `make dev` runs; in-memory SQLite would
	// flatter both sides and hide what persistence costs.
	w.temporal = &stack.Process{
		Name: "temporal", Path: cfg.temporalBin, LogPath: filepath.Join(dir, "temporal.log"),
		Args: append(stack.DevServerArgs(filepath.Join(dir, "temporal.db"), temporalPort, 0, ""), cfg.serverArgs...),
	}
	if err := w.temporal.Start(); err != nil {
		return w, err
	}
	fmt.Fprintf(logw, "dev server on %s (%s)\n", w.hostPort, dir)
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := stack.WaitTemporal(waitCtx, w.hostPort); err != nil {
		return w, err
	}
	if w.client, err = dialTemporal(waitCtx, w.hostPort); err != nil {
		return w, err
	}

	common := []string{"REFUNDFLOW_TEMPORAL_ADDRESS=" + w.hostPort, "REFUNDFLOW_LOG_LEVEL=info"}
	// No added latency and no faults: the sandbox's defaults.
	w.sandbox = &stack.Process{Name: "sandbox", Path: filepath.Join(binDir, "sandbox"), LogPath: filepath.Join(dir, "sandbox.log"),
		Env: append(append([]string{fmt.Sprintf("REFUNDFLOW_SANDBOX_ADDR=127.0.0.1:%d", sandboxPort)}, common...), cfg.sandboxEnv...)}
	w.worker = &stack.Process{Name: "worker", Path: filepath.Join(binDir, "worker"), LogPath: filepath.Join(dir, "worker.log"),
		Env: slices.Concat(stack.SandboxWorkerEnv(w.sandboxURL), []string{
			"REFUNDFLOW_GENESYS_WORKTYPE_ID=bench-worktype",
			"REFUNDFLOW_GENESYS_FAILED_WRAPUP_CODE_ID=bench-failed-wrapup",
		}, common, cfg.workerEnv)}
	w.starter = &stack.Process{Name: "starter", Path: filepath.Join(binDir, "starter"), LogPath: filepath.Join(dir, "starter.log"),
		Env: append([]string{
			fmt.Sprintf("REFUNDFLOW_LISTEN_ADDR=127.0.0.1:%d", starterPort),
			"REFUNDFLOW_WEBHOOK_TOKENS=" + webhookToken,
			"REFUNDFLOW_APPROVER_TOKENS=bench:" + approverToken,
		}, common...)}
	w.bare = &stack.Process{Name: "bare-worker", Path: cfg.selfPath, Args: []string{"-role=" + roleBareWorker},
		LogPath: filepath.Join(dir, "bare-worker.log"),
		Env:     append(append([]string{"REFUNDFLOW_TASK_QUEUE=" + bareTaskQueue}, common...), cfg.workerEnv...)}

	for _, p := range []*stack.Process{w.sandbox, w.worker, w.starter} {
		if err := p.Start(); err != nil {
			return w, err
		}
	}
	for _, url := range []string{w.sandboxURL + "/healthz", w.starterURL + "/readyz"} {
		if err := stack.WaitHTTP(waitCtx, url); err != nil {
			return w, err
		}
	}
	if err := waitPollers(waitCtx, w.client, remediation.DefaultTaskQueue); err != nil {
		return w, err
	}
	return w, nil
}

// startBare starts the baseline's worker and waits until it polls.
func (w *world) startBare(ctx context.Context) error {
	if err := w.bare.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return waitPollers(ctx, w.client, bareTaskQueue)
}

// stop ends every process; the work folder goes unless kept (its logs are
// what to read when a run fails).
func (w *world) stop(keep bool) {
	for _, p := range []*stack.Process{w.starter, w.worker, w.bare, w.sandbox} {
		if p != nil {
			_ = p.Stop(10 * time.Second)
		}
	}
	if w.client != nil {
		w.client.Close()
	}
	if w.temporal != nil {
		_ = w.temporal.Stop(10 * time.Second)
	}
	if !keep {
		_ = os.RemoveAll(w.dir)
	}
}

// dialTemporal dials with the options the starter and worker use.
func dialTemporal(ctx context.Context, hostPort string) (client.Client, error) {
	cfg := temporalclient.Config{Address: hostPort, Namespace: remediation.DefaultNamespace}
	opts, err := cfg.Options(quietLogger())
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("dial Temporal at %s: %w", hostPort, err)
	}
	return c, nil
}

func quietLogger() *slog.Logger { return logging.New(os.Stderr, "warn", "bench") }

// waitPollers waits until a worker polls the task queue for workflow and
// activity tasks, so no phase measures a worker's start-up.
func waitPollers(ctx context.Context, c client.Client, queue string) error {
	for {
		ready := true
		var lastErr error
		for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := c.DescribeTaskQueue(ctx, queue, kind)
			if err != nil || len(resp.GetPollers()) == 0 {
				ready, lastErr = false, err
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no worker polls task queue %s: %w", queue, errors.Join(ctx.Err(), lastErr))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
