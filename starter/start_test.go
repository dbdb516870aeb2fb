package main

import (
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/request"
)

func TestStaticMetadataFitsAndHidesCustomer(t *testing.T) {
	t.Parallel()
	d := request.Disposition{
		TransactionID: strings.Repeat("t", 128), DispositionCode: strings.Repeat("C", 256),
		CustomerTokenID: "tok_secret", CustomerID: "cus_secret", RefundAmount: money.Text(strings.Repeat("x`\n", 100)),
		ConversationID: "conv`with\nbreaks",
	}.WorkflowInput(remediation.ActionRefund, "USD", time.Now())
	summary, details := staticSummary(d), staticDetails(d)
	if len(summary) > maxSummaryBytes {
		t.Errorf("summary is %d bytes", len(summary))
	}
	for _, s := range []string{summary, details} {
		if strings.Contains(s, "secret") {
			t.Errorf("customer identifiers in %q", s)
		}
	}
	if strings.Count(details, "`")%2 != 0 || strings.Contains(details, "conv`") {
		t.Errorf("caller text breaks the markdown: %q", details)
	}
}
