package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// describeFailure turns an activity failure into one line for finance ops:
// what failed, whether retries ran out, and the last error's type and
// message, never a stack trace.
func describeFailure(what string, err error) string {
	var b strings.Builder
	b.WriteString(what + " failed")
	var actErr *temporal.ActivityError
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	// Retries stop at a final error or when the window runs out; a last
	// error that was itself retryable (or a timeout) means the window did.
	windowEnded := errors.As(err, &actErr) && actErr.RetryState() == enumspb.RETRY_STATE_TIMEOUT
	if errors.As(err, &appErr) && !appErr.NonRetryable() && !slices.Contains(activities.FinalErrorTypes, appErr.Type()) {
		windowEnded = true
	}
	if errors.As(err, &timeoutErr) {
		windowEnded = true
	}
	if windowEnded {
		b.WriteString(" after retrying for the whole retry window")
	}
	switch {
	case errors.As(err, &appErr):
		fmt.Fprintf(&b, " (%s): %s", appErr.Type(), oneLine(appErr.Message(), 300))
	case errors.As(err, &timeoutErr):
		fmt.Fprintf(&b, ": timed out (%s)", timeoutErr.TimeoutType())
	default:
		b.WriteString(": " + oneLine(err.Error(), 300))
	}
	return b.String()
}

// outcomeUnknown reports whether a failed submission may nonetheless have
// been made. The workflow sees only the last attempt's failure: the
// activity marks it when that attempt or an earlier one went unanswered
// (activities.SubmissionFailure), and a timeout means Temporal cut an
// attempt off mid-call (start-to-close, or the window closing on it; its
// cause is then the attempt before). It reads only the error, so it is as
// deterministic as the history it comes from.
func outcomeUnknown(err error) bool {
	var timeoutErr *temporal.TimeoutError
	return errors.As(err, &timeoutErr) || activities.SubmissionOutcomeUnknown(err)
}

// unknownOutcomeWarning heads the failure description (and so the review
// reason, the workitem, the wrap-up notes and the status' lastError). It
// comes first, and says the money may have moved in its first words,
// because the workitem's 512 characters may leave the reason only 40.
func unknownOutcomeWarning(action remediation.Action) string {
	return fmt.Sprintf("OUTCOME UNKNOWN: the %s may have been made (a gateway call timed out or was cut off mid-request); check with the gateway before deciding. ", action)
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
