// Command replay-gate is the step before a deploy: it downloads the
// histories of every open remediation (reviews may have waited for weeks)
// and of a sample of recently closed ones from the cluster, and replays
// them against this build's workflow code. It exits 1 when any history
// does not replay (the build would break workflows in flight: make the
// change replay-safe with workflow.GetVersion), 2 when it could not check,
// 0 when every history replays.
//
// It connects as the worker does (REFUNDFLOW_TEMPORAL_*, TLS, API key) and
// decodes payloads with the same REFUNDFLOW_CODEC_KEYS; run with -h for the
// table. Build it from the commit to be deployed: go run ./cmd/replay-gate.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/refundflow/refundflow/internal/codec"
	"github.com/refundflow/refundflow/internal/replaygate"
	"github.com/refundflow/refundflow/internal/temporalclient"
	"github.com/refundflow/refundflow/workflows"
)

// Config is what the gate reads: the worker's connection and the worker's
// workflow settings (a setting can steer the workflow's decisions, so the
// replay runs the code as the worker would), and how much to replay.
type Config struct {
	temporalclient.Config

	GatewayTimeout    time.Duration `envconfig:"GATEWAY_TIMEOUT" default:"15s" desc:"the worker's: timeout of one gateway HTTP call"`
	RetryWindow       time.Duration `envconfig:"GATEWAY_RETRY_WINDOW" default:"10m" desc:"the worker's: how long one submission is retried"`
	ReviewReminder    time.Duration `envconfig:"REVIEW_REMINDER" default:"4h" desc:"the worker's: how often finance ops are reminded"`
	SettlementPoll    time.Duration `envconfig:"SETTLEMENT_POLL" default:"1m" desc:"the worker's: first wait before a pending refund is polled"`
	SettlementTimeout time.Duration `envconfig:"SETTLEMENT_TIMEOUT" default:"1200h" desc:"the worker's: how long a pending refund may wait"`

	MaxOpen      int           `envconfig:"REPLAY_GATE_MAX_OPEN" default:"0" desc:"open remediations to replay at most; 0: every one"`
	ClosedSample int           `envconfig:"REPLAY_GATE_CLOSED_SAMPLE" default:"100" desc:"closed remediations to replay too, the most recently closed first"`
	ClosedWithin time.Duration `envconfig:"REPLAY_GATE_CLOSED_WITHIN" default:"168h" desc:"how recently a closed remediation must have closed to be sampled"`
}

// Exit codes.
const (
	exitReplays    = 0
	exitNotReplays = 1
	exitFailed     = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// run is the program; register, when not nil, replaces this build's
// workflows (the tests' incompatible change).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, register func(replaygate.Registry)) int {
	var cfg Config
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		printUsage(stderr, &cfg)
		return exitReplays
	}
	asJSON := len(args) > 0 && args[0] == "-json"
	if err := envconfig.Process("refundflow", &cfg); err != nil {
		fmt.Fprintln(stderr, "replay-gate: REFUNDFLOW_"+strings.TrimPrefix(err.Error(), "required key "))
		return exitFailed
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := cfg.Options(logger)
	if err != nil {
		fmt.Fprintln(stderr, "replay-gate:", err)
		return exitFailed
	}
	keys, err := cfg.Keys()
	if err != nil {
		fmt.Fprintln(stderr, "replay-gate:", err)
		return exitFailed
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.DialContext(dialCtx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "replay-gate: dial Temporal at %s: %v\n", cfg.Address, err)
		return exitFailed
	}
	defer c.Close()
	if register == nil {
		settings := workflows.Settings{GatewayTimeout: cfg.GatewayTimeout, RetryWindow: cfg.RetryWindow, ReviewReminder: cfg.ReviewReminder,
			SettlementPoll: cfg.SettlementPoll, SettlementTimeout: cfg.SettlementTimeout}
		register = func(r replaygate.Registry) { (&workflows.Remediation{Settings: settings}).Register(r) }
	}
	res, err := replaygate.Run(ctx, replaygate.Options{
		Client: c, Namespace: cfg.Namespace, TaskQueue: cfg.TaskQueue, Register: register,
		DataConverter: codec.DataConverter(keys), FailureConverter: codec.FailureConverter(keys),
		MaxOpen: cfg.MaxOpen, ClosedSample: cfg.ClosedSample, ClosedWithin: cfg.ClosedWithin,
		Logger: sdklog.NewStructuredLogger(logger),
	})
	if err != nil {
		fmt.Fprintln(stderr, "replay-gate:", err)
		return exitFailed
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		verdict := "PASS"
		if len(res.Failures) > 0 {
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "replay gate %s: %d open and %d closed remediations replayed (%d events) on %s/%s, %d do not replay\n",
			verdict, res.Open, res.Closed, res.Events, cfg.Namespace, cfg.TaskQueue, len(res.Failures))
		for _, f := range res.Failures {
			state := "closed"
			if f.Open {
				state = "open"
			}
			fmt.Fprintf(stdout, "  %s %s (%s): %s\n", f.WorkflowID, f.RunID, state, f.Error)
		}
	}
	if len(res.Failures) > 0 {
		return exitNotReplays
	}
	return exitReplays
}

func printUsage(out io.Writer, cfg *Config) {
	fmt.Fprintln(out, "usage: replay-gate [-json]\n\nenvironment:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	_ = envconfig.Usagef("refundflow", cfg, tw, "{{range .}}{{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}")
	_ = tw.Flush()
	fmt.Fprintln(out, "\nexit: 0 every history replays, 1 some do not (listed), 2 could not check")
}
