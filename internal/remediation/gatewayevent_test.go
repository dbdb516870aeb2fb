package remediation

import "testing"

func TestSettlementOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		next, current string
		later         bool
	}{
		{"succeeded", "pending", true},
		{"failed", "pending", true},
		{"reversed", "succeeded", true},
		{"failed", "succeeded", true},
		{"pending", "succeeded", false},
		{"succeeded", "reversed", false},
		{"pending", "failed", false},
		{"succeeded", "", true},
		{"pending", "", true},
	} {
		if got := SettlementOf(tc.next).Later(SettlementOf(tc.current)); got != tc.later {
			t.Errorf("%s after %s: later %v, want %v", tc.next, tc.current, got, tc.later)
		}
	}
	if SettlementOf("requires_action") != SettlementPending || SettlementOf("Canceled") != SettlementFailed || SettlementOf("whatever") != SettlementUnknown {
		t.Error("classification of gateway terms")
	}
}
