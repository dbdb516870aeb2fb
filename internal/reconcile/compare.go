package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
)

// GatewayRefund is one refund (or chargeback) as the gateway records it.
type GatewayRefund struct {
	Gateway       string    `json:"gateway"`
	TransactionID string    `json:"transactionId"`
	Reference     string    `json:"reference"`
	AmountMinor   int64     `json:"amountMinor"`
	Currency      string    `json:"currency"`
	Status        string    `json:"status"`
	Created       time.Time `json:"created"`
}

// Moved reports whether the refund moved money: the gateway's final word
// is success. Pending, failed, canceled and reversed ones did not (or no
// longer do).
func (g GatewayRefund) Moved() bool { return strings.EqualFold(g.Status, "succeeded") }

// Gateway is a gateway's own record of refunds.
type Gateway interface {
	// Name says which gateway, in reports.
	Name() string
	// Refunds lists the refunds created in w.
	Refunds(ctx context.Context, w Window) ([]GatewayRefund, error)
	// RefundsOf lists every refund of one transaction, whenever created;
	// reference is the remediation's gateway reference ("" if none).
	RefundsOf(ctx context.Context, transactionID, reference string) ([]GatewayRefund, error)
}

// Remediations looks one remediation up, for a refund whose remediation
// started outside the window (the starter's GET /v1/remediations/{id}).
// found is false when no remediation knows the transaction.
type Remediations interface {
	Remediation(ctx context.Context, transactionID string) (rec Record, found bool, err error)
}

// The kinds of mismatch.
const (
	// MoneyWithoutCompleted: the gateway moved money for a transaction
	// whose remediation is not Completed, or that has none.
	MoneyWithoutCompleted = "money_without_completed"
	// CompletedWithoutMoney: a Completed remediation whose gateway has no
	// succeeded refund.
	CompletedWithoutMoney = "completed_without_money"
	// AmountDiffers: both agree money moved, not on how much.
	AmountDiffers = "amount_differs"
)

// Mismatch is one disagreement between the export and the gateway.
type Mismatch struct {
	Kind          string `json:"kind"`
	TransactionID string `json:"transactionId"`
	// State is the remediation's ("" when there is none).
	State string `json:"state"`
	// Ours is the remediation's amount, Theirs the sum of the gateway's
	// succeeded refunds, each as "<minor units> <currency>".
	Ours   string `json:"ours"`
	Theirs string `json:"theirs"`
	// References are the gateway's refunds of the transaction.
	References []string `json:"references,omitempty"`
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%-24s %-40s state=%-16s ours=%-16s gateway=%-16s %s",
		m.Kind, m.TransactionID, orDash(m.State), orDash(m.Ours), orDash(m.Theirs), strings.Join(m.References, ","))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Result is a reconciliation: what was compared and what disagreed.
type Result struct {
	Gateway      string     `json:"gateway"`
	Window       Window     `json:"window"`
	Remediations int        `json:"remediations"`
	Completed    int        `json:"completed"`
	Refunds      int        `json:"gatewayRefunds"`
	Moved        int        `json:"gatewayRefundsSucceeded"`
	Mismatches   []Mismatch `json:"mismatches"`
}

