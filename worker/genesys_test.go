package main

import (
	"testing"

	"github.com/refundflow/refundflow/activities"
)

func TestGenesysPacingRate(t *testing.T) {
	p := GenesysPacing{GenesysRateLimit: 300}
	if got := p.activitiesPerSecond(); got != 2.5 || activities.GenesysRequestsPerActivity != 2 {
		t.Errorf("300 a minute, 2 requests an activity: %v activities a second", got)
	}
	if err := (GenesysPacing{GenesysRateLimit: -1}).validate(); err == nil {
		t.Error("a negative rate limit is accepted")
	}
	if err := (GenesysPacing{}).validate(); err != nil {
		t.Errorf("0 (unpaced): %v", err)
	}
	acts := activities.GenesysActivities(&activities.Activities{})
	for _, name := range []string{"UpdateInteraction", "SetFailedWrapup", "EscalateToFinance", "RemindFinance", "CloseWorkitem"} {
		if acts[name] == nil {
			t.Errorf("%s is not served on the paced queue", name)
		}
	}
}
