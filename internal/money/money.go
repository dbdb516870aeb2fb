// Package money converts decimal amounts in major units ("49.99") to integer
// minor units (4999) and back, exactly, with the ISO 4217 exponent of the
// currency. Nothing here goes through float64: a refund of 0.1 + 0.2 must be
// 30 cents, not 30.000000000000004.
package money

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Reason classifies why an amount cannot be used; the workflow shows it to
// finance ops when a disposition goes to review.
type Reason string

const (
	ReasonMissing         Reason = "missing"
	ReasonMalformed       Reason = "malformed"
	ReasonNegative        Reason = "negative"
	ReasonZero            Reason = "zero"
	ReasonTooManyDecimals Reason = "too_many_decimals"
	ReasonOverflow        Reason = "overflow"
	ReasonUnknownCurrency Reason = "unknown_currency"
)

// Error says why an amount was refused.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return "amount " + string(e.Reason) + ": " + e.Detail }

// ParseMinor parses a decimal amount in major units into minor units of the
// currency. It accepts digits with at most one decimal point ("49", "49.9",
// "49.99"), and refuses signs other than a leading minus (reported as
// negative), exponents, NaN/Inf, separators, more decimals than the currency
// has, and values beyond int64. Zero is returned as 0 without error: whether
// zero is acceptable is the caller's rule (see ParseRefund).
func ParseMinor(text, currency string) (int64, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, &Error{Reason: ReasonMissing, Detail: "no amount given"}
	}
	if s[0] == '-' {
		return 0, &Error{Reason: ReasonNegative, Detail: quote(text) + " is negative"}
	}
	intPart, fracPart, hasPoint := strings.Cut(s, ".")
	if intPart == "" || (hasPoint && fracPart == "") || !allDigits(intPart) || !allDigits(fracPart) {
		return 0, &Error{Reason: ReasonMalformed, Detail: quote(text) + " is not a plain decimal number"}
	}
	// Trailing zeros carry no value, so "500.00" JPY is 500 yen, while
	// "500.50" JPY asks for half a yen and is refused.
	trimmed := strings.TrimRight(fracPart, "0")
	if len(trimmed) > exp {
		return 0, &Error{Reason: ReasonTooManyDecimals,
			Detail: fmt.Sprintf("%s has more than %d decimals for %s", quote(text), exp, currency)}
	}
	digits := strings.TrimLeft(intPart, "0") + trimmed + strings.Repeat("0", exp-len(trimmed))
	if digits == "" || strings.Trim(digits, "0") == "" {
		return 0, nil
	}
	digits = strings.TrimLeft(digits, "0")
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, &Error{Reason: ReasonOverflow, Detail: quote(text) + " is too large"}
	}
	return v, nil
}

// ParseRefund is ParseMinor for money that leaves the company: zero is
// refused as well, since a gateway must never be sent 0.
func ParseRefund(text, currency string) (int64, error) {
	v, err := ParseMinor(text, currency)
	if err != nil {
		return 0, err
	}
	if v == 0 {
		return 0, &Error{Reason: ReasonZero, Detail: "amount is zero"}
	}
	return v, nil
}

// FormatMajor renders minor units as a decimal in major units with exactly
// the currency's exponent ("49.99", "500", "1.250"). It is the inverse of
// ParseMinor and is valid both as a JSON number and as a string.
func FormatMajor(minor int64, currency string) (string, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return "", err
	}
	if minor < 0 {
		return "", &Error{Reason: ReasonNegative, Detail: "negative minor units"}
	}
	s := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return s, nil
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return s[:len(s)-exp] + "." + s[len(s)-exp:], nil
}

// MaxMinor is the largest amount in minor units; exported for tests and
// documentation of the overflow rule.
const MaxMinor = math.MaxInt64

// Text is a decimal amount as it arrived: a JSON string ("49.99") or a JSON
// number (49.99), kept as its literal text so that it is never decoded
// through float64. Parse it with ParseMinor once the currency is known.
type Text string

// UnmarshalJSON keeps the literal digits of a number, or the contents of a
// string. null leaves the Text empty. Anything else is a type error.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
		return nil
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		// encoding/json has already checked this is a valid JSON number.
		*t = Text(b)
		return nil
	default:
		return &json.UnmarshalTypeError{Value: "non-number", Type: jsonTextType, Offset: 0}
	}
}

// MarshalJSON writes the amount as a string: it is the caller's text, and a
// string keeps it exact for any reader.
func (t Text) MarshalJSON() ([]byte, error) { return json.Marshal(string(t)) }

// JSONNumber returns the minor amount as a json.Number in major units, for
// request bodies whose contract says "a JSON number".
func JSONNumber(minor int64, currency string) (json.Number, error) {
	s, err := FormatMajor(minor, currency)
	return json.Number(s), err
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

var jsonTextType = reflect.TypeOf(Text(""))
