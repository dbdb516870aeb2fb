package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/refundflow/refundflow/internal/stack"
)

// txnClass is what a transaction's first disposition asks for.
type txnClass string

const (
	classRefund     txnClass = "refund"
	classChargeback txnClass = "chargeback"
	// classEscalation is Escalation_Sent: straight to finance review.
	classEscalation txnClass = "escalation"
	// classBadAmount is a refund whose amount cannot be used: it must still
	// start, and go to review, never to the gateway.
	classBadAmount txnClass = "bad_amount"
	// classCardData carries a card number: refused with 422, never stored.
	classCardData txnClass = "card_data"
	// classIgnored is a non-financial wrap-up code.
	classIgnored txnClass = "ignored"
	// The gateway's lifecycles (internal/sandbox/lifecycle.go), refunds
	// all: the sandbox takes a PENDING- refund as pending and settles it
	// later, a PENDFAIL- one as pending and then fails it, and makes a
	// REVERSE- one at once and reverses it later. Only the refund under the
	// transaction's first key follows the rule; the one finance approves
	// after a failure (key <key>:r<n>) succeeds at once.
	classPending  txnClass = "pending"
	classPendFail txnClass = "pendfail"
	classReverse  txnClass = "reverse"
)

// financial reports whether the class must end up as exactly one workflow.
func (c txnClass) financial() bool { return c != classCardData && c != classIgnored }

// lifecycle reports whether the gateway settles the class's refund late,
// fails it or reverses it.
func (c txnClass) lifecycle() bool {
	return c == classPending || c == classPendFail || c == classReverse
}

// lifecyclePrefix is the transaction-ID prefix that gives the class its
// rule at the sandbox.
var lifecyclePrefix = map[txnClass]string{classPending: "PENDING-", classPendFail: "PENDFAIL-", classReverse: "REVERSE-"}

// paypalLifecyclePrefix and paypalPendingRules are the same rules in the
// letters of a PayPal capture ID ([A-Z0-9]{1,20}: internal/sandbox/paypal.go).
var (
	paypalLifecyclePrefix = map[txnClass]string{classPending: "PEND", classPendFail: "PFAIL", classReverse: "REVS"}
	paypalPendingRules    = []string{"XDROP", "XREORD", "XBADSIG", "XDUP"}
)

// pendingRules are the sandbox's webhook rules the first PENDING-, REVERSE- and
// PENDFAIL- transactions carry, so that even a short run has every fault:
// both events dropped, the pending one held back until after the final
// one, both signed with a wrong token, both sent twice. The rest take the
// dice. A poll covers whatever a webhook fails to bring.
var pendingRules = []string{"DROP-", "REORDER-", "BADSIG-", "DUP-"}

// dupKind is how a repeated delivery of a transaction is sent.
type dupKind string

const (
	dupNone dupKind = ""
	// dupConcurrent is released at the same instant as the original.
	dupConcurrent dupKind = "concurrent"
	// dupLater comes further down the stream, often across a crash.
	dupLater dupKind = "later"
	// dupAfterRun comes after the decisions, minutes later, when most
	// workflows have closed.
	dupAfterRun dupKind = "after_run"
	// dupOtherCode is the same transaction with the opposite code (refund
	// vs chargeback), concurrently or later: the two exclude each other.
	dupOtherCode dupKind = "other_code"
)

const (
	codeRefund     = "Refund_Processed"
	codeChargeback = "Chargeback_Requested"
	codeEscalation = "Escalation_Sent"
	codeIgnored    = "Issue_Resolved"
)

// txnPlan is one transaction and what its disposition carries.
type txnPlan struct {
	ID    string
	Class txnClass
	// The Genesys ids, UUIDs as Genesys sends them: the PCI screen must
	// let them through, card-number-like digit runs and all.
	ConversationID  string
	ParticipantID   string
	CommunicationID string
	Code            string
	Amount          string
	Currency        string
	// AmountAsNumber sends the amount as a JSON number instead of a string.
	AmountAsNumber bool
	AgentID        string
	// PAN is the card number a card-data post carries, and where.
	PAN      string
	PANField string
}

// post is one webhook delivery.
type post struct {
	Seq  int
	Txn  *txnPlan
	Code string
	Dup  dupKind
}

// slot is the posts released at the same instant.
type slot []*post

// plan is the whole traffic of a run, fixed by the seed before it starts.
type plan struct {
	Txns     []*txnPlan
	Stream   []slot
	AfterRun []*post
	Posts    int
	// Agents are the Genesys user ids of the agents taking the calls;
	// FourEyesAgent is one of them who also holds an approver token, so
	// their decision on their own call must be refused by the workflow.
	Agents        []string
	FourEyesAgent string
	QueueID       string
	// PANs lists every card number planted, in every form sent, for the
	// scan of histories and logs.
	PANs []string
}

