package main

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
)

// Report is the run's table, and its JSON (report.json in the run's
// directory).
type Report struct {
	Result   string    `json:"result"`
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Seconds  float64   `json:"seconds"`
	Dir      string    `json:"dir"`
	Settings settings  `json:"settings"`

	Dispositions struct {
		Sent             int            `json:"sent"`
		Transactions     int            `json:"transactions"`
		ByClass          map[string]int `json:"byClass"`
		Duplicates       int            `json:"duplicates"`
		DuplicatesByKind map[string]int `json:"duplicatesByKind"`
		// StreamTook is how long the main stream took to be answered,
		// crashes and outages included.
		StreamTook     string  `json:"streamTook"`
		PostsPerSecond float64 `json:"postsPerSecond"`
	} `json:"dispositions"`
	Webhooks struct {
		Answers           map[string]int `json:"answers"`
		Attempts          int            `json:"attempts"`
		Retried503        int            `json:"retried503"`
		RetriedConnection int            `json:"retriedConnectionErrors"`
		GaveUp            int            `json:"gaveUp"`
	} `json:"webhooks"`
	// GatewayFaults and GenesysFaults are the sandbox ledger's counts.
	GatewayFaults map[string]int `json:"gatewayFaults"`
	GenesysFaults map[string]int `json:"genesysFaults"`
	// GenesysCalls and GenesysRateLimited are the Genesys requests the
	// sandbox received and those its rate limit answered 429.
	GenesysCalls       int     `json:"genesysCalls"`
	GenesysRateLimited int     `json:"genesysRateLimited"`
	Crashes            []crash `json:"crashes"`
	// Lifecycle is what the gateway did to refunds after taking them, how
	// the workflows heard, and what became of its webhooks.
	Lifecycle struct {
		Counts map[string]int `json:"counts"`
		// Webhooks are the sandbox's counts: events, faults injected
		// (dropped, duplicated, reordered, delayed, bad_signature) and
		// outcomes (delivered, refused, failed).
		Webhooks map[string]int `json:"webhooks"`
		// SettledToCompleted is from the gateway's succeeded to the
		// workflow closed Completed, for refunds that were pending.
		SettledToCompleted  durations `json:"settledToCompleted"`
		SettledByWebhook    durations `json:"settledByWebhookToCompleted"`
		SettledByPoll       durations `json:"settledByPollToCompleted"`
		SettledAtSubmission durations `json:"settledAtSubmissionToCompleted"`
		// StaleGatewayStatus lists workflows whose status shows a gateway
		// word on their refund that the gateway's final status
		// contradicts (noted, not a violation).
		StaleGatewayStatus []string `json:"staleGatewayStatus"`
	} `json:"lifecycle"`
	Outcomes struct {
		Workflows          int            `json:"workflows"`
		Runs               int            `json:"runs"`
		States             map[string]int `json:"states"`
		RefundsCreated     int            `json:"refundsCreated"`
		ChargebacksCreated int            `json:"chargebacksCreated"`
		GatewayRequests    int            `json:"gatewayRequests"`
		IdempotentReplays  int            `json:"idempotentReplays"`
		DoubleRefunds      int            `json:"doubleRefunds"`
		SpecViolations     int            `json:"specViolations"`
		Lost               int            `json:"lost"`
		Reviews            int            `json:"reviews"`
		Workitems          int            `json:"workitems"`
		WorkitemsClosed    int            `json:"workitemsClosed"`
	} `json:"outcomes"`
	Decisions struct {
		Sent   int            `json:"sent"`
		ByKind map[string]int `json:"byKind"`
		// OnLifecycle are the first decisions on the reviews of PENDING-,
		// PENDFAIL- and REVERSE- transactions, by kind.
		OnLifecycle map[string]int `json:"onLifecycleReviews"`
		RepeatedIDs int            `json:"repeatedDecisionIds"`
		FourEyes    int            `json:"fourEyesAttempts"`
		Stale       int            `json:"staleDecisions"`
		Answers     map[string]int `json:"answers"`
		LeftWaiting int            `json:"leftAwaitingReview"`
		SettleTimes []string       `json:"settleTimes"`
	} `json:"decisions"`
	Latency struct {
		Completed durations `json:"toCompleted"`
		Review    durations `json:"toFinanceReview"`
		Decision  durations `json:"decisionToApplied"`
	} `json:"latency"`
	Scan struct {
		HistoryEvents int       `json:"historyEvents"`
		HistoryBytes  int       `json:"historyBytes"`
		LogBytes      int       `json:"logBytes"`
		Findings      []finding `json:"findings"`
	} `json:"scan"`
	Reconciliation reconciliation `json:"reconciliation"`
	Violations     []string       `json:"violations"`
}

