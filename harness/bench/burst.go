package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
)

// burstResult is one run of the burst row: a shift's end, N wrap-ups posted
// at once, against the sandbox's Genesys rate limit, with two workers.
type burstResult struct {
	Name  string `json:"name"`
	Paced bool   `json:"paced"`
	N     int    `json:"n"`
	// LimitPerMinute is the sandbox's Genesys limit per OAuth client, and
	// the workers' REFUNDFLOW_GENESYS_RATE_LIMIT when paced.
	LimitPerMinute int `json:"limitPerMinute"`
	Workers        int `json:"workers"`
	// GenesysCalls counts every Genesys API request, the 429s included;
	// RateLimited the 429s; Share429 their share of the calls.
	GenesysCalls int     `json:"genesysCalls"`
	RateLimited  int     `json:"rateLimited"`
	Share429     float64 `json:"share429"`
	// DrainSeconds runs from the first post to the last outcome written
	// to Genesys; PhysicalSeconds is what the limit allows at best: the
	// calls needed (one attribute write per refund) / the limit.
	DrainSeconds    float64 `json:"drainSeconds"`
	PhysicalSeconds float64 `json:"physicalSeconds"`
	// MaxOutcomeWaitSeconds is the longest a refund's outcome waited (post
	// to attribute write); OverPhysical counts outcomes that waited longer
	// than the physical drain time explains.
	MaxOutcomeWaitSeconds float64 `json:"maxOutcomeWaitSeconds"`
	OverPhysical          int     `json:"overPhysical"`
}

// runBursts measures the burst unpaced (before: the Genesys activities as
// fast as the workers go) and paced (after), each on a fresh stack.
func runBursts(ctx context.Context, cfg config, logw io.Writer) ([]burstResult, error) {
	var out []burstResult
	binDir := ""
	for _, paced := range []bool{false, true} {
		res, bin, err := runBurst(ctx, cfg, logw, paced, binDir)
		if err != nil {
			return out, err
		}
		binDir = bin
		out = append(out, res)
	}
	if !cfg.keep && binDir != "" {
		// The first stack's folder held the programs both ran.
		_ = os.RemoveAll(filepath.Dir(binDir))
	}
	return out, nil
}

