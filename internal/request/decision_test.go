package request

import (
	"slices"
	"strings"
	"testing"
)

func TestDecodeDecision(t *testing.T) {
	t.Parallel()
	req, bad := DecodeDecision([]byte(`{"decisionId":"d-1","decision":" Approve ","note":"checked with the bank","refundAmount":12.50,"extra":1}`))
	if bad != nil {
		t.Fatal(bad)
	}
	if want := (Decision{DecisionID: "d-1", Decision: "approve", Note: "checked with the bank", RefundAmount: "12.50"}); req != want {
		t.Fatalf("got  %+v\nwant %+v", req, want)
	}
	if req, bad := DecodeDecision([]byte(`{"decision":"resolved","note":null,"decisionId":null}`)); bad != nil || req.Decision != "resolved" {
		t.Fatalf("%+v %v", req, bad)
	}
}

// TestDecodeDecisionRefuses pins the 400 answers a finance operator reads.
func TestDecodeDecisionRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body, problems string
		fields         []string
	}{
		{`[1]`, "body must be a JSON object", nil},
		{`{}`, "decision must be approve, reject or resolved", []string{"decision"}},
		{`{"decision":1}`, "decision must be a string", []string{"decision"}},
		{`{"decision":"maybe"}`, "decision must be approve, reject or resolved", []string{"decision"}},
		{`{"decision":"approve","decisionId":"has space"}`, "decisionId must be 1-128 characters of A-Z a-z 0-9 . _ : -", []string{"decisionId"}},
		{`{"decision":"reject","refundAmount":"5.00"}`, "refundAmount goes only with approve", []string{"refundAmount"}},
		{`{"decision":"approve","refundAmount":true}`, "refundAmount must be a string or a number", []string{"refundAmount"}},
		{`{"decision":"approve","note":5}`, "note must be a string", []string{"note"}},
		{`{"decision":"approve","note":"` + strings.Repeat("n", MaxNoteChars+1) + `"}`, "note is longer than 2000 characters", []string{"note"}},
		{`{"decision":"reject","note":[],"refundAmount":"1"}`, "note must be a string; refundAmount goes only with approve",
			[]string{"note", "refundAmount"}},
	}
	for _, c := range cases {
		_, bad := DecodeDecision([]byte(c.body))
		if bad == nil {
			t.Errorf("%.80s: accepted", c.body)
			continue
		}
		if bad.Error() != c.problems || !slices.Equal(bad.Fields, c.fields) {
			t.Errorf("%.80s:\ngot  %q %q\nwant %q %q", c.body, bad.Error(), bad.Fields, c.problems, c.fields)
		}
	}
}
