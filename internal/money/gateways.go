package money

import (
	"fmt"
	"math"
)

// Some gateways count a currency's minor units with other exponents than
// ISO 4217. The workflow always holds ISO minor units; these tables are
// the one place the worker (to send), the sandbox (to play the gateway)
// and reconciliation (to compare what the gateway holds) read them.

// adyenExponents are Adyen's exceptions
// (docs.adyen.com/development-resources/currency-codes: "For CLP, CVE,
// IDR, and ISK the standard has a different number of decimals").
var adyenExponents = map[string]int{"CLP": 2, "ISK": 2, "CVE": 0, "IDR": 0}

// AdyenExponent is the number of minor-unit digits Adyen counts for an
// ISO 4217 currency.
func AdyenExponent(currency string) (int, error) {
	if e, ok := adyenExponents[currency]; ok {
		return e, nil
	}
	return Exponent(currency)
}

// paypalDecimals are the currencies PayPal takes and the decimals it
// writes them with (developer.paypal.com/api/rest/reference/currency-codes).
// HUF and TWD have two decimals in ISO 4217 and none at PayPal, JPY none
// in both. A currency missing here (KWD, BHD, ...) PayPal does not take.
var paypalDecimals = map[string]int{
	"AUD": 2, "BRL": 2, "CAD": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "HKD": 2,
	"HUF": 0, "ILS": 2, "INR": 2, "JPY": 0, "MYR": 2, "MXN": 2, "TWD": 0, "NZD": 2,
	"NOK": 2, "PHP": 2, "PLN": 2, "GBP": 2, "SGD": 2, "SEK": 2, "CHF": 2, "THB": 2, "USD": 2,
}

// PayPalDecimals is the number of decimals PayPal writes a currency with,
// and false for a currency PayPal does not take.
func PayPalDecimals(currency string) (int, bool) {
	d, ok := paypalDecimals[currency]
	return d, ok
}

// Rescale converts an amount counted with `from` minor-unit digits into
// one counted with `to`: 150000 from 2 to 0 is 1500. An amount with digits
// the target cannot hold (150050 from 2 to 0) is an error, never rounded:
// rounding money is a finance decision.
func Rescale(minor int64, from, to int) (int64, error) {
	out := minor
	for e := from; e > to; e-- {
		if out%10 != 0 {
			return 0, fmt.Errorf("%d minor units (%d digits) cannot be written with %d", minor, from, to)
		}
		out /= 10
	}
	for e := from; e < to; e++ {
		if out > math.MaxInt64/10 || out < math.MinInt64/10 {
			return 0, fmt.Errorf("%d minor units overflow at %d digits", minor, to)
		}
		out *= 10
	}
	return out, nil
}
