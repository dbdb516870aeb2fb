package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/refundflow/refundflow/internal/stack"
)

// Prometheus is a real Prometheus server (Debian's prometheus package)
// scraping the given targets every second, for tests that check what the
// programs expose the way production reads it.
type Prometheus struct {
	URL string
	t   testing.TB
}

// StartPrometheus runs Prometheus with jobs (job name to host:port targets)
// scraped every second and ruleFiles loaded, and stops it when the test
// ends. A missing prometheus binary fails the test: install Debian's
// prometheus package (scripts/install-tools.sh does).
func StartPrometheus(t testing.TB, jobs map[string][]string, ruleFiles ...string) *Prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("testenv: prometheus not found: install Debian's prometheus package (scripts/install-tools.sh does, as root)")
	}
	dir := t.TempDir()
	type staticConfig struct {
		Targets []string `yaml:"targets"`
	}
	type scrapeConfig struct {
		JobName        string         `yaml:"job_name"`
		ScrapeInterval string         `yaml:"scrape_interval"`
		StaticConfigs  []staticConfig `yaml:"static_configs"`
	}
	cfg := struct {
		Global        map[string]string `yaml:"global"`
		RuleFiles     []string          `yaml:"rule_files,omitempty"`
		ScrapeConfigs []scrapeConfig    `yaml:"scrape_configs"`
	}{Global: map[string]string{"scrape_interval": "1s", "evaluation_interval": "1s"}, RuleFiles: ruleFiles}
	for job, targets := range jobs {
		cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, scrapeConfig{JobName: job, ScrapeInterval: "1s", StaticConfigs: []staticConfig{{Targets: targets}}})
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+confPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			t.Logf("---- prometheus.log (last 4 KiB) ----\n%s", logTail(logPath))
		}
	})
	p := &Prometheus{URL: "http://" + addr, t: t}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := stack.WaitHTTP(ctx, p.URL+"/-/ready"); err != nil {
		t.Fatalf("testenv: prometheus not ready: %v\n%s", err, logTail(logPath))
	}
	return p
}

// Sample is one series of an instant query's answer.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query evaluates a PromQL expression now; an error answer fails the test.
func (p *Prometheus) Query(expr string) []Sample {
	p.t.Helper()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	p.get("/api/v1/query?query="+url.QueryEscape(expr), &body)
	if body.Status != "success" {
		p.t.Fatalf("prometheus query %s: %s", expr, body.Error)
	}
	var out []Sample
	for _, r := range body.Data.Result {
		var v float64
		if s, ok := r.Value[1].(string); ok {
			fmt.Sscan(s, &v)
		}
		out = append(out, Sample{Metric: r.Metric, Value: v})
	}
	return out
}

// Names are the metric names Prometheus holds.
func (p *Prometheus) Names() []string {
	p.t.Helper()
	var body struct {
		Data []string `json:"data"`
	}
	p.get("/api/v1/label/__name__/values", &body)
	return body.Data
}

// Rules are the loaded rules' names and health ("ok", "err", "unknown").
func (p *Prometheus) Rules() map[string]string {
	p.t.Helper()
	var body struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	p.get("/api/v1/rules", &body)
	rules := map[string]string{}
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			rules[r.Name] = strings.TrimSpace(r.Health + " " + r.LastError)
		}
	}
	return rules
}

func (p *Prometheus) get(path string, v any) {
	p.t.Helper()
	res, err := http.Get(p.URL + path)
	if err != nil {
		p.t.Fatalf("prometheus %s: %v", path, err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		p.t.Fatalf("prometheus %s: %d: %v", path, res.StatusCode, err)
	}
}
