package main

import (
	"context"
	"sync"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// Why this exists: a start with conflict policy USE_EXISTING answers a
// duplicate exactly like a new start (no error, the existing run's ID); only
// StartWorkflowExecutionResponse.Started tells them apart, and the SDK's
// WorkflowRun does not expose it. Asking Temporal afterwards would cost a
// second round trip on every new transaction, the common case. So a gRPC
// interceptor on the client's connection copies Started into a recorder
// that the caller put in the request's context; the SDK passes the context
// through to the RPC, so the value reaches exactly the start that asked.

// startRecorder receives the Started flag of one StartWorkflowExecution.
type startRecorder struct {
	mu      sync.Mutex
	seen    bool
	started bool
}

type startRecorderKey struct{}

// withStartRecorder returns a context whose StartWorkflowExecution response
// is recorded, and the recorder to read it from.
func withStartRecorder(ctx context.Context) (context.Context, *startRecorder) {
	rec := &startRecorder{}
	return context.WithValue(ctx, startRecorderKey{}, rec), rec
}

// result reports the Started flag, and whether a response was seen at all.
func (r *startRecorder) result() (started, seen bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started, r.seen
}

func (r *startRecorder) record(started bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen, r.started = true, started
}

// recordStartInterceptor is installed with grpc.WithChainUnaryInterceptor.
// It runs inside the SDK's retry loop, so it sees every attempt; the last
// successful one is the one recorded. (A retried start carries the same
// request ID, and Temporal answers it as the original, Started included.)
func recordStartInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil {
		return err
	}
	if resp, ok := reply.(*workflowservice.StartWorkflowExecutionResponse); ok {
		if rec, ok := ctx.Value(startRecorderKey{}).(*startRecorder); ok {
			rec.record(resp.GetStarted())
		}
	}
	return nil
}
