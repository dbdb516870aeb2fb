package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/pci"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
)

// TestChaosShortRun is the chaos run CI makes on every change: the same
// faults and checks as `make chaos`, with 200 posts, one worker kill, one
// starter kill and one Temporal server restart. It needs bin/temporal and
// fails without it: a chaos check that skips proves nothing.
func TestChaosShortRun(t *testing.T) {
	rep := shortRun(t, ShortConfig())
	checkHostile(t, rep, nil)
}

// TestChaosShortRunAdyen is the same through the sandbox's Adyen, with 100
// posts: every outcome by signed webhook (Adyen has no read, so no poll
// can settle anything), chargebacks to review, and every request and
// webhook checked against Adyen's published specs.
func TestChaosShortRunAdyen(t *testing.T) {
	cfg := ShortConfig()
	cfg.Gateway, cfg.N = stack.GatewayAdyen, 100
	// Half the posts make some 70 gateway calls: at 5% a 429 would be
	// missing from about one run in thirty.
	cfg.Fault429 = 0.10
	rep := shortRun(t, cfg)
	checkHostile(t, rep, map[string]bool{"settlements heard by a poll": true})
	if n := rep.Outcomes.ChargebacksCreated; n != 0 {
		t.Errorf("Adyen made %d chargebacks; a merchant cannot", n)
	}
	if n := rep.Lifecycle.Counts[lcSucceeded+" by "+byPoll] + rep.Lifecycle.Counts[lcFailed+" by "+byPoll]; n != 0 {
		t.Errorf("%d settlements by a poll, at a gateway that has nothing to read", n)
	}
}

// shortRun makes a chaos run and fails the test unless it passed.
func shortRun(t *testing.T, cfg Config) *Report {
	t.Helper()
	cfg.Out = t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg, logWriter{t})
	if rep != nil {
		var table bytes.Buffer
		rep.Print(&table)
		t.Log("\n" + table.String())
	}
	if err != nil {
		t.Fatalf("the chaos run could not be carried out: %v", err)
	}
	if rep.Result != "PASS" {
		t.Fatalf("%d violations; the first: %s (seed %d reproduces the plan: go run ./harness/chaos -gateway %s -n %d -worker-kills %d -seed %d)",
			len(rep.Violations), rep.Violations[0], rep.Settings.Seed, cfg.Gateway, cfg.N, cfg.WorkerKills, rep.Settings.Seed)
	}
	return rep
}

// checkHostile: a green run must also have been a hostile one. These
// happen with near certainty at these rates, so their absence means the
// chaos itself broke; except lists what cannot happen at the gateway run.
func checkHostile(t *testing.T, rep *Report, except map[string]bool) {
	t.Helper()
	crashed := map[string]int{}
	for _, c := range rep.Crashes {
		crashed[c.Target]++
	}
	for what, got := range map[string]int{
		"duplicate answers":                  rep.Webhooks.Answers["200 duplicate"],
		"injected 429s":                      rep.GatewayFaults["429"],
		"injected 5xx":                       rep.GatewayFaults["500"] + rep.GatewayFaults["502"] + rep.GatewayFaults["503"],
		"token revocations":                  rep.GatewayFaults["token_expired"],
		"worker crashes":                     crashed[crashWorker],
		"starter crashes":                    crashed[crashStarter],
		"Temporal server crashes":            crashed[crashServer],
		"reviews":                            rep.Outcomes.Reviews,
		"four-eyes attempts":                 rep.Decisions.FourEyes,
		"stale decisions":                    rep.Decisions.Stale,
		"webhooks retried through an outage": rep.Webhooks.Retried503 + rep.Webhooks.RetriedConnection,
		"refunds created":                    rep.Outcomes.RefundsCreated,
		"pending refunds":                    rep.Lifecycle.Counts[lcPending],
		"pending refunds that succeeded":     rep.Lifecycle.Counts[lcSucceeded],
		"pending refunds that failed":        rep.Lifecycle.Counts[lcFailed],
		"reversed refunds":                   rep.Lifecycle.Counts[lcReversed],
		"reversals reopening a review":       rep.Lifecycle.Counts[lcReopened],
		"settlements heard by webhook":       rep.Lifecycle.Counts[lcSucceeded+" by "+byWebhook] + rep.Lifecycle.Counts[lcFailed+" by "+byWebhook],
		"settlements heard by a poll":        rep.Lifecycle.Counts[lcSucceeded+" by "+byPoll] + rep.Lifecycle.Counts[lcFailed+" by "+byPoll],
		"webhooks dropped":                   rep.Lifecycle.Webhooks["dropped"],
		"webhooks duplicated":                rep.Lifecycle.Webhooks["duplicated"],
		"webhooks reordered":                 rep.Lifecycle.Webhooks["reordered"],
		"webhooks badly signed":              rep.Lifecycle.Webhooks["bad_signature"],
		"approvals of failed or reversed":    rep.Decisions.OnLifecycle["approve"],
		"rejections or resolutions of them":  rep.Decisions.OnLifecycle["reject"] + rep.Decisions.OnLifecycle["resolved"],
	} {
		if got == 0 && !except[what] {
			t.Errorf("the run had no %s: it did not test what it claims", what)
		}
	}
}