func runBurst(ctx context.Context, cfg config, logw io.Writer, paced bool, binDir string) (burstResult, string, error) {
	res := burstResult{Name: "burst, unpaced (before)", Paced: paced, N: cfg.burstN, LimitPerMinute: cfg.burstLimit, Workers: 2}
	workerLimit := "0"
	if paced {
		res.Name, workerLimit = "burst, paced (after)", strconv.Itoa(cfg.burstLimit)
	}
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return res, "", err
	}
	dir, err := os.MkdirTemp(cfg.outDir, "burst-")
	if err != nil {
		return res, "", err
	}
	opts := stack.Options{
		Dir: dir, Root: cfg.repoRoot, TemporalCLI: cfg.temporalBin, DevServerArgs: cfg.serverArgs, LogLevel: "info", Workers: 2,
		SandboxEnv: append([]string{"REFUNDFLOW_SANDBOX_GENESYS_RATE_LIMIT=" + strconv.Itoa(cfg.burstLimit), "REFUNDFLOW_SANDBOX_TOKEN_TTL=3600s"}, cfg.sandboxEnv...),
		WorkerEnv:  append([]string{"REFUNDFLOW_GENESYS_RATE_LIMIT=" + workerLimit}, cfg.workerEnv...),
	}
	if binDir == "" {
		opts.Build = true
	} else {
		opts.BinDir = binDir
	}
	fmt.Fprintf(logw, "%s: %d wrap-ups at once, Genesys limit %d a minute, 2 workers ...\n", res.Name, res.N, res.LimitPerMinute)
	w, err := stack.Start(ctx, opts)
	if err != nil {
		return res, "", fmt.Errorf("%s: start the stack: %w (logs in %s)", res.Name, err, dir)
	}
	keep := cfg.keep
	defer func() {
		_ = w.Stop()
		if !keep {
			_ = os.RemoveAll(dir)
		}
	}()
	if binDir == "" {
		binDir = filepath.Join(dir, "bin")
		keep = true // the next stack runs these programs
	}
	api := keptAlive(w.API, 32)
	prefix := fmt.Sprintf("BURST%s%d-", map[bool]string{false: "U", true: "P"}[paced], time.Now().UnixNano()%1e6)
	posted := make([]time.Time, res.N)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, res.N)
	sem := make(chan struct{}, 32)
	for i := range res.N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			txn := fmt.Sprintf("%s%05d", prefix, i)
			posted[i] = time.Now()
			r, err := api.PostDisposition(ctx, stack.Disposition(txn, "Refund_Processed", "49.99"))
			if err == nil && r.Code != 202 {
				err = fmt.Errorf("%s: %d %s", txn, r.Code, r.Raw)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		keep = true
		return res, binDir, err
	}
	// Done when every refund's Completed is written to Genesys.
	written := map[string]time.Time{}
	deadline := time.Now().Add(cfg.timeout)
	for len(written) < res.N {
		if time.Now().After(deadline) {
			keep = true
			return res, binDir, fmt.Errorf("%s: %d of %d outcomes written to Genesys (logs in %s)", res.Name, len(written), res.N, dir)
		}
		select {
		case <-ctx.Done():
			return res, binDir, ctx.Err()
		case <-time.After(2 * time.Second):
		}
		led, err := w.API.Ledger(ctx)
		if err != nil {
			continue
		}
		for _, a := range led.AttributeWrites {
			txn := a.Attributes["refundTransactionId"]
			if strings.HasPrefix(txn, prefix) && a.Attributes["refundStatus"] == remediation.RefundStatusCompleted {
				if _, seen := written[txn]; !seen {
					written[txn] = a.At
				}
			}
		}
		res.GenesysCalls, res.RateLimited = led.Stats.GenesysRequests, led.Stats.GenesysRateLimited
	}
	res.PhysicalSeconds = round(float64(res.N)/float64(res.LimitPerMinute)*60, 1)
	var last time.Time
	for txn, at := range written {
		i, _ := strconv.Atoi(strings.TrimPrefix(txn, prefix))
		wait := at.Sub(posted[i]).Seconds()
		res.MaxOutcomeWaitSeconds = max(res.MaxOutcomeWaitSeconds, round(wait, 1))
		if wait > res.PhysicalSeconds {
			res.OverPhysical++
		}
		if at.After(last) {
			last = at
		}
	}
	res.DrainSeconds = round(last.Sub(start).Seconds(), 1)
	if res.GenesysCalls > 0 {
		res.Share429 = round(float64(res.RateLimited)/float64(res.GenesysCalls), 4)
	}
	fmt.Fprintf(logw, "%s: %d Genesys calls, %d answered 429, drained in %.0fs (limit allows %.0fs)\n",
		res.Name, res.GenesysCalls, res.RateLimited, res.DrainSeconds, res.PhysicalSeconds)
	return res, binDir, nil
}

// printBursts writes the burst rows of docs/benchmark.md.
func printBursts(w io.Writer, bursts []burstResult) {
	if len(bursts) == 0 {
		return
	}
	fmt.Fprintf(w, "\n| burst: N wrap-ups at once, 2 workers | N | Genesys limit (per min) | Genesys calls | 429s (share) | drain (s) | limit allows (s) | longest outcome wait (s) | outcomes past that |\n")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, b := range bursts {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d (%.1f%%) | %.1f | %.1f | %.1f | %d |\n", b.Name, b.N, b.LimitPerMinute,
			b.GenesysCalls, b.RateLimited, 100*b.Share429, b.DrainSeconds, b.PhysicalSeconds, b.MaxOutcomeWaitSeconds, b.OverPhysical)
	}
}
