package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Ledger is everything the sandbox received, as GET /sandbox/ledger shows it.
// It holds no Authorization header, token or secret: only what a gateway or
// Genesys would keep about the business request.
type Ledger struct {
	// Refunds and Chargebacks are keyed by Idempotency-Key.
	Refunds     map[string]*Submission `json:"refunds"`
	Chargebacks map[string]*Submission `json:"chargebacks"`
	// StripeRefunds are the Stripe side's refunds (stripe.go), keyed by
	// Idempotency-Key (by refund id for one made without a key).
	StripeRefunds map[string]*Submission `json:"stripeRefunds"`
	// AdyenRefunds are the Adyen side's refunds (adyen.go), keyed by
	// Idempotency-Key (by the refund's pspReference for one made without
	// a key). Their AmountMinor is in Adyen's minor units.
	AdyenRefunds map[string]*Submission `json:"adyenRefunds"`
	// PayPalRefunds are the PayPal side's refunds (paypal.go), keyed by
	// PayPal-Request-Id; PayPalTransmissions its webhook deliveries by
	// transmission ID, for verify-webhook-signature.
	PayPalRefunds       map[string]*Submission        `json:"paypalRefunds"`
	PayPalTransmissions map[string]PayPalTransmission `json:"paypalTransmissions"`
	// Healed lists FAIL- transactions told to succeed from now on.
	Healed          map[string]bool  `json:"healed"`
	AttributeWrites []AttributeWrite `json:"attributeWrites"`
	Wrapups         []Wrapup         `json:"wrapups"`
	Workitems       []*Workitem      `json:"workitems"`
	WorkitemQueries int              `json:"workitemQueries"`
	// WorktypeStatusQueries counts reads of a worktype's statuses.
	WorktypeStatusQueries int     `json:"worktypeStatusQueries"`
	Emails                []Email `json:"emails"`
	// Webhooks are the gateway events sent to the starter, or dropped.
	Webhooks []*Webhook `json:"webhooks"`
	Stats    Stats      `json:"stats"`
}

// Submission is one Idempotency-Key at the gateway: how often it was asked,
// and whether (once, at most) it created a refund or chargeback.
type Submission struct {
	IdempotencyKey string `json:"idempotencyKey"`
	Kind           string `json:"kind"`
	TransactionID  string `json:"transactionId"`
	CustomerID     string `json:"customerId,omitempty"`
	// Amount is the JSON number exactly as received; AmountMinor its value.
	Amount      string `json:"amount"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
	ReasonCode  string `json:"reasonCode"`
	InitiatedBy string `json:"initiatedBy"`
	Timestamp   string `json:"timestamp,omitempty"`
	// Requests counts every authenticated, well-formed call with this key.
	Requests int `json:"requests"`
	// Creations is 1 once the gateway made the refund; never more.
	Creations int `json:"creations"`
	// Replays counts calls answered from the stored response.
	Replays int `json:"replays"`
	// Faults counts failures the sandbox answered, by kind ("503", "429",
	// "422", "hang", "rule_fail", "rule_reject", "forced_503", ...).
	Faults     map[string]int `json:"faults,omitempty"`
	Reference  string         `json:"reference,omitempty"`
	LastStatus int            `json:"lastStatus"`
	FirstSeen  time.Time      `json:"firstSeen"`
	CreatedAt  *time.Time     `json:"createdAt,omitempty"`
	// Response is what a repeated key replays (under a lifecycle rule: the
	// answer at creation; a replay answers the refund's current state).
	Response json.RawMessage `json:"response,omitempty"`
	// Status is the refund's state at the gateway now (pending, succeeded,
	// failed, reversed), StatusReason the gateway's reason for it, History
	// every state it had, oldest first.
	Status       string         `json:"status,omitempty"`
	StatusReason string         `json:"statusReason,omitempty"`
	History      []StatusChange `json:"history,omitempty"`
	// Lifecycle is the rule it follows (pending, pendfail, reverse), empty
	// for one that succeeded at once; NextStatus is the change it has in
	// store at NextAt.
	Lifecycle  string     `json:"lifecycle,omitempty"`
	NextStatus string     `json:"nextStatus,omitempty"`
	NextReason string     `json:"nextReason,omitempty"`
	NextAt     *time.Time `json:"nextAt,omitempty"`
	// StatusReads counts GET /erp/refunds/{id} (the worker's polls).
	StatusReads int `json:"statusReads,omitempty"`
	// Gateway is "stripe" for a refund of the Stripe side, empty for the
	// ERP. Params is its form as Stripe compares a replayed key's (sorted,
	// encoded), Metadata its metadata, PaymentIntent and Charge what it
	// refunds.
	Gateway       string            `json:"gateway,omitempty"`
	Params        string            `json:"params,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	PaymentIntent string            `json:"paymentIntent,omitempty"`
	Charge        string            `json:"charge,omitempty"`
	// PayPalBase is the PayPal side's base URL as the refund's caller
	// reached it: the root of its HATEOAS links.
	PayPalBase string `json:"paypalBase,omitempty"`
}

