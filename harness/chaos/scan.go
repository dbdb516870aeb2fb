package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/refundflow/refundflow/internal/pci"
)

// finding is a secret or a card number where none may be. It names what
// was found, never the value itself.
type finding struct {
	Where string `json:"where"`
	What  string `json:"what"`
}

// sandboxAccessToken is the shape of the tokens the sandbox issues: any of
// them in a history or a log is a leaked OAuth token.
var sandboxAccessToken = regexp.MustCompile(`sbx_[0-9a-f]{24}`)

// scanner looks for this run's secrets, the card numbers it planted, any
// OAuth access token, and (where asked) anything shaped like a card number.
type scanner struct {
	needles []needle
}

type needle struct {
	what  string
	value []byte
}

func newScanner(sec secrets, pans []string) *scanner {
	s := &scanner{}
	for what, v := range sec.all() {
		s.needles = append(s.needles, needle{what: what, value: []byte(v)})
	}
	for _, pan := range pans {
		masked := "planted card number " + pci.Mask(pan)
		s.needles = append(s.needles, needle{what: masked, value: []byte(pan)})
		if digits := onlyDigits(pan); digits != pan {
			s.needles = append(s.needles, needle{what: masked + " (digits only)", value: []byte(digits)})
		}
	}
	return s
}

// scan reports what data holds. generic adds the search for any card
// number (13-19 digits, Luhn-valid, standing alone), which only makes
// sense where such digits could come from a person: logs and histories.
func (s *scanner) scan(where string, data []byte, generic bool) []finding {
	var out []finding
	for _, n := range s.needles {
		if c := bytes.Count(data, n.value); c > 0 {
			out = append(out, finding{Where: where, What: fmt.Sprintf("%s (%d times)", n.what, c)})
		}
	}
	if c := len(sandboxAccessToken.FindAllIndex(data, -1)); c > 0 {
		out = append(out, finding{Where: where, What: fmt.Sprintf("OAuth access token (%d times)", c)})
	}
	if generic {
		for _, pan := range cardNumbers(data) {
			out = append(out, finding{Where: where, What: "card number " + pci.Mask(pan)})
		}
	}
	return out
}

// scanFile scans a whole file.
func (s *scanner) scanFile(path string, generic bool) ([]finding, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("scan %s: %w", path, err)
	}
	return s.scan(path, data, generic), len(data), nil
}

// cardNumbers finds card numbers standing on their own: a run of digits,
// spaces and dashes with 13 to 19 digits, not glued to an identifier, that
// pci recognises as a card number. Glued means a letter or digit right
// next to it, or joined to it by a dash: the last groups of a UUID
// (710b-8489-048743255756) or a reference (rf_8134843355956555a7c) hold
// such digits by chance, a card number written in text does not.
func cardNumbers(data []byte) []string {
	var out []string
	for i := 0; i < len(data); {
		if !isDigit(data[i]) {
			i++
			continue
		}
		start, end, digits := i, i, 0
		j := i
		for ; j < len(data) && (isDigit(data[j]) || data[j] == ' ' || data[j] == '-'); j++ {
			if isDigit(data[j]) {
				digits++
				end = j + 1
			}
		}
		if digits >= 13 && digits <= 19 && !gluedBefore(data, start) && !gluedAfter(data, end) && pci.ContainsCardNumber(string(data[start:end])) {
			out = append(out, string(data[start:end]))
		}
		i = j
	}
	return out
}

func gluedBefore(data []byte, start int) bool {
	switch {
	case start == 0:
		return false
	case isAlnum(data[start-1]):
		return true
	default:
		return data[start-1] == '-' && start >= 2 && isAlnum(data[start-2])
	}
}

func gluedAfter(data []byte, end int) bool {
	switch {
	case end >= len(data):
		return false
	case isAlnum(data[end]):
		return true
	default:
		return data[end] == '-' && end+1 < len(data) && isAlnum(data[end+1])
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