// testPANs are the card brands' published test numbers: Luhn-valid, and
// never a real card.
var testPANs = []struct{ digits, spaced string }{
	{"4111111111111111", "4111 1111 1111 1111"},
	{"5555555555554444", "5555-5555-5555-4444"},
	{"378282246310005", "3782 822463 10005"},
	{"4012888888881881", "4012 8888 8888 1881"},
	{"6011111111111117", "6011-1111-1111-1117"},
}

// planShape is what a plan is drawn from besides the seed.
type planShape struct {
	N              int
	DuplicateShare float64
	// LifecycleShare of the originals are of each gateway lifecycle.
	LifecycleShare float64
	// Adyen: transaction IDs are pspReferences, with the sandbox's Adyen
	// rules (adyenLifecycle, adyenRules) instead of the ERP's prefixes.
	Adyen bool
	// PayPal draws capture-shaped IDs and PayPal's currencies.
	PayPal bool
	// Stripe draws PaymentIntent and Charge IDs with the sandbox's Stripe
	// rules (stripeTxnID).
	Stripe bool
}

func (c Config) planShape() planShape {
	return planShape{N: c.N, DuplicateShare: c.DuplicateShare, LifecycleShare: c.LifecycleShare,
		Adyen: c.Gateway == stack.GatewayAdyen, PayPal: c.Gateway == gatewayPayPal, Stripe: c.Gateway == gatewayStripe}
}

// The sandbox's Stripe rules (internal/sandbox/stripe.go): the lifecycle
// right after pi_ or ch_, the webhook fault markers of the ERP anywhere
// (pendingRules), and the payment's currency as -cur<iso>- (else USD).
var stripeLifecycle = map[txnClass]string{classPending: "pending_", classPendFail: "pendfail_", classReverse: "reverse_"}

// stripeTxnID is the i-th transaction's PaymentIntent ID, or every fourth
// a Charge ID, so both ways of refunding are taken:
// pi_<lifecycle>chaos-<rule><currency>00012, e.g.
// pi_pending_chaos-DROP-curjpy-00012. The payment's currency must be the
// disposition's, or the worker sends it to review before refunding.
func stripeTxnID(i int, lifecycle, rule, currency string) string {
	id := "pi_"
	if i%4 == 0 {
		id = "ch_"
	}
	id += lifecycle + "chaos-" + rule
	if currency != "USD" {
		id += "cur" + strings.ToLower(currency) + "-"
	}
	return id + fmt.Sprintf("%05d", i)
}

// The sandbox's Adyen rules (internal/sandbox/adyen.go): a pspReference is
// 16 letters and digits, so the rules are letters, and so is the filler.
var (
	adyenLifecycle = map[txnClass]string{classPending: "PEND", classPendFail: "PFAIL", classReverse: "REVERSE"}
	adyenRules     = []string{"DROP", "REORDER", "BADSIG", "DUP"}
)

// adyenTxnID is the i-th transaction's pspReference: the rule letters, Z
// filler, and i in upper-case base 35 (0-9, A-Y: no Z, so the filler never
// reads as a digit). No run of digits in it is long enough to look like a
// card number to the starter's screen, and the filler and the leading K of
// a plain one match no sandbox rule.
func adyenTxnID(rule string, i int) string {
	if rule == "" {
		rule = "K"
	}
	n := strings.ToUpper(strconv.FormatInt(int64(i), 35))
	if len(rule)+len(n) > 16 {
		panic(fmt.Sprintf("chaos: transaction %d does not fit a pspReference after %q", i, rule))
	}
	return rule + strings.Repeat("Z", 16-len(rule)-len(n)) + n
}

