package testenv

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
)

// The dev server must come up with the contract's search attributes, or every
// integration test above it would fail for the wrong reason.
func TestStartTemporalRegistersSearchAttributes(t *testing.T) {
	t.Parallel()
	env := StartTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := env.Client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"TransactionId", "DispositionCode", "RemediationState", "ConversationId"} {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			t.Errorf("search attribute %s not registered", name)
		}
	}
}