// settings is the configuration a report was produced with.
type settings struct {
	N                int     `json:"n"`
	Clients          int     `json:"clients"`
	Seed             uint64  `json:"seed"`
	GatewayTimeout   string  `json:"gatewayTimeout"`
	RetryWindow      string  `json:"retryWindow"`
	ReviewReminder   string  `json:"reviewReminder"`
	Fault5xx         float64 `json:"fault5xx"`
	Fault429         float64 `json:"fault429"`
	FaultHang        float64 `json:"faultHang"`
	HangFor          string  `json:"hangFor"`
	Fault422         float64 `json:"fault422"`
	TokenExpireEvery int     `json:"tokenExpireEvery"`
	GenesysFault5xx  float64 `json:"genesysFault5xx"`
	BreakIdempotency bool    `json:"breakIdempotency"`
	Gateway          string  `json:"gateway"`
}

// durations summarises times from the first post to an outcome.
type durations struct {
	N   int    `json:"n"`
	P50 string `json:"p50"`
	P99 string `json:"p99"`
	Max string `json:"max"`
}

func summarize(ds []time.Duration) durations {
	if len(ds) == 0 {
		return durations{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) string {
		i := int(q*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))].Round(10 * time.Millisecond).String()
	}
	return durations{N: len(ds), P50: at(0.50), P99: at(0.99), Max: at(1)}
}

