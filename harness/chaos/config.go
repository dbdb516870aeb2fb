package main

import (
	"errors"
	"flag"
	"fmt"
	"time"
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
	HangFor          time.Duration
	RetryAfter       time.Duration

	// BreakIdempotency makes the sandbox ignore the Idempotency-Key, to
	// prove the double-refund check fails when it should. Never in CI.
	BreakIdempotency bool

	// SettleTimeout bounds each wait for the workflows to come to rest.
	SettleTimeout time.Duration
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
		HangFor:          10 * time.Second,
		RetryAfter:       time.Second,
		SettleTimeout:    6 * time.Minute,
	}
}

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
	fs.DurationVar(&c.HangFor, "hang-for", c.HangFor, "how long a hanging gateway call waits (longer than -gateway-timeout)")
	fs.DurationVar(&c.RetryAfter, "retry-after", c.RetryAfter, "Retry-After of an injected 429")
	fs.BoolVar(&c.BreakIdempotency, "break-idempotency", c.BreakIdempotency, "sabotage: the gateway ignores the Idempotency-Key (the run must then fail)")
	fs.DurationVar(&c.SettleTimeout, "settle-timeout", c.SettleTimeout, "longest wait for the workflows to come to rest")
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
	if c.Out == "" {
		errs = append(errs, errors.New("-out must name a directory"))
	}
	return errors.Join(errs...)
}
