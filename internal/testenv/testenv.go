// Package testenv is internal/stack for tests: it fails the test where
// stack returns an error, cleans up with t.Cleanup, and starts the real
// peers tests run against (the Temporal dev server, stripe-mock, a whole
// World) from the binaries `make tools` installs into bin/. A missing
// binary fails the test; it never skips, so CI cannot go green by testing
// nothing.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
)

// Disposition and Unique are stack's, here for the tests that have
// always found them in testenv.
var (
	Disposition = stack.Disposition
	Unique      = stack.Unique
)

// RepoRoot is the directory holding go.mod (stack.RepoRoot), failing the
// test when there is none.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := stack.RepoRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dir
}

// Binary returns the path of a tool in bin/, failing the test when absent.
func Binary(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(RepoRoot(t), "bin", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("testenv: %s is missing (%v): run `make tools` (make test does it first)", path, err)
	}
	return path
}

// Temporal is a running dev server and a client connected to it.
type Temporal struct {
	Client   client.Client
	HostPort string
}

// StartTemporal starts a fresh in-memory dev server with the contract's
// search attributes registered, and stops it when the test ends.
func StartTemporal(t testing.TB) *Temporal {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := stack.StartDevServer(ctx, stack.DevServerOptions{CLI: Binary(t, "temporal"), Dir: dir, InMemory: true})
	if err != nil {
		t.Fatalf("testenv: start Temporal dev server: %v\n%s", err, logTail(filepath.Join(dir, "temporal.log")))
	}
	t.Cleanup(func() { _ = srv.Stop(5 * time.Second) })
	c, err := client.Dial(client.Options{HostPort: srv.HostPort, Namespace: remediation.DefaultNamespace, Logger: QuietLogger()})
	if err != nil {
		t.Fatalf("testenv: dial dev server: %v", err)
	}
	t.Cleanup(c.Close)
	return &Temporal{Client: c, HostPort: srv.HostPort}
}

// FreePort is stack.FreePort, failing the test when there is none.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := stack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePort(t))
}

// StartStripeMock runs stripe-mock on free ports, with args added to its
// command line, and returns its HTTP base URL.
func StartStripeMock(t testing.TB, args ...string) string {
	t.Helper()
	addr, httpsAddr := FreeAddr(t), FreeAddr(t)
	p := &stack.Process{
		Name: "stripe-mock", Path: Binary(t, "stripe-mock"), LogPath: filepath.Join(t.TempDir(), "stripe-mock.log"),
		Args: append([]string{"-http-addr", addr, "-https-addr", httpsAddr}, args...),
	}
	if err := p.Start(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = p.Kill() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := stack.WaitListening(ctx, addr); err != nil {
		t.Fatalf("testenv: stripe-mock: %v\n%s", err, logTail(p.LogPath))
	}
	return fmt.Sprintf("http://%s", addr)
}

// QuietLogger keeps the SDK's own logging out of test output unless it is a warning.
func QuietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// logTail is the last 4 KiB of a log file.
func logTail(path string) []byte {
	b, _ := os.ReadFile(path)
	return b[max(0, len(b)-4096):]
}
