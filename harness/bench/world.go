package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/refundflow/refundflow/internal/stack"
)

// bareTaskQueue keeps the baseline's tasks away from refundflow's.
const bareTaskQueue = "bench-bare"

// world is one fresh stack (a dev server with a file DB, the sandbox, the
// refundflow worker and starter) and the bare worker, each a process.
type world struct {
	*stack.World
	// dir is the work folder: logs, the Temporal DB, the programs.
	dir  string
	bare *stack.Process
}

// startWorld builds the programs and starts everything but the bare worker,
// which runs only during the baseline (startBare). It returns the world
// with its dir even when it fails, for the logs.
func startWorld(ctx context.Context, cfg config, logw io.Writer) (*world, error) {
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
	fmt.Fprintln(logw, "building sandbox, worker, starter ...")
	// The file DB with WAL is what `make dev` runs; in-memory SQLite would
	// flatter both sides and hide what persistence costs. No added latency
	// and no faults: the sandbox's defaults.
	w.World, err = stack.Start(ctx, stack.Options{
		Dir: dir, Root: cfg.repoRoot, Build: true, TemporalCLI: cfg.temporalBin,
		DevServerArgs: cfg.serverArgs, LogLevel: "info",
		// Genesys's rate limit off, sandbox and workers alike: these phases
		// measure what Temporal and the service cost, far past the 5
		// requests a second Genesys allows; the burst row measures that
		// limit (burst.go).
		SandboxEnv: append([]string{"REFUNDFLOW_SANDBOX_GENESYS_RATE_LIMIT=0"}, cfg.sandboxEnv...),
		WorkerEnv:  append([]string{"REFUNDFLOW_GENESYS_RATE_LIMIT=0"}, cfg.workerEnv...),
	})
	if err != nil {
		return w, err
	}
	fmt.Fprintf(logw, "dev server on %s (%s)\n", w.HostPort, dir)
	w.bare = &stack.Process{Name: "bare-worker", Path: cfg.selfPath, Args: []string{"-role=" + roleBareWorker},
		LogPath: filepath.Join(dir, "bare-worker.log"),
		Env:     slices.Concat(w.ProgramEnv(), []string{"REFUNDFLOW_TASK_QUEUE=" + bareTaskQueue}, cfg.workerEnv)}
	return w, nil
}

// startBare starts the baseline's worker and waits until it polls.
func (w *world) startBare(ctx context.Context) error {
	if err := w.bare.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return stack.WaitPollers(ctx, w.Client, bareTaskQueue)
}

// stop ends every process; the work folder goes unless kept (its logs are
// what to read when a run fails).
func (w *world) stop(keep bool) {
	if w.bare != nil {
		_ = w.bare.Stop(10 * time.Second)
	}
	if w.World != nil {
		_ = w.World.Stop()
	}
	if !keep {
		_ = os.RemoveAll(w.dir)
	}
}
