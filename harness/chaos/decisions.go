package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// decision is one request to the finance API and its answer.
type decision struct {
	Txn          string `json:"transactionId"`
	DecisionID   string `json:"decisionId"`
	Kind         string `json:"decision"`
	Approver     string `json:"approver"`
	RefundAmount string `json:"refundAmount,omitempty"`
	// Copy is "" for a first request, or how a repeat of its decisionId
	// was sent ("concurrent", "later").
	Copy string `json:"copy,omitempty"`
	// FourEyes is a decision by the agent who took the call: the workflow
	// must refuse it.
	FourEyes bool `json:"fourEyes,omitempty"`
	// Stale is sent to a transaction that is not in review: 409.
	Stale bool `json:"stale,omitempty"`
	Code  int  `json:"code"`
	// Answered is when the finance API answered.
	Answered time.Time `json:"answered"`
	GaveUp   bool      `json:"gaveUp,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// planDecisions decides, for each review, what finance ops do: approve
// (with a corrected amount when the original cannot be used), reject,
// mark resolved, or leave it waiting; some decisionIds are sent twice.
// Completed transactions get a few stale decisions, which must be refused.
//
// A review of a refund the gateway failed or reversed takes its turn in a
// fixed round (approve, reject, approve, resolved, approve, wait), so even
// the few of a short run see every decision, approvals most: an approval
// makes a new refund under the renewed key.
func planDecisions(rng *rand.Rand, fourEyesAgent string, reviews []*txnPlan, completed []*txnPlan) (fourEyes, first, later []decision) {
	lifecycleTurn := 0
	for _, t := range reviews {
		if t.AgentID == fourEyesAgent && len(fourEyes) < 5 {
			fourEyes = append(fourEyes, decision{Txn: t.ID, DecisionID: "dec-" + t.ID + "-agent", Kind: "approve", Approver: fourEyesAgent, FourEyes: true})
		}
		d := decision{Txn: t.ID, DecisionID: "dec-" + t.ID + "-1", Approver: "alice"}
		roll := rng.Float64()
		if t.Class.lifecycle() {
			roll = []float64{0, 0.5, 0, 0.75, 0, 0.9}[lifecycleTurn%6]
			lifecycleTurn++
		}
		switch {
		case roll < 0.45:
			d.Kind = "approve"
			if t.Class == classBadAmount {
				d.RefundAmount = correctedAmount(t.Currency)
			}
		case roll < 0.70:
			d.Kind = "reject"
		case roll < 0.80:
			d.Kind = "resolved"
		default:
			continue // left waiting: AwaitingReview is a legitimate end of the run
		}
		first = append(first, d)
		switch rng.IntN(10) {
		case 0, 1:
			c := d
			c.Copy = "concurrent"
			first = append(first, c)
		case 2, 3:
			c := d
			c.Copy = "later"
			later = append(later, c)
		}
	}
	for i, t := range completed {
		if i == 5 {
			break
		}
		later = append(later, decision{Txn: t.ID, DecisionID: "dec-" + t.ID + "-stale", Kind: "approve", Approver: "alice", Stale: true})
	}
	return fourEyes, first, later
}

// sendDecisions posts decisions a few at a time; a first request and its
// concurrent copy go out together.
func (r *runner) sendDecisions(ctx context.Context, ds []decision) []decision {
	out := make([]decision, len(ds))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = r.sendDecision(ctx, ds[i])
		}()
	}
	wg.Wait()
	return out
}

func (r *runner) sendDecision(ctx context.Context, d decision) decision {
	token := r.world.secrets.approverToken
	if d.FourEyes {
		token = r.world.secrets.agentToken
	}
	body := map[string]any{"decisionId": d.DecisionID, "decision": d.Kind, "note": "chaos run: " + d.Kind}
	if d.RefundAmount != "" {
		body["refundAmount"] = d.RefundAmount
	}
	a, _, err := r.caller.send(ctx, http.MethodPost, fmt.Sprintf("/v1/remediations/%s/decision", d.Txn), token, body, nil)
	if err != nil {
		d.GaveUp, d.Error = true, err.Error()
		return d
	}
	d.Code, d.Answered = a.Code, time.Now()
	if a.Code != http.StatusAccepted {
		d.Error = a.Raw
	}
	return d
}