// Reconcile compares the remediations started in w with the gateway's
// refunds created in w. A window has edges: a refund made after an
// approval can be created after the window ends, and a refund in the
// window can belong to a remediation started before it. So before a
// transaction is called a mismatch it is looked up on the other side
// whole (Gateway.RefundsOf, Remediations.Remediation); only what still
// disagrees is reported.
func Reconcile(ctx context.Context, w Window, records []Record, gw Gateway, rems Remediations) (Result, error) {
	refunds, err := gw.Refunds(ctx, w)
	if err != nil {
		return Result{}, fmt.Errorf("list %s refunds: %w", gw.Name(), err)
	}
	res := Result{Gateway: gw.Name(), Window: w, Mismatches: []Mismatch{}}
	latest := latestRuns(records)
	res.Remediations = len(latest)
	byTxn := map[string][]GatewayRefund{}
	for _, r := range refunds {
		res.Refunds++
		if r.Moved() {
			res.Moved++
		}
		byTxn[r.TransactionID] = append(byTxn[r.TransactionID], r)
	}
	// Our side first: every remediation, against all its refunds.
	for _, txn := range sortedKeys(latest) {
		rec := latest[txn]
		if rec.State == string(remediation.StateCompleted) {
			res.Completed++
		}
		theirs := byTxn[txn]
		if rec.State == string(remediation.StateCompleted) && !anyMoved(theirs) {
			more, err := gw.RefundsOf(ctx, txn, rec.GatewayReference)
			if err != nil {
				return res, fmt.Errorf("look up %s refunds of %s: %w", gw.Name(), txn, err)
			}
			theirs = mergeRefunds(theirs, more)
		}
		if m, ok := compareOne(rec, true, theirs); ok {
			res.Mismatches = append(res.Mismatches, m)
		}
	}
	// Then the gateway's money that no remediation in the window explains.
	for _, txn := range sortedKeys(byTxn) {
		if _, ours := latest[txn]; ours || !anyMoved(byTxn[txn]) {
			continue
		}
		rec, found, err := rems.Remediation(ctx, txn)
		if err != nil {
			return res, fmt.Errorf("look up the remediation of %s: %w", txn, err)
		}
		theirs := byTxn[txn]
		if found {
			more, err := gw.RefundsOf(ctx, txn, rec.GatewayReference)
			if err != nil {
				return res, fmt.Errorf("look up %s refunds of %s: %w", gw.Name(), txn, err)
			}
			theirs = mergeRefunds(theirs, more)
		}
		if m, ok := compareOne(rec, found, theirs); ok {
			m.TransactionID = txn
			res.Mismatches = append(res.Mismatches, m)
		}
	}
	return res, nil
}

// compareOne sets one remediation (found false: none) against the
// gateway's refunds of its transaction.
func compareOne(rec Record, found bool, theirs []GatewayRefund) (Mismatch, bool) {
	completed := found && rec.State == string(remediation.StateCompleted)
	moved, currencies := movedSum(theirs)
	m := Mismatch{TransactionID: rec.TransactionID, References: references(theirs)}
	if found {
		m.State = rec.State
		m.Ours = fmt.Sprintf("%d %s", rec.AmountMinor, rec.Currency)
	}
	if len(currencies) > 0 {
		m.Theirs = fmt.Sprintf("%d %s", moved, strings.Join(currencies, "+"))
	}
	switch {
	case completed && len(currencies) == 0:
		m.Kind = CompletedWithoutMoney
	case !completed && len(currencies) > 0:
		m.Kind = MoneyWithoutCompleted
	case completed && (moved != rec.AmountMinor || len(currencies) != 1 || !strings.EqualFold(currencies[0], rec.Currency)):
		m.Kind = AmountDiffers
	default:
		return Mismatch{}, false
	}
	return m, true
}

// latestRuns keeps each transaction's latest run: a remediation reopened
// after Completed (a reversal) is listed with both runs, and the later
// one says where it stands.
func latestRuns(records []Record) map[string]Record {
	out := map[string]Record{}
	for _, rec := range records {
		if prev, ok := out[rec.TransactionID]; !ok || rec.StartTime.After(prev.StartTime) {
			out[rec.TransactionID] = rec
		}
	}
	return out
}

func anyMoved(refunds []GatewayRefund) bool {
	return slices.ContainsFunc(refunds, GatewayRefund.Moved)
}

// movedSum adds the succeeded refunds; currencies lists theirs, upper case.
func movedSum(refunds []GatewayRefund) (int64, []string) {
	var sum int64
	var currencies []string
	for _, r := range refunds {
		if !r.Moved() {
			continue
		}
		sum += r.AmountMinor
		if c := strings.ToUpper(r.Currency); !slices.Contains(currencies, c) {
			currencies = append(currencies, c)
		}
	}
	slices.Sort(currencies)
	return sum, currencies
}

func mergeRefunds(a, b []GatewayRefund) []GatewayRefund {
	out := slices.Clone(a)
	for _, r := range b {
		if !slices.ContainsFunc(out, func(o GatewayRefund) bool { return o.Gateway == r.Gateway && o.Reference == r.Reference }) {
			out = append(out, r)
		}
	}
	return out
}

func references(refunds []GatewayRefund) []string {
	var out []string
	for _, r := range refunds {
		out = append(out, r.Reference+"("+r.Status+")")
	}
	slices.Sort(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
