// Command sandbox stands in for the outside world when no real credentials
// are set: the ERP/payment gateway with its OAuth token endpoint, and the
// Genesys Cloud API calls of the contract. It records everything it receives
// (GET /sandbox/ledger), replays a repeated Idempotency-Key like a real
// gateway, and fails on request: transaction-ID rules (FAIL-, FAIL<n>-,
// REJECT-, HANG-), the X-Sandbox-Fail header, and random faults for chaos
// runs, all off by default. Refunds of PENDING-, PENDFAIL- and REVERSE-
// transactions settle, fail or are reversed after SANDBOX_SETTLE_AFTER, as
// at a real gateway, and each change is posted to the starter's ERP webhook
// (SANDBOX_WEBHOOK_URL), with webhook faults on request.
//
// Real endpoints replace it through the worker's REFUNDFLOW_GATEWAY_* and
// REFUNDFLOW_GENESYS_* variables alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/sandbox"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

// run reads REFUNDFLOW_* first; a flag given on the command line wins.
func run(args []string) error {
	var cfg sandbox.Config
	if err := envconfig.Process("REFUNDFLOW", &cfg); err != nil {
		_ = envconfig.Usage("REFUNDFLOW", &cfg)
		return err
	}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (REFUNDFLOW_SANDBOX_ADDR)")
	fs.StringVar(&cfg.Clients, "clients", cfg.Clients, "OAuth clients id:secret,... (REFUNDFLOW_SANDBOX_CLIENTS)")
	fs.DurationVar(&cfg.TokenTTL, "token-ttl", cfg.TokenTTL, "access token lifetime (REFUNDFLOW_SANDBOX_TOKEN_TTL)")
	fs.IntVar(&cfg.TokenExpireEvery, "token-expire-every", cfg.TokenExpireEvery, "revoke the token on every Nth authenticated call, 0 never (REFUNDFLOW_SANDBOX_TOKEN_EXPIRE_EVERY)")
	fs.Float64Var(&cfg.Fault5xx, "fault-5xx", cfg.Fault5xx, "share of gateway calls answered 5xx (REFUNDFLOW_SANDBOX_FAULT_5XX)")
	fs.Float64Var(&cfg.Fault429, "fault-429", cfg.Fault429, "share of gateway calls answered 429 (REFUNDFLOW_SANDBOX_FAULT_429)")
	fs.Float64Var(&cfg.Fault422, "fault-422", cfg.Fault422, "share of new refunds declined 422 (REFUNDFLOW_SANDBOX_FAULT_422)")
	fs.Float64Var(&cfg.FaultHang, "fault-hang", cfg.FaultHang, "share of new refunds recorded then answered late (REFUNDFLOW_SANDBOX_FAULT_HANG)")
	fs.Float64Var(&cfg.GenesysFault5xx, "genesys-fault-5xx", cfg.GenesysFault5xx, "share of Genesys calls answered 503; a workitem creation is stored, then answered 504 (REFUNDFLOW_SANDBOX_GENESYS_FAULT_5XX)")
	fs.IntVar(&cfg.GenesysRateLimit, "genesys-rate-limit", cfg.GenesysRateLimit, "Genesys requests per OAuth client in any minute, then 429; 0 no limit (REFUNDFLOW_SANDBOX_GENESYS_RATE_LIMIT)")
	fs.BoolVar(&cfg.IgnoreIdempotencyKey, "ignore-idempotency-key", cfg.IgnoreIdempotencyKey, "sabotage: every call creates a refund (REFUNDFLOW_SANDBOX_IGNORE_IDEMPOTENCY_KEY)")
	fs.DurationVar(&cfg.HangFor, "hang-for", cfg.HangFor, "how long a hanging call waits (REFUNDFLOW_SANDBOX_HANG_FOR)")
	fs.DurationVar(&cfg.RetryAfter, "retry-after", cfg.RetryAfter, "Retry-After of a 429 (REFUNDFLOW_SANDBOX_RETRY_AFTER)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the fault dice, 0 random (REFUNDFLOW_SANDBOX_SEED)")
	fs.DurationVar(&cfg.SettleAfter, "settle-after", cfg.SettleAfter, "how long PENDING-/PENDFAIL- refunds stay pending, REVERSE- ones succeeded (REFUNDFLOW_SANDBOX_SETTLE_AFTER)")
	fs.StringVar(&cfg.WebhookURL, "webhook-url", cfg.WebhookURL, "starter base URL the gateway webhooks go to, empty none (REFUNDFLOW_SANDBOX_WEBHOOK_URL)")
	fs.DurationVar(&cfg.WebhookDelay, "webhook-delay", cfg.WebhookDelay, "how late a delayed webhook goes (REFUNDFLOW_SANDBOX_WEBHOOK_DELAY)")
	fs.Float64Var(&cfg.WebhookFaultDrop, "webhook-fault-drop", cfg.WebhookFaultDrop, "share of webhook events dropped (REFUNDFLOW_SANDBOX_WEBHOOK_FAULT_DROP)")
	fs.Float64Var(&cfg.WebhookFaultDuplicate, "webhook-fault-duplicate", cfg.WebhookFaultDuplicate, "share of webhook events sent twice (REFUNDFLOW_SANDBOX_WEBHOOK_FAULT_DUPLICATE)")
	fs.Float64Var(&cfg.WebhookFaultReorder, "webhook-fault-reorder", cfg.WebhookFaultReorder, "share of webhook events sent after the next one (REFUNDFLOW_SANDBOX_WEBHOOK_FAULT_REORDER)")
	fs.Float64Var(&cfg.WebhookFaultDelay, "webhook-fault-delay", cfg.WebhookFaultDelay, "share of webhook events sent late (REFUNDFLOW_SANDBOX_WEBHOOK_FAULT_DELAY)")
	fs.Float64Var(&cfg.WebhookFaultBadSignature, "webhook-fault-bad-signature", cfg.WebhookFaultBadSignature, "share of webhook events sent with a wrong token (REFUNDFLOW_SANDBOX_WEBHOOK_FAULT_BAD_SIGNATURE)")
	fs.StringVar(&cfg.StripeAPIKeys, "stripe-api-keys", cfg.StripeAPIKeys, "secret keys the Stripe side accepts (REFUNDFLOW_SANDBOX_STRIPE_API_KEYS)")
	fs.StringVar(&cfg.StateFile, "state-file", cfg.StateFile, "ledger file kept across restarts (REFUNDFLOW_SANDBOX_STATE_FILE)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	logger := logging.New(os.Stderr, cfg.LogLevel, "sandbox")
	srv, err := sandbox.New(cfg, logger)
	if err != nil {
		return err
	}
	if cfg.StateFile != "" {
		if err := srv.Load(cfg.StateFile); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: a hanging call must be able to outlast the caller.
	}
	logger.Info("sandbox listening", "addr", ln.Addr().String(),
		"accessLifetime", cfg.TokenTTL.String(), "revokeEveryNthCall", cfg.TokenExpireEvery,
		"fault5xx", cfg.Fault5xx, "fault429", cfg.Fault429, "fault422", cfg.Fault422, "faultHang", cfg.FaultHang,
		"genesysFault5xx", cfg.GenesysFault5xx, "genesysRateLimit", cfg.GenesysRateLimit, "stateFile", cfg.StateFile,
		"settleAfter", cfg.SettleAfter.String(), "webhookURL", cfg.WebhookURL)
	if cfg.IgnoreIdempotencyKey {
		logger.Warn("SABOTAGE: the Idempotency-Key is ignored; every call that gets through creates a refund")
	}

	go srv.Run(ctx)
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	if cfg.StateFile != "" {
		go srv.SaveEvery(ctx, cfg.StateFile, 2*time.Second, logger)
	}

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("sandbox stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown", "error", err)
	}
	if cfg.StateFile != "" {
		if err := srv.Save(cfg.StateFile); err != nil {
			return fmt.Errorf("save ledger: %w", err)
		}
	}
	return nil
}
