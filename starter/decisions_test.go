package main

import (
	"testing"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/request"
)

// Which record a retried request is answered with.
func TestRecordedDecision(t *testing.T) {
	t.Parallel()
	rec := func(id, approver, decision, outcome string) remediation.DecisionRecord {
		return remediation.DecisionRecord{Decision: remediation.Decision{DecisionID: id, Approver: approver, Decision: decision}, Outcome: outcome}
	}
	st := remediation.Status{Decisions: []remediation.DecisionRecord{
		rec("d1", "alice", "approve", remediation.OutcomeRefused),
		rec("d2", "bob", "approve", remediation.OutcomeApplied),
		rec("d2", "bob", "approve", remediation.OutcomeDuplicate),
		rec("d1", "alice", "approve", remediation.OutcomeRefused),
	}}
	for _, c := range []struct {
		name     string
		req      request.Decision
		approver string
		found    bool
		outcome  string
	}{
		{"applied beats a later duplicate", request.Decision{DecisionID: "d2", Decision: "approve"}, "bob", true, remediation.OutcomeApplied},
		{"the newest of the rest", request.Decision{DecisionID: "d1", Decision: "approve"}, "alice", true, remediation.OutcomeRefused},
		{"another approver", request.Decision{DecisionID: "d2", Decision: "approve"}, "alice", false, ""},
		{"another decision", request.Decision{DecisionID: "d2", Decision: "reject"}, "bob", false, ""},
		{"no decisionId", request.Decision{Decision: "approve"}, "bob", false, ""},
	} {
		got, ok := recordedDecision(st, c.req, c.approver)
		if ok != c.found || got.Outcome != c.outcome {
			t.Errorf("%s: got %+v, %v; want found %v with outcome %q", c.name, got, ok, c.found, c.outcome)
		}
	}
}
