package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/stack"
)

// roleBareWorker makes this binary the baseline's worker process.
const roleBareWorker = "bare-worker"

// config is the benchmark's flags.
type config struct {
	role        string
	n           int
	concurrency int
	warmup      int
	rounds      int
	outDir      string
	repoRoot    string
	temporalBin string
	timeout     time.Duration
	keep        bool
	// burstN wrap-ups are posted at once against a Genesys limit of
	// burstLimit a minute, unpaced and paced (burst.go); 0 skips it.
	// burstOnly runs that row alone.
	burstN, burstLimit int
	burstOnly          bool
	// serverArgs are added to the dev server's command line, e.g.
	// --dynamic-config-value KEY=VALUE, to measure a server setting.
	serverArgs []string
	// workerEnv is added to both workers' environment (KEY=value), to
	// measure a worker setting on baseline and ours alike.
	workerEnv []string
	// sandboxEnv is added to the sandbox's environment (KEY=value).
	sandboxEnv []string
	// selfPath is this binary, re-run with -role=bare-worker (under `go
	// test`, the test binary, whose TestMain honours the flag).
	selfPath string
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var serverArgs, workerEnv, sandboxEnv listFlag
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.role, "role", "", "internal: "+roleBareWorker+" runs the baseline's worker")
	fs.IntVar(&cfg.n, "n", 1000, "workflows (and webhook posts) per phase")
	fs.IntVar(&cfg.concurrency, "concurrency", 32, "requests in flight at once, in every phase")
	fs.IntVar(&cfg.rounds, "rounds", 4, "baseline and ours alternate this many times, -n/rounds each, so other load on the machine weighs on both alike")
	fs.IntVar(&cfg.warmup, "warmup", 50, "unmeasured workflows run through each path first (connections, tokens, task queues)")
	fs.StringVar(&cfg.outDir, "out", ".bench", "folder for the JSON results (relative to the repository root)")
	fs.StringVar(&cfg.temporalBin, "temporal", "", "Temporal CLI that runs the dev server (default bin/temporal)")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "give up after this long")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the work folder (process logs, Temporal DB)")
	fs.IntVar(&cfg.burstN, "burst-n", 400, "wrap-ups posted at once in the burst row, unpaced and paced, against the sandbox's Genesys rate limit with 2 workers (0: no burst row)")
	fs.IntVar(&cfg.burstLimit, "burst-limit", 300, "the burst row's Genesys limit a minute (the sandbox's, and the paced workers' REFUNDFLOW_GENESYS_RATE_LIMIT)")
	fs.BoolVar(&cfg.burstOnly, "burst-only", false, "run the burst row alone")
	fs.Var(&serverArgs, "server-arg", "extra dev server argument (repeatable), e.g. --dynamic-config-value=system.enableActivityEagerExecution=true")
	fs.Var(&workerEnv, "worker-env", "extra KEY=value for both workers (repeatable), e.g. REFUNDFLOW_WORKER_WORKFLOW_POLLERS=8")
	fs.Var(&sandboxEnv, "sandbox-env", "extra KEY=value for the sandbox (repeatable), e.g. REFUNDFLOW_SANDBOX_TOKEN_TTL=60s")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.serverArgs, cfg.workerEnv, cfg.sandboxEnv = serverArgs, workerEnv, sandboxEnv
	if cfg.role != "" {
		if cfg.role != roleBareWorker {
			return cfg, fmt.Errorf("unknown -role %q", cfg.role)
		}
		return cfg, nil
	}
	if cfg.n < 1 || cfg.concurrency < 1 || cfg.warmup < 0 || cfg.rounds < 1 || cfg.rounds > cfg.n {
		return cfg, errors.New("-n, -concurrency and -rounds must be at least 1, -rounds at most -n, -warmup at least 0")
	}
	for _, kv := range append(slices.Clone(cfg.workerEnv), cfg.sandboxEnv...) {
		if !strings.Contains(kv, "=") {
			return cfg, fmt.Errorf("-worker-env or -sandbox-env %q: want KEY=value", kv)
		}
	}
	root, err := stack.RepoRoot()
	if err != nil {
		return cfg, err
	}
	cfg.repoRoot = root
	if !filepath.IsAbs(cfg.outDir) {
		cfg.outDir = filepath.Join(root, cfg.outDir)
	}
	if cfg.temporalBin == "" {
		cfg.temporalBin = filepath.Join(root, "bin", "temporal")
	}
	if _, err := os.Stat(cfg.temporalBin); err != nil {
		return cfg, fmt.Errorf("Temporal CLI: %w (run `make tools`)", err)
	}
	if cfg.selfPath, err = os.Executable(); err != nil {
		return cfg, fmt.Errorf("find this program to re-run it as the bare worker: %w", err)
	}
	return cfg, nil
}