// The plan has the mix issue 6 asks for, whatever the seed.
func TestPlanComposition(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		p := newPlan(DefaultConfig().planShape(), seed)
		if p.Posts != 2000 {
			t.Fatalf("seed %d: %d posts, want 2000", seed, p.Posts)
		}
		kinds := map[dupKind]int{}
		seen := map[*txnPlan]bool{}
		for _, s := range p.Stream {
			for _, ps := range s {
				kinds[ps.Dup]++
				if ps.Dup == dupNone {
					if seen[ps.Txn] {
						t.Errorf("seed %d: %s has two originals", seed, ps.Txn.ID)
					}
					seen[ps.Txn] = true
				} else if !seen[ps.Txn] && ps.Dup != dupConcurrent && ps.Dup != dupOtherCode {
					t.Errorf("seed %d: a later duplicate of %s comes before its original", seed, ps.Txn.ID)
				}
				if ps.Dup == dupOtherCode && ps.Code == ps.Txn.Code {
					t.Errorf("seed %d: other-code duplicate of %s has the same code", seed, ps.Txn.ID)
				}
			}
		}
		for _, ps := range p.AfterRun {
			kinds[ps.Dup]++
		}
		if kinds[dupNone] != 1500 || kinds[dupConcurrent]+kinds[dupLater]+kinds[dupAfterRun]+kinds[dupOtherCode] != 500 {
			t.Errorf("seed %d: %v", seed, kinds)
		}
		for _, k := range []dupKind{dupConcurrent, dupLater, dupAfterRun, dupOtherCode} {
			if kinds[k] < 50 {
				t.Errorf("seed %d: only %d %s duplicates", seed, kinds[k], k)
			}
		}
		classes := map[txnClass]int{}
		for _, tx := range p.Txns {
			classes[tx.Class]++
		}
		for _, c := range []txnClass{classRefund, classChargeback, classEscalation, classBadAmount, classCardData, classIgnored, classPending, classPendFail, classReverse} {
			if classes[c] < 10 {
				t.Errorf("seed %d: only %d %s transactions", seed, classes[c], c)
			}
		}
		if len(p.PANs) != classes[classCardData] {
			t.Errorf("seed %d: %d planted card numbers for %d card-data posts", seed, len(p.PANs), classes[classCardData])
		}
	}
}

// The short run and the full run have every gateway lifecycle a few times,
// under the sandbox's ID prefixes, and the first of each kind carry every
// webhook fault rule.
func TestPlanLifecycles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg Config
	}{{ShortConfig()}, {DefaultConfig()}} {
		p := newPlan(c.cfg.planShape(), 7)
		again := newPlan(c.cfg.planShape(), 7)
		classes := map[txnClass]int{}
		for i, tx := range p.Txns {
			if again.Txns[i].ID != tx.ID {
				t.Fatalf("the plan differs for the same seed: %s vs %s", tx.ID, again.Txns[i].ID)
			}
			classes[tx.Class]++
			if prefix := lifecyclePrefix[tx.Class]; prefix != "" && !strings.HasPrefix(tx.ID, prefix) {
				t.Errorf("%s transaction %s lacks its prefix %s", tx.Class, tx.ID, prefix)
			}
			if !remediation.ValidTransactionID(tx.ID) {
				t.Errorf("%s is not a valid transaction ID", tx.ID)
			}
		}
		for _, rule := range pendingRules {
			for _, prefix := range []string{"PENDING-", "PENDFAIL-", "REVERSE-"} {
				if !slices.ContainsFunc(p.Txns, func(tx *txnPlan) bool { return strings.HasPrefix(tx.ID, prefix+rule) }) {
					t.Errorf("N=%d: no %s%s transaction", c.cfg.N, prefix, rule)
				}
			}
		}
		for _, cl := range []txnClass{classPending, classPendFail, classReverse} {
			if classes[cl] < 5 {
				t.Errorf("N=%d: only %d %s transactions", c.cfg.N, classes[cl], cl)
			}
		}
	}
}

