package pci

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// ContainsCardholderData reports whether a JSON document holds cardholder
// data: a card number in any string or number, or in any key, at any depth,
// or a key named like a card number or security code field (IsCardDataKey).
//
// It reads the raw bytes so that it runs before anything else has decoded
// (and possibly logged or stored) a value. A document that is not valid JSON
// is scanned as plain text for card numbers instead, so a malformed body
// with a card number in it is still recognised as one.
func ContainsCardholderData(raw []byte) bool {
	found, err := screenJSON(raw)
	if found {
		return true
	}
	if err != nil {
		return ContainsCardNumber(string(raw))
	}
	return false
}

// screenJSON walks every token. Tokens alternate key and value inside an
// object, so a small stack says which one a string is.
func screenJSON(raw []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	// inObject[i] is true when container i is an object; expectKey is true
	// when the next token in the innermost object is a key.
	var inObject []bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return false, io.ErrUnexpectedEOF // no value, or one cut short
		}
		if err != nil {
			return false, err
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				inObject = append(inObject, v == '{')
				expectKey = v == '{'
				continue
			case '}', ']':
				inObject = inObject[:len(inObject)-1]
			}
		case string:
			if expectKey {
				if IsCardDataKey(v) || ContainsCardNumber(v) {
					return true, nil
				}
				expectKey = false
				continue
			}
			if ContainsCardNumber(v) {
				return true, nil
			}
		case json.Number:
			if numberHoldsPAN(string(v)) {
				return true, nil
			}
		}
		if len(inObject) == 0 {
			// The document is one value: anything after it makes it invalid
			// (a json.Decoder would happily read "1 2" as two documents).
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				return false, errTrailingData
			}
			return false, nil
		}
		// A value has ended inside a container: in an object, a key is next.
		expectKey = inObject[len(inObject)-1]
	}
}

var errTrailingData = errors.New("data after the JSON value")

// numberHoldsPAN checks a JSON number literal: its digits as written
// (4111111111111111 or 4111111111111111.0), and the integer an exponent
// form spells (4.111111111111111e15), which a sender's JSON encoder may
// produce for a long numeric field.
func numberHoldsPAN(lit string) bool {
	if ContainsCardNumber(lit) {
		return true
	}
	digits, ok := integerDigits(lit)
	return ok && len(digits) >= minPANDigits && len(digits) <= maxPANDigits && luhn([]byte(digits))
}

// integerDigits expands a JSON number with an exponent into the digits of
// the integer it denotes, when it is one of at most maxPANDigits digits.
// It never builds a big number: "1e1000000000" is refused by length first.
func integerDigits(lit string) (string, bool) {
	lit = strings.TrimPrefix(lit, "-")
	mant, expText, hasExp := strings.Cut(strings.ToLower(lit), "e")
	if !hasExp {
		return "", false
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	exp := 0
	sign := 1
	switch {
	case strings.HasPrefix(expText, "-"):
		sign, expText = -1, expText[1:]
	case strings.HasPrefix(expText, "+"):
		expText = expText[1:]
	}
	for _, c := range expText {
		exp = exp*10 + int(c-'0')
		if exp > 2*maxPANDigits+len(mant) {
			return "", false
		}
	}
	exp *= sign
	digits := strings.TrimLeft(intPart+frac, "0")
	shift := exp - len(frac) // power of ten applied to digits
	if shift < 0 {
		if -shift > len(digits) || strings.Trim(digits[len(digits)+shift:], "0") != "" {
			return "", false
		}
		digits = digits[:len(digits)+shift]
	} else {
		if len(digits)+shift > maxPANDigits {
			return "", false
		}
		digits += strings.Repeat("0", shift)
	}
	return digits, digits != ""
}
