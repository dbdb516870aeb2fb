// Command reconcile sets the starter's reconciliation export (GET
// /v1/reconciliation) against the gateway's own records and prints every
// mismatch: money at the gateway with no Completed remediation, a Completed
// remediation with no money, amounts that differ. It exits 1 when there is
// any, 2 when it could not compare, 0 when both sides agree.
//
//	reconcile -from 2026-12-01T00:00:00Z -to 2026-12-02T00:00:00Z
//
// Configuration is from REFUNDFLOW_* variables (run with -h for the table).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/refundflow/refundflow/internal/reconcile"
)

// Config is what reconcile reads from the environment; the window is flags.
type Config struct {
	StarterURL    string `envconfig:"RECONCILE_STARTER_URL" default:"http://localhost:8080" desc:"base URL of a starter's finance API, where the export is read"`
	ApproverToken string `envconfig:"RECONCILE_APPROVER_TOKEN" required:"true" desc:"an approver token of that starter (one of its REFUNDFLOW_APPROVER_TOKENS); never logged"`
	Gateway       string `envconfig:"RECONCILE_GATEWAY" default:"sandbox" desc:"whose records to compare with: sandbox (its ledger: ERP and its Stripe side) or stripe"`
	SandboxURL    string `envconfig:"RECONCILE_SANDBOX_URL" default:"http://localhost:8090" desc:"base URL of the sandbox (sandbox)"`
	StripeBaseURL string `envconfig:"STRIPE_BASE_URL" default:"https://api.stripe.com" desc:"Stripe API base URL (stripe; stripe-mock in tests)"`
	StripeAPIKey  string `envconfig:"STRIPE_API_KEY" desc:"Stripe secret or restricted key with refund write access (stripe); never logged"`
}

// Exit codes.
const (
	exitAgree      = 0
	exitMismatches = 1
	exitFailed     = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	now := time.Now().UTC()
	from := fs.String("from", now.Add(-24*time.Hour).Format(time.RFC3339), "start of the window (RFC 3339): remediations started and refunds created from then")
	to := fs.String("to", now.Format(time.RFC3339), "end of the window (RFC 3339), exclusive")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var cfg Config
	fs.Usage = func() { printUsage(stderr, fs, &cfg) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitAgree
		}
		return exitFailed
	}
	w, gw, starter, err := loadConfig(&cfg, *from, *to)
	if err != nil {
		fmt.Fprintln(stderr, "reconcile:", err)
		return exitFailed
	}
	records, err := starter.Export(ctx, w)
	if err != nil {
		fmt.Fprintln(stderr, "reconcile:", err)
		return exitFailed
	}
	res, err := reconcile.Reconcile(ctx, w, records, gw, starter)
	if err != nil {
		fmt.Fprintln(stderr, "reconcile:", err)
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		printResult(stdout, res)
	}
	if len(res.Mismatches) > 0 {
		return exitMismatches
	}
	return exitAgree
}

// loadConfig reads the environment and the window; errors name what is wrong.
func loadConfig(cfg *Config, from, to string) (reconcile.Window, reconcile.Gateway, *reconcile.Starter, error) {
	var w reconcile.Window
	if err := envconfig.Process("refundflow", cfg); err != nil {
		return w, nil, nil, fmt.Errorf("REFUNDFLOW_%s", strings.TrimPrefix(err.Error(), "required key "))
	}
	var errs []error
	var err error
	if w.From, err = time.Parse(time.RFC3339Nano, from); err != nil {
		errs = append(errs, fmt.Errorf("-from: %w", err))
	}
	if w.To, err = time.Parse(time.RFC3339Nano, to); err != nil {
		errs = append(errs, fmt.Errorf("-to: %w", err))
	}
	if len(errs) == 0 && !w.From.Before(w.To) {
		errs = append(errs, errors.New("-from must be before -to"))
	}
	var gw reconcile.Gateway
	switch cfg.Gateway {
	case "sandbox":
		gw = &reconcile.SandboxLedger{BaseURL: strings.TrimRight(cfg.SandboxURL, "/")}
	case "stripe":
		if cfg.StripeAPIKey == "" {
			errs = append(errs, errors.New("REFUNDFLOW_STRIPE_API_KEY is required with REFUNDFLOW_RECONCILE_GATEWAY=stripe"))
		}
		gw = &reconcile.Stripe{BaseURL: strings.TrimRight(cfg.StripeBaseURL, "/"), APIKey: cfg.StripeAPIKey}
	default:
		errs = append(errs, fmt.Errorf("REFUNDFLOW_RECONCILE_GATEWAY=%q: want sandbox or stripe", cfg.Gateway))
	}
	starter := &reconcile.Starter{BaseURL: strings.TrimRight(cfg.StarterURL, "/"), Token: cfg.ApproverToken}
	return w, gw, starter, errors.Join(errs...)
}

func printResult(out io.Writer, res reconcile.Result) {
	fmt.Fprintf(out, "reconciliation %s to %s against %s: %d remediations (%d Completed), %d gateway refunds (%d succeeded), %d mismatches\n",
		res.Window.From.Format(time.RFC3339), res.Window.To.Format(time.RFC3339), res.Gateway,
		res.Remediations, res.Completed, res.Refunds, res.Moved, len(res.Mismatches))
	for _, m := range res.Mismatches {
		fmt.Fprintln(out, m.String())
	}
}

func printUsage(out io.Writer, fs *flag.FlagSet, cfg *Config) {
	fmt.Fprintln(out, "usage: reconcile [-from RFC3339] [-to RFC3339] [-json]")
	fs.PrintDefaults()
	fmt.Fprintln(out, "\nenvironment:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	_ = envconfig.Usagef("refundflow", cfg, tw, "  {{range .}}{{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}")
	_ = tw.Flush()
	fmt.Fprintln(out, "\nexit: 0 both sides agree, 1 mismatches (printed), 2 could not compare")
}
