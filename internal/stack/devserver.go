package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
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
// file DB with WAL (about twice as fast as the default journal here), or
// in memory when dbFile is "", the contract's search attributes, and the UI
// when uiPort > 0.
func DevServerArgs(dbFile string, port, uiPort int, codecEndpoint string) []string {
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--namespace", remediation.DefaultNamespace,
		"--log-level", "warn",
	}
	if dbFile != "" {
		args = append(args, "--db-filename", dbFile,
			"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
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

// DevServerOptions say how to run a dev server.
type DevServerOptions struct {
	// CLI is the Temporal CLI (bin/temporal).
	CLI string
	// Dir receives temporal.log and, unless InMemory, temporal.db.
	Dir      string
	InMemory bool
	// UIPort > 0 serves the Web UI there, decoding payloads through
	// CodecEndpoint when set.
	UIPort        int
	CodecEndpoint string
	// ExtraArgs are added to the command line, e.g. a
	// --dynamic-config-value to measure.
	ExtraArgs []string
}

// DevServer is a Temporal dev server process on a port of its own.
type DevServer struct {
	*Process
	HostPort string
}

// StartDevServer runs a dev server on a free port and waits until it is
// healthy. A missing CLI is an error: nothing here downloads one.
//
// Free ports are only free when asked: the dev server picks several more
// of its own the same way, and tests in other packages start servers at
// the same moment, so two can collide and the loser exits at once
// ("address already in use"). A server that exits before it is healthy is
// started again on new ports, up to devServerStarts times.
func StartDevServer(ctx context.Context, o DevServerOptions) (*DevServer, error) {
	if _, err := os.Stat(o.CLI); err != nil {
		return nil, fmt.Errorf("the Temporal CLI is missing (run `make tools`): %w", err)
	}
	var errs []error
	for range devServerStarts {
		d, err := startDevServerOnce(ctx, o)
		if err == nil {
			return d, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errExitedEarly) || ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

const devServerStarts = 3

var errExitedEarly = errors.New("dev server exited before it was healthy")

func startDevServerOnce(ctx context.Context, o DevServerOptions) (*DevServer, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	db := filepath.Join(o.Dir, "temporal.db")
	if o.InMemory {
		db = ""
	}
	d := &DevServer{
		Process: &Process{
			Name: "temporal", Path: o.CLI, LogPath: filepath.Join(o.Dir, "temporal.log"),
			Args: append(DevServerArgs(db, port, o.UIPort, o.CodecEndpoint), o.ExtraArgs...),
		},
		HostPort: fmt.Sprintf("127.0.0.1:%d", port),
	}
	if err := d.Start(); err != nil {
		return nil, err
	}
	if err := d.wait(ctx); err != nil {
		_ = d.Kill()
		return nil, fmt.Errorf("%w (log: %s)", err, d.LogPath)
	}
	return d, nil
}

// Crash kills the server, keeps it down for down, and starts it again on
// the same port and database, as after a host crash.
func (d *DevServer) Crash(ctx context.Context, down time.Duration) error {
	if err := d.Process.Crash(down); err != nil {
		return err
	}
	return d.wait(ctx)
}

// wait waits until the server answers, and gives up at once when it exits.
func (d *DevServer) wait(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		if !d.Running() {
			return true, fmt.Errorf("%w on %s", errExitedEarly, d.HostPort)
		}
		return healthy(ctx, d.HostPort)
	})
}

// WaitTemporal dials until the frontend answers a health check.
func WaitTemporal(ctx context.Context, hostPort string) error {
	return Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		return healthy(ctx, hostPort)
	})
}

func healthy(ctx context.Context, hostPort string) (bool, error) {
	c, err := client.Dial(client.Options{HostPort: hostPort, Logger: quiet{}})
	if err != nil {
		return false, err
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err == nil, err
}

// WaitPollers waits until a worker polls the task queue for workflow and
// activity tasks.
func WaitPollers(ctx context.Context, c client.Client, queue string) error {
	err := Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := c.DescribeTaskQueue(ctx, queue, kind)
			if err != nil || len(resp.GetPollers()) == 0 {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("no worker polls task queue %s: %w", queue, err)
	}
	return nil
}

// quiet drops the SDK's log lines while polling for health.
type quiet struct{}

func (quiet) Debug(string, ...interface{}) {}
func (quiet) Info(string, ...interface{})  {}
func (quiet) Warn(string, ...interface{})  {}
func (quiet) Error(string, ...interface{}) {}
