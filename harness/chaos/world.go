package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

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
		// Fixed in internal/stack rather than fresh, but as secret: the
		// sandbox's Adyen side is only ever run by the harnesses.
		"Adyen API key":  stack.AdyenAPIKey,
		"Adyen HMAC key": stack.AdyenHMACKey,
		// Likewise the Stripe side's secret key and webhook signing secret.
		"Stripe API key":        stack.StripeAPIKey,
		"Stripe webhook secret": stack.StripeWebhookSecret,
	}
}

func randomSecret(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + hex.EncodeToString(b[:])
}

// world is the running system under test (a stack.World: a Temporal dev
// server with a file DB, the sandbox as gateway and Genesys, the worker and
// the starter, each a real process that can be SIGKILLed and started
// again) and this run's secrets.
type world struct {
	*stack.World
	secrets secrets
}

// startWorld builds the programs from the working tree and starts them all.
// The programs go to binDir, shared by the runs under one -out: each run
// rebuilds them (go's cache makes that quick), so they always match the
// working tree, without leaving 75 MB of binaries in every run directory.
func startWorld(ctx context.Context, cfg Config, root, dir, binDir, fourEyesAgent string, seed uint64, progress io.Writer) (*world, error) {
	w := &world{secrets: newSecrets()}
	fmt.Fprintf(progress, "building sandbox, worker and starter into %s, then starting them and a Temporal dev server (DB %s)\n", binDir, filepath.Join(dir, "temporal.db"))
	var err error
	// Debug logging (the stack's default) on purpose: the more the
	// programs log, the more a leak of a token or a card number into the
	// logs would show.
	w.World, err = stack.Start(ctx, stack.Options{
		Dir: dir, Root: root, BinDir: binDir, Build: true,
		WebhookToken: w.secrets.webhookToken,
		Approvers:    []stack.Approver{{Name: "alice", Token: w.secrets.approverToken}, {Name: fourEyesAgent, Token: w.secrets.agentToken}},
		SandboxClients: &stack.SandboxClients{
			GatewayID: "chaos-gateway", GatewaySecret: w.secrets.gatewaySecret,
			GenesysID: "chaos-genesys", GenesysSecret: w.secrets.genesysSecret,
		},
		Gateway:    cfg.Gateway,
		SandboxEnv: sandboxEnv(cfg, dir, seed),
		WorkerEnv: []string{
			"REFUNDFLOW_GATEWAY_TIMEOUT=" + cfg.GatewayTimeout.String(),
			"REFUNDFLOW_GATEWAY_RETRY_WINDOW=" + cfg.RetryWindow.String(),
			"REFUNDFLOW_REVIEW_REMINDER=" + cfg.ReviewReminder.String(),
			"REFUNDFLOW_SETTLEMENT_POLL=" + cfg.SettlementPoll.String(),
			"REFUNDFLOW_GENESYS_RATE_LIMIT=" + strconv.Itoa(cfg.GenesysRateLimit),
		},
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "Temporal dev server on %s\n", w.HostPort)
	return w, nil
}

// sandboxEnv is the gateway's hostility, and the file its ledger survives
// restarts in.
func sandboxEnv(cfg Config, dir string, seed uint64) []string {
	env := []string{
		"REFUNDFLOW_SANDBOX_TOKEN_EXPIRE_EVERY=" + strconv.Itoa(cfg.TokenExpireEvery),
		"REFUNDFLOW_SANDBOX_FAULT_5XX=" + ftoa(cfg.Fault5xx),
		"REFUNDFLOW_SANDBOX_FAULT_429=" + ftoa(cfg.Fault429),
		"REFUNDFLOW_SANDBOX_FAULT_422=" + ftoa(cfg.Fault422),
		"REFUNDFLOW_SANDBOX_FAULT_HANG=" + ftoa(cfg.FaultHang),
		"REFUNDFLOW_SANDBOX_GENESYS_FAULT_5XX=" + ftoa(cfg.GenesysFault5xx),
		// Genesys's own limit, on as in a real org (scaled, see Config).
		"REFUNDFLOW_SANDBOX_GENESYS_RATE_LIMIT=" + strconv.Itoa(cfg.GenesysRateLimit),
		"REFUNDFLOW_SANDBOX_HANG_FOR=" + cfg.HangFor.String(),
		"REFUNDFLOW_SANDBOX_RETRY_AFTER=" + cfg.RetryAfter.String(),
		"REFUNDFLOW_SANDBOX_SEED=" + strconv.FormatUint(seed, 10),
		"REFUNDFLOW_SANDBOX_STATE_FILE=" + filepath.Join(dir, "sandbox-ledger.json"),
		"REFUNDFLOW_SANDBOX_IGNORE_IDEMPOTENCY_KEY=" + strconv.FormatBool(cfg.BreakIdempotency),
		"REFUNDFLOW_SANDBOX_SETTLE_AFTER=" + cfg.SettleAfter.String(),
		"REFUNDFLOW_SANDBOX_REVERSE_AFTER=" + cfg.ReverseAfter.String(),
		"REFUNDFLOW_SANDBOX_WEBHOOK_DELAY=" + cfg.WebhookDelayFor.String(),
	}
	rates := webhookFaultRates(cfg)
	for i, name := range []string{"DROP", "BAD_SIGNATURE", "DUPLICATE", "REORDER", "DELAY"} {
		env = append(env, "REFUNDFLOW_SANDBOX_WEBHOOK_FAULT_"+name+"="+ftoa(rates[i]))
	}
	return env
}

// webhookFaultRates turns the run's shares of webhook events into the
// sandbox's rates. The sandbox rolls them one after the other (drop, bad
// signature, duplicate, reorder, delay: internal/sandbox/webhooks.go), so
// each rate applies to the events the earlier ones left; dividing by what
// is left makes 20% duplicated mean a fifth of all events.
func webhookFaultRates(cfg Config) [5]float64 {
	shares := [5]float64{cfg.WebhookDrop, cfg.WebhookBadSignature, cfg.WebhookDuplicate, cfg.WebhookReorder, cfg.WebhookDelay}
	var rates [5]float64
	left := 1.0
	for i, share := range shares {
		if left > 0 {
			rates[i] = min(share/left, 1)
		}
		left -= share
	}
	return rates
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
