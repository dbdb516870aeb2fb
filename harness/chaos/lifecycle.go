package main

import (
	"fmt"
	"slices"

	"github.com/refundflow/refundflow/internal/remediation"
)

// Keys of verdict.lifecycle.
const (
	lcPending        = "pending"
	lcSucceeded      = "pending, then succeeded"
	lcFailed         = "pending, then failed"
	lcReversed       = "reversed"
	lcReopened       = "reversed after Completed, reopened in a new run"
	lcEndingRun      = "reversed, taken by the run still open"
	lcNotHeard       = "reversed, never heard of"
	lcPolls          = "settlement polls"
	lcAtSubmission   = "submission"
	lcReopenedFailed = "failed after Completed, reopened in a new run"
)

// countLifecycle counts what the gateway did to the transaction's refunds
// (pending, failed, reversed) and how its workflow heard the final word: by
// the gateway's webhook (the gateway-event signal), by a poll (a
// CheckSettlement answer), or already in the answer to a submission (a
// retry replayed after the refund had settled). For a pending refund that
// succeeded and ended Completed, it keeps the time from the gateway's
// succeeded to the run's close.
func (v *verdict) countLifecycle(runs []execution, f *facts, st remediation.Status, m *money) {
	var words []gatewayWord
	reopened := false
	for _, e := range runs {
		h := f.histories[e.RunID]
		words = append(words, h.Words...)
		v.lifecycle[lcPolls] += h.Polls
		reopened = reopened || h.Reopened
	}
	// heard reads words by what they mean, so every gateway's terms count
	// (PayPal's completed is Stripe's and the ERP's succeeded).
	heard := func(c created, settlements ...remediation.Settlement) (string, bool) {
		for _, w := range words {
			if w.GatewayReference != "" && w.GatewayReference != c.Reference {
				continue
			}
			if slices.Contains(settlements, remediation.SettlementOf(w.Status)) {
				return w.By, true
			}
		}
		return "", false
	}
	for _, c := range m.Created {
		// A term no settlement rule knows ("created", the plain
		// sandbox's answer) says nothing either way.
		if said := remediation.SettlementOf(st.GatewayStatus); c.Reference == st.GatewayReference &&
			said != remediation.SettlementUnknown && said != remediation.SettlementOf(c.Final) {
			// Not a money check: the status shows a gateway word that
			// is no longer true. Counted and listed, not a violation.
			v.staleStatus = append(v.staleStatus, fmt.Sprintf("%s: gatewayStatus %q, the gateway says %s (state %s)", st.TransactionID, st.GatewayStatus, c.Final, st.State))
		}
		if c.Pending {
			v.lifecycle[lcPending]++
			outcome := lcSucceeded
			if c.Failed {
				outcome = lcFailed
			}
			by, ok := heard(c, remediation.SettlementSucceeded, remediation.SettlementFailed)
			if !ok {
				by = lcAtSubmission
			}
			v.lifecycle[outcome]++
			v.lifecycle[outcome+" by "+by]++
			if !c.Failed && !c.Reversed && st.State == remediation.StateCompleted && st.GatewayReference == c.Reference && len(runs) > 0 {
				if closed := f.histories[runs[len(runs)-1].RunID].Closed; !closed.IsZero() {
					v.settled[by] = append(v.settled[by], closed.Sub(c.FinalAt))
				}
			}
		}
		if c.Reversed {
			v.lifecycle[lcReversed]++
			_, took := heard(c, remediation.SettlementReversed)
			switch {
			case reopened:
				v.lifecycle[lcReopened]++
			case took:
				v.lifecycle[lcEndingRun]++
			default:
				v.lifecycle[lcNotHeard]++
			}
		}
		if c.Failed && reopened && !c.Reversed {
			v.lifecycle[lcReopenedFailed]++
		}
	}
}
