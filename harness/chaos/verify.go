package main

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/refundflow/refundflow/internal/remediation"
)

// verdict is what the checks found, transaction by transaction.
type verdict struct {
	violations []string
	// doubles are transactions with more than one refund or chargeback.
	doubles map[string]bool
	// lost are transactions whose money the system cannot account for: a
	// webhook never answered, no workflow, a workflow stuck or ended
	// outside the four allowed states, Completed without a refund at the
	// gateway, or a refund at the gateway the workflow does not know of.
	lost map[string]bool
	// live is, per transaction checked, how many refunds stand.
	live map[string]int
	// lifecycle counts what the gateway did to refunds and how the
	// workflows heard it; settled is the time from the gateway's final
	// succeeded to Completed, by how the workflow heard it.
	lifecycle map[string]int
	settled   map[string][]time.Duration
	// staleStatus lists workflows whose gatewayStatus disagrees with the
	// gateway's final status of the same refund.
	staleStatus []string

	states     map[remediation.State]int
	reviews    int
	workitems  int
	closed     int
	toComplete []time.Duration
	toReview   []time.Duration
	// toApply is from the finance API's 202 to the workflow taking the
	// decision.
	toApply []time.Duration
}

func (v *verdict) fail(txn, format string, args ...any) {
	v.violations = append(v.violations, txn+": "+fmt.Sprintf(format, args...))
}

func (v *verdict) lose(txn, format string, args ...any) {
	v.lost[txn] = true
	v.fail(txn, format, args...)
}

// txnView is everything known about one transaction.
type txnView struct {
	plan       *txnPlan
	deliveries []delivery
	decisions  []decision
	runs       []execution
	money      *money
}

// verify runs every check of issue 6 over the facts.
func (r *runner) verify(f *facts) *verdict {
	v := &verdict{doubles: map[string]bool{}, lost: map[string]bool{}, states: map[remediation.State]int{},
		live: map[string]int{}, lifecycle: map[string]int{}, settled: map[string][]time.Duration{}}
	views := map[string]*txnView{}
	for _, t := range r.plan.Txns {
		views[t.ID] = &txnView{plan: t, money: &money{}}
	}
	for _, d := range r.sent.all() {
		views[d.Post.Txn.ID].deliveries = append(views[d.Post.Txn.ID].deliveries, d)
	}
	for _, d := range r.decisions {
		views[d.Txn].decisions = append(views[d.Txn].decisions, d)
	}
	for _, e := range f.executions {
		txn := strings.TrimPrefix(e.WorkflowID, remediation.WorkflowIDPrefix)
		view := views[txn]
		if view == nil {
			v.fail(e.WorkflowID, "a workflow for a transaction that was never posted")
			continue
		}
		view.runs = append(view.runs, e)
	}
	for txn, m := range moneyByTransaction(f.ledger) {
		if view := views[txn]; view != nil {
			view.money = m
		} else if m.Creations > 0 || m.Workitems > 0 {
			v.fail(txn, "the gateway or Genesys saw a transaction that was never posted")
		}
	}
	ids := make([]string, 0, len(views))
	for id := range views {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		view := views[id]
		if view.plan.Class.financial() {
			r.checkFinancial(v, f, view)
		} else {
			checkRefused(v, view)
		}
	}
	checkGlobal(v, f, r.crashes)
	return v
}

// checkRefused: a card-data post is refused with 422 and a non-financial
// code is ignored; neither may leave a workflow or reach the gateway.
func checkRefused(v *verdict, view *txnView) {
	t := view.plan
	for _, d := range view.deliveries {
		switch {
		case d.GaveUp:
			v.fail(t.ID, "webhook never answered: %s", d.LastError)
		case t.Class == classCardData && d.Final.Code != http.StatusUnprocessableEntity:
			v.fail(t.ID, "a disposition with a card number (in %s) was answered %d, not 422", t.PANField, d.Final.Code)
		case t.Class == classIgnored && (d.Final.Code != http.StatusOK || d.Final.Status != "ignored"):
			v.fail(t.ID, "a non-financial disposition was answered %d %q, not 200 ignored", d.Final.Code, d.Final.Status)
		}
	}
	if len(view.runs) > 0 {
		v.fail(t.ID, "%s disposition has %d workflows, want none", t.Class, len(view.runs))
	}
	if view.money.Creations > 0 || view.money.Workitems > 0 {
		v.fail(t.ID, "%s disposition reached the gateway or Genesys", t.Class)
	}
}

