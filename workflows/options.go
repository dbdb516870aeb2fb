package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
)

// Settings are the operator's knobs for timeouts and timers. The worker reads
// them from REFUNDFLOW_* and passes them in; a change applies to commands
// issued after the worker restarts and never breaks replay, since Temporal
// does not compare timeouts or timer durations when replaying. A setting that
// decided WHICH commands run would break replay of workflows in flight, so
// there is none: for example, the wrap-up activity always runs and itself
// does nothing when no wrap-up code is configured. Likewise the history
// length at which a review continues as new is a constant
// (reviewHistoryLimit), not a setting.
type Settings struct {
	// GatewayTimeout bounds one HTTP call to the gateway.
	GatewayTimeout time.Duration
	// RetryWindow bounds all retries of one submission; then review.
	RetryWindow time.Duration
	// ReviewReminder is how often finance ops are reminded while a review waits.
	ReviewReminder time.Duration
	// SettlementPoll is the first wait before the gateway is asked about a
	// refund it took but has not settled; each later poll waits twice as
	// long, up to maxSettlementPoll.
	SettlementPoll time.Duration
	// SettlementTimeout bounds the wait for the gateway's final word; then
	// review.
	SettlementTimeout time.Duration
}

// maxSettlementPoll is the longest wait between two polls of a refund the
// gateway has not settled (the contract's 6h).
const maxSettlementPoll = 6 * time.Hour

// DefaultSettings match the contract's defaults.
func DefaultSettings() Settings {
	return Settings{
		GatewayTimeout: 15 * time.Second, RetryWindow: 10 * time.Minute, ReviewReminder: 4 * time.Hour,
		SettlementPoll: time.Minute, SettlementTimeout: 50 * 24 * time.Hour,
	}
}

// activityHeartbeatTimeout is how soon an activity attempt that stops
// heartbeating is retried. Every activity heartbeats while it runs longer
// than a quarter of this (activities/heartbeat.go), so only an attempt that
// is not running at all misses it: one whose worker died, or one the
// server recorded as started but never handed to a worker
// (temporalio/temporal#11733, seen here about once in a few hundred refunds
// on a loaded machine). Without it such an attempt waits out its whole
// start-to-close timeout (65s for a gateway call).
const activityHeartbeatTimeout = 10 * time.Second

// submitOptions govern the gateway call. One attempt may make four HTTP calls
// in the worst case (token, call, new token after a 401, call again), each
// bounded by the HTTP timeout, so it gets four timeouts and a margin. Retries back off up
// to a minute and stop at the retry window; what is still failing then goes
// to finance ops. Final answers are not retried at all.
func (s Settings) submitOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    4*s.GatewayTimeout + 5*time.Second,
		HeartbeatTimeout:       activityHeartbeatTimeout,
		ScheduleToCloseTimeout: s.RetryWindow,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: activities.FinalErrorTypes,
		},
	}
}

// genesysOptions govern write-backs and escalations. Genesys being down must
// not lose the outcome, so these retry for an hour; a final 4xx is recorded
// in the status and the workflow carries on (the escalation is tried again at
// the next reminder).
func (s Settings) genesysOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		HeartbeatTimeout:       activityHeartbeatTimeout,
		ScheduleToCloseTimeout: time.Hour,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: activities.FinalErrorTypes,
		},
	}
}

// pollOptions govern one question to the gateway about a refund it took. A
// poll that fails is not retried for long: the next poll asks again, and the
// settlement timeout bounds the whole wait.
func (s Settings) pollOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    4*s.GatewayTimeout + 5*time.Second,
		HeartbeatTimeout:       activityHeartbeatTimeout,
		ScheduleToCloseTimeout: 5 * time.Minute,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: activities.FinalErrorTypes,
		},
	}
}

// settlementTimeouts are the settlement timeout and the first poll interval,
// the defaults where a Settings leaves them zero (a zero poll would spin).
func (s Settings) settlementTimeouts() (timeout, firstPoll time.Duration) {
	d := DefaultSettings()
	timeout, firstPoll = s.SettlementTimeout, s.SettlementPoll
	if timeout <= 0 {
		timeout = d.SettlementTimeout
	}
	if firstPoll <= 0 {
		firstPoll = d.SettlementPoll
	}
	return timeout, min(firstPoll, maxSettlementPoll)
}
