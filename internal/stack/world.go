package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
)

// The gateway kinds a World's worker can call.
const (
	GatewayERP    = "erp"
	GatewayStripe = "stripe"
	GatewayAdyen  = "adyen"
	// GatewayPayPal is the sandbox's PayPal side (World.SandboxPayPalURL).
	GatewayPayPal = "paypal"
)

// Approver is a finance ops token of the starter and the approver it names.
type Approver struct{ Name, Token string }

// Options are what differs between the stacks the harnesses run. The zero
// value (with Dir) is one worker and one starter on a fresh dev server with
// a file DB, no UI, payloads in clear, the ERP gateway and Genesys at the
// sandbox, and the names and tokens of ids.go.
type Options struct {
	// Dir receives every process's log, the Temporal DB and, by default,
	// the built programs. Required.
	Dir string
	// Root is the repository; default RepoRoot().
	Root string
	// BinDir holds sandbox, worker and starter; default Dir/bin. Build
	// builds them there from Root first.
	BinDir string
	Build  bool
	// TemporalCLI runs the dev server; default Root/bin/temporal.
	TemporalCLI string
	// TemporalAddress is a running Temporal server to use instead of
	// starting a dev server (which CrashTemporal then cannot crash).
	TemporalAddress string
	// DevServerArgs are added to the dev server's command line.
	DevServerArgs []string
	// UI serves the dev server's Web UI on a free port (World.UIPort),
	// decoding payloads through the first starter's codec server.
	UI bool

	Workers, Starters int // default 1 each
	// CodecKeys turns on payload encryption in worker, starter and client.
	CodecKeys string
	// Gateway is GatewayERP (the sandbox; default) or GatewayStripe at
	// StripeURL (stripe-mock), or, without a StripeURL, at the sandbox's
	// own Stripe side (World.SandboxStripeURL), which keeps refunds, settles
	// them later and sends signed Stripe webhooks; or GatewayAdyen, the
	// sandbox's Adyen side (World.SandboxAdyenURL), whose refunds settle
	// only by HMAC-signed webhook.
	Gateway   string
	StripeURL string
	// LogLevel of worker and starter; default debug, so that a leak into
	// the logs has every chance to show. The sandbox logs at info.
	LogLevel string

	// WebhookToken and Approvers default to ids.go's; the first approver
	// is the API's.
	WebhookToken string
	Approvers    []Approver
	// SandboxClients are the OAuth clients the sandbox accepts and the
	// worker signs in as; default the sandbox's own.
	SandboxClients *SandboxClients

	// Added last to each program's environment (KEY=value), so they win:
	// a sandbox fault rate, a worker's retry window.
	SandboxEnv, WorkerEnv, StarterEnv []string
}

// World is a running Refundflow: Temporal, the sandbox as gateway and
// Genesys, the workers and the starters, each a process of its own that can
// be SIGKILLed and started again. Its API calls them as the world does.
type World struct {
	API
	Dir       string
	HostPort  string
	TaskQueue string
	// Client is connected to HostPort with the programs' own options.
	Client client.Client
	// UIPort is the Web UI's port, 0 without one.
	UIPort      int
	SandboxPort int

	// Temporal is nil when Options.TemporalAddress was given.
	Temporal *DevServer
	Sandbox  *Process
	Workers  []*Process
	Starters []*Process

	opts Options
}