// report runs the checks and fills in the table.
func (r *runner) report(f *facts, dir string, took time.Duration) *Report {
	v := r.verify(f)
	rep := &Report{Started: r.started, Duration: took.Round(time.Second).String(), Seconds: took.Seconds(), Dir: dir}
	c := r.cfg
	rep.Settings = settings{N: c.N, Clients: c.Clients, Seed: r.seed, GatewayTimeout: c.GatewayTimeout.String(), RetryWindow: c.RetryWindow.String(),
		ReviewReminder: c.ReviewReminder.String(), Fault5xx: c.Fault5xx, Fault429: c.Fault429, FaultHang: c.FaultHang, HangFor: c.HangFor.String(),
		Fault422: c.Fault422, TokenExpireEvery: c.TokenExpireEvery, GenesysFault5xx: c.GenesysFault5xx, BreakIdempotency: c.BreakIdempotency,
		Gateway: c.Gateway}

	d := &rep.Dispositions
	d.ByClass, d.DuplicatesByKind = map[string]int{}, map[string]int{}
	for _, t := range r.plan.Txns {
		d.ByClass[string(t.Class)]++
	}
	d.Transactions = len(r.plan.Txns)
	d.StreamTook = r.streamTook.Round(time.Millisecond).String()
	if r.streamTook > 0 {
		d.PostsPerSecond = float64(r.streamSent) / r.streamTook.Seconds()
	}
	wh := &rep.Webhooks
	wh.Answers = map[string]int{}
	for _, dl := range r.sent.all() {
		d.Sent++
		if dl.Post.Dup != dupNone {
			d.Duplicates++
			d.DuplicatesByKind[string(dl.Post.Dup)]++
		}
		wh.Attempts += dl.Attempts
		wh.Retried503 += dl.Unavailable
		wh.RetriedConnection += dl.ConnErrors
		if dl.GaveUp {
			wh.GaveUp++
			continue
		}
		wh.Answers[answerLabel(dl.Final)]++
	}

	rep.GatewayFaults, rep.GenesysFaults = map[string]int{}, map[string]int{}
	for kind, n := range f.ledger.Stats.Faults {
		if strings.HasPrefix(kind, "genesys_") {
			rep.GenesysFaults[strings.TrimPrefix(kind, "genesys_")] += n
		} else {
			rep.GatewayFaults[kind] += n
		}
	}
	rep.GenesysCalls, rep.GenesysRateLimited = f.ledger.Stats.GenesysRequests, f.ledger.Stats.GenesysRateLimited
	rep.Crashes = r.crashes

	o := &rep.Outcomes
	ids := map[string]bool{}
	for _, e := range f.executions {
		ids[e.WorkflowID] = true
	}
	o.Workflows, o.Runs = len(ids), len(f.executions)
	o.States = map[string]int{}
	for s, n := range v.states {
		o.States[string(s)] = n
	}
	o.RefundsCreated, o.ChargebacksCreated = f.ledger.Summary.RefundsCreated, f.ledger.Summary.ChargebacksCreated
	o.SpecViolations = f.ledger.Stats.SpecViolations
	for _, subs := range []map[string]*sandbox.Submission{f.ledger.Refunds, f.ledger.Chargebacks, f.ledger.AdyenRefunds, f.ledger.PayPalRefunds, f.ledger.StripeRefunds} {
		for _, s := range subs {
			o.GatewayRequests += s.Requests
			o.IdempotentReplays += s.Replays
		}
	}
	o.DoubleRefunds, o.Lost, o.Reviews, o.Workitems, o.WorkitemsClosed = len(v.doubles), len(v.lost), v.reviews, v.workitems, v.closed

	dc := &rep.Decisions
	dc.ByKind, dc.Answers, dc.OnLifecycle = map[string]int{}, map[string]int{}, map[string]int{}
	classOf := map[string]txnClass{}
	for _, t := range r.plan.Txns {
		classOf[t.ID] = t.Class
	}
	for _, x := range r.decisions {
		if !x.FourEyes && !x.Stale && x.Copy == "" && classOf[x.Txn].lifecycle() {
			dc.OnLifecycle[x.Kind]++
		}
		dc.Sent++
		switch {
		case x.FourEyes:
			dc.FourEyes++
		case x.Stale:
			dc.Stale++
		case x.Copy != "":
			dc.RepeatedIDs++
		default:
			dc.ByKind[x.Kind]++
		}
		dc.Answers[fmt.Sprintf("%d", x.Code)]++
	}
	dc.LeftWaiting = v.states[remediation.StateAwaitingReview]
	for _, rs := range r.rests {
		dc.SettleTimes = append(dc.SettleTimes, rs.Took.Round(time.Second).String())
	}

	lc := &rep.Lifecycle
	lc.Counts, lc.Webhooks = v.lifecycle, f.ledger.Stats.Webhooks
	var all []time.Duration
	for _, ds := range v.settled {
		all = append(all, ds...)
	}
	lc.SettledToCompleted = summarize(all)
	sort.Strings(v.staleStatus)
	lc.StaleGatewayStatus = v.staleStatus
	lc.SettledByWebhook = summarize(v.settled[byWebhook])
	lc.SettledByPoll = summarize(v.settled[byPoll])
	lc.SettledAtSubmission = summarize(v.settled[lcAtSubmission])

	rep.Latency.Completed = summarize(v.toComplete)
	rep.Latency.Review = summarize(v.toReview)
	rep.Latency.Decision = summarize(v.toApply)
	for _, h := range f.histories {
		rep.Scan.HistoryEvents += h.Events
		rep.Scan.HistoryBytes += h.Bytes
		rep.Scan.Findings = append(rep.Scan.Findings, h.Findings...)
	}
	rep.Scan.LogBytes = f.logBytes
	rep.Scan.Findings = append(rep.Scan.Findings, f.logFindings...)
	rep.Violations = v.violations
	rep.Reconciliation = f.reconciliation
	for _, m := range f.reconciliation.Mismatches {
		rep.Violations = append(rep.Violations, m.TransactionID+": reconciliation: "+m.Kind+" (ours "+m.Ours+", gateway "+m.Theirs+")")
	}
	rep.Result = "PASS"
	if len(rep.Violations) > 0 {
		rep.Result = "FAIL"
	}
	return rep
}

