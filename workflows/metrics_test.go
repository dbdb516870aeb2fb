package workflows

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/metrics"
	"github.com/refundflow/refundflow/internal/remediation"
)

// MetricsSuite runs the workflow with the worker's real metrics handler and
// reads the series from the Prometheus text the worker would serve.
type MetricsSuite struct {
	WorkflowSuite
	metrics *metrics.Metrics
}

func TestMetricsSuite(t *testing.T) { suite.Run(t, new(MetricsSuite)) }

func (s *MetricsSuite) SetupTest() {
	m, err := metrics.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Require().NoError(err)
	s.metrics = m
	s.SetMetricsHandler(m.SDKHandler())
	s.WorkflowSuite.SetupTest()
}

// value is the scraped sample of the series with exactly these labels
// (in the exporter's order, which is sorted by name); -1 when absent.
func (s *MetricsSuite) value(series string) float64 {
	rec := httptest.NewRecorder()
	s.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	s.Require().NoError(err)
	return v
}

func (s *MetricsSuite) TestHappyRefundCountsMoneyEndAndTime() {
	s.gateway = append(s.gateway, accepted("rf_1"))
	s.start(refund())
	s.Equal(remediation.StateCompleted, s.outcome().State)

	s.Equal(4999.0, s.value(`refundflow_submitted_minor_units_total{action="refund",currency="USD"}`))
	s.Equal(4999.0, s.value(`refundflow_refunded_minor_units_total{action="refund",currency="USD"}`))
	s.Equal(1.0, s.value(`refundflow_remediations_ended_total{action="refund",outcome="Completed"}`))
	s.Equal(1.0, s.value(`refundflow_webhook_to_completed_seconds_count{action="refund",path="direct"}`))
	s.Equal(-1.0, s.value(`refundflow_reviews_opened_total{action="refund"}`))
}

func (s *MetricsSuite) TestApprovalAfterReviewCountsBothSubmissions() {
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){rejected("gateway answered 409: locked"), accepted("rf_2")}
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"})
	s.start(refund())
	s.Equal(remediation.StateCompleted, s.outcome().State)

	s.Equal(2*4999.0, s.value(`refundflow_submitted_minor_units_total{action="refund",currency="USD"}`))
	s.Equal(4999.0, s.value(`refundflow_refunded_minor_units_total{action="refund",currency="USD"}`))
	s.Equal(1.0, s.value(`refundflow_reviews_opened_total{action="refund"}`))
	s.Equal(1.0, s.value(`refundflow_webhook_to_completed_seconds_count{action="refund",path="after_review"}`))
	// The approval came an hour (workflow time) after the start.
	s.GreaterOrEqual(s.value(`refundflow_webhook_to_completed_seconds_sum{action="refund",path="after_review"}`), 3600.0)
}

func (s *MetricsSuite) TestUndeliveredEscalationAndRejection() {
	s.gateway = append(s.gateway, rejected("no"))
	s.escalate = []error{temporal.NewNonRetryableApplicationError("worktype not found", string(activities.ErrGenesysRejected), nil), nil}
	s.decide(5*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())
	s.Equal(remediation.StateRejected, s.outcome().State)

	s.Equal(1.0, s.value(`refundflow_escalations_undelivered_total{action="refund"}`))
	s.Equal(1.0, s.value(`refundflow_remediations_ended_total{action="refund",outcome="Rejected"}`))
	s.Equal(-1.0, s.value(`refundflow_refunded_minor_units_total{action="refund",currency="USD"}`))
}