// newPlan draws the run's traffic: n posts, a share of them duplicates of
// several kinds, the rest one per transaction of every class.
func newPlan(shape planShape, seed uint64) *plan {
	n, dupShare := shape.N, shape.DuplicateShare
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	dups := int(float64(n)*dupShare + 0.5)
	originals := n - dups
	counts := []struct {
		class txnClass
		n     int
	}{
		{classCardData, max(2, originals/100)},
		{classIgnored, max(2, originals/100)},
		{classBadAmount, max(4, originals*2/100)},
		{classEscalation, max(4, originals*2/100)},
	}
	if shape.LifecycleShare > 0 {
		each := max(3, int(float64(originals)*shape.LifecycleShare+0.5))
		for _, c := range []txnClass{classPending, classPendFail, classReverse} {
			counts = append(counts, struct {
				class txnClass
				n     int
			}{c, each})
		}
	}
	special := 0
	for _, c := range counts {
		special += c.n
	}
	rest := originals - special
	counts = append(counts, struct {
		class txnClass
		n     int
	}{classChargeback, rest / 5})
	counts = append(counts, struct {
		class txnClass
		n     int
	}{classRefund, rest - rest/5})

	p := &plan{QueueID: genesysID(rng)}
	for range 9 {
		p.Agents = append(p.Agents, genesysID(rng))
	}
	p.FourEyesAgent = p.Agents[2]
	for _, c := range counts {
		for range c.n {
			p.Txns = append(p.Txns, p.newTxn(rng, len(p.Txns)+1, c.class, shape.PayPal))
		}
	}
	prefixes, rules := lifecyclePrefix, pendingRules
	if shape.PayPal {
		prefixes, rules = paypalLifecyclePrefix, paypalPendingRules
	}
	ruled := map[txnClass]int{}
	for i, t := range p.Txns {
		if shape.Adyen {
			rule := adyenLifecycle[t.Class]
			if rule != "" && ruled[t.Class] < len(adyenRules) {
				rule += adyenRules[ruled[t.Class]]
				ruled[t.Class]++
			}
			t.ID = adyenTxnID(rule, i+1)
			continue
		}
		if shape.Stripe {
			lifecycle, rule := stripeLifecycle[t.Class], ""
			if lifecycle != "" && ruled[t.Class] < len(pendingRules) {
				rule = pendingRules[ruled[t.Class]]
				ruled[t.Class]++
			}
			t.ID = stripeTxnID(i+1, lifecycle, rule, t.Currency)
			if t.Currency == "KWD" && t.Class != classBadAmount {
				// Stripe takes three-decimal currencies in multiples of ten
				// (activities.stripeAmount): 1.235 KWD would go to review.
				t.Amount = t.Amount[:len(t.Amount)-1] + "0"
			}
			continue
		}
		if prefix := prefixes[t.Class]; prefix != "" {
			switch {
			case ruled[t.Class] < len(rules):
				prefix += rules[ruled[t.Class]]
				ruled[t.Class]++
			}
			t.ID = prefix + t.ID
		}
	}
	rng.Shuffle(len(p.Txns), func(i, j int) { p.Txns[i], p.Txns[j] = p.Txns[j], p.Txns[i] })
	for _, t := range p.Txns {
		if t.PAN != "" {
			p.PANs = append(p.PANs, t.PAN)
		}
	}

	// Every original has its slot at its own position; later duplicates get
	// a position further on, and the stream is the slots in that order.
	type placed struct {
		at float64
		s  slot
	}
	var order []placed
	slotOf := map[*txnPlan]int{}
	for i, t := range p.Txns {
		slotOf[t] = len(order)
		order = append(order, placed{at: float64(i), s: slot{{Txn: t, Code: t.Code}}})
	}
	var targets, swappable []*txnPlan
	for _, t := range p.Txns {
		if t.Class.financial() {
			targets = append(targets, t)
		}
		if t.Class == classRefund || t.Class == classChargeback {
			swappable = append(swappable, t)
		}
	}
	for i := range dups {
		kind := []dupKind{dupConcurrent, dupConcurrent, dupConcurrent, dupConcurrent, dupConcurrent, dupConcurrent, dupConcurrent,
			dupLater, dupLater, dupLater, dupLater, dupLater, dupLater,
			dupAfterRun, dupAfterRun, dupAfterRun,
			dupOtherCode, dupOtherCode, dupOtherCode, dupOtherCode}[i%20]
		pool := targets
		if kind == dupOtherCode {
			pool = swappable
		}
		t := pool[rng.IntN(len(pool))]
		d := &post{Txn: t, Code: t.Code, Dup: kind}
		if kind == dupOtherCode {
			d.Code = map[string]string{codeRefund: codeChargeback, codeChargeback: codeRefund}[t.Code]
		}
		switch {
		case kind == dupAfterRun:
			p.AfterRun = append(p.AfterRun, d)
		case kind == dupConcurrent || (kind == dupOtherCode && rng.IntN(2) == 0):
			idx := slotOf[t]
			order[idx].s = append(order[idx].s, d)
		default:
			// Far enough on that the original has been answered and its
			// workflow is under way, often with a crash in between.
			from := float64(slotOf[t])
			offset := float64(n/20) + rng.Float64()*float64(n/4)
			order = append(order, placed{at: from + offset + 0.5, s: slot{d}})
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].at < order[j].at })
	for _, o := range order {
		p.Stream = append(p.Stream, o.s)
	}
	seq := 0
	for _, s := range p.Stream {
		for _, ps := range s {
			ps.Seq = seq
			seq++
		}
	}
	for _, ps := range p.AfterRun {
		ps.Seq = seq
		seq++
	}
	p.Posts = seq
	return p
}

