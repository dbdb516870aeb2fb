// Package request decodes the JSON bodies the contract defines: the Genesys
// disposition webhook and a finance operator's decision. It checks types,
// required fields and formats, and reports what is wrong in the words of the
// starter's 400 answer, so the HTTP edge only has to write it out.
//
// It is its own package, with no Temporal import, for two reasons. It is the
// contract's request side, readable apart from the wiring of the starter.
// And it is fuzzed: `go test -fuzz` instruments every non-standard package
// the test binary links. In package starter that is the Temporal SDK, gRPC
// and the API protos, about 100s of cold build in CI before the first input;
// here it is under 30s, most of it the standard library.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a request the caller must correct (an HTTP 400): what is wrong,
// and which of the contract's fields.
type Error struct {
	// Problems are the sentences of the answer, in the order found; Error
	// joins them.
	Problems []string
	// Fields names the contract fields at fault, for a caller that marks
	// them in a form. It is empty when the body is not a JSON object at all.
	Fields []string
}

func (e *Error) Error() string { return strings.Join(e.Problems, "; ") }

func (e *Error) add(field, problem string) {
	e.Fields = append(e.Fields, field)
	e.Problems = append(e.Problems, problem)
}

func (e *Error) empty() bool { return len(e.Fields) == 0 }

// has reports whether field already has a problem, so a later check (the
// pattern after the type, say) does not pile a second one on it.
func (e *Error) has(field string) bool {
	for _, f := range e.Fields {
		if f == field {
			return true
		}
	}
	return false
}

// maxFieldChars bounds the identifier fields. Genesys IDs are 36-character
// UUIDs; the bound keeps one absurd value from making the workflow start
// fail on Temporal's search-attribute and metadata size limits.
const maxFieldChars = 256

// decodeObject parses a JSON object into its members, leaving each value
// raw. It is the only place that reports malformed JSON, by offset: the body
// is never echoed.
func decodeObject(body []byte) (map[string]json.RawMessage, *Error) {
	var members map[string]json.RawMessage
	err := json.Unmarshal(body, &members)
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return nil, &Error{Problems: []string{fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)}}
	case err != nil && !json.Valid(body):
		return nil, &Error{Problems: []string{"malformed JSON"}}
	case err != nil || members == nil:
		// An array, a string, a number or null.
		return nil, &Error{Problems: []string{"body must be a JSON object"}}
	}
	return members, nil
}

// stringField decodes members[name] into dst: a JSON string, or null or
// absent for "". Anything else is recorded as a type error.
func stringField(members map[string]json.RawMessage, name string, dst *string, errs *Error) {
	raw, ok := members[name]
	if !ok {
		return
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		errs.add(name, name+" must be a string")
		return
	}
	if utf8.RuneCountInString(*dst) > maxFieldChars {
		errs.add(name, fmt.Sprintf("%s is longer than %d characters", name, maxFieldChars))
	}
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