// AttributeWrite is one PATCH of participant attributes.
type AttributeWrite struct {
	ConversationID string            `json:"conversationId"`
	ParticipantID  string            `json:"participantId"`
	Attributes     map[string]string `json:"attributes"`
	At             time.Time         `json:"at"`
}

// Wrapup is one wrap-up code request, accepted or refused.
type Wrapup struct {
	ConversationID  string    `json:"conversationId"`
	ParticipantID   string    `json:"participantId"`
	CommunicationID string    `json:"communicationId"`
	Code            string    `json:"code"`
	Notes           string    `json:"notes,omitempty"`
	Accepted        bool      `json:"accepted"`
	At              time.Time `json:"at"`
}

// Workitem is a Genesys Task Management workitem as the sandbox stores it.
type Workitem struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	TypeID       string         `json:"typeId"`
	QueueID      string         `json:"queueId,omitempty"`
	Description  string         `json:"description,omitempty"`
	Priority     int            `json:"priority"`
	ExternalTag  string         `json:"externalTag,omitempty"`
	CustomFields map[string]any `json:"customFields,omitempty"`
	StatusID     string         `json:"statusId,omitempty"`
	// StatusCategory is the category of StatusID (Open, InProgress,
	// Waiting or Closed); empty in ledgers from before statuses, Open.
	StatusCategory string `json:"statusCategory,omitempty"`
	// DateClosed is when the workitem was moved to a Closed status.
	DateClosed   *time.Time `json:"dateClosed,omitempty"`
	Updates      int        `json:"updates"`
	DateCreated  time.Time  `json:"dateCreated"`
	DateModified time.Time  `json:"dateModified"`
	// ModifiedBy is the Genesys user who changed it last (the OAuth
	// client's integration user for the worker's own changes), and
	// DateStatusChanged when its status last changed.
	ModifiedBy        string     `json:"modifiedBy,omitempty"`
	DateStatusChanged *time.Time `json:"dateStatusChanged,omitempty"`
}

// Email is one agentless email.
type Email struct {
	ConversationID string    `json:"conversationId"`
	From           string    `json:"from"`
	To             []string  `json:"to"`
	Subject        string    `json:"subject"`
	Body           string    `json:"body"`
	At             time.Time `json:"at"`
}