// Start runs a World and waits until the sandbox and every starter answer
// and a worker polls. On error it stops whatever it started; the logs stay
// in Dir.
//
// Its ports are picked free (FreePort) before the programs bind them, and
// other tests' servers pick theirs the same way meanwhile: a program that
// finds its port taken exits at once. Then the whole World is stopped and
// started again on new ports, up to worldStarts times.
func Start(ctx context.Context, o Options) (*World, error) {
	var errs []error
	for range worldStarts {
		w, err := startOnce(ctx, o)
		if err == nil {
			return w, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errExitedEarly) || ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

const worldStarts = 3

func startOnce(ctx context.Context, o Options) (_ *World, err error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if o.TemporalAddress == "" {
		// Before the build: a missing CLI should not cost one.
		if _, err := os.Stat(o.TemporalCLI); err != nil {
			return nil, fmt.Errorf("the Temporal CLI is missing (run `make tools`): %w", err)
		}
	}
	if o.Build {
		if err := Build(ctx, o.Root, o.BinDir, "sandbox", "worker", "starter"); err != nil {
			return nil, err
		}
	}
	w := &World{Dir: o.Dir, TaskQueue: "stack-" + strconv.FormatInt(time.Now().UnixNano(), 36), opts: o}
	defer func() {
		if err != nil {
			_ = w.Stop()
		}
	}()
	ports := make([]int, 1+o.Starters)
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return nil, err
		}
	}
	w.SandboxPort = ports[0]
	w.API = API{
		SandboxURL:    fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		WebhookToken:  o.WebhookToken,
		ApproverToken: o.Approvers[0].Token,
	}
	for _, p := range ports[1:] {
		w.StarterURLs = append(w.StarterURLs, fmt.Sprintf("http://127.0.0.1:%d", p))
	}

	w.HostPort = o.TemporalAddress
	if w.HostPort == "" {
		dso := DevServerOptions{CLI: o.TemporalCLI, Dir: o.Dir, ExtraArgs: o.DevServerArgs}
		if o.UI {
			if dso.UIPort, err = FreePort(); err != nil {
				return nil, err
			}
			w.UIPort = dso.UIPort
			dso.CodecEndpoint = w.StarterURL() + "/codec/" + w.ApproverToken
		}
		if w.Temporal, err = StartDevServer(ctx, dso); err != nil {
			return nil, err
		}
		w.HostPort = w.Temporal.HostPort
	}
	if w.Client, err = w.dial(ctx); err != nil {
		return nil, err
	}

	w.Sandbox = w.process("sandbox", "sandbox", w.sandboxEnv())
	for i := range o.Workers {
		w.Workers = append(w.Workers, w.process("worker", instance("worker", i), w.workerEnv()))
	}
	for i, p := range ports[1:] {
		w.Starters = append(w.Starters, w.process("starter", instance("starter", i), w.starterEnv(p)))
	}
	for _, p := range slices.Concat([]*Process{w.Sandbox}, w.Workers, w.Starters) {
		if err := p.Start(); err != nil {
			return nil, err
		}
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := waitServing(readyCtx, w.Sandbox, w.SandboxURL+"/healthz"); err != nil {
		return nil, err
	}
	for i, u := range w.StarterURLs {
		if err := waitServing(readyCtx, w.Starters[i], u+"/readyz"); err != nil {
			return nil, err
		}
	}
	if err := WaitPollers(readyCtx, w.Client, w.TaskQueue); err != nil {
		return nil, err
	}
	// Another process on a port we picked can answer the health check
	// for a program that could not bind it: only a program still running
	// is the one that answered.
	for _, p := range slices.Concat([]*Process{w.Sandbox}, w.Workers, w.Starters) {
		if !p.Running() {
			return nil, fmt.Errorf("%w: %s (log: %s)", errExitedEarly, p.Name, p.LogPath)
		}
	}
	return w, nil
}

// waitServing waits until url answers 200, and gives up at once when p,
// the program that should answer it, exits.
func waitServing(ctx context.Context, p *Process, url string) error {
	err := Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if !p.Running() {
			return true, fmt.Errorf("%w: %s (log: %s)", errExitedEarly, p.Name, p.LogPath)
		}
		return checkHTTP(url)
	})
	if err != nil {
		return fmt.Errorf("wait for %s: %w", url, err)
	}
	return nil
}