// The crash plan strikes each program as often as asked, in the stream
// except the third worker kill, which waits for the decisions.
func TestCrashPlan(t *testing.T) {
	t.Parallel()
	stream, decisions := crashPlan(DefaultConfig())
	var targets []string
	for _, c := range stream {
		targets = append(targets, c.Target)
		if c.At < 0.1 || c.At > 0.9+1e-9 {
			t.Errorf("crash at %v of the stream", c.At)
		}
	}
	if got := strings.Join(targets, ","); got != "worker,starter,temporal,worker" {
		t.Errorf("stream crashes %s", got)
	}
	if len(decisions) != 1 || decisions[0].Target != crashWorker {
		t.Errorf("decision-phase crashes %+v", decisions)
	}
	stream, decisions = crashPlan(ShortConfig())
	if len(stream) != 3 || len(decisions) != 0 {
		t.Errorf("short run: %d stream crashes, %d in decisions", len(stream), len(decisions))
	}
}

// The scan finds a card number standing alone and leaves identifiers be.
func TestCardNumbersStandAlone(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]int{
		`{"n":"4111 1111 1111 1111"}`:            1,
		`note: 4111-1111-1111-1111.`:             1,
		`"rf_4111111111111111abcdef"`:            0, // glued to letters: an identifier
		`"4111111111111112"`:                     0, // Luhn fails
		`"2026-11-25T08:00:00.123456789Z"`:       0,
		"\x12\x104111111111111111\x1a":           1, // inside raw proto bytes
		`card 4111 1111 1111 1111 thanks`:        1,
		`"01a211bd-7ab2-710b-8489-048743255756"`: 0, // a run ID's last groups, Luhn-valid by chance
		`"8489-048743255756"`:                    1, // the same digits alone
		`"ab12cd34-1234-4111-1111-111111111111"`: 0,
	} {
		if got := len(cardNumbers([]byte(text))); got != want {
			t.Errorf("cardNumbers(%s) = %d, want %d", text, got, want)
		}
	}
	sec := newSecrets()
	sc := newScanner(sec, []string{"4111 1111 1111 1111"})
	found := sc.scan("x", []byte("token "+sec.gatewaySecret+" and sbx_0123456789abcdef01234567 and 4111111111111111"), false)
	if len(found) != 3 {
		t.Errorf("scan found %v, want the secret, the access token and the planted card number", found)
	}
	for _, f := range found {
		if strings.Contains(f.What, sec.gatewaySecret) || strings.Contains(f.What, "4111111111111111") {
			t.Errorf("a finding repeats the secret it found: %q", f.What)
		}
	}
}

// logWriter sends the run's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// A review's one workitem is closed once the review has ended, and open
// while it waits.
func TestCheckReviewWantsTheWorkitemClosedWithTheReview(t *testing.T) {
	plan := &txnPlan{ID: "T1", Class: classEscalation}
	for _, c := range []struct {
		state      remediation.State
		closed     int
		violations int
	}{
		{remediation.StateCompleted, 1, 0},
		{remediation.StateRejected, 1, 0},
		{remediation.StateResolvedManually, 0, 1},
		{remediation.StateAwaitingReview, 0, 0},
		{remediation.StateAwaitingReview, 1, 1},
	} {
		v := &verdict{}
		checkReview(v, plan, remediation.Status{State: c.state}, &money{Workitems: 1, WorkitemsClosed: c.closed}, true)
		if len(v.violations) != c.violations || v.closed != c.closed {
			t.Errorf("%s with %d closed: violations %q, closed %d", c.state, c.closed, v.violations, v.closed)
		}
	}
}

