package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/testenv"
)

// clearEnv unsets every REFUNDFLOW_ variable for the test (t.Setenv
// restores them after), so defaults are what the test sees.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "REFUNDFLOW_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	clearEnv(t)
	t.Setenv("REFUNDFLOW_WEBHOOK_TOKENS", " a , b ,")
	var cfg Config
	st, err := loadConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != ":8080" || cfg.DefaultCurrency != "USD" || cfg.StartTimeout != 5*time.Second ||
		cfg.Dispositions != remediation.DefaultDispositions || cfg.TaskQueue != remediation.DefaultTaskQueue ||
		cfg.Address != "localhost:7233" || cfg.Namespace != remediation.DefaultNamespace || cfg.LogLevel != "info" {
		t.Errorf("defaults: %+v", cfg)
	}
	if len(st.webhook) != 2 || len(st.approvers) != 0 || len(st.dispositions) != 3 || st.currency != "USD" {
		t.Errorf("settings: %+v", st)
	}
	if st.dispositions["Chargeback_Requested"] != remediation.ActionChargeback {
		t.Errorf("dispositions: %v", st.dispositions)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "REFUNDFLOW_WEBHOOK_TOKENS is required"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": " , "}, "REFUNDFLOW_WEBHOOK_TOKENS"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": "a", "REFUNDFLOW_TEMPORAL_START_TIMEOUT": "soon"}, "REFUNDFLOW_TEMPORAL_START_TIMEOUT"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": "a", "REFUNDFLOW_TEMPORAL_START_TIMEOUT": "0s"}, "REFUNDFLOW_TEMPORAL_START_TIMEOUT"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": "a", "REFUNDFLOW_APPROVER_TOKENS": "alice"}, "REFUNDFLOW_APPROVER_TOKENS"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": "a", "REFUNDFLOW_APPROVER_TOKENS": "alice:x,alice:y"}, "REFUNDFLOW_APPROVER_TOKENS"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": "a", "REFUNDFLOW_APPROVER_TOKENS": "alice:x,bob:x"}, "share a token"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": "a,x", "REFUNDFLOW_APPROVER_TOKENS": "alice:x"}, "also in REFUNDFLOW_WEBHOOK_TOKENS"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": "a", "REFUNDFLOW_DISPOSITIONS": "Refund=refunds"}, "REFUNDFLOW_DISPOSITIONS"},
		{map[string]string{"REFUNDFLOW_WEBHOOK_TOKENS": "a", "REFUNDFLOW_DEFAULT_CURRENCY": "EURO"}, "REFUNDFLOW_DEFAULT_CURRENCY"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var cfg Config
			_, err := loadConfig(&cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// TestRunWithoutTemporal runs the program as main does: it must come up
// with Temporal down (health green, webhook 503) and stop cleanly when its
// context ends, as on SIGTERM.
func TestRunWithoutTemporal(t *testing.T) {
	clearEnv(t)
	addr := testenv.FreeAddr(t)
	t.Setenv("REFUNDFLOW_WEBHOOK_TOKENS", webhookToken)
	t.Setenv("REFUNDFLOW_LISTEN_ADDR", addr)
	t.Setenv("REFUNDFLOW_TEMPORAL_ADDRESS", testenv.FreeAddr(t))
	t.Setenv("REFUNDFLOW_TEMPORAL_START_TIMEOUT", "300ms")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &logBuffer{}
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, nil, out) }()

	api := &apiServer{t: t, url: "http://" + addr, logs: out}
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, api.url+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("starter did not come up:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp := api.postDisposition(dispositionBody(txnID("run"), "Refund_Processed", "1.00")); resp.code != http.StatusServiceUnavailable {
		t.Errorf("disposition with Temporal down: %d %s", resp.code, resp.raw)
	}
	// The startup health report runs beside the server; give it time to
	// log before stopping, as a loaded machine may be slow to.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Temporal not reachable yet") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	logs := out.String()
	for _, want := range []string{`"msg":"starter listening"`, `"msg":"Temporal not reachable yet`, `"msg":"starter stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, webhookToken) {
		t.Error("the webhook token was logged")
	}
}

func TestRunBadConfigExits2WithUsage(t *testing.T) {
	clearEnv(t)
	out := &logBuffer{}
	if code := run(context.Background(), nil, out); code != exitConfig {
		t.Fatalf("exit code %d", code)
	}
	text := out.String()
	for _, want := range []string{"REFUNDFLOW_LISTEN_ADDR", "REFUNDFLOW_APPROVER_TOKENS", "REFUNDFLOW_WEBHOOK_TOKENS is required"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