func (o *Options) setDefaults() error {
	if o.Dir == "" {
		return errors.New("stack: Options.Dir is required")
	}
	if o.Root == "" {
		root, err := RepoRoot()
		if err != nil {
			return err
		}
		o.Root = root
	}
	if o.BinDir == "" {
		o.BinDir = filepath.Join(o.Dir, "bin")
	}
	if o.TemporalCLI == "" {
		o.TemporalCLI = filepath.Join(o.Root, "bin", "temporal")
	}
	o.Workers, o.Starters = max(o.Workers, 1), max(o.Starters, 1)
	if o.Gateway == "" {
		o.Gateway = GatewayERP
	}
	if o.Gateway != GatewayERP && o.Gateway != GatewayStripe && o.Gateway != GatewayAdyen && o.Gateway != GatewayPayPal {
		return fmt.Errorf("stack: gateway %q: want %s, %s, %s or %s", o.Gateway, GatewayERP, GatewayStripe, GatewayAdyen, GatewayPayPal)
	}
	if o.LogLevel == "" {
		o.LogLevel = "debug"
	}
	if o.WebhookToken == "" {
		o.WebhookToken = WebhookToken
	}
	if len(o.Approvers) == 0 {
		o.Approvers = []Approver{{ApproverName, ApproverToken}}
	}
	return nil
}

// instance names the i-th of a program: worker, worker-2, ...
func instance(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + "-" + strconv.Itoa(i+1)
}

func (w *World) process(program, name string, env []string) *Process {
	return &Process{Name: name, Path: filepath.Join(w.opts.BinDir, program), Env: env,
		LogPath: filepath.Join(w.Dir, name+".log")}
}

// dial connects as worker and starter do, with the same codec.
func (w *World) dial(ctx context.Context) (client.Client, error) {
	cfg := temporalclient.Config{Address: w.HostPort, Namespace: remediation.DefaultNamespace, CodecKeys: w.opts.CodecKeys}
	// Errors only: while a crash has the server down, warnings would fill
	// the terminal.
	opts, err := cfg.Options(logging.New(os.Stderr, "error", "stack"))
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("dial Temporal at %s: %w", w.HostPort, err)
	}
	return c, nil
}

// ProgramEnv is what every program of the World that talks to Temporal
// must agree on: server, namespace, task queue, codec and log level. A
// harness's own worker process starts from it.
func (w *World) ProgramEnv() []string {
	env := []string{
		"REFUNDFLOW_TEMPORAL_ADDRESS=" + w.HostPort,
		"REFUNDFLOW_TEMPORAL_NAMESPACE=" + remediation.DefaultNamespace,
		"REFUNDFLOW_TASK_QUEUE=" + w.TaskQueue,
		"REFUNDFLOW_CODEC_KEYS=" + w.opts.CodecKeys,
		"REFUNDFLOW_LOG_LEVEL=" + w.opts.LogLevel,
	}
	if w.UIPort > 0 {
		env = append(env, fmt.Sprintf("REFUNDFLOW_CODEC_CORS_ORIGINS=http://127.0.0.1:%d,http://localhost:%d", w.UIPort, w.UIPort))
	}
	return env
}

