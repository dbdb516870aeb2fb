// Command starter is the door Genesys Cloud knocks on and the one finance
// operations use. It turns a financial wrap-up disposition, posted by a
// Genesys Data Action, into exactly one RemediationWorkflow per transaction,
// and lets approvers read a remediation's status and send their decision.
//
// Configuration is from REFUNDFLOW_* variables; run with -h for the table.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/logging"
)

// HTTP server timeouts. Reads are small (64 KiB at most); a write may wait
// for Temporal: a start, then a query and a describe for a duplicate.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 20 * time.Second
)

// Exit codes: 2 for configuration (fix the environment), 1 for the rest.
const (
	exitOK     = 0
	exitFailed = 1
	exitConfig = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns when ctx ends (SIGTERM, SIGINT) and
// every in-flight request has been answered, or the server fails.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	var cfg Config
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		printUsage(stderr, &cfg)
		return exitOK
	}
	st, err := loadConfig(&cfg)
	if err != nil {
		printUsage(stderr, &cfg)
		fmt.Fprintf(stderr, "\nstarter: configuration: %v\n", err)
		return exitConfig
	}
	logger := logging.New(stderr, cfg.LogLevel, "starter")

	mx, err := serveMetrics(ctx, cfg.MetricsAddress, logger)
	if err != nil {
		logger.Error("metrics", "error", err)
		return exitFailed
	}
	c, err := newMeteredTemporalClient(cfg.Config, logger, mx.sdkHandler())
	if err != nil {
		logger.Error("Temporal client", "error", err)
		return exitConfig // only the TLS and codec settings can fail here
	}
	defer c.Close()
	srv := newServer(st, c, logger)
	if srv.metrics, err = mx.starterMetrics(); err != nil {
		logger.Error("metrics", "error", err)
		return exitFailed
	}
	if srv.metrics != nil {
		go srv.pollReviewQueue(ctx, cfg.ReviewMetricsInterval)
	}

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		logger.Error("listen", "address", cfg.ListenAddr, "error", err)
		return exitFailed
	}
	httpServer := &http.Server{
		Handler:           srv.routes(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      3*cfg.StartTimeout + 10*time.Second,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("starter listening", "address", ln.Addr().String(), "temporal", cfg.Address,
		"namespace", cfg.Namespace, "task_queue", cfg.TaskQueue, "dispositions", len(st.dispositions),
		"approvers", len(st.approvers), "webhook_tokens", len(st.webhook))
	go reportTemporal(ctx, c, logger, cfg.Address)

	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(ln) }()
	select {
	case err := <-served:
		logger.Error("serve", "error", err)
		return exitFailed
	case <-ctx.Done():
	}
	logger.Info("starter stopping: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		logger.Error("shutdown", "error", err)
		return exitFailed
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serve", "error", err)
		return exitFailed
	}
	logger.Info("starter stopped")
	return exitOK
}

// reportTemporal logs once whether Temporal answers at startup, so an
// operator sees a wrong address at once rather than at the first call.
func reportTemporal(ctx context.Context, c client.Client, logger *slog.Logger, address string) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		logger.Warn("Temporal not reachable yet; dispositions get 503 until it is", "temporal", address, "error", err)
		return
	}
	logger.Info("Temporal reachable", "temporal", address)
}
