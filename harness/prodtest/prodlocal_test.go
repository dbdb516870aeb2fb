// Package prodtest proves the production shape on this machine, without
// Docker: it runs `make prod-local` (deploy/prod-local.sh) as an operator
// does, a real Temporal server on PostgreSQL with two workers and two
// starters, and plays the refund story against it. A missing piece
// (PostgreSQL, the server, the CLI) is installed by the script or fails the
// test; nothing here skips.
package prodtest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// prodLocal is one running deploy/prod-local.sh and what it wrote.
type prodLocal struct {
	t           testing.TB
	dir         string
	script      *stack.Process
	env         map[string]string
	starterURLs []string
	sandboxURL  string
	hostPort    string
	pgPort      int
	ports       []int
	client      client.Client
}

// install runs deploy/local/install.sh with its own time budget, so that a
// first run's build of the server is not counted against the stack's start.
func install(t testing.TB, root string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "deploy", "local", "install.sh"))
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deploy/local/install.sh: %v\n%s", err, out)
	}
	t.Logf("install check: %s%s", time.Since(start).Round(100*time.Millisecond), indent(out))
}

// startProdLocal runs deploy/prod-local.sh on free ports with its state in
// a fresh folder, and waits until it says it is ready. extraEnv is added to
// the script's environment (REFUNDFLOW_* settings reach the programs).
func startProdLocal(t testing.TB, extraEnv ...string) *prodLocal {
	t.Helper()
	root := testenv.RepoRoot(t)
	install(t, root)

	// Not t.TempDir: PostgreSQL runs as another user, who must be able to
	// enter every folder above its data.
	dir, err := os.MkdirTemp("", "refundflow-prod-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("state and logs kept in %s", dir)
		}
	})

	p := &prodLocal{t: t, dir: dir, pgPort: testenv.FreePort(t)}
	temporalPort := freeTemporalPort(t)
	sandboxPort, starter1, starter2 := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	p.ports = append([]int{p.pgPort, sandboxPort, starter1, starter2}, temporalPorts(temporalPort)...)
	env := append([]string{
		"PROD_DIR=" + dir,
		fmt.Sprintf("PROD_PG_PORT=%d", p.pgPort),
		fmt.Sprintf("PROD_TEMPORAL_PORT=%d", temporalPort),
		fmt.Sprintf("PROD_SANDBOX_PORT=%d", sandboxPort),
		fmt.Sprintf("PROD_STARTER_PORTS=%d %d", starter1, starter2),
		"PROD_WORKERS=2",
	}, extraEnv...)
	p.script = &stack.Process{
		Name:    "prod-local",
		Path:    filepath.Join(root, "deploy", "prod-local.sh"),
		Env:     env,
		LogPath: filepath.Join(dir, "prod-local.log"),
	}
	start := time.Now()
	if err := p.script.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.script.Stop(90 * time.Second)
		if t.Failed() {
			p.dumpLogs()
		}
	})

	deadline := time.Now().Add(6 * time.Minute)
	for {
		if env, err := readEnvFile(filepath.Join(dir, "demo.env")); err == nil {
			p.env = env
			break
		}
		if !p.script.Running() {
			t.Fatalf("deploy/prod-local.sh exited before it was ready")
		}
		if time.Now().After(deadline) {
			t.Fatalf("deploy/prod-local.sh not ready after 6 minutes")
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Its own timing of each set-up step.
	var steps []byte
	for _, line := range strings.Split(string(p.log()), "\n") {
		if strings.HasPrefix(line, "prod-local: ") {
			steps = append(steps, line+"\n"...)
		}
	}
	t.Logf("prod-local ready in %s:%s", time.Since(start).Round(100*time.Millisecond), indent(steps))

	p.starterURLs = strings.Fields(p.env["STARTER_URLS"])
	p.sandboxURL = p.env["SANDBOX_URL"]
	p.hostPort = p.env["TEMPORAL_ADDRESS"]
	if len(p.starterURLs) != 2 || p.sandboxURL == "" || p.hostPort == "" {
		t.Fatalf("demo.env: %v", p.env)
	}
	c, err := client.Dial(client.Options{HostPort: p.hostPort, Namespace: remediation.DefaultNamespace, Logger: testenv.QuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	p.client = c
	return p
}

// stop ends the script as Ctrl-C would, and checks that nothing it started
// still listens.
func (p *prodLocal) stop() {
	p.t.Helper()
	p.client.Close()
	if err := p.script.Stop(90 * time.Second); err != nil {
		p.t.Errorf("stop prod-local: %v", err)
	}
	for _, port := range p.ports {
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			conn.Close()
			p.t.Errorf("port %d still answers after prod-local stopped", port)
		}
	}
	pids, _ := filepath.Glob(filepath.Join(p.dir, "run", "*.pid"))
	if len(pids) > 0 {
		p.t.Errorf("pid files left after stop: %v", pids)
	}
}

// pid is the current PID of a process the script runs (e.g. "worker-1").
func (p *prodLocal) pid(name string) int {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "run", name+".pid"))
	if err != nil {
		p.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		p.t.Fatalf("%s.pid: %v", name, err)
	}
	return pid
}

func (p *prodLocal) log() []byte {
	b, _ := os.ReadFile(p.script.LogPath)
	return b
}

func (p *prodLocal) dumpLogs() {
	p.t.Logf("---- prod-local.sh ----\n%s", tail(p.log(), 6000))
	logs, _ := filepath.Glob(filepath.Join(p.dir, "logs", "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		p.t.Logf("---- %s (last 3 KiB) ----\n%s", filepath.Base(l), tail(b, 3072))
	}
}

// temporalPorts are the server's ports for a frontend port, in the layout
// deploy/prod-local.sh gives them.
func temporalPorts(base int) []int {
	return []int{base, base + 1, base + 2, base + 6, base + 10, base - 300, base - 299, base - 298, base - 294}
}

// freeTemporalPort finds a frontend port whose whole layout is free now.
func freeTemporalPort(t testing.TB) int {
	t.Helper()
	for range 200 {
		// Below 32767 - 10: the server keeps membership ports in a smallint.
		base := 20000 + rand.IntN(12000)
		free := true
		for _, p := range temporalPorts(base) {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free block of ports for the Temporal server")
	return 0
}

// readEnvFile reads KEY=value lines, with optional double quotes.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env, sc.Err()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func indent(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	return "\n    " + strings.ReplaceAll(s, "\n", "\n    ")
}