// The money check reads each refund's status history: Completed only on a
// refund that succeeded and stands; a failed or reversed one in front of
// finance; at most one that stands.
func TestCheckMoneyReadsTheGatewaysStatuses(t *testing.T) {
	ok := created{Kind: "refund", Reference: "rf_new", Final: "succeeded"}
	reversed := created{Kind: "refund", Reference: "rf_old", Final: "reversed", Reversed: true}
	failed := created{Kind: "refund", Reference: "rf_old", Final: "failed", Pending: true, Failed: true}
	approved := []remediation.DecisionRecord{{Outcome: remediation.OutcomeApplied, Decision: remediation.Decision{Decision: remediation.DecisionApprove}}}
	for _, c := range []struct {
		name     string
		st       remediation.Status
		created  []created
		reviewed bool
		lost     bool
		double   bool
		bad      bool
	}{
		{"succeeded", remediation.Status{State: remediation.StateCompleted, Action: remediation.ActionRefund, GatewayReference: "rf_new"}, []created{ok}, false, false, false, false},
		{"reversed, approved, refunded anew", remediation.Status{State: remediation.StateCompleted, Action: remediation.ActionRefund, GatewayReference: "rf_new", Decisions: approved}, []created{reversed, ok}, true, false, false, false},
		{"Completed on a reversed refund", remediation.Status{State: remediation.StateCompleted, Action: remediation.ActionRefund, GatewayReference: "rf_old"}, []created{reversed}, false, true, false, true},
		{"failed, in review", remediation.Status{State: remediation.StateAwaitingReview, Action: remediation.ActionRefund, GatewayReference: "rf_old"}, []created{failed}, true, false, false, false},
		{"failed, rejected", remediation.Status{State: remediation.StateRejected, Action: remediation.ActionRefund}, []created{failed}, true, false, false, false},
		{"failed, never reviewed", remediation.Status{State: remediation.StateRejected, Action: remediation.ActionRefund}, []created{failed}, false, true, false, true},
		{"two that stand", remediation.Status{State: remediation.StateCompleted, Action: remediation.ActionRefund, GatewayReference: "rf_new"}, []created{ok, {Kind: "refund", Reference: "rf_2", Final: "succeeded"}}, false, false, true, true},
		{"pending at the end", remediation.Status{State: remediation.StateCompleted, Action: remediation.ActionRefund, GatewayReference: "rf_new"}, []created{{Kind: "refund", Reference: "rf_new", Final: "pending", Pending: true}}, false, true, false, true},
	} {
		v := &verdict{doubles: map[string]bool{}, lost: map[string]bool{}, live: map[string]int{}}
		checkMoney(v, "T", c.st, &money{Created: c.created}, c.reviewed)
		if v.lost["T"] != c.lost || v.doubles["T"] != c.double || len(v.violations) != map[bool]int{false: 0, true: 1}[c.bad] {
			t.Errorf("%s: lost %v, double %v, violations %q", c.name, v.lost["T"], v.doubles["T"], v.violations)
		}
	}
}

// The webhook shares are of all events: the sandbox's sequential rates
// are divided by what the earlier faults left.
func TestWebhookFaultRates(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{DefaultConfig(), ShortConfig()} {
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		rates := webhookFaultRates(cfg)
		left, got := 1.0, [5]float64{}
		for i, r := range rates {
			got[i] = left * r
			left -= got[i]
		}
		want := [5]float64{cfg.WebhookDrop, cfg.WebhookBadSignature, cfg.WebhookDuplicate, cfg.WebhookReorder, cfg.WebhookDelay}
		for i := range want {
			if d := got[i] - want[i]; d > 1e-9 || d < -1e-9 {
				t.Errorf("share %d: %v, want %v (rates %v)", i, got[i], want[i], rates)
			}
		}
	}
}

// Under -gateway adyen every transaction ID is a pspReference the
// sandbox's Adyen rules read: 16 letters and digits, the lifecycle's
// letters first, the first of each with every webhook fault rule, and none
// the starter's card screen would take for a card number.
func TestPlanAdyenPSPReferences(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{ShortConfig(), DefaultConfig()} {
		cfg.Gateway = stack.GatewayAdyen
		p := newPlan(cfg.planShape(), 7)
		seen := map[string]bool{}
		for _, tx := range p.Txns {
			if !regexp.MustCompile(`^[A-Z0-9]{16}$`).MatchString(tx.ID) || seen[tx.ID] || pci.ContainsCardNumber(tx.ID) {
				t.Errorf("%s (%s) is no unique, card-free pspReference", tx.ID, tx.Class)
			}
			seen[tx.ID] = true
			if rule := adyenLifecycle[tx.Class]; rule != "" && !strings.HasPrefix(tx.ID, rule) {
				t.Errorf("%s transaction %s lacks its rule %s", tx.Class, tx.ID, rule)
			}
			if rule := adyenLifecycle[tx.Class]; rule == "" && !strings.HasPrefix(tx.ID, "K") {
				t.Errorf("%s transaction %s starts with a rule", tx.Class, tx.ID)
			}
		}
		for _, rule := range adyenRules {
			for _, prefix := range []string{"PEND", "PFAIL", "REVERSE"} {
				if !slices.ContainsFunc(p.Txns, func(tx *txnPlan) bool { return strings.HasPrefix(tx.ID, prefix+rule) }) {
					t.Errorf("N=%d: no %s%s transaction", cfg.N, prefix, rule)
				}
			}
		}
	}
}

