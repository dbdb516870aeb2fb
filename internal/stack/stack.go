// Package stack builds Refundflow's programs and runs them as real processes
// (sandbox, worker, starter, and a Temporal dev server with a file DB), so
// end-to-end tests, the chaos run and the benchmark exercise exactly what an
// operator runs, and can SIGKILL and restart any of them.
package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// RepoRoot is the directory holding go.mod: the working directory or the
// nearest one above it.
func RepoRoot() (string, error) {
	start, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := start; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("go.mod not found in %s or above it: run from inside the repository", start)
		}
	}
}

// Build compiles the named programs (directories under the repo root, e.g.
// "worker") into outDir.
func Build(ctx context.Context, repoRoot, outDir string, programs ...string) error {
	for _, p := range programs {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(outDir, p), "./"+p)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./%s: %w\n%s", p, err, out)
		}
	}
	return nil
}

// Process is one program run with its own environment and log file.
type Process struct {
	Name string
	Path string
	Args []string
	// Env is added to this process's environment (KEY=value).
	Env []string
	// LogPath receives stdout and stderr; appended across restarts.
	LogPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs the process; it fails if it is already running.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s already running", p.Name)
	}
	logFile, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so a kill takes its children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// Kill sends SIGKILL, as a crash would, and waits for the exit.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, 0) }

// Stop sends SIGTERM and waits up to grace, then kills.
func (p *Process) Stop(grace time.Duration) error { return p.signal(syscall.SIGTERM, grace) }

// Crash sends SIGKILL and, after down, starts the process again.
func (p *Process) Crash(down time.Duration) error {
	if err := p.Kill(); err != nil {
		return err
	}
	time.Sleep(down)
	return p.Start()
}

// Running reports whether the process has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// PID is the current process ID, or 0.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *Process) signal(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	select {
	case <-done:
		return nil
	case <-time.After(max(grace, 10*time.Second)):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if sig == syscall.SIGKILL {
			return fmt.Errorf("%s did not die on SIGKILL in time", p.Name)
		}
		return fmt.Errorf("%s did not stop within %s; killed", p.Name, grace)
	}
}
