package reconcile

import "testing"

// The sandbox keeps each gateway's own minor units; reconciliation
// compares ISO 4217 ones, as the remediations hold them.
func TestISOMinorUndoesTheGatewaysUnits(t *testing.T) {
	for _, c := range []struct {
		gateway, currency string
		minor, want       int64
	}{
		{"erp", "USD", 4999, 4999},
		{"paypal", "HUF", 1500, 150000},
		{"paypal", "USD", 4999, 4999},
		{"adyen", "CVE", 1500, 150000},
		{"adyen", "ISK", 500, 5},
		{"adyen", "ISK", 550, 550}, // not whole krónur: left as written, a mismatch
		{"adyen", "KWD", 1234, 1234},
		{"stripe", "JPY", 500, 500},
	} {
		if got := isoMinor(c.gateway, c.minor, c.currency); got != c.want {
			t.Errorf("isoMinor(%s, %d %s) = %d, want %d", c.gateway, c.minor, c.currency, got, c.want)
		}
	}
}