// checkFinancial: exactly one workflow, at rest in an allowed state, that
// accounts for every accepted webhook and for every cent at the gateway.
func (r *runner) checkFinancial(v *verdict, f *facts, view *txnView) {
	t := view.plan
	started, accepted := 0, 0
	codes := map[string]bool{}
	var firstSent time.Time
	for _, d := range view.deliveries {
		if firstSent.IsZero() || d.Sent.Before(firstSent) {
			firstSent = d.Sent
		}
		switch {
		case d.GaveUp:
			v.lose(t.ID, "webhook (%s) never answered after %d attempts: %s", d.Post.Code, d.Attempts, d.LastError)
		case d.Final.Code == http.StatusAccepted && d.Final.Status == "started":
			started++
			accepted++
			codes[d.Post.Code] = true
		case d.Final.Code == http.StatusOK && d.Final.Status == "duplicate":
			accepted++
			codes[d.Post.Code] = true
		default:
			v.fail(t.ID, "webhook (%s) answered %s %s", d.Post.Code, answerLabel(d.Final), d.Final.Error)
		}
	}
	if started > 1 {
		v.fail(t.ID, "answered 202 started %d times", started)
	}
	if accepted == 0 {
		v.lose(t.ID, "no webhook was accepted")
		return
	}
	if len(view.runs) == 0 {
		v.lose(t.ID, "no workflow")
		return
	}
	runs, h := r.checkRuns(v, f, t.ID, view)
	first, run := runs[0], runs[len(runs)-1]
	// The start is answered with the first run; a duplicate with the run
	// open when it came, a reopened one's included.
	for _, d := range view.deliveries {
		switch {
		case d.Final.RunID == "":
		case d.Final.Code == http.StatusAccepted && d.Final.RunID != first.RunID:
			v.fail(t.ID, "the start was answered with run %s, but the workflow's first run is %s", d.Final.RunID, first.RunID)
		case !slices.ContainsFunc(runs, func(e execution) bool { return e.RunID == d.Final.RunID }):
			v.fail(t.ID, "a webhook was answered with run %s, which is none of the workflow's runs", d.Final.RunID)
		}
	}
	st, ok := r.statusOf(v, f, t.ID, run, f.histories[run.RunID])
	if !ok {
		return
	}
	v.states[st.State]++
	r.checkState(v, t, run, st)
	if !codeAllows(codes, st.Action) {
		v.fail(t.ID, "the workflow's action is %s, but the accepted codes were %v", st.Action, keys(codes))
	}
	reviewed := h.Escalations > 0 || st.State == remediation.StateAwaitingReview
	checkMoney(v, t.ID, st, view.money, reviewed)
	checkReview(v, t, st, view.money, reviewed)
	checkGenesysTold(v, t.ID, run, st, view.money)
	checkDecisions(v, t.ID, st, view.decisions)
	v.toApply = append(v.toApply, decisionDelays(st, view.decisions)...)
	v.countLifecycle(runs, f, st, view.money)

	switch {
	case reviewed && !h.FirstEscalated.IsZero():
		v.toReview = append(v.toReview, h.FirstEscalated.Sub(firstSent))
	case st.State == remediation.StateCompleted && !reviewed:
		v.toComplete = append(v.toComplete, h.Closed.Sub(firstSent))
	}
}

// checkRuns: the transaction's one workflow ID may have several runs, one
// after the other: the run the disposition started, a review continued as
// new, and a run the starter started because the gateway failed or
// reversed the refund after a run had ended Completed (a reopen). Never two
// at once, never a second run started by a disposition. It returns the runs
// oldest first and their histories summed up.
func (r *runner) checkRuns(v *verdict, f *facts, txn string, view *txnView) ([]execution, history) {
	runs := slices.Clone(view.runs)
	sort.Slice(runs, func(i, j int) bool { return runs[i].Start.Before(runs[j].Start) })
	var sum history
	for i, e := range runs {
		if e.TransactionID != txn {
			v.fail(txn, "run %s: TransactionId search attribute is %q", e.RunID, e.TransactionID)
		}
		h := f.histories[e.RunID]
		sum.Escalations += h.Escalations
		if sum.FirstEscalated.IsZero() {
			sum.FirstEscalated = h.FirstEscalated
		}
		sum.Closed = h.Closed
		if i == 0 {
			if h.Reopened {
				v.fail(txn, "the first run %s was started as a reopen", e.RunID)
			}
			continue
		}
		prev := runs[i-1]
		ph := f.histories[prev.RunID]
		switch {
		case prev.running():
			v.fail(txn, "runs %s and %s are open at once", prev.RunID, e.RunID)
		case ph.CloseEvent == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		case !h.Reopened:
			v.fail(txn, "run %s follows run %s (closed %s) and is neither its continuation nor a reopen", e.RunID, prev.RunID, ph.CloseEvent)
		case ph.Result == nil || ph.Result.State != remediation.StateCompleted:
			v.fail(txn, "run %s reopens run %s, which had not ended Completed", e.RunID, prev.RunID)
		}
	}
	return runs, sum
}

