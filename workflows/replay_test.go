package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays every history recorded from a real
// dev-server run (go run ./harness/record-histories) against today's workflow code. A failure
// means a change would break workflows already running in production: make
// it replay-safe (workflow.GetVersion) instead of re-recording.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// One per history shape of harness/record-histories (22: the last 7
	// are the gateway-settlement change, the settle-beside-pending-write
	// change, the reopen input, the paced Genesys queue and a decision
	// made in Genesys), one more run for the shape that continues as new,
	// the GenesysWorkitemDecision workflow of the decision made in Genesys
	// (approved_in_genesys.workitem_decision.json), and one recorded with
	// the code before continue-as-new (68b1c6a). Exact, so none goes
	// missing.
	if len(files) != 25 {
		t.Fatalf("found %d recorded histories in testdata, want 25: one per history shape and run", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			replayer := worker.NewWorkflowReplayer()
			(&Remediation{Settings: DefaultSettings()}).Register(replayer)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatalf("replay %s: %v", file, err)
			}
		})
	}
}
