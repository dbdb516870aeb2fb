// Package testenv starts the real peers tests run against: the Temporal dev
// server and stripe-mock, from the binaries `make tools` installs into bin/.
// A missing binary fails the test; it never skips, so CI cannot go green by
// testing nothing. It also holds the webhook bodies the end-to-end tests post.
package testenv

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
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
	Server   *testsuite.DevServer
	Client   client.Client
	HostPort string
}

// StartTemporal starts a fresh in-memory dev server with the contract's search
// attributes registered, and stops it when the test ends.
func StartTemporal(t testing.TB) *Temporal {
	t.Helper()
	// One writer for both streams: two writers with their own locks around
	// one buffer would race.
	logs := &lockedWriter{w: &bytes.Buffer{}}
	args := stack.DynamicConfigArgs()
	for _, name := range remediation.SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	hostPort := FreeAddr(t)
	server, err := testsuite.StartDevServer(t.Context(), testsuite.DevServerOptions{
		ExistingPath:  Binary(t, "temporal"),
		ClientOptions: &client.Options{HostPort: hostPort, Namespace: remediation.DefaultNamespace, Logger: QuietLogger()},
		LogLevel:      "error",
		ExtraArgs:     args,
		Stdout:        logs,
		Stderr:        logs,
	})
	if err != nil {
		t.Fatalf("testenv: start Temporal dev server: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { _ = server.Stop() })
	c, err := client.Dial(client.Options{HostPort: server.FrontendHostPort(), Namespace: remediation.DefaultNamespace, Logger: QuietLogger()})
	if err != nil {
		t.Fatalf("testenv: dial dev server: %v", err)
	}
	t.Cleanup(c.Close)
	return &Temporal{Server: server, Client: c, HostPort: server.FrontendHostPort()}
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// StartStripeMock runs stripe-mock on free ports and returns its HTTP base URL.
func StartStripeMock(t testing.TB) string {
	t.Helper()
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	httpsAddr := FreeAddr(t)
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	out := &lockedWriter{w: &bytes.Buffer{}}
	cmd := exec.Command(Binary(t, "stripe-mock"), "-http-port", port, "-https-port", httpsPort)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start stripe-mock: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return fmt.Sprintf("http://%s", addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: stripe-mock did not listen on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// QuietLogger keeps the SDK's own logging out of test output unless it is a warning.
func QuietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