// statusOf is the workflow's status: its result when it has closed, the
// status query while it runs.
func (r *runner) statusOf(v *verdict, f *facts, txn string, run execution, h history) (remediation.Status, bool) {
	if run.running() {
		st, ok := f.running[run.WorkflowID]
		if !ok {
			v.lose(txn, "running, and the status query failed: %v", f.queryErrors[run.WorkflowID])
		}
		return st, ok
	}
	if h.Result == nil {
		v.lose(txn, "closed as %s without a result", h.CloseEvent)
		return remediation.Status{}, false
	}
	return *h.Result, true
}

// checkState: closed means Completed, Rejected or ResolvedManually;
// running means AwaitingReview with finance ops told. Anything else is
// stuck, which for money is as bad as lost.
func (r *runner) checkState(v *verdict, t *txnPlan, run execution, st remediation.Status) {
	if run.running() {
		if st.State != remediation.StateAwaitingReview {
			v.lose(t.ID, "still running in state %s at the end of the run (last error: %s)", st.State, st.LastError)
		} else if st.Escalation == "" {
			v.fail(t.ID, "awaiting review, but finance ops were never told (%v)", st.WritebackErrors)
		}
		return
	}
	if !st.State.Terminal() {
		v.lose(t.ID, "closed in state %s", st.State)
	}
	if (t.Class == classEscalation || t.Class == classBadAmount) && st.Attempts > 0 && !slices.ContainsFunc(st.Decisions, func(d remediation.DecisionRecord) bool {
		return d.Outcome == remediation.OutcomeApplied && d.Decision.Decision == remediation.DecisionApprove
	}) {
		v.fail(t.ID, "%s went to the gateway without an approval", t.Class)
	}
}

// checkMoney, read from the gateway's ledger and each refund's status
// history there: at most one refund or chargeback that stands (not failed,
// not reversed) per transaction; Completed only with exactly one, of the
// workflow's kind and reference, that succeeded and was never reversed;
// none that stands otherwise (a rejected one above all); and every one the
// gateway failed or reversed put in front of finance: in review, decided
// by hand, or approved and refunded anew.
func checkMoney(v *verdict, txn string, st remediation.Status, m *money, reviewed bool) {
	live := m.Live()
	v.live[txn] = len(live)
	if len(live) > 1 {
		v.doubles[txn] = true
		v.fail(txn, "DOUBLE REFUND: the gateway made %d that stand (%s) for one transaction; the workflow recorded one, %q", len(live), describeCreated(live), st.GatewayReference)
		return
	}
	for _, c := range m.Created {
		if c.live() {
			continue
		}
		switch {
		case st.State == remediation.StateCompleted && c.Reference == st.GatewayReference:
			// Completed on it: reported below.
		case !reviewed:
			v.lose(txn, "the gateway %s %s %s, and finance ops were never told: the workflow is %s (%s)", c.what(), c.Kind, c.Reference, st.State, webhookFates(m, c))
		case st.State == remediation.StateCompleted && len(live) == 1 && live[0].Reference != c.Reference &&
			!slices.ContainsFunc(st.Decisions, func(d remediation.DecisionRecord) bool {
				return d.Outcome == remediation.OutcomeApplied && d.Decision.Decision == remediation.DecisionApprove
			}):
			v.fail(txn, "the gateway %s %s %s, and the workflow refunded again without an approval", c.what(), c.Kind, c.Reference)
		}
	}
	if st.State != remediation.StateCompleted {
		if len(live) > 0 {
			v.lose(txn, "the gateway made a %s (%s, %s) that stands, but the workflow says %s", live[0].Kind, live[0].Reference, live[0].Final, st.State)
		}
		return
	}
	if len(live) == 0 {
		if i := slices.IndexFunc(m.Created, func(c created) bool { return c.Reference == st.GatewayReference }); i >= 0 {
			c := m.Created[i]
			v.lose(txn, "Completed, but the gateway %s its %s %s (%s)", c.what(), c.Kind, c.Reference, webhookFates(m, c))
		} else {
			v.lose(txn, "Completed (reference %q), but the gateway created nothing that stands", st.GatewayReference)
		}
		return
	}
	c := live[0]
	if c.Final != "succeeded" {
		v.lose(txn, "Completed, but the gateway's %s %s is %s", c.Kind, c.Reference, c.Final)
	}
	want := string(st.Action)
	if st.Action == remediation.ActionReview {
		want = string(remediation.ActionRefund) // an approved review is a refund
	}
	if c.Kind != want {
		v.fail(txn, "the workflow's action is %s, the gateway created a %s", st.Action, c.Kind)
	}
	if st.GatewayReference != c.Reference {
		v.fail(txn, "gateway reference %q in the workflow, %q at the gateway", st.GatewayReference, c.Reference)
	}
}