// Stats are counters across all requests.
type Stats struct {
	TokensIssued       int `json:"tokensIssued"`
	TokensRejected     int `json:"tokensRejected"`
	ClientAuthFailures int `json:"clientAuthFailures"`
	// Faults counts injected failures by kind, the random ones and the
	// token revocations included.
	Faults map[string]int `json:"faults"`
	// CardDataSeen counts requests whose body held something shaped like a
	// card number; CardDataPaths says where (never the number itself).
	CardDataSeen  int      `json:"cardDataSeen"`
	CardDataPaths []string `json:"cardDataPaths,omitempty"`
	// Webhooks counts gateway events: events, attempts, and by outcome
	// (delivered, refused, failed, unsent) and fault (dropped, duplicated,
	// reordered, delayed, bad_signature).
	Webhooks map[string]int `json:"webhooks"`
	// SpecViolations counts requests to the Stripe side that Stripe's
	// OpenAPI spec refuses (stripespec.go), requests to the Adyen side
	// that Adyen's Checkout v71 spec refuses and webhooks of the Adyen
	// side that Adyen's Webhooks v1 spec refuses (adyenspec.go);
	// SpecViolationNotes says what (the first 50). It must stay 0.
	SpecViolations     int      `json:"specViolations"`
	SpecViolationNotes []string `json:"specViolationNotes,omitempty"`
	// GenesysSpecViolations counts Genesys requests the Platform API spec
	// refuses (genesysspec.go), GenesysSpecViolationNotes says what (the
	// first 50); it must stay 0. GenesysRequests counts the Genesys API
	// calls, GenesysRateLimited those answered 429 by the rate limit.
	GenesysSpecViolations     int      `json:"genesysSpecViolations"`
	GenesysSpecViolationNotes []string `json:"genesysSpecViolationNotes,omitempty"`
	GenesysRequests           int      `json:"genesysRequests"`
	GenesysRateLimited        int      `json:"genesysRateLimited"`
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{
		Refunds:         map[string]*Submission{},
		Chargebacks:     map[string]*Submission{},
		StripeRefunds:   map[string]*Submission{},
		AdyenRefunds:    map[string]*Submission{},
		Healed:          map[string]bool{},
		AttributeWrites: []AttributeWrite{},
		Wrapups:         []Wrapup{},
		Workitems:       []*Workitem{},
		Emails:          []Email{},
		Webhooks:        []*Webhook{},
		Stats:           Stats{Faults: map[string]int{}, Webhooks: map[string]int{}},

		PayPalRefunds:       map[string]*Submission{},
		PayPalTransmissions: map[string]PayPalTransmission{},
	}
}

// submissions returns the map for a kind of gateway call.
func (l *Ledger) submissions(kind string) map[string]*Submission {
	if kind == kindChargeback {
		return l.Chargebacks
	}
	return l.Refunds
}

// allSubmissions is every map of refunds: the ERP's refunds and
// chargebacks, and Stripe's refunds.
func (l *Ledger) allSubmissions() []map[string]*Submission {
	return []map[string]*Submission{l.Refunds, l.Chargebacks, l.StripeRefunds, l.AdyenRefunds, l.PayPalRefunds}
}

// Summary is the money view: what the gateway created, and the transactions
// that got more than one refund or chargeback (which must never happen).
type Summary struct {
	RefundsCreated     int      `json:"refundsCreated"`
	ChargebacksCreated int      `json:"chargebacksCreated"`
	Transactions       int      `json:"transactions"`
	MultipleCreations  []string `json:"multipleCreations"`
	WorkitemsCreated   int      `json:"workitemsCreated"`
	// WorkitemsClosed counts workitems in a Closed status.
	WorkitemsClosed int `json:"workitemsClosed"`
	// DuplicateWorkitems lists external tags with more than one workitem.
	DuplicateWorkitems []string `json:"duplicateWorkitems"`
	EmailsSent         int      `json:"emailsSent"`
}

