package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/replaygate"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
	"github.com/refundflow/refundflow/workflows"
)

// TestReplayGate runs remediations on a dev server (a refund that
// completes, a review that stays open, one approved and completed),
// then gates this build, which must pass, and a build with an incompatible
// workflow registered under the same name, which must fail on every
// history, open and closed.
func TestReplayGate(t *testing.T) {
	w := testenv.StartWorld(t, stack.Options{})
	refund := stack.Unique("RG-refund-")
	reviews := []string{stack.Unique("RG-review-"), stack.Unique("RG-review2-")}
	if r := w.PostDisposition(stack.Disposition(refund, "Refund_Processed", "10.00")); r.Code != http.StatusAccepted {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	for _, id := range reviews {
		if r := w.PostDisposition(stack.Disposition(id, "Escalation_Sent", "20.00")); r.Code != http.StatusAccepted {
			t.Fatalf("%d %s", r.Code, r.Raw)
		}
	}
	w.WaitState(refund, remediation.StateCompleted)
	for _, id := range reviews {
		w.WaitState(id, remediation.StateAwaitingReview)
	}
	// One review approved: a closed history with a signal and a refund.
	if r := w.Decide(reviews[1], map[string]any{"decision": "approve", "decisionId": "d-" + reviews[1]}); r.Code != http.StatusAccepted {
		t.Fatalf("decision: %d %s", r.Code, r.Raw)
	}
	w.WaitState(reviews[1], remediation.StateCompleted)
	t.Setenv("REFUNDFLOW_TEMPORAL_ADDRESS", w.Stack.HostPort)
	t.Setenv("REFUNDFLOW_TASK_QUEUE", w.Stack.TaskQueue)
	t.Setenv("REFUNDFLOW_REPLAY_GATE_CLOSED_SAMPLE", "10")

	// Visibility lags: wait until it lists the open one and the two closed.
	gate := func(t *testing.T, register func(replaygate.Registry)) (int, replaygate.Result, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"-json"}, &stdout, &stderr, register)
		var res replaygate.Result
		if code != exitFailed {
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("exit %d, %q: %v", code, stdout.String(), err)
			}
		}
		return code, res, stderr.String()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, res, stderr := gate(t, nil)
		if code == exitReplays && res.Open == 1 && res.Closed == 2 && len(res.Failures) == 0 && res.Events > 0 {
			break
		}
		if time.Now().After(deadline) || code != exitReplays {
			t.Fatalf("this build: exit %d, %+v, stderr %s", code, res, stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Run("an incompatible change fails on every history", func(t *testing.T) {
		// The same name and signature, other commands: a timer first where
		// the histories recorded activities and search-attribute upserts.
		changed := func(ctx workflow.Context, d remediation.Disposition, _ *workflows.ContinuedReview) (remediation.Outcome, error) {
			if err := workflow.Sleep(ctx, time.Hour); err != nil {
				return remediation.Outcome{}, err
			}
			return remediation.Outcome{State: remediation.StateCompleted, TransactionID: d.TransactionID}, nil
		}
		code, res, stderr := gate(t, func(r replaygate.Registry) {
			r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: remediation.WorkflowType})
		})
		if code != exitNotReplays || len(res.Failures) != 3 {
			t.Fatalf("exit %d, %+v, stderr %s", code, res, stderr)
		}
		open := 0
		for _, f := range res.Failures {
			if f.Open {
				open++
			}
			// TMPRL1100 is the SDK's code for a non-determinism error.
			if !strings.Contains(f.Error, "TMPRL1100") {
				t.Errorf("%s: %s, want a non-determinism error", f.WorkflowID, f.Error)
			}
		}
		if open != 1 {
			t.Errorf("%d open failures, want 1: %+v", open, res.Failures)
		}
	})

	t.Run("text output and exit code", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), nil, &stdout, &stderr, nil); code != exitReplays ||
			!strings.Contains(stdout.String(), "replay gate PASS: 1 open and 2 closed") {
			t.Errorf("exit %d: %s%s", code, stdout.String(), stderr.String())
		}
	})

	t.Run("no cluster", func(t *testing.T) {
		t.Setenv("REFUNDFLOW_TEMPORAL_ADDRESS", testenv.FreeAddr(t))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var stdout, stderr bytes.Buffer
		if code := run(ctx, nil, &stdout, &stderr, nil); code != exitFailed {
			t.Errorf("exit %d, want %d: %s%s", code, exitFailed, stdout.String(), stderr.String())
		}
	})
}

// With encrypted payloads the gate decodes them with the worker's codec
// keys; without the keys it cannot replay, and says so.
func TestReplayGateDecodesEncryptedPayloads(t *testing.T) {
	keys := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	w := testenv.StartWorld(t, stack.Options{CodecKeys: keys})
	txn := stack.Unique("RG-enc-")
	if r := w.PostDisposition(stack.Disposition(txn, "Escalation_Sent", "10.00")); r.Code != http.StatusAccepted {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	w.WaitState(txn, remediation.StateAwaitingReview)
	t.Setenv("REFUNDFLOW_TEMPORAL_ADDRESS", w.Stack.HostPort)
	t.Setenv("REFUNDFLOW_TASK_QUEUE", w.Stack.TaskQueue)
	gate := func() (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), nil, &stdout, &stderr, nil)
		return code, stdout.String() + stderr.String()
	}
	t.Setenv("REFUNDFLOW_CODEC_KEYS", keys)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out := gate()
		if code == exitReplays && strings.Contains(out, "1 open and 0 closed") {
			break
		}
		if code != exitReplays || time.Now().After(deadline) {
			t.Fatalf("with the keys: exit %d\n%s", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Setenv("REFUNDFLOW_CODEC_KEYS", "")
	if code, out := gate(); code != exitNotReplays || !strings.Contains(out, "remediation-"+txn) || !strings.Contains(out, "cannot decode its input") {
		t.Errorf("without the keys: exit %d, want %d\n%s", code, exitNotReplays, out)
	}
}
