// Package e2e runs the real programs (sandbox, worker, starter) as processes
// against a real Temporal dev server, and checks outcomes where the world
// sees them: the sandbox's ledger, the starter's API, the workflow status.
package e2e

import (
	"testing"

	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// startWorld is a stack with the settings of these tests: a gateway outage
// ends in review within seconds, OAuth tokens live 3s so their refresh
// runs, and no reminder fires during a test. Without the UI it runs on an
// in-memory dev server of its own.
func startWorld(t *testing.T, o stack.Options) *testenv.World {
	t.Helper()
	if !o.UI {
		o.TemporalAddress = testenv.StartTemporal(t).HostPort
	}
	o.WorkerEnv = append([]string{
		"REFUNDFLOW_GATEWAY_TIMEOUT=2s",
		"REFUNDFLOW_GATEWAY_RETRY_WINDOW=4s",
		"REFUNDFLOW_REVIEW_REMINDER=1h",
	}, o.WorkerEnv...)
	o.SandboxEnv = append([]string{"REFUNDFLOW_SANDBOX_TOKEN_TTL=3s"}, o.SandboxEnv...)
	return testenv.StartWorld(t, o)
}
