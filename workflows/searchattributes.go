package workflows

import (
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/internal/remediation"
)

// Typed search attribute keys (all Keyword). They hold IDs and state only:
// never tokens, customer data or amounts.
var (
	TransactionIDKey   = temporal.NewSearchAttributeKeyKeyword(remediation.AttrTransactionID)
	DispositionCodeKey = temporal.NewSearchAttributeKeyKeyword(remediation.AttrDispositionCode)
	StateKey           = temporal.NewSearchAttributeKeyKeyword(remediation.AttrState)
	ConversationIDKey  = temporal.NewSearchAttributeKeyKeyword(remediation.AttrConversationID)
)

// StartSearchAttributes are the attributes the starter sets, so the workflow
// needs no upsert until its state changes.
func StartSearchAttributes(d remediation.Disposition) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(startAttributeUpdates(d)...)
}

// ReopenSearchAttributes are those of a reopened run (the starter's
// reopenCompleted): the state it reopens from, Completed, so the run's first
// upsert is the review it goes to, not a step back through Completed.
func ReopenSearchAttributes(d remediation.Disposition) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(append(startAttributeUpdates(d), StateKey.ValueSet(string(remediation.StateCompleted)))...)
}

func startAttributeUpdates(d remediation.Disposition) []temporal.SearchAttributeUpdate {
	updates := []temporal.SearchAttributeUpdate{
		TransactionIDKey.ValueSet(d.TransactionID),
		DispositionCodeKey.ValueSet(d.DispositionCode),
		StateKey.ValueSet(string(d.InitialState())),
	}
	if d.ConversationID != "" {
		updates = append(updates, ConversationIDKey.ValueSet(d.ConversationID))
	}
	return updates
}