// what is what became of a refund that does not stand.
func (c created) what() string {
	if c.Reversed {
		return "reversed"
	}
	return "failed"
}

func describeCreated(cs []created) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %s key %s %s", c.Kind, c.Reference, c.Key, c.Final)
	}
	return strings.Join(parts, "; ")
}

// webhookFates says what became of the gateway's webhooks about a refund's
// failure or reversal: how the system could have heard of it.
func webhookFates(m *money, c created) string {
	var fates []string
	for _, wh := range m.Webhooks {
		if wh.RefundID == c.Reference && (wh.Status == "failed" || wh.Status == "reversed") {
			fate := wh.State
			if wh.Fault != "" {
				fate += " (" + wh.Fault + ")"
			}
			if wh.HTTPStatus != 0 {
				fate += fmt.Sprintf(" %d %s", wh.HTTPStatus, wh.Answer)
			} else if wh.Error != "" {
				fate += ": " + wh.Error
			}
			fates = append(fates, fate)
		}
	}
	if len(fates) == 0 {
		return "no webhook of it"
	}
	return c.what() + " webhooks: " + strings.Join(fates, "; ")
}

// checkReview: every transaction that was ever in review has exactly one
// workitem, closed once the review has ended and open while it waits; no
// other has any. Escalations and unusable amounts always go to review.
func checkReview(v *verdict, t *txnPlan, st remediation.Status, m *money, reviewed bool) {
	if reviewed {
		v.reviews++
		if m.Workitems != 1 {
			v.fail(t.ID, "was in review and has %d workitems, want exactly one", m.Workitems)
		}
		waiting := st.State == remediation.StateAwaitingReview
		switch {
		case waiting && m.WorkitemsClosed > 0:
			v.fail(t.ID, "still awaits review, yet its workitem is closed")
		case !waiting && m.WorkitemsClosed != m.Workitems:
			v.fail(t.ID, "review ended (%s), yet %d of its %d workitems are not closed", st.State, m.Workitems-m.WorkitemsClosed, m.Workitems)
		}
		v.closed += m.WorkitemsClosed
	} else if m.Workitems != 0 {
		v.fail(t.ID, "was never in review, yet has %d workitems", m.Workitems)
	}
	v.workitems += m.Workitems
	if (t.Class == classEscalation || t.Class == classBadAmount) && !reviewed {
		v.fail(t.ID, "%s never went to finance review (state %s)", t.Class, st.State)
	}
}

// checkGenesysTold: a closed workflow told Genesys its outcome, or
// recorded why it could not. No silent endings.
func checkGenesysTold(v *verdict, txn string, run execution, st remediation.Status, m *money) {
	if run.running() {
		return
	}
	want := map[remediation.State]string{
		remediation.StateCompleted:        remediation.RefundStatusCompleted,
		remediation.StateRejected:         remediation.RefundStatusRejected,
		remediation.StateResolvedManually: remediation.RefundStatusResolvedManually,
	}[st.State]
	if m.LastRefundStatus != want && len(st.WritebackErrors) == 0 {
		v.fail(txn, "ended %s, but Genesys was last told %q and no write-back error is recorded", st.State, m.LastRefundStatus)
	}
}

