package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// What a crash takes down.
const (
	crashWorker  = "worker"
	crashStarter = "starter"
	crashServer  = "temporal"
)

// crash is one planned or performed SIGKILL and restart.
type crash struct {
	Target string `json:"target"`
	// At is the share of the stream's posts answered when it strikes;
	// Phase says which part of the run it belongs to.
	At    float64 `json:"atProgress"`
	Phase string  `json:"phase"`
	// Struck is when it happened; Recovery how long until the program was
	// back (for the worker: restarted; the others: answering again).
	Struck   time.Time `json:"struck"`
	Recovery string    `json:"recovery"`
	Error    string    `json:"error,omitempty"`
}

// crashPlan spreads the crashes over the stream, taking turns between the
// programs so no two strike together, and keeps the third worker kill for
// the decision phase, where approvals are resubmitting.
func crashPlan(cfg Config) (stream []crash, decisions []crash) {
	workers := cfg.WorkerKills
	if workers >= 3 {
		decisions = append(decisions, crash{Target: crashWorker, Phase: "decisions"})
		workers--
	}
	left := map[string]int{crashWorker: workers, crashStarter: cfg.StarterKills, crashServer: cfg.ServerRestarts}
	for len(stream) < workers+cfg.StarterKills+cfg.ServerRestarts {
		for _, target := range []string{crashWorker, crashStarter, crashServer} {
			if left[target] > 0 {
				left[target]--
				stream = append(stream, crash{Target: target, Phase: "stream"})
			}
		}
	}
	for i := range stream {
		stream[i].At = 0.1
		if len(stream) > 1 {
			stream[i].At = 0.1 + 0.8*float64(i)/float64(len(stream)-1)
		}
	}
	return stream, decisions
}

// strike performs one crash and waits for the program to be back.
func (w *world) strike(ctx context.Context, c crash, downFor time.Duration, progress io.Writer) crash {
	c.Struck = time.Now()
	var err error
	switch c.Target {
	case crashWorker:
		// A supervisor's restart, a second later.
		err = w.CrashWorker(0, time.Second)
	case crashStarter:
		// Genesys's deliveries meet refused connections until it is back.
		err = w.CrashStarter(ctx, 0, 500*time.Millisecond)
	case crashServer:
		err = w.CrashTemporal(ctx, downFor)
	default:
		err = fmt.Errorf("unknown crash target %q", c.Target)
	}
	c.Recovery = time.Since(c.Struck).Round(10 * time.Millisecond).String()
	if err != nil {
		c.Error = err.Error()
	}
	fmt.Fprintf(progress, "  crash: SIGKILL %s (%s phase, %.0f%% of the stream answered), back after %s%s\n",
		c.Target, c.Phase, 100*c.At, c.Recovery, map[bool]string{true: ": " + c.Error}[err != nil])
	return c
}

// strikeDuringStream performs the stream's crashes as the posts' progress
// passes each one's mark, and returns them once all have struck.
func (w *world) strikeDuringStream(ctx context.Context, plan []crash, downFor time.Duration, progress func() float64, log io.Writer) []crash {
	var done []crash
	for _, c := range plan {
		for progress() < c.At && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
		if ctx.Err() != nil {
			break
		}
		done = append(done, w.strike(ctx, c, downFor, log))
	}
	return done
}
