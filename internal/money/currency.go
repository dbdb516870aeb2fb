package money

import "strings"

// minorExponent lists the ISO 4217 currencies whose minor unit is not 2
// decimal places. Every other code in activeCodes has an exponent of 2.
var minorExponent = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// activeCodes are the ISO 4217 codes of currencies in circulation. Fund and
// precious-metal codes (XAU, XDR, ...) are left out on purpose: nobody is
// refunded in them over a contact-center call.
var activeCodes = strings.Fields(`
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
BSD BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP
DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK
LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
TOP TRY TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VED VES VND VUV WST XAF XCD
XCG XOF XPF YER ZAR ZMW ZWG
`)

var known = func() map[string]bool {
	m := make(map[string]bool, len(activeCodes))
	for _, c := range activeCodes {
		m[c] = true
	}
	return m
}()

// Exponent returns the number of minor-unit digits of an ISO 4217 currency
// (JPY 0, USD 2, KWD 3). The code must be upper case, as ISO writes it.
func Exponent(currency string) (int, error) {
	if !known[currency] {
		return 0, &Error{Reason: ReasonUnknownCurrency, Detail: "unknown currency " + quote(currency)}
	}
	if e, ok := minorExponent[currency]; ok {
		return e, nil
	}
	return 2, nil
}

// NormalizeCurrency upper-cases and trims a currency code as sent by a caller.
func NormalizeCurrency(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}
