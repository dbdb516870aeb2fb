package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refundflow/refundflow/internal/stack"
)

// answer is a final reply of the starter to one post.
type answer struct {
	Code   int    `json:"code"`
	Status string `json:"status,omitempty"`
	RunID  string `json:"runId,omitempty"`
	State  string `json:"state,omitempty"`
	Error  string `json:"error,omitempty"`
}

// delivery is one post's life: every attempt until the starter gave a
// final answer, the way Genesys (or the queue in front of it) would retry
// a 503 or a refused connection.
type delivery struct {
	Post        *post
	Sent        time.Time
	Answered    time.Time
	Attempts    int
	Unavailable int
	ConnErrors  int
	Final       answer
	GaveUp      bool
	LastError   string
}

// caller talks HTTP to the starter, retrying what a webhook sender retries.
type caller struct {
	http *http.Client
	base string
	// giveUp bounds the retries of one request; past it the post counts as
	// never answered, which the checks report.
	giveUp time.Duration
}

func newCaller(base string) *caller {
	return &caller{
		// The starter answers within its start timeout and its state
		// lookup's (5s each); more means it hangs, which is a finding.
		http:   &http.Client{Timeout: 20 * time.Second},
		base:   base,
		giveUp: 5 * time.Minute,
	}
}

// send POSTs (or GETs, with a nil body) until a final answer. 503 and
// connection errors are retried with backoff: the contract says retrying is
// always safe, and this is where that is tested.
func (c *caller) send(ctx context.Context, method, path, token string, body any, onRetry func(unavailable bool)) (stack.Reply, int, error) {
	deadline := time.Now().Add(c.giveUp)
	backoff := 200 * time.Millisecond
	for n := 1; ; n++ {
		r, err := stack.CallJSON(ctx, c.http, method, c.base+path, token, body)
		if err == nil && r.Code != http.StatusServiceUnavailable {
			return r, n, nil
		}
		if onRetry != nil {
			onRetry(err == nil)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err == nil {
				err = fmt.Errorf("still 503 after %d attempts", n)
			}
			return r, n, fmt.Errorf("%s %s: gave up after %s: %w", method, path, c.giveUp, errors.Join(err, ctx.Err()))
		}
		jitter := time.Duration(rand.Int64N(int64(backoff / 2)))
		select {
		case <-ctx.Done():
		case <-time.After(backoff + jitter):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// deliver posts one disposition and records everything that happened.
func (c *caller) deliver(ctx context.Context, token, queueID string, p *post) delivery {
	d := delivery{Post: p, Sent: time.Now()}
	a, n, err := c.send(ctx, http.MethodPost, "/v1/dispositions", token, p.body(queueID), func(unavailable bool) {
		if unavailable {
			d.Unavailable++
		} else {
			d.ConnErrors++
		}
	})
	d.Attempts, d.Answered = n, time.Now()
	if err != nil {
		d.GaveUp, d.LastError = true, err.Error()
		return d
	}
	d.Final = answer{Code: a.Code}
	_ = a.Decode(&d.Final)
	d.Final.Code = a.Code
	return d
}

// deliveries collects the outcome of every post, by sequence number.
type deliveries struct {
	mu   sync.Mutex
	byID []delivery
	done atomic.Int64
}

func newDeliveries(n int) *deliveries { return &deliveries{byID: make([]delivery, n)} }

func (ds *deliveries) record(d delivery) {
	ds.mu.Lock()
	ds.byID[d.Post.Seq] = d
	ds.mu.Unlock()
	ds.done.Add(1)
}

func (ds *deliveries) all() []delivery {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	out := make([]delivery, 0, len(ds.byID))
	for _, d := range ds.byID {
		if d.Post != nil {
			out = append(out, d)
		}
	}
	return out
}

// sendSlots delivers the slots with the given number of clients, each
// slot's posts released at the same instant.
func (c *caller) sendSlots(ctx context.Context, token, queueID string, slots []slot, clients int, ds *deliveries) {
	jobs := make(chan slot)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				c.sendTogether(ctx, token, queueID, s, ds)
			}
		}()
	}
	for _, s := range slots {
		select {
		case jobs <- s:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
}

// sendTogether fires a slot's posts at once: a duplicate that races its
// original to the starter, as two Genesys retries can.
func (c *caller) sendTogether(ctx context.Context, token, queueID string, s slot, ds *deliveries) {
	if len(s) == 1 {
		ds.record(c.deliver(ctx, token, queueID, s[0]))
		return
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range s {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			ds.record(c.deliver(ctx, token, queueID, p))
		}()
	}
	close(release)
	wg.Wait()
}
