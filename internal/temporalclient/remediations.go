package temporalclient

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/refundflow/refundflow/internal/remediation"
)

// What the starter (reopen, list) and the reconciliation export read of a
// remediation outside its workflow, read one way.

// StartedDisposition reads the disposition a run was started with: the
// first input of its first event, decoded with dc (the codec's, when
// payloads are encrypted).
func StartedDisposition(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID, runID string) (remediation.Disposition, error) {
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return remediation.Disposition{}, fmt.Errorf("%s has no history", workflowID)
	}
	first, err := iter.Next()
	if err != nil {
		return remediation.Disposition{}, fmt.Errorf("read the history of %s: %w", workflowID, err)
	}
	input := first.GetWorkflowExecutionStartedEventAttributes().GetInput()
	if len(input.GetPayloads()) == 0 {
		return remediation.Disposition{}, errors.New(workflowID + " was started without a disposition")
	}
	var d remediation.Disposition
	if err := dc.FromPayload(input.GetPayloads()[0], &d); err != nil {
		return remediation.Disposition{}, fmt.Errorf("decode the disposition of %s: %w", workflowID, err)
	}
	return d, nil
}

// Keyword decodes one Keyword search attribute of a visibility record, ""
// when absent. Search attributes are never encrypted: the default
// converter reads them.
func Keyword(fields map[string]*commonpb.Payload, name string) string {
	p, ok := fields[name]
	if !ok {
		return ""
	}
	var v string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		return ""
	}
	return v
}
