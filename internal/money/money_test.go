package money

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseMinor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text, cur string
		want      int64
		reason    Reason
	}{
		{"49.99", "USD", 4999, ""},
		{"49.9", "USD", 4990, ""},
		{"49", "USD", 4900, ""},
		{"0.01", "USD", 1, ""},
		{" 12.30 ", "EUR", 1230, ""},
		{"0.1", "USD", 10, ""},
		{"500", "JPY", 500, ""},
		{"500.00", "JPY", 500, ""},
		{"500.5", "JPY", 0, ReasonTooManyDecimals},
		{"1.234", "KWD", 1234, ""},
		{"1.2345", "KWD", 0, ReasonTooManyDecimals},
		{"49.999", "USD", 0, ReasonTooManyDecimals},
		{"49.990", "USD", 4999, ""},
		{"0", "USD", 0, ""},
		{"0.00", "USD", 0, ""},
		{"", "USD", 0, ReasonMissing},
		{"   ", "USD", 0, ReasonMissing},
		{"-5.00", "USD", 0, ReasonNegative},
		{"+5.00", "USD", 0, ReasonMalformed},
		{"1e3", "USD", 0, ReasonMalformed},
		{"1E-2", "USD", 0, ReasonMalformed},
		{"NaN", "USD", 0, ReasonMalformed},
		{"Inf", "USD", 0, ReasonMalformed},
		{"1,000.00", "USD", 0, ReasonMalformed},
		{".5", "USD", 0, ReasonMalformed},
		{"5.", "USD", 0, ReasonMalformed},
		{"1.2.3", "USD", 0, ReasonMalformed},
		{"0x10", "USD", 0, ReasonMalformed},
		{"92233720368547758.07", "USD", 9223372036854775807, ""},
		{"92233720368547758.08", "USD", 0, ReasonOverflow},
		{"99999999999999999999999", "JPY", 0, ReasonOverflow},
		{"10.00", "XXX", 0, ReasonUnknownCurrency},
		{"10.00", "usd", 0, ReasonUnknownCurrency},
		{"000123.40", "USD", 12340, ""},
	}
	for _, c := range cases {
		got, err := ParseMinor(c.text, c.cur)
		if c.reason == "" {
			if err != nil || got != c.want {
				t.Errorf("ParseMinor(%q, %s) = %d, %v; want %d", c.text, c.cur, got, err, c.want)
			}
			continue
		}
		var me *Error
		if !errors.As(err, &me) || me.Reason != c.reason {
			t.Errorf("ParseMinor(%q, %s) = %d, %v; want reason %s", c.text, c.cur, got, err, c.reason)
		}
	}
}

func TestParseRefundRefusesZero(t *testing.T) {
	t.Parallel()
	_, err := ParseRefund("0.00", "USD")
	var me *Error
	if !errors.As(err, &me) || me.Reason != ReasonZero {
		t.Fatalf("ParseRefund(0.00) error = %v, want zero", err)
	}
	if v, err := ParseRefund("0.01", "USD"); err != nil || v != 1 {
		t.Fatalf("ParseRefund(0.01) = %d, %v", v, err)
	}
}

func TestFormatMajor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		minor int64
		cur   string
		want  string
	}{
		{4999, "USD", "49.99"},
		{1, "USD", "0.01"},
		{0, "USD", "0.00"},
		{500, "JPY", "500"},
		{1250, "KWD", "1.250"},
		{5, "KWD", "0.005"},
		{9223372036854775807, "USD", "92233720368547758.07"},
	}
	for _, c := range cases {
		got, err := FormatMajor(c.minor, c.cur)
		if err != nil || got != c.want {
			t.Errorf("FormatMajor(%d, %s) = %q, %v; want %q", c.minor, c.cur, got, err, c.want)
		}
	}
	if _, err := FormatMajor(-1, "USD"); err == nil {
		t.Error("FormatMajor(-1) succeeded")
	}
}

func TestTextKeepsLiteralDigits(t *testing.T) {
	t.Parallel()
	var v struct {
		A Text `json:"a"`
		B Text `json:"b"`
		C Text `json:"c"`
	}
	// 0.30000000000000004 is what float64 makes of 0.1+0.2; the literal must
	// survive untouched, and so must a number too long for float64.
	if err := json.Unmarshal([]byte(`{"a":49.99,"b":"0.30","c":12345678901234567.89}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "49.99" || v.B != "0.30" || v.C != "12345678901234567.89" {
		t.Fatalf("got %q %q %q", v.A, v.B, v.C)
	}
	if got, _ := ParseMinor(string(v.C), "USD"); got != 1234567890123456789 {
		t.Fatalf("big literal parsed to %d", got)
	}
	for _, bad := range []string{`{"a":true}`, `{"a":[1]}`, `{"a":{}}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

func TestJSONNumberRoundTrip(t *testing.T) {
	t.Parallel()
	n, err := JSONNumber(4999, "USD")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"refundAmount": n})
	if string(b) != `{"refundAmount":49.99}` {
		t.Fatalf("body = %s", b)
	}
}

func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"49.99", "0", "1e3", "-1", "500.00", "92233720368547758.08", ".5", "1.2.3"} {
		f.Add(s, "USD")
		f.Add(s, "JPY")
		f.Add(s, "KWD")
	}
	f.Fuzz(func(t *testing.T, text, cur string) {
		v, err := ParseMinor(text, cur)
		if err != nil {
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a *money.Error", err)
			}
			return
		}
		if v < 0 {
			t.Fatalf("ParseMinor(%q) = %d < 0", text, v)
		}
		// Round trip: formatting and parsing again gives the same minor units.
		s, err := FormatMajor(v, cur)
		if err != nil {
			t.Fatalf("FormatMajor(%d, %s): %v", v, cur, err)
		}
		back, err := ParseMinor(s, cur)
		if err != nil || back != v {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", text, v, s, back, err)
		}
	})
}

func BenchmarkParseMinor(b *testing.B) {
	for b.Loop() {
		if _, err := ParseMinor("1234.56", "USD"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRefund is the webhook's amount, as the contract allows it:
// a JSON number's text, checked against the currency's exponent.
func BenchmarkParseRefund(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRefund("49.99", "USD"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONNumber is the amount going out in the gateway's body.
func BenchmarkJSONNumber(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := JSONNumber(4999, "USD"); err != nil {
			b.Fatal(err)
		}
	}
}
