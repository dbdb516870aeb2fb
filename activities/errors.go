package activities

import "go.temporal.io/sdk/temporal"

// Error types the workflow's retry policies name. Final ones are also marked
// non-retryable where they are raised; listing them in the policy too keeps
// the rule readable next to the calls it governs.
const (
	// ErrGatewayRejected: the gateway answered a final 4xx.
	ErrGatewayRejected = "GatewayRejected"
	// ErrGatewayUnavailable: 408, 429, 5xx, timeout or connection error.
	ErrGatewayUnavailable = "GatewayUnavailable"
	// ErrAuthFailed: credentials refused even after fetching a new token.
	ErrAuthFailed = "AuthFailed"
	// ErrInvalidRequest: the request itself is wrong; retrying cannot help.
	ErrInvalidRequest = "InvalidRequest"
	// ErrConfiguration: the deployment cannot do this (e.g. a chargeback
	// through Stripe, or a transaction ID Stripe cannot refund).
	ErrConfiguration = "Configuration"
	// ErrGenesysRejected: Genesys answered a final 4xx.
	ErrGenesysRejected = "GenesysRejected"
	// ErrGenesysUnavailable: Genesys answered 429/5xx or could not be reached.
	ErrGenesysUnavailable = "GenesysUnavailable"
)

// FinalErrorTypes are never retried by the workflow's policies.
var FinalErrorTypes = []string{ErrGatewayRejected, ErrAuthFailed, ErrInvalidRequest, ErrConfiguration, ErrGenesysRejected}

func invalidRequest(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrInvalidRequest, nil)
}
