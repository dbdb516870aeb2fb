// Package pci keeps cardholder data out of the system. Genesys forwards
// whatever the agent or the IVR put into participant data, and an agent who
// pastes a card number into a note would otherwise carry it into workflow
// history, logs and the gateway. The starter screens every request with
// ContainsCardholderData before anything else reads it, and anything that
// logs free text masks it with Mask.
//
// The package has no dependencies beyond the standard library, so it can be
// used anywhere, including inside a workflow.
package pci

import (
	"strings"
	"unicode/utf8"
)

// A card number (PAN) is 13 to 19 digits that pass the Luhn check, written
// either as one run of digits or in groups separated by spaces or dashes
// ("4111 1111 1111 1111", "4111-1111-1111-1111").
const (
	minPANDigits = 13
	maxPANDigits = 19
	// maxSeparators bounds how many separator characters may sit between two
	// digits of one number: "4111 - 1111" is still one number, while digits
	// far apart are not.
	maxSeparators = 3
)

// ContainsCardNumber reports whether s holds a card number anywhere, also
// inside longer text ("card 4111 1111 1111 1111 thanks").
//
// A run of digits joined by separators counts when its digits, or the digits
// of consecutive separated groups within it, number 13 to 19 and pass Luhn.
// Looking at group spans catches a card number written next to another
// number ("4111 1111 1111 1111 123"), while an unbroken run of 20 digits is
// not a card number and is not taken apart.
func ContainsCardNumber(s string) bool {
	found := false
	scanRuns(s, func(r run) bool {
		if r.hasPAN() {
			found = true
			return false
		}
		return true
	})
	return found
}

// Mask replaces the middle digits of every card-number-like run (13 or more
// digits, spaces and dashes allowed between them, Luhn-valid or not) with
// '*', keeping at most the first six and the last four digits, the most PCI
// DSS allows to be displayed. Other text, separators included, is kept, so
// a masked log line still reads naturally.
func Mask(s string) string {
	var out []byte
	last := 0
	scanRuns(s, func(r run) bool {
		if len(r.digits) < minPANDigits {
			return true
		}
		if out == nil {
			out = make([]byte, 0, len(s))
		}
		out = append(out, s[last:r.start]...)
		d := 0
		for i := r.start; i < r.end; {
			c, size := decodeRune(s, i)
			if isDigit(c) {
				if d >= 6 && d < len(r.digits)-4 {
					out = append(out, '*')
				} else {
					out = append(out, byte(c))
				}
				d++
			} else {
				out = append(out, s[i:i+size]...)
			}
			i += size
		}
		last = r.end
		return true
	})
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

// run is one number found in a text: its digits, the byte range it spans and
// where each separated group of digits starts within digits.
type run struct {
	digits     []byte
	groupStart []int
	start, end int
}

// hasPAN checks the whole run and every span of whole groups within it.
func (r run) hasPAN() bool {
	n := len(r.digits)
	if n < minPANDigits {
		return false
	}
	if n <= maxPANDigits && luhn(r.digits) {
		return true
	}
	if len(r.groupStart) == 1 {
		return false
	}
	bounds := append(r.groupStart, n)
	for i := 0; i < len(bounds)-1; i++ {
		for j := i + 1; j < len(bounds); j++ {
			if i == 0 && j == len(bounds)-1 {
				continue // the whole run, checked above
			}
			width := bounds[j] - bounds[i]
			if width > maxPANDigits {
				break
			}
			if width >= minPANDigits && luhn(r.digits[bounds[i]:bounds[j]]) {
				return true
			}
		}
	}
	return false
}

// uuidSpans returns the byte ranges of the UUIDs (8-4-4-4-12 hex digits,
// the shape of every Genesys id) standing on their own in s. Their digits
// are not a card number: the groups of one random UUID in about 355 join
// into a Luhn-valid run of 13 or more digits
// (fb9c672a-7cef-4584-8787-80468b1b5698), and a Genesys disposition
// carries four or five UUIDs, so screening them refused about 1% of real
// webhooks as cardholder data (found by the chaos run). A card number
// cannot take this shape: no hex letters, no 8-4-4-4-12 groups.
func uuidSpans(s string) [][2]int {
	var out [][2]int
	prevEnd := 0
	for from := 0; from < len(s); {
		k := strings.IndexByte(s[from:], '-')
		if k < 0 {
			break
		}
		k += from
		start := k - 8 // a UUID's first dash is its ninth character
		if start >= prevEnd && isUUIDAt(s, start) &&
			(start == 0 || !isASCIIAlnum(s[start-1])) && (start+36 == len(s) || !isASCIIAlnum(s[start+36])) {
			out = append(out, [2]int{start, start + 36})
			prevEnd, from = start+36, start+36
			continue
		}
		from = k + 1
	}
	return out
}

func isUUIDAt(s string, i int) bool {
	if i < 0 || i+36 > len(s) {
		return false
	}
	for j := range 36 {
		c := s[i+j]
		if j == 8 || j == 13 || j == 18 || j == 23 {
			if c != '-' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// scanRuns calls fn for every maximal run of ASCII digits joined by at most
// maxSeparators separator characters, until fn returns false. Runs never
// start or continue inside a UUID (see uuidSpans).
func scanRuns(s string, fn func(run) bool) {
	var digits []byte
	var groups []int
	spans := uuidSpans(s)
	next := 0 // the first span not yet behind i
	for i := 0; i < len(s); {
		for next < len(spans) && spans[next][1] <= i {
			next++
		}
		limit := len(s)
		if next < len(spans) {
			if i >= spans[next][0] {
				i = spans[next][1]
				continue
			}
			limit = spans[next][0]
		}
		if !isDigit(rune(s[i])) {
			i++
			continue
		}
		r := run{start: i}
		digits, groups = digits[:0], groups[:0]
		groups = append(groups, 0)
		end := i
		for i < limit {
			if isDigit(rune(s[i])) {
				digits = append(digits, s[i])
				i++
				end = i
				continue
			}
			// Look past separators for another digit of the same number.
			j, seps := i, 0
			for j < limit && seps < maxSeparators {
				c, size := decodeRune(s, j)
				if !isSeparator(c) {
					break
				}
				j += size
				seps++
			}
			if seps == 0 || j >= limit || !isDigit(rune(s[j])) {
				break
			}
			groups = append(groups, len(digits))
			i = j
		}
		r.end = end
		r.digits, r.groupStart = digits, groups
		if !fn(r) {
			return
		}
		i = end
	}
}

// isSeparator lists what people put between the groups of a card number:
// spaces and dashes, including the typographic ones a word processor or a
// chat client substitutes.
func isSeparator(c rune) bool {
	switch c {
	case ' ', '\t', '-', '\u00a0', '\u2007', '\u202f', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212':
		return true
	}
	return false
}

func isDigit(c rune) bool { return c >= '0' && c <= '9' }

func decodeRune(s string, i int) (rune, int) {
	if s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// luhn is the ISO/IEC 7812 check digit test.
func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