// Under -gateway paypal every transaction ID is a PayPal capture ID, the
// first of each lifecycle carry every webhook fault rule in PayPal's
// letters, and PayPal's currencies stand in for KWD.
func TestPlanForPayPal(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Gateway = gatewayPayPal
	p := newPlan(cfg.planShape(), 7)
	capture := regexp.MustCompile(`^[A-Z0-9]{1,20}$`)
	currencies := map[string]int{}
	for _, tx := range p.Txns {
		if !capture.MatchString(tx.ID) {
			t.Errorf("%s is not a PayPal capture ID", tx.ID)
		}
		if prefix := paypalLifecyclePrefix[tx.Class]; prefix != "" && !strings.HasPrefix(tx.ID, prefix) {
			t.Errorf("%s transaction %s lacks its prefix %s", tx.Class, tx.ID, prefix)
		}
		currencies[tx.Currency]++
	}
	for _, rule := range paypalPendingRules {
		for _, prefix := range []string{"PEND", "PFAIL", "REVS"} {
			if !slices.ContainsFunc(p.Txns, func(tx *txnPlan) bool { return strings.HasPrefix(tx.ID, prefix+rule) }) {
				t.Errorf("no %s%s transaction", prefix, rule)
			}
		}
	}
	if currencies["KWD"] != 0 || currencies["HUF"] == 0 || currencies["JPY"] == 0 {
		t.Errorf("currencies %v", currencies)
	}
}

// TestChaosShortRunPayPal is the short run again through the sandbox's
// PayPal (-gateway paypal), smaller: every refund a capture, every
// webhook verified by asking PayPal, every request and webhook body
// checked against PayPal's spec (a violation fails the run).
func TestChaosShortRunPayPal(t *testing.T) {
	cfg := ShortConfig()
	cfg.Gateway, cfg.N = gatewayPayPal, 100
	rep := shortRun(t, cfg)
	for what, got := range map[string]int{
		"duplicate answers":       rep.Webhooks.Answers["200 duplicate"],
		"token revocations":       rep.GatewayFaults["token_expired"],
		"refunds created":         rep.Outcomes.RefundsCreated,
		"reviews":                 rep.Outcomes.Reviews,
		"pending refunds":         rep.Lifecycle.Counts[lcPending],
		"reversed refunds":        rep.Lifecycle.Counts[lcReversed],
		"webhooks badly signed":   rep.Lifecycle.Webhooks["bad_signature"],
		"webhooks dropped":        rep.Lifecycle.Webhooks["dropped"],
		"settlements by webhook":  rep.Lifecycle.Counts[lcSucceeded+" by "+byWebhook] + rep.Lifecycle.Counts[lcFailed+" by "+byWebhook],
		"injected PayPal 5xx/429": rep.GatewayFaults["paypal_500"] + rep.GatewayFaults["paypal_502"] + rep.GatewayFaults["paypal_503"] + rep.GatewayFaults["paypal_429"],
	} {
		if got == 0 {
			t.Errorf("the run had no %s: it did not test what it claims", what)
		}
	}
}