// checkDecisions: a decisionId is applied at most once; the agent's own
// approval is refused; a stale decision gets 409; a first decision that
// was sent (202) decided the outcome.
func checkDecisions(v *verdict, txn string, st remediation.Status, sent []decision) {
	applied := map[string]int{}
	outcome := map[string]string{}
	for _, rec := range st.Decisions {
		if rec.Outcome == remediation.OutcomeApplied {
			applied[rec.DecisionID]++
		}
		if outcome[rec.DecisionID] == "" {
			outcome[rec.DecisionID] = rec.Outcome
		}
	}
	for id, n := range applied {
		if n > 1 {
			v.fail(txn, "decision %s applied %d times", id, n)
		}
	}
	// A decision and its repeats share a decisionId; whichever reached the
	// starter first may be the one answered 202, the other 409 once the
	// workflow has moved on.
	accepted := map[string]bool{}
	kinds := map[string]string{}
	for _, d := range sent {
		switch {
		case d.GaveUp:
			v.fail(txn, "decision %s never answered: %s", d.DecisionID, d.Error)
		case d.Stale:
			if d.Code != http.StatusConflict {
				v.fail(txn, "a decision for a transaction not in review was answered %d, not 409", d.Code)
			}
		case d.FourEyes:
			if d.Code == http.StatusAccepted && outcome[d.DecisionID] != remediation.OutcomeRefused {
				v.fail(txn, "the agent's own approval %s was %q, not refused", d.DecisionID, outcome[d.DecisionID])
			}
		default:
			kinds[d.DecisionID] = d.Kind
			switch d.Code {
			case http.StatusAccepted:
				accepted[d.DecisionID] = true
			case http.StatusConflict:
			default:
				v.fail(txn, "decision %s answered %d: %s", d.DecisionID, d.Code, d.Error)
			}
		}
	}
	for id, kind := range kinds {
		if !accepted[id] {
			v.fail(txn, "decision %s (%s) was never accepted by the finance API", id, kind)
			continue
		}
		wantState := map[string][]remediation.State{
			remediation.DecisionApprove:  {remediation.StateCompleted, remediation.StateAwaitingReview},
			remediation.DecisionReject:   {remediation.StateRejected},
			remediation.DecisionResolved: {remediation.StateResolvedManually},
		}[kind]
		if !slices.Contains(wantState, st.State) || applied[id] != 1 {
			v.fail(txn, "decision %s (%s) accepted, but the workflow is %s with it applied %d times", id, kind, st.State, applied[id])
		}
	}
}

// decisionDelays is, for each decision the finance API accepted, how long
// the workflow took to take it (the record's time has whole seconds).
func decisionDelays(st remediation.Status, sent []decision) []time.Duration {
	accepted := map[string]time.Time{}
	for _, d := range sent {
		if d.Code == http.StatusAccepted && (accepted[d.DecisionID].IsZero() || d.Answered.Before(accepted[d.DecisionID])) {
			accepted[d.DecisionID] = d.Answered
		}
	}
	var out []time.Duration
	for _, rec := range st.Decisions {
		at, ok := accepted[rec.DecisionID]
		if !ok {
			continue
		}
		delete(accepted, rec.DecisionID)
		if received, err := time.Parse(time.RFC3339, rec.ReceivedAt); err == nil {
			out = append(out, max(received.Sub(at.Truncate(time.Second)), 0))
		}
	}
	return out
}

// checkGlobal: the ledger's own summary, card data at the gateway, the
// scans, and every crash recovered.
func checkGlobal(v *verdict, f *facts, crashes []crash) {
	for _, txn := range f.ledger.Summary.MultipleCreations {
		// A refund the gateway failed or reversed is followed by the one
		// finance approved: two creations, one standing.
		if n, checked := v.live[txn]; checked && n <= 1 {
			continue
		}
		if !v.doubles[txn] {
			v.doubles[txn] = true
			v.fail(txn, "DOUBLE REFUND in the ledger summary")
		}
	}
	if n := f.ledger.Stats.CardDataSeen; n > 0 {
		v.fail("gateway", "received %d requests holding card-number-shaped data", n)
	}
	if n := f.ledger.Stats.SpecViolations; n > 0 {
		v.fail("gateway", "%d requests or webhooks the gateway's published spec refuses: %q", n, f.ledger.Stats.SpecViolationNotes)
	}
	if n := f.ledger.Stats.GenesysSpecViolations; n > 0 {
		v.fail("genesys", "received %d requests that violate its Platform API spec: %q", n, f.ledger.Stats.GenesysSpecViolationNotes)
	}
	for _, h := range f.histories {
		for _, fd := range h.Findings {
			v.fail(fd.Where, "%s", fd.What)
		}
	}
	for _, fd := range f.logFindings {
		v.fail(fd.Where, "%s", fd.What)
	}
	for _, c := range crashes {
		if c.Error != "" {
			v.fail(c.Target, "did not come back after its crash: %s", c.Error)
		}
	}
}

// codeAllows reports whether the workflow's action fits a code that was
// accepted for the transaction.
func codeAllows(codes map[string]bool, a remediation.Action) bool {
	switch a {
	case remediation.ActionRefund:
		return codes[codeRefund]
	case remediation.ActionChargeback:
		return codes[codeChargeback]
	case remediation.ActionReview:
		return codes[codeEscalation]
	}
	return false
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
