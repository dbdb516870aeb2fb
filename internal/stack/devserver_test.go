package stack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A server that dies at start (a port taken between our check and its
// bind) is started again on new ports, and the failure comes back at once
// rather than after the 90 s health wait.
func TestStartDevServerRetriesAServerThatExitsAtStart(t *testing.T) {
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	cli := filepath.Join(dir, "temporal")
	script := "#!/bin/sh\necho \"$@\" >> " + starts + "\necho 'bind: address already in use' >&2\nexit 1\n"
	if err := os.WriteFile(cli, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	_, err := StartDevServer(ctx, DevServerOptions{CLI: cli, Dir: dir, InMemory: true})
	if !errors.Is(err, errExitedEarly) {
		t.Fatalf("StartDevServer = %v, want an early-exit error", err)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("gave up after %v, want at once", took)
	}
	b, err := os.ReadFile(starts)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != devServerStarts {
		t.Fatalf("started %d times, want %d", len(lines), devServerStarts)
	}
	if lines[0] == lines[1] {
		t.Errorf("second start reused the first one's arguments (same port): %s", lines[0])
	}
}

// A program that could not bind its port must not pass for ready because
// another process on that port answers the health check.
func TestWaitServingRefusesAnAnswerFromAnotherProcess(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer other.Close()
	dir := t.TempDir()
	p := &Process{Name: "sandbox", Path: "/bin/sh", Args: []string{"-c", "echo 'bind: address already in use' >&2; exit 1"}, LogPath: filepath.Join(dir, "sandbox.log")}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for p.Running() && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if err := waitServing(ctx, p, other.URL+"/healthz"); !errors.Is(err, errExitedEarly) {
		t.Fatalf("waitServing = %v, want an early-exit error", err)
	}
}