func answerLabel(a answer) string {
	switch {
	case a.Code == http.StatusAccepted:
		return "202 " + a.Status
	case a.Status != "":
		return fmt.Sprintf("%d %s", a.Code, a.Status)
	default:
		return fmt.Sprintf("%d", a.Code)
	}
}

// Print writes the table.
func (rep *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	s := rep.Settings
	row("Refundflow chaos run", "%s  (N=%d, %d clients, seed %d, %s)", rep.Result, s.N, s.Clients, s.Seed, rep.Duration)
	row("  run directory", "%s", rep.Dir)
	row("  worker", "gateway %s, timeout %s, retry window %s, review reminder %s", s.Gateway, s.GatewayTimeout, s.RetryWindow, s.ReviewReminder)
	if s.BreakIdempotency {
		row("  SABOTAGE", "the gateway ignores the Idempotency-Key")
	}
	d := rep.Dispositions
	row("dispositions sent", "%d (main stream answered in %s)", d.Sent, d.StreamTook)
	row("  transactions", "%d (%s)", d.Transactions, counts(d.ByClass))
	row("  duplicates", "%d (%s)", d.Duplicates, counts(d.DuplicatesByKind))
	wh := rep.Webhooks
	row("  answers", "%s", counts(wh.Answers))
	row("  retried like Genesys", "503 x%d, connection errors x%d, gave up %d", wh.Retried503, wh.RetriedConnection, wh.GaveUp)
	row("gateway faults injected", "%s", counts(rep.GatewayFaults))
	row("Genesys faults injected", "%s", counts(rep.GenesysFaults))
	row("  Genesys rate limit", "%d calls, %d answered 429 (sandbox limit per OAuth client, workers paced)", rep.GenesysCalls, rep.GenesysRateLimited)
	crashes := map[string]int{}
	for _, c := range rep.Crashes {
		if c.Error == "" {
			crashes[c.Target+" SIGKILL"]++
		}
	}
	row("crashes survived", "%d (%s)", len(rep.Crashes), counts(crashes))
	o := rep.Outcomes
	lc := rep.Lifecycle
	n, wh2 := lc.Counts, lc.Webhooks
	row("gateway lifecycles", "pending %d: succeeded %d (heard by webhook %d, poll %d, submission %d), failed %d (webhook %d, poll %d, submission %d)",
		n[lcPending], n[lcSucceeded], n[lcSucceeded+" by "+byWebhook], n[lcSucceeded+" by "+byPoll], n[lcSucceeded+" by "+lcAtSubmission],
		n[lcFailed], n[lcFailed+" by "+byWebhook], n[lcFailed+" by "+byPoll], n[lcFailed+" by "+lcAtSubmission])
	row("  reversed", "%d (reopened in a new run %d, taken by the run still open %d, never heard of %d)", n[lcReversed], n[lcReopened], n[lcEndingRun], n[lcNotHeard])
	if n[lcReopenedFailed] > 0 {
		// Stripe's reversal: a refund that had succeeded turns failed.
		row("  failed after Completed", "%d (reopened in a new run)", n[lcReopenedFailed])
	}
	row("  settlement polls", "%d", n[lcPolls])
	row("  stale gatewayStatus", "%d (the status shows a word on its refund the gateway's final status contradicts; noted, not a violation)", len(lc.StaleGatewayStatus))
	row("gateway webhooks", "%d events: dropped %d, duplicated %d, reordered %d, delayed %d, bad signature %d; delivered %d, refused %d, failed %d",
		wh2["events"], wh2["dropped"], wh2["duplicated"], wh2["reordered"], wh2["delayed"], wh2["bad_signature"], wh2["delivered"], wh2["refused"], wh2["failed"])
	row("gateway settled to Completed", "p50 %s, p99 %s, max %s (n=%d; by webhook p50 %s p99 %s n=%d, by poll p50 %s p99 %s n=%d)",
		lc.SettledToCompleted.P50, lc.SettledToCompleted.P99, lc.SettledToCompleted.Max, lc.SettledToCompleted.N,
		lc.SettledByWebhook.P50, lc.SettledByWebhook.P99, lc.SettledByWebhook.N, lc.SettledByPoll.P50, lc.SettledByPoll.P99, lc.SettledByPoll.N)
	row("workflows", "%d, %d runs (%s)", o.Workflows, o.Runs, counts(o.States))
	row("refunds created", "%d (failed at the gateway %d, reversed %d)", o.RefundsCreated, n[lcFailed], n[lcReversed])
	row("chargebacks created", "%d", o.ChargebacksCreated)
	row("  gateway requests", "%d, of them idempotent replays %d", o.GatewayRequests, o.IdempotentReplays)
	row("double refunds", "%d", o.DoubleRefunds)
	row("spec violations", "%d", o.SpecViolations)
	row("lost", "%d", o.Lost)
	row("reviews", "%d (workitems %d, closed with their review %d)", o.Reviews, o.Workitems, o.WorkitemsClosed)
	dc := rep.Decisions
	row("decisions", "%d sent (%s; repeated decisionIds %d, four-eyes attempts %d, stale %d); answers %s; left waiting %d",
		dc.Sent, counts(dc.ByKind), dc.RepeatedIDs, dc.FourEyes, dc.Stale, counts(dc.Answers), dc.LeftWaiting)
	row("  on failed or reversed refunds", "%s", counts(dc.OnLifecycle))
	l := rep.Latency
	row("time to Completed", "p50 %s, p99 %s, max %s (n=%d, first post to workflow closed, no review)", l.Completed.P50, l.Completed.P99, l.Completed.Max, l.Completed.N)
	row("time to finance review", "p50 %s, p99 %s, max %s (n=%d, first post to workitem)", l.Review.P50, l.Review.P99, l.Review.Max, l.Review.N)
	row("time to take a decision", "p50 %s, p99 %s, max %s (n=%d, finance API's 202 to the workflow recording it; whole seconds)", l.Decision.P50, l.Decision.P99, l.Decision.Max, l.Decision.N)
	sc := rep.Scan
	row("secrets / card numbers found", "%d (in %d history events, %.1f MB; %.1f MB of logs)", len(sc.Findings), sc.HistoryEvents, float64(sc.HistoryBytes)/1e6, float64(sc.LogBytes)/1e6)
	rc := rep.Reconciliation
	row("reconciliation mismatches", "%d (export of %d remediations, %d Completed, against %d gateway refunds, %d succeeded; %s)",
		len(rc.Mismatches), rc.Remediations, rc.Completed, rc.GatewayRefunds, rc.Succeeded, rc.Took)
	row("violations", "%d", len(rep.Violations))
	_ = tw.Flush()
	for i, s := range lc.StaleGatewayStatus {
		if i == 10 {
			break
		}
		fmt.Fprintf(w, "  NOTE %s\n", s)
	}
	for i, v := range rep.Violations {
		if i == 40 {
			fmt.Fprintf(w, "  ... and %d more (report.json has them all)\n", len(rep.Violations)-i)
			break
		}
		fmt.Fprintf(w, "  VIOLATION %s\n", v)
	}
}

// counts renders a map as "k1 n1, k2 n2", largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return ks[i] < ks[j]
	})
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
