// Package metricnames is the one list of Refundflow's own metric names and
// label values, shared by the programs that record them (starter, worker,
// workflows, activities) and the tests that hold deploy/prometheus and
// deploy/grafana to them. It imports nothing, so the workflow package can
// use it without pulling in a metrics SDK.
//
// These are instrument names. The Prometheus exporter adds the unit and the
// counter suffix: a counter "x" is scraped as x_total, a histogram or timer
// in seconds "y" as y_seconds_bucket, _sum and _count, a gauge in seconds
// "z" as z_seconds. Exposed holds the scraped names.
//
// No label ever holds a transaction ID, a customer or an amount: labels are
// bounded sets (action, outcome, currency, remote, route, status code).
package metricnames

// Recorded by the workflow through workflow.GetMetricsHandler, which drops
// records made while replaying, so each is counted once per real event.
const (
	// RemediationsEnded counts remediations that ended, by action and
	// outcome (the final state: Completed, Rejected, ResolvedManually).
	RemediationsEnded = "refundflow_remediations_ended"
	// ReviewsOpened counts transitions into AwaitingReview, by action.
	ReviewsOpened = "refundflow_reviews_opened"
	// SubmittedMinor is the amount of every submission sent to the gateway,
	// in minor units, by currency and action.
	SubmittedMinor = "refundflow_submitted_minor_units"
	// RefundedMinor is the amount of every remediation that reached
	// Completed, in minor units, by currency and action.
	RefundedMinor = "refundflow_refunded_minor_units"
	// EscalationsUndelivered counts escalations (workitem or email) that
	// failed after their retries; the next reminder tries again.
	EscalationsUndelivered = "refundflow_escalations_undelivered"
	// WebhookToCompleted is the time from the webhook's start of the
	// workflow to Completed (a timer: seconds), by action and path.
	WebhookToCompleted = "refundflow_webhook_to_completed"
)

// Recorded by the activities' HTTP transport, once per HTTP exchange.
const (
	// RemoteCalls counts HTTP calls by remote and outcome class.
	RemoteCalls = "refundflow_remote_calls"
	// RemoteCallDuration is their latency in seconds, by remote and outcome.
	RemoteCallDuration = "refundflow_remote_call_duration"
	// RemoteRateLimited counts 429 answers, by remote.
	RemoteRateLimited = "refundflow_remote_rate_limited"
)

// Recorded by the starter.
const (
	// HTTPResponses counts the starter's answers by route and status code.
	HTTPResponses = "refundflow_http_responses"
	// HTTPRequestDuration is the time to answer, in seconds, by route.
	HTTPRequestDuration = "refundflow_http_request_duration"
	// RemediationsStarted counts new workflows the starter started, by action.
	RemediationsStarted = "refundflow_remediations_started"
	// CardDataRejections counts requests refused with 422 because they held
	// cardholder data, by route.
	CardDataRejections = "refundflow_cardholder_data_rejections"
	// ReviewsWaiting is the number of remediations in AwaitingReview, from
	// visibility, refreshed every REFUNDFLOW_REVIEW_METRICS_INTERVAL.
	ReviewsWaiting = "refundflow_reviews_waiting"
	// ReviewOldestAge is the age in seconds of the oldest of them (since its
	// run started), 0 when none waits.
	ReviewOldestAge = "refundflow_review_oldest_age"
	// ReviewPollFailures counts visibility polls for the two gauges above
	// that failed; the gauges then keep their last values.
	ReviewPollFailures = "refundflow_review_poll_failures"
)

// Label names.
const (
	LabelAction   = "action"
	LabelOutcome  = "outcome"
	LabelCurrency = "currency"
	LabelPath     = "path"
	LabelRemote   = "remote"
	LabelRoute    = "route"
	LabelCode     = "code"
)

// Labels are every label our series may carry; internal/metrics drops any
// other from them.
var Labels = []string{LabelAction, LabelOutcome, LabelCurrency, LabelPath, LabelRemote, LabelRoute, LabelCode}

// Prefix starts each of our metric names.
const Prefix = "refundflow_"

// Values of LabelRemote.
const (
	RemoteGateway = "gateway"
	RemoteGenesys = "genesys"
)

// Values of LabelOutcome on remote calls: the contract's classes of an
// HTTP answer (activities/httperr.go decides the same way, with the body).
const (
	CallOK         = "ok"         // 1xx-3xx
	CallRetryable  = "retryable"  // 408, 429, 5xx
	CallFinal      = "final"      // any other 4xx
	CallUnanswered = "unanswered" // no answer: refused, reset, timed out
)

// Values of LabelPath on WebhookToCompleted.
const (
	PathDirect      = "direct"       // the gateway took it without a review
	PathAfterReview = "after_review" // a finance approval submitted it
)

// Exposed are the scraped names of the series above, as the exporter
// writes them (histograms by their _count series).
var Exposed = []string{
	RemediationsEnded + "_total",
	ReviewsOpened + "_total",
	SubmittedMinor + "_total",
	RefundedMinor + "_total",
	EscalationsUndelivered + "_total",
	WebhookToCompleted + "_seconds_count",
	RemoteCalls + "_total",
	RemoteCallDuration + "_seconds_count",
	RemoteRateLimited + "_total",
	HTTPResponses + "_total",
	HTTPRequestDuration + "_seconds_count",
	RemediationsStarted + "_total",
	CardDataRejections + "_total",
	ReviewsWaiting,
	ReviewOldestAge + "_seconds",
	ReviewPollFailures + "_total",
}
