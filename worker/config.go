package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/temporalclient"
	"github.com/refundflow/refundflow/internal/workeroptions"
	"github.com/refundflow/refundflow/workflows"
)

// Config is everything the worker reads, all from REFUNDFLOW_* variables.
type Config struct {
	temporalclient.Config
	activities.GatewayConfig
	activities.GenesysConfig

	RetryWindow    time.Duration `envconfig:"GATEWAY_RETRY_WINDOW" default:"10m" desc:"how long one submission is retried before it goes to finance review"`
	ReviewReminder time.Duration `envconfig:"REVIEW_REMINDER" default:"4h" desc:"how often finance ops are reminded while a review waits"`
	// The wait for the gateway's final word on a refund it took as pending.
	SettlementPoll    time.Duration `envconfig:"SETTLEMENT_POLL" default:"1m" desc:"first wait before the gateway is asked about a pending refund; each later poll waits twice as long, up to 6h"`
	SettlementTimeout time.Duration `envconfig:"SETTLEMENT_TIMEOUT" default:"1200h" desc:"how long a pending refund may wait for the gateway's final word before it goes to finance review (50 days; Stripe fails a pending refund after 45)"`
	LogLevel          string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	MetricsAddress    string        `envconfig:"METRICS_ADDRESS" desc:"host:port of GET /metrics (Prometheus text: Temporal SDK, workflow and HTTP-call metrics); empty turns metrics off"`

	// Tuning is shared with the benchmark's bare worker (see harness/bench/).
	workeroptions.Tuning
	GenesysPacing
}

// validateSettlement names a settlement knob that would stall or spin the
// wait for the gateway's final word.
func (c Config) validateSettlement() error {
	var errs []error
	if c.SettlementPoll <= 0 {
		errs = append(errs, fmt.Errorf("REFUNDFLOW_SETTLEMENT_POLL: must be positive, got %s", c.SettlementPoll))
	}
	if c.SettlementTimeout < c.SettlementPoll {
		errs = append(errs, fmt.Errorf("REFUNDFLOW_SETTLEMENT_TIMEOUT: must be at least REFUNDFLOW_SETTLEMENT_POLL, got %s", c.SettlementTimeout))
	}
	return errors.Join(errs...)
}

func (c Config) settings() workflows.Settings {
	return workflows.Settings{
		GatewayTimeout: c.GatewayConfig.Timeout,
		RetryWindow:    c.RetryWindow,
		ReviewReminder: c.ReviewReminder,

		SettlementPoll:    c.SettlementPoll,
		SettlementTimeout: c.SettlementTimeout,
	}
}