// newTxn draws one transaction of a class. Under PayPal its ID is a
// capture ID, and HUF (no decimals at PayPal, two in ISO 4217) stands in
// for KWD, which PayPal does not take.
func (p *plan) newTxn(rng *rand.Rand, i int, class txnClass, paypal bool) *txnPlan {
	id := fmt.Sprintf("CHAOS-%05d", i)
	if paypal {
		id = fmt.Sprintf("CH%05d", i) // with the longest rule, PFAILXBADSIG, 19 of 20
	}
	t := &txnPlan{
		ID:              id,
		Class:           class,
		Code:            codeRefund,
		Currency:        "USD",
		AgentID:         p.Agents[rng.IntN(len(p.Agents))],
		ConversationID:  genesysID(rng),
		ParticipantID:   genesysID(rng),
		CommunicationID: genesysID(rng),
	}
	switch r := rng.IntN(20); {
	case r == 0:
		t.Currency = "JPY"
	case r == 1 && paypal:
		t.Currency = "HUF"
	case r == 1:
		t.Currency = "KWD"
	}
	t.Amount = validAmount(rng, t.Currency)
	t.AmountAsNumber = rng.IntN(5) == 0
	switch class {
	case classChargeback:
		t.Code = codeChargeback
	case classEscalation:
		t.Code = codeEscalation
		// Escalations always reach review, so the agent who is also an
		// approver is certain to try approving their own call.
		t.AgentID = p.FourEyesAgent
	case classIgnored:
		t.Code = codeIgnored
	case classBadAmount:
		t.Currency = "USD"
		t.AmountAsNumber = false
		t.Amount = []string{"0", "-5.00", "12.345", "abc", "", "0.00", "1,000.00"}[rng.IntN(7)]
	case classCardData:
		pan := testPANs[rng.IntN(len(testPANs))]
		t.PANField = []string{"customerTokenId", "customerId", "cardNumber", "notes"}[rng.IntN(4)]
		t.PAN = pan.digits
		if rng.IntN(2) == 0 {
			t.PAN = pan.spaced
		}
	}
	return t
}

// validAmount is a refundable amount written with the currency's decimals.
func validAmount(rng *rand.Rand, currency string) string {
	switch currency {
	case "JPY":
		return fmt.Sprintf("%d", 100+rng.IntN(50000))
	case "KWD":
		return fmt.Sprintf("%d.%03d", 1+rng.IntN(200), rng.IntN(1000))
	case "HUF":
		// Whole forints: PayPal takes HUF without decimals.
		return fmt.Sprintf("%d.00", 100+rng.IntN(50000))
	default:
		return fmt.Sprintf("%d.%02d", 1+rng.IntN(500), rng.IntN(100))
	}
}

// genesysID is a random (version 4) UUID, the shape of every Genesys id,
// drawn from the plan's dice so a seed repeats the same ids.
func genesysID(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// correctedAmount is what finance ops approve for an amount that could not
// be used.
func correctedAmount(currency string) string {
	switch currency {
	case "JPY":
		return "1000"
	case "KWD":
		return "1.000"
	case "HUF":
		return "1000.00"
	default:
		return "10.00"
	}
}

// body is the webhook JSON for a post, as Genesys's Data Action sends it.
func (p *post) body(queueID string) map[string]any {
	t := p.Txn
	b := map[string]any{
		"transactionId":   t.ID,
		"dispositionCode": p.Code,
		"customerTokenId": "tok_visa_" + t.ID[len(t.ID)-4:],
		"customerId":      "CUST-" + t.ID,
		"currency":        t.Currency,
		"conversationId":  t.ConversationID,
		"participantId":   t.ParticipantID,
		"communicationId": t.CommunicationID,
		"agentId":         t.AgentID,
		"queueId":         queueID,
	}
	switch {
	case t.Amount == "":
	case t.AmountAsNumber:
		b["refundAmount"] = json.Number(t.Amount)
	default:
		b["refundAmount"] = t.Amount
	}
	switch t.PANField {
	case "":
	case "notes":
		b["notes"] = "customer read the card out: " + t.PAN + " please refund"
	default:
		b[t.PANField] = t.PAN
	}
	return b
}
