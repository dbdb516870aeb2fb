package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays every history recorded from a real
// dev-server run (make histories) against today's workflow code. A failure
// means a change would break workflows already running in production: make
// it replay-safe (workflow.GetVersion) instead of re-recording.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// One per history shape (14), and one per run for a shape that
	// continues as new (1 more).
	if len(files) < 16 {
		t.Fatalf("found %d recorded histories in testdata, want one per history shape and run (16)", len(files))
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
