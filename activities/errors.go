package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"
)

// ErrorType names a class of failure: it is the type of the
// ApplicationError an activity returns, which the workflow's retry policies
// read. Final ones are also marked non-retryable where they are raised;
// listing them in the policy too keeps the rule readable next to the calls
// it governs.
type ErrorType string

// The error types.
const (
	// ErrGatewayRejected: the gateway answered a final 4xx.
	ErrGatewayRejected ErrorType = "GatewayRejected"
	// ErrGatewayUnavailable: 408, 429, 5xx, timeout or connection error.
	ErrGatewayUnavailable ErrorType = "GatewayUnavailable"
	// ErrAuthFailed: credentials refused even after fetching a new token.
	ErrAuthFailed ErrorType = "AuthFailed"
	// ErrInvalidRequest: the request itself is wrong; retrying cannot help.
	ErrInvalidRequest ErrorType = "InvalidRequest"
	// ErrConfiguration: the deployment cannot do this (e.g. a chargeback
	// through Stripe, or a transaction ID Stripe cannot refund).
	ErrConfiguration ErrorType = "Configuration"
	// ErrGenesysRejected: Genesys answered a final 4xx.
	ErrGenesysRejected ErrorType = "GenesysRejected"
	// ErrGenesysUnavailable: Genesys answered 429/5xx or could not be reached.
	ErrGenesysUnavailable ErrorType = "GenesysUnavailable"
)

// FinalErrorTypes are never retried by the workflow's policies.
// It is a []string because that is what temporal.RetryPolicy takes.
var FinalErrorTypes = []string{
	string(ErrGatewayRejected), string(ErrAuthFailed), string(ErrInvalidRequest),
	string(ErrConfiguration), string(ErrGenesysRejected),
}

// Final is a non-retryable error of this type.
func (t ErrorType) Final(msg string, cause error) error {
	return temporal.NewNonRetryableApplicationError(msg, string(t), cause)
}

// Of reports whether err is (or wraps) an ApplicationError of this type.
func (t ErrorType) Of(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == string(t)
}

// SubmissionFailure rides on a failed submission as its ApplicationError's
// details. The error type decides whether to retry; this tells the workflow
// what finance ops must be warned of. It is also the heartbeat detail one
// attempt leaves for the next (see Activities.submit).
type SubmissionFailure struct {
	// OutcomeUnknown: a request of this submission went out and no answer
	// came back (a timeout, or the connection cut mid-request), in this
	// attempt or an earlier one. The gateway may have made the refund.
	OutcomeUnknown bool `json:"outcomeUnknown"`
	// Attempt is the activity attempt that left this heartbeat detail.
	Attempt int32 `json:"attempt,omitempty"`
}

// SubmissionOutcomeUnknown reports whether err (an activity's own error, or
// one link of the chain the workflow receives) says the gateway may have
// made the refund although the call failed.
func SubmissionOutcomeUnknown(err error) bool {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.HasDetails() {
		return false
	}
	var f SubmissionFailure
	return ae.Details(&f) == nil && f.OutcomeUnknown
}

func invalidRequest(msg string) error {
	return ErrInvalidRequest.Final(msg, nil)
}
