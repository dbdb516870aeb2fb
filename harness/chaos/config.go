package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/refundflow/refundflow/internal/stack"
)

// Config is one chaos run: how much traffic, how many crashes, and how
// hostile the gateway is. Everything has a flag; DefaultConfig is `make
// chaos`, ShortConfig the run `go test ./harness/chaos` makes on every change.
type Config struct {
	// N is the number of webhook posts, duplicates included.
	N int
	// Clients is how many posts are in flight at once, as Genesys Data
	// Actions firing from many agents' wrap-ups would be.
	Clients int
	// DuplicateShare of N are deliveries of a transaction already posted.
	DuplicateShare float64

	WorkerKills    int
	StarterKills   int
	ServerRestarts int
	// ServerDown is how long the Temporal server stays dead before it is
	// started again on the same port and database.
	ServerDown time.Duration

	// Out is where each run's directory (DB, logs, ledger, report) goes.
	Out string
	// Seed makes the plan and the gateway's fault dice repeatable; 0 picks one.
	Seed uint64

	// The worker's knobs. A gateway call that hangs must outlast
	// GatewayTimeout; RetryWindow is long enough that transient faults heal
	// before review (see docs/chaos.md for the arithmetic).
	GatewayTimeout time.Duration
	RetryWindow    time.Duration
	// ReviewReminder is short so an escalation that failed is retried (and
	// reminders run) within the run, not four hours later.
	ReviewReminder time.Duration

	// The sandbox's fault rates.
	Fault5xx         float64
	Fault429         float64
	FaultHang        float64
	Fault422         float64
	TokenExpireEvery int
	GenesysFault5xx  float64
	// GenesysRateLimit is Genesys's limit a minute, enforced by the
	// sandbox per OAuth client and kept by the paced workers. Chaos runs
	// days of a remediation in minutes (settling in seconds, reminders
	// every 20s), so the limit is scaled with them: 300 a minute against
	// a stream of 10 posts a second would turn every run into a lesson on
	// queueing, and keep reviews open past the reversals meant to reopen
	// them.
	GenesysRateLimit int
	HangFor          time.Duration
	RetryAfter       time.Duration

	// The gateway's lifecycles (issue 14): each of LifecycleShare of the
	// originals is a refund the gateway takes as pending and settles
	// SettleAfter later (PENDING-), one it takes as pending and then fails
	// (PENDFAIL-), and one it makes and then reverses (REVERSE-).
	LifecycleShare float64
	SettleAfter    time.Duration
	// ReverseAfter is how long a REVERSE- refund stays succeeded: long
	// enough that most remediations have closed (their last Genesys
	// write-back waits its turn on the paced queue), so most reversals
	// reopen a closed run and the rest reach one still open.
	ReverseAfter time.Duration
	// SettlementPoll is the worker's first poll of a pending refund
	// (REFUNDFLOW_SETTLEMENT_POLL); later polls back off from it.
	SettlementPoll time.Duration
	// The shares of the gateway's webhook events that are dropped, sent
	// twice, held back until after the refund's next event, sent
	// WebhookDelayFor late, or signed with a wrong token.
	WebhookDrop         float64
	WebhookDuplicate    float64
	WebhookReorder      float64
	WebhookDelay        float64
	WebhookBadSignature float64
	WebhookDelayFor     time.Duration

	// BreakIdempotency makes the sandbox ignore the Idempotency-Key, to
	// prove the double-refund check fails when it should. Never in CI.
	BreakIdempotency bool

	// SettleTimeout bounds each wait for the workflows to come to rest.
	SettleTimeout time.Duration

	// Gateway is the worker's REFUNDFLOW_GATEWAY_KIND at the sandbox: erp
	// (the default), adyen (the sandbox's Adyen side: pspReference-shaped
	// transaction IDs, outcomes by signed webhook only, chargebacks to
	// review), paypal (the sandbox's PayPal; transaction IDs are then
	// capture IDs) or stripe (the sandbox's Stripe side: pi_/ch_ IDs,
	// Stripe-signed webhooks, chargebacks to review).
	Gateway string
}

// DefaultConfig is the full run of issue 6.
func DefaultConfig() Config {
	return Config{
		N:                2000,
		Clients:          16,
		DuplicateShare:   0.25,
		WorkerKills:      3,
		StarterKills:     1,
		ServerRestarts:   1,
		ServerDown:       3 * time.Second,
		Out:              ".chaos",
		GatewayTimeout:   2 * time.Second,
		RetryWindow:      60 * time.Second,
		ReviewReminder:   20 * time.Second,
		Fault5xx:         0.10,
		Fault429:         0.05,
		FaultHang:        0.02,
		Fault422:         0.02,
		TokenExpireEvery: 50,
		GenesysFault5xx:  0.03,
		GenesysRateLimit: 3000,
		HangFor:          10 * time.Second,
		RetryAfter:       time.Second,
		SettleTimeout:    6 * time.Minute,
		Gateway:          stack.GatewayERP,

		LifecycleShare:      0.04,
		SettleAfter:         1500 * time.Millisecond,
		ReverseAfter:        10 * time.Second,
		SettlementPoll:      time.Second,
		WebhookDrop:         0.20,
		WebhookDuplicate:    0.20,
		WebhookReorder:      0.10,
		WebhookDelay:        0.05,
		WebhookBadSignature: 0.05,
		WebhookDelayFor:     3 * time.Second,
	}
}