// Under -gateway stripe every transaction ID is a PaymentIntent or Charge
// ID the sandbox's Stripe rules read: the lifecycle right after pi_ or ch_,
// the first of each lifecycle with every webhook fault marker, the
// payment's currency that of the disposition, and KWD amounts Stripe takes.
func TestPlanForStripe(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{ShortConfig(), DefaultConfig()} {
		cfg.Gateway = gatewayStripe
		p := newPlan(cfg.planShape(), 7)
		shape := regexp.MustCompile(`^(pi|ch)_((pending|pendfail|reverse)_)?chaos-((DROP|REORDER|BADSIG|DUP)-)?(cur(jpy|kwd)-)?[0-9]{5}$`)
		objects, seen := map[string]int{}, map[string]bool{}
		for _, tx := range p.Txns {
			if !shape.MatchString(tx.ID) || seen[tx.ID] || pci.ContainsCardNumber(tx.ID) {
				t.Errorf("%s (%s) is no unique, card-free Stripe payment ID of the sandbox's rules", tx.ID, tx.Class)
			}
			seen[tx.ID] = true
			objects[tx.ID[:3]]++
			if lc := stripeLifecycle[tx.Class]; !strings.HasPrefix(tx.ID[3:], lc) || lc == "" && shape.FindStringSubmatch(tx.ID)[2] != "" {
				t.Errorf("%s transaction %s: lifecycle rule %q wanted", tx.Class, tx.ID, lc)
			}
			if cur := shape.FindStringSubmatch(tx.ID)[7]; cur != strings.ToLower(tx.Currency) && (cur != "" || tx.Currency != "USD") {
				t.Errorf("%s is in %s, its ID says %q", tx.ID, tx.Currency, cur)
			}
			if tx.Currency == "KWD" && tx.Class != classBadAmount && !strings.HasSuffix(tx.Amount, "0") {
				t.Errorf("%s: %s KWD is no multiple of ten fils", tx.ID, tx.Amount)
			}
		}
		for _, rule := range pendingRules {
			for _, lc := range stripeLifecycle {
				if !slices.ContainsFunc(p.Txns, func(tx *txnPlan) bool {
					return strings.HasPrefix(tx.ID[3:], lc) && strings.Contains(tx.ID, "-"+rule)
				}) {
					t.Errorf("N=%d: no %s transaction with -%s", cfg.N, lc, rule)
				}
			}
		}
		if objects["pi_"] == 0 || objects["ch_"] == 0 {
			t.Errorf("N=%d: payment objects %v; want PaymentIntents and Charges", cfg.N, objects)
		}
	}
}

// TestChaosShortRunStripe is the short run through the sandbox's Stripe
// side (-gateway stripe), with 100 posts: PaymentIntent and Charge IDs,
// the lookup before every create, Stripe-signed webhooks under the same
// faults, chargebacks to review (a merchant cannot open one at Stripe),
// and every request checked against Stripe's OpenAPI spec.
func TestChaosShortRunStripe(t *testing.T) {
	cfg := ShortConfig()
	cfg.Gateway, cfg.N = gatewayStripe, 100
	// As for Adyen: half the posts make too few refund calls for a 5%
	// 429 to strike surely.
	cfg.Fault429 = 0.10
	rep := shortRun(t, cfg)
	if n := rep.Outcomes.ChargebacksCreated; n != 0 {
		t.Errorf("Stripe made %d chargebacks; a merchant cannot", n)
	}
	for what, got := range map[string]int{
		"duplicate answers":                 rep.Webhooks.Answers["200 duplicate"],
		"refunds created":                   rep.Outcomes.RefundsCreated,
		"reviews":                           rep.Outcomes.Reviews,
		"pending refunds":                   rep.Lifecycle.Counts[lcPending],
		"pending refunds that failed":       rep.Lifecycle.Counts[lcFailed],
		"webhooks badly signed":             rep.Lifecycle.Webhooks["bad_signature"],
		"webhooks dropped":                  rep.Lifecycle.Webhooks["dropped"],
		"webhooks duplicated":               rep.Lifecycle.Webhooks["duplicated"],
		"webhooks reordered":                rep.Lifecycle.Webhooks["reordered"],
		"settlements by webhook":            rep.Lifecycle.Counts[lcSucceeded+" by "+byWebhook] + rep.Lifecycle.Counts[lcFailed+" by "+byWebhook],
		"injected Stripe 5xx":               rep.GatewayFaults["stripe_500"] + rep.GatewayFaults["stripe_502"] + rep.GatewayFaults["stripe_503"],
		"injected Stripe 429s":              rep.GatewayFaults["stripe_429"],
		"approvals of failed or reversed":   rep.Decisions.OnLifecycle["approve"],
		"succeeded refunds failed later":    rep.Lifecycle.Counts[lcReopenedFailed],
		"rejections or resolutions of them": rep.Decisions.OnLifecycle["reject"] + rep.Decisions.OnLifecycle["resolved"],
	} {
		if got == 0 {
			t.Errorf("the run had no %s: it did not test what it claims", what)
		}
	}
}
