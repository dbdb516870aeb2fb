package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// environment says what machine and code a result came from, so a figure
// is never compared with one from elsewhere by mistake.
type environment struct {
	CPUs        int    `json:"cpus"`
	GoVersion   string `json:"goVersion"`
	OS          string `json:"os"`
	Temporal    string `json:"temporalCli"`
	Commit      string `json:"commit"`
	LoadAverage string `json:"loadAverageAtStart"`
}

func describeEnvironment(cfg config) environment {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	commit := output(ctx, cfg.repoRoot, "git", "rev-parse", "--short", "HEAD")
	if output(ctx, cfg.repoRoot, "git", "status", "--porcelain", "--untracked-files=no") != "" {
		commit += "-dirty"
	}
	load, _ := os.ReadFile("/proc/loadavg")
	loadFields := strings.Fields(string(load))
	return environment{
		CPUs:        runtime.NumCPU(),
		GoVersion:   runtime.Version(),
		OS:          runtime.GOOS + "/" + runtime.GOARCH,
		Temporal:    output(ctx, cfg.repoRoot, cfg.temporalBin, "--version"),
		Commit:      commit,
		LoadAverage: strings.Join(loadFields[:min(3, len(loadFields))], " "),
	}
}

// output is a command's trimmed stdout, or "" when it fails.
func output(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func selfPID() int { return os.Getpid() }