// The gateways a chaos run can refund through.
const (
	gatewayERP    = stack.GatewayERP
	gatewayPayPal = stack.GatewayPayPal
	gatewayStripe = stack.GatewayStripe
)

// ShortConfig is the CI run: the same faults, fewer posts, one crash of
// the worker and one of the server, so it stays within a couple of
// minutes on two cores.
func ShortConfig() Config {
	c := DefaultConfig()
	c.N = 200
	c.WorkerKills = 1
	c.StarterKills = 1
	c.ServerRestarts = 1
	c.SettleTimeout = 3 * time.Minute
	// Smaller webhook fault shares, but with 8 transactions of each
	// lifecycle every fault still strikes a few of their ~40 events.
	c.LifecycleShare = 0.05
	c.WebhookDrop, c.WebhookDuplicate = 0.10, 0.10
	return c
}

// bindFlags registers every setting on fs, with c's values as defaults.
func (c *Config) bindFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.N, "n", c.N, "webhook posts, duplicates included")
	fs.IntVar(&c.Clients, "clients", c.Clients, "concurrent webhook clients")
	fs.Float64Var(&c.DuplicateShare, "duplicates", c.DuplicateShare, "share of posts that repeat a transaction")
	fs.IntVar(&c.WorkerKills, "worker-kills", c.WorkerKills, "SIGKILLs (and restarts) of the worker")
	fs.IntVar(&c.StarterKills, "starter-kills", c.StarterKills, "SIGKILLs (and restarts) of the starter")
	fs.IntVar(&c.ServerRestarts, "server-restarts", c.ServerRestarts, "SIGKILLs (and restarts) of the Temporal dev server")
	fs.DurationVar(&c.ServerDown, "server-down", c.ServerDown, "how long the Temporal server stays down")
	fs.StringVar(&c.Out, "out", c.Out, "directory for the run's database, logs, ledger and report")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the plan and the fault dice (0: random)")
	fs.DurationVar(&c.GatewayTimeout, "gateway-timeout", c.GatewayTimeout, "worker's REFUNDFLOW_GATEWAY_TIMEOUT")
	fs.DurationVar(&c.RetryWindow, "retry-window", c.RetryWindow, "worker's REFUNDFLOW_GATEWAY_RETRY_WINDOW")
	fs.DurationVar(&c.ReviewReminder, "review-reminder", c.ReviewReminder, "worker's REFUNDFLOW_REVIEW_REMINDER")
	fs.Float64Var(&c.Fault5xx, "fault-5xx", c.Fault5xx, "share of gateway calls answered 5xx")
	fs.Float64Var(&c.Fault429, "fault-429", c.Fault429, "share of gateway calls answered 429 with Retry-After")
	fs.Float64Var(&c.FaultHang, "fault-hang", c.FaultHang, "share of new refunds recorded, then answered after -hang-for")
	fs.Float64Var(&c.Fault422, "fault-422", c.Fault422, "share of new refunds declined with a final 422")
	fs.IntVar(&c.TokenExpireEvery, "token-expire-every", c.TokenExpireEvery, "revoke the caller's OAuth token every Nth call")
	fs.Float64Var(&c.GenesysFault5xx, "genesys-fault-5xx", c.GenesysFault5xx, "share of Genesys calls answered 503 (a workitem creation: stored, then 504)")
	fs.IntVar(&c.GenesysRateLimit, "genesys-rate-limit", c.GenesysRateLimit, "Genesys requests a minute: the sandbox's limit per OAuth client and the workers' REFUNDFLOW_GENESYS_RATE_LIMIT (scaled with chaos's compressed time)")
	fs.DurationVar(&c.HangFor, "hang-for", c.HangFor, "how long a hanging gateway call waits (longer than -gateway-timeout)")
	fs.DurationVar(&c.RetryAfter, "retry-after", c.RetryAfter, "Retry-After of an injected 429")
	fs.Float64Var(&c.LifecycleShare, "lifecycle-share", c.LifecycleShare, "share of transactions of each gateway lifecycle (PENDING-, PENDFAIL-, REVERSE-)")
	fs.DurationVar(&c.SettleAfter, "settle-after", c.SettleAfter, "sandbox's REFUNDFLOW_SANDBOX_SETTLE_AFTER: pending until then")
	fs.DurationVar(&c.ReverseAfter, "reverse-after", c.ReverseAfter, "sandbox's REFUNDFLOW_SANDBOX_REVERSE_AFTER: a REVERSE- refund succeeded until then")
	fs.DurationVar(&c.SettlementPoll, "settlement-poll", c.SettlementPoll, "worker's REFUNDFLOW_SETTLEMENT_POLL")
	fs.Float64Var(&c.WebhookDrop, "webhook-drop", c.WebhookDrop, "share of gateway webhook events never sent")
	fs.Float64Var(&c.WebhookDuplicate, "webhook-duplicate", c.WebhookDuplicate, "share of gateway webhook events sent twice")
	fs.Float64Var(&c.WebhookReorder, "webhook-reorder", c.WebhookReorder, "share of gateway webhook events held back until after the refund's next one")
	fs.Float64Var(&c.WebhookDelay, "webhook-delay", c.WebhookDelay, "share of gateway webhook events sent -webhook-delay-for late")
	fs.Float64Var(&c.WebhookBadSignature, "webhook-bad-signature", c.WebhookBadSignature, "share of gateway webhook events sent with a wrong token")
	fs.DurationVar(&c.WebhookDelayFor, "webhook-delay-for", c.WebhookDelayFor, "how late a delayed gateway webhook is sent")
	fs.BoolVar(&c.BreakIdempotency, "break-idempotency", c.BreakIdempotency, "sabotage: the gateway ignores the Idempotency-Key (the run must then fail)")
	fs.DurationVar(&c.SettleTimeout, "settle-timeout", c.SettleTimeout, "longest wait for the workflows to come to rest")
	fs.StringVar(&c.Gateway, "gateway", c.Gateway, "the worker's gateway at the sandbox: erp, adyen, paypal or stripe")
}