func (l *Ledger) summary() Summary {
	sum := Summary{MultipleCreations: []string{}, DuplicateWorkitems: []string{}}
	created := map[string]int{}
	seen := map[string]bool{}
	for _, m := range l.allSubmissions() {
		for _, sub := range m {
			seen[sub.TransactionID] = true
			created[sub.TransactionID] += sub.Creations
			if sub.Kind == kindChargeback {
				sum.ChargebacksCreated += sub.Creations
			} else {
				sum.RefundsCreated += sub.Creations
			}
		}
	}
	sum.Transactions = len(seen)
	for txn, n := range created {
		if n > 1 {
			sum.MultipleCreations = append(sum.MultipleCreations, txn)
		}
	}
	tags := map[string]int{}
	for _, wi := range l.Workitems {
		if wi.ExternalTag != "" {
			tags[wi.ExternalTag]++
		}
		if wi.category() == categoryClosed {
			sum.WorkitemsClosed++
		}
	}
	for tag, n := range tags {
		if n > 1 {
			sum.DuplicateWorkitems = append(sum.DuplicateWorkitems, tag)
		}
	}
	sort.Strings(sum.MultipleCreations)
	sort.Strings(sum.DuplicateWorkitems)
	sum.WorkitemsCreated = len(l.Workitems)
	sum.EmailsSent = len(l.Emails)
	return sum
}

// LedgerView is GET /sandbox/ledger: the whole ledger with its money view.
type LedgerView struct {
	Summary Summary `json:"summary"`
	*Ledger
}

// TransactionView is GET /sandbox/ledger/{transactionId}.
type TransactionView struct {
	TransactionID      string           `json:"transactionId"`
	RefundsCreated     int              `json:"refundsCreated"`
	ChargebacksCreated int              `json:"chargebacksCreated"`
	GatewayRequests    int              `json:"gatewayRequests"`
	Healed             bool             `json:"healed"`
	Submissions        []*Submission    `json:"submissions"`
	AttributeWrites    []AttributeWrite `json:"attributeWrites"`
	Wrapups            []Wrapup         `json:"wrapups"`
	Workitems          []*Workitem      `json:"workitems"`
	Emails             []Email          `json:"emails"`
	Webhooks           []*Webhook       `json:"webhooks"`
}

// GatewayStatus is the state now of the refund (or chargeback) made last
// for the transaction, "" if none was made.
func (v TransactionView) GatewayStatus() string {
	status := ""
	for _, sub := range v.Submissions {
		if sub.Creations > 0 {
			status = sub.currentStatus()
		}
	}
	return status
}

// LastRefundStatus is the refundStatus Genesys was last told about the
// transaction, or "" before any write-back.
func (v TransactionView) LastRefundStatus() string {
	if len(v.AttributeWrites) == 0 {
		return ""
	}
	return v.AttributeWrites[len(v.AttributeWrites)-1].Attributes["refundStatus"]
}

// forTransaction gathers what the sandbox received about one transaction.
// Genesys calls carry the transaction in different places: the
// refundTransactionId attribute, the workitem's externalTag, an email's
// text; a wrap-up belongs to it when its conversation does.
func (l *Ledger) forTransaction(txn string) TransactionView {
	v := TransactionView{
		TransactionID:   txn,
		Healed:          l.Healed[txn],
		Submissions:     []*Submission{},
		AttributeWrites: []AttributeWrite{},
		Wrapups:         []Wrapup{},
		Workitems:       []*Workitem{},
		Emails:          []Email{},
		Webhooks:        []*Webhook{},
	}
	for _, m := range l.allSubmissions() {
		for _, sub := range m {
			if sub.TransactionID != txn {
				continue
			}
			v.Submissions = append(v.Submissions, sub)
			v.GatewayRequests += sub.Requests
			if sub.Kind == kindChargeback {
				v.ChargebacksCreated += sub.Creations
			} else {
				v.RefundsCreated += sub.Creations
			}
		}
	}
	sort.Slice(v.Submissions, func(i, j int) bool { return v.Submissions[i].FirstSeen.Before(v.Submissions[j].FirstSeen) })
	conversations := map[string]bool{}
	for _, aw := range l.AttributeWrites {
		if aw.Attributes["refundTransactionId"] == txn {
			v.AttributeWrites = append(v.AttributeWrites, aw)
			conversations[aw.ConversationID] = true
		}
	}
	for _, wu := range l.Wrapups {
		if conversations[wu.ConversationID] || strings.Contains(wu.Notes, txn) {
			v.Wrapups = append(v.Wrapups, wu)
		}
	}
	for _, wi := range l.Workitems {
		if wi.ExternalTag == txn {
			v.Workitems = append(v.Workitems, wi)
		}
	}
	for _, e := range l.Emails {
		if strings.Contains(e.Subject, txn) || strings.Contains(e.Body, txn) {
			v.Emails = append(v.Emails, e)
		}
	}
	for _, wh := range l.Webhooks {
		if wh.TransactionID == txn {
			v.Webhooks = append(v.Webhooks, wh)
		}
	}
	return v
}