func (w *World) sandboxEnv() []string {
	env := []string{"REFUNDFLOW_SANDBOX_ADDR=" + strings.TrimPrefix(w.SandboxURL, "http://"), "REFUNDFLOW_LOG_LEVEL=info",
		// The gateway's webhooks go to the first starter, with the token
		// every starter accepts (starterEnv).
		"REFUNDFLOW_SANDBOX_WEBHOOK_URL=" + w.StarterURL(),
		"REFUNDFLOW_SANDBOX_GATEWAY_EVENT_TOKEN=" + GatewayEventToken,
		// Its Stripe side: the key the worker has, and the secret every
		// starter verifies Stripe webhooks with.
		"REFUNDFLOW_SANDBOX_STRIPE_API_KEYS=" + StripeAPIKey,
		"REFUNDFLOW_SANDBOX_STRIPE_WEBHOOK_SECRET=" + StripeWebhookSecret,
		// Its Adyen side, likewise.
		"REFUNDFLOW_SANDBOX_ADYEN_API_KEYS=" + AdyenAPIKey,
		"REFUNDFLOW_SANDBOX_ADYEN_MERCHANT_ACCOUNT=" + AdyenMerchantAccount,
		"REFUNDFLOW_SANDBOX_ADYEN_HMAC_KEY=" + AdyenHMACKey,
		"REFUNDFLOW_SANDBOX_ADYEN_WEBHOOK_USERNAME=" + AdyenWebhookUser,
		"REFUNDFLOW_SANDBOX_ADYEN_WEBHOOK_PASSWORD=" + AdyenWebhookPassword,
		// Its PayPal side verifies deliveries for the webhook the starters name.
		"REFUNDFLOW_SANDBOX_PAYPAL_WEBHOOK_ID=" + PayPalWebhookID,
	}
	if c := w.opts.SandboxClients; c != nil {
		env = append(env, "REFUNDFLOW_SANDBOX_CLIENTS="+c.GatewayID+":"+c.GatewaySecret+","+c.GenesysID+":"+c.GenesysSecret)
	}
	return append(env, w.opts.SandboxEnv...)
}

// workerEnv sets every variable the worker reads that matters here, so a
// developer's own REFUNDFLOW_* settings cannot change what is tested.
func (w *World) workerEnv() []string {
	clients := defaultSandboxClients
	if w.opts.SandboxClients != nil {
		clients = *w.opts.SandboxClients
	}
	env := slices.Concat(w.ProgramEnv(), SandboxWorkerEnvAs(w.SandboxURL, clients), []string{
		"REFUNDFLOW_GATEWAY_KIND=" + w.opts.Gateway,
		"REFUNDFLOW_GENESYS_WORKTYPE_ID=" + WorktypeID,
		"REFUNDFLOW_GENESYS_QUEUE_ID=" + GenesysQueueID,
		"REFUNDFLOW_GENESYS_FAILED_WRAPUP_CODE_ID=" + FailedWrapupCodeID,
		"REFUNDFLOW_FINANCE_OPS_EMAIL=",
	})
	if w.opts.Gateway == GatewayStripe {
		stripeURL := w.opts.StripeURL
		if stripeURL == "" {
			stripeURL = w.SandboxStripeURL()
		}
		env = append(env, "REFUNDFLOW_STRIPE_BASE_URL="+stripeURL, "REFUNDFLOW_STRIPE_API_KEY="+StripeAPIKey)
	}
	if w.opts.Gateway == GatewayAdyen {
		env = append(env, "REFUNDFLOW_ADYEN_BASE_URL="+w.SandboxAdyenURL(), "REFUNDFLOW_ADYEN_API_KEY="+AdyenAPIKey,
			"REFUNDFLOW_ADYEN_MERCHANT_ACCOUNT="+AdyenMerchantAccount)
	}
	if w.opts.Gateway == GatewayPayPal {
		env = append(env, w.paypalEnv()...)
	}
	return append(env, w.opts.WorkerEnv...)
}

// SandboxAdyenURL is the sandbox's Adyen side, a REFUNDFLOW_ADYEN_BASE_URL.
func (w *World) SandboxAdyenURL() string { return w.SandboxURL + "/adyen" }

// SandboxPayPalURL is the sandbox's PayPal side, a REFUNDFLOW_PAYPAL_BASE_URL.
func (w *World) SandboxPayPalURL() string { return w.SandboxURL + "/paypal" }

// paypalEnv is the PayPal REST app worker and starters use at the
// sandbox's PayPal side: its gateway client.
func (w *World) paypalEnv() []string {
	clients := defaultSandboxClients
	if w.opts.SandboxClients != nil {
		clients = *w.opts.SandboxClients
	}
	return []string{
		"REFUNDFLOW_PAYPAL_BASE_URL=" + w.SandboxPayPalURL(),
		"REFUNDFLOW_PAYPAL_CLIENT_ID=" + clients.GatewayID,
		"REFUNDFLOW_PAYPAL_CLIENT_SECRET=" + clients.GatewaySecret,
	}
}