// validate refuses settings that would make the run prove nothing.
func (c Config) validate() error {
	var errs []error
	if c.N < 40 {
		errs = append(errs, fmt.Errorf("-n %d: at least 40 posts, so every kind of disposition occurs", c.N))
	}
	if c.Clients < 1 {
		errs = append(errs, fmt.Errorf("-clients %d: at least 1", c.Clients))
	}
	if c.DuplicateShare < 0 || c.DuplicateShare > 0.5 {
		errs = append(errs, fmt.Errorf("-duplicates %v: between 0 and 0.5", c.DuplicateShare))
	}
	if c.WorkerKills < 0 || c.StarterKills < 0 || c.ServerRestarts < 0 {
		errs = append(errs, errors.New("crash counts must not be negative"))
	}
	if c.HangFor <= c.GatewayTimeout {
		errs = append(errs, fmt.Errorf("-hang-for %s must exceed -gateway-timeout %s, or a hang is just a slow answer", c.HangFor, c.GatewayTimeout))
	}
	if c.RetryWindow < 4*c.GatewayTimeout {
		errs = append(errs, fmt.Errorf("-retry-window %s leaves no room for retries of %s calls", c.RetryWindow, c.GatewayTimeout))
	}
	if c.LifecycleShare < 0 || c.LifecycleShare > 0.2 {
		errs = append(errs, fmt.Errorf("-lifecycle-share %v: between 0 and 0.2", c.LifecycleShare))
	}
	if sum := c.WebhookDrop + c.WebhookDuplicate + c.WebhookReorder + c.WebhookDelay + c.WebhookBadSignature; sum > 0.9 {
		errs = append(errs, fmt.Errorf("webhook fault shares add up to %v: at most 0.9, so some events arrive clean", sum))
	} else {
		rates := webhookFaultRates(c)
		if rates[0]+rates[1]+rates[2]+rates[3]+rates[4] > 1 {
			errs = append(errs, fmt.Errorf("webhook fault shares %v need sandbox rates adding up to more than 1", rates))
		}
	}
	if c.GenesysRateLimit <= 0 {
		errs = append(errs, errors.New("-genesys-rate-limit must be positive: chaos runs with Genesys's limit on"))
	}
	if c.SettleAfter <= 0 || c.SettlementPoll <= 0 {
		errs = append(errs, errors.New("-settle-after and -settlement-poll must be positive, or nothing settles within the run"))
	}
	if c.Gateway != gatewayERP && c.Gateway != stack.GatewayAdyen && c.Gateway != gatewayPayPal && c.Gateway != gatewayStripe {
		errs = append(errs, fmt.Errorf("-gateway %q: erp, adyen, paypal or stripe", c.Gateway))
	}
	if c.Out == "" {
		errs = append(errs, errors.New("-out must name a directory"))
	}
	return errors.Join(errs...)
}