// showLedger answers GET /sandbox/ledger.
func (s *Server) showLedger(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.advanceAll(s.now().UTC())
	body, err := json.Marshal(LedgerView{s.ledger.summary(), s.ledger})
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// showTransaction answers GET /sandbox/ledger/{transactionId}.
func (s *Server) showTransaction(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.advanceAll(s.now().UTC())
	body, err := json.Marshal(s.ledger.forTransaction(r.PathValue("transactionId")))
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// resetLedger answers DELETE /sandbox/ledger: forget everything but tokens.
func (s *Server) resetLedger(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.ledger = NewLedger()
	s.dirty = true
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// heal answers POST /sandbox/heal/{transactionId}: a FAIL- transaction
// succeeds from now on, as a gateway does when its outage ends.
func (s *Server) heal(w http.ResponseWriter, r *http.Request) {
	txn := r.PathValue("transactionId")
	s.mu.Lock()
	s.ledger.Healed[txn] = true
	s.dirty = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"healed": txn})
}

// Load reads a ledger saved by Save. A missing file is an empty ledger.
func (s *Server) Load(path string) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	l := NewLedger()
	if err := json.Unmarshal(data, l); err != nil {
		return fmt.Errorf("sandbox state %s: %w", path, err)
	}
	if l.Stats.Faults == nil {
		l.Stats.Faults = map[string]int{}
	}
	if l.Stats.Webhooks == nil {
		l.Stats.Webhooks = map[string]int{}
	}
	if l.Webhooks == nil {
		l.Webhooks = []*Webhook{}
	}
	if l.StripeRefunds == nil {
		l.StripeRefunds = map[string]*Submission{}
	}
	if l.AdyenRefunds == nil {
		l.AdyenRefunds = map[string]*Submission{}
	}
	if l.PayPalRefunds == nil {
		l.PayPalRefunds = map[string]*Submission{}
	}
	if l.PayPalTransmissions == nil {
		l.PayPalTransmissions = map[string]PayPalTransmission{}
	}
	for _, wh := range l.Webhooks {
		if wh.State == webhookSending {
			// Cut off by the stop: a gateway sends it again.
			wh.State = webhookQueued
		}
	}
	for _, m := range l.allSubmissions() {
		for _, sub := range m {
			if sub.Faults == nil {
				sub.Faults = map[string]int{}
			}
		}
	}
	s.mu.Lock()
	s.ledger = l
	s.mu.Unlock()
	return nil
}

// Save writes the ledger to path if it changed since the last save, through
// a temporary file and a rename, so a crash never leaves half a ledger.
func (s *Server) Save(path string) error {
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	data, err := json.Marshal(s.ledger)
	s.dirty = false
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, data); err != nil {
		// Keep it dirty, so the next tick tries again.
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sandbox-ledger-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// SaveEvery writes the ledger to path when it changed, so a crash loses at
// most the last interval.
func (s *Server) SaveEvery(ctx context.Context, path string, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Save(path); err != nil {
				logger.Error("save ledger", "path", path, "error", err)
			}
		}
	}
}
