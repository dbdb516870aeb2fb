package money

import "testing"

func TestRescale(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		from, to int
		want     int64
		err      bool
	}{
		{150000, 2, 0, 1500, false},
		{150050, 2, 0, 0, true},
		{5, 0, 2, 500, false},
		{4999, 2, 2, 4999, false},
		{1234, 3, 2, 0, true},
		{MaxMinor, 0, 2, 0, true},
	} {
		got, err := Rescale(c.minor, c.from, c.to)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("Rescale(%d, %d, %d) = %d, %v; want %d, error %v", c.minor, c.from, c.to, got, err, c.want, c.err)
		}
	}
}

func TestGatewayExponents(t *testing.T) {
	for cur, want := range map[string]int{"USD": 2, "JPY": 0, "KWD": 3, "CLP": 2, "ISK": 2, "CVE": 0, "IDR": 0} {
		if got, err := AdyenExponent(cur); err != nil || got != want {
			t.Errorf("AdyenExponent(%s) = %d, %v; want %d", cur, got, err, want)
		}
	}
	if _, err := AdyenExponent("XXQ"); err == nil {
		t.Error("AdyenExponent of an unknown code: no error")
	}
	for cur, want := range map[string]int{"USD": 2, "JPY": 0, "HUF": 0, "TWD": 0} {
		if got, ok := PayPalDecimals(cur); !ok || got != want {
			t.Errorf("PayPalDecimals(%s) = %d, %v; want %d", cur, got, ok, want)
		}
	}
	if _, ok := PayPalDecimals("KWD"); ok {
		t.Error("PayPal takes KWD?")
	}
}