// SandboxStripeURL is the sandbox's Stripe side, a REFUNDFLOW_STRIPE_BASE_URL.
func (w *World) SandboxStripeURL() string { return w.SandboxURL + "/stripe" }

// starterEnv, likewise, for the starter listening on port.
func (w *World) starterEnv(port int) []string {
	var approvers []string
	for _, a := range w.opts.Approvers {
		approvers = append(approvers, a.Name+":"+a.Token)
	}
	return slices.Concat(w.ProgramEnv(), []string{
		fmt.Sprintf("REFUNDFLOW_LISTEN_ADDR=127.0.0.1:%d", port),
		"REFUNDFLOW_WEBHOOK_TOKENS=" + w.opts.WebhookToken,
		"REFUNDFLOW_GATEWAY_EVENT_TOKENS=" + GatewayEventToken,
		"REFUNDFLOW_STRIPE_WEBHOOK_SECRETS=" + StripeWebhookSecret,
		"REFUNDFLOW_ADYEN_HMAC_KEYS=" + AdyenHMACKey,
		"REFUNDFLOW_ADYEN_WEBHOOK_USERNAME=" + AdyenWebhookUser,
		"REFUNDFLOW_ADYEN_WEBHOOK_PASSWORD=" + AdyenWebhookPassword,
		"REFUNDFLOW_APPROVER_TOKENS=" + strings.Join(approvers, ","),
		"REFUNDFLOW_DISPOSITIONS=" + remediation.DefaultDispositions,
		"REFUNDFLOW_DEFAULT_CURRENCY=USD",
		"REFUNDFLOW_PAYPAL_WEBHOOK_ID=" + PayPalWebhookID,
	}, w.paypalEnv(), w.opts.StarterEnv)
}

// Processes are every process the World runs, in the order Stop stops
// them.
func (w *World) Processes() []*Process {
	ps := slices.Concat(w.Starters, w.Workers)
	if w.Sandbox != nil {
		ps = append(ps, w.Sandbox)
	}
	if w.Temporal != nil {
		ps = append(ps, w.Temporal.Process)
	}
	return ps
}

// CrashWorker SIGKILLs worker i and, after down, starts it again, as a
// supervisor would.
func (w *World) CrashWorker(i int, down time.Duration) error { return w.Workers[i].Crash(down) }

// CrashStarter SIGKILLs starter i, starts it again after down, and waits
// until it answers: meanwhile the webhook meets refused connections.
func (w *World) CrashStarter(ctx context.Context, i int, down time.Duration) error {
	if err := w.Starters[i].Crash(down); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return WaitHTTP(ctx, w.StarterURLs[i]+"/healthz")
}

// CrashTemporal SIGKILLs the dev server and starts it again after down on
// the same port and database: the starters answer 503 and the workers'
// polls fail until it is back.
func (w *World) CrashTemporal(ctx context.Context, down time.Duration) error {
	if w.Temporal == nil {
		return fmt.Errorf("the Temporal server at %s is not this World's to crash", w.HostPort)
	}
	return w.Temporal.Crash(ctx, down)
}

// Stop ends every process gently, so that their logs are complete, and
// closes the client.
func (w *World) Stop() error {
	var errs []error
	for _, p := range slices.Concat(w.Starters, w.Workers) {
		errs = append(errs, p.Stop(10*time.Second))
	}
	if w.Sandbox != nil {
		errs = append(errs, w.Sandbox.Stop(10*time.Second))
	}
	if w.Client != nil {
		w.Client.Close()
		w.Client = nil
	}
	if w.Temporal != nil {
		errs = append(errs, w.Temporal.Stop(10*time.Second))
	}
	return errors.Join(errs...)
}
