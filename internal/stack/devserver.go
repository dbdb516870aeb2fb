package stack

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/remediation"
)

// DynamicConfig is the Temporal server's dynamic configuration every stack
// here runs with: the dev server of `make dev`, the tests and the benchmark
// (as --dynamic-config-value), and the production server
// (deploy/temporal/dynamicconfig/refundflow.yaml, checked against this list
// by internal/deploycheck).
var DynamicConfig = []struct{ Key, Value string }{
	// Lets a worker run the activity its own workflow task has just
	// scheduled, without a trip through matching: the server's CPU per
	// refund fell by about a sixth and throughput rose by 10 to 17% in
	// `make bench` (docs/benchmark.md). Off by default in the server.
	{"system.enableActivityEagerExecution", "true"},
}

// DynamicConfigArgs are DynamicConfig as dev server arguments.
func DynamicConfigArgs() []string {
	var args []string
	for _, kv := range DynamicConfig {
		args = append(args, "--dynamic-config-value", kv.Key+"="+kv.Value)
	}
	return args
}

// DevServerArgs are the arguments `make dev` and the tests use: a durable
// file DB with WAL (about twice as fast as the default journal here), the
// contract's search attributes, and the UI when uiPort > 0.
func DevServerArgs(dbFile string, port, uiPort int, codecEndpoint string) []string {
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--namespace", remediation.DefaultNamespace,
		"--db-filename", dbFile,
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
		"--log-level", "warn",
	}
	args = append(args, DynamicConfigArgs()...)
	for _, name := range remediation.SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	if uiPort > 0 {
		args = append(args, "--ui-port", strconv.Itoa(uiPort))
		if codecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", codecEndpoint)
		}
	} else {
		args = append(args, "--headless")
	}
	return args
}

// NewDevServer describes a dev server process on port with its DB in dir.
func NewDevServer(temporalBin, dir string, port int) *Process {
	return &Process{
		Name:    "temporal",
		Path:    temporalBin,
		Args:    DevServerArgs(filepath.Join(dir, "temporal.db"), port, 0, ""),
		LogPath: filepath.Join(dir, "temporal.log"),
	}
}

// WaitTemporal dials until the frontend answers a health check.
func WaitTemporal(ctx context.Context, hostPort string) error {
	for {
		c, err := client.Dial(client.Options{HostPort: hostPort, Logger: quiet{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Temporal at %s not healthy: %w", hostPort, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// quiet drops the SDK's log lines while polling for health.
type quiet struct{}

func (quiet) Debug(string, ...interface{}) {}
func (quiet) Info(string, ...interface{})  {}
func (quiet) Warn(string, ...interface{})  {}
func (quiet) Error(string, ...interface{}) {}
