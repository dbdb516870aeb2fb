package deploycheck

import (
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The monitoring files of deploy/: the alert rules and their unit tests,
// the compose stack's Prometheus config, and the Grafana dashboard.
const (
	prometheusDir   = "deploy/prometheus"
	rulesFile       = "deploy/prometheus/refundflow.rules.yml"
	rulesTestFile   = "refundflow.rules.test.yml"
	prometheusConf  = "deploy/prometheus/prometheus.yml"
	dashboardFile   = "deploy/grafana/refundflow.json"
	promtoolInstall = "install Debian's prometheus package (scripts/install-tools.sh does, as root): it has promtool"
)

// promtool runs Debian's promtool in dir; a missing promtool fails the
// test: the rules are never shipped unchecked.
func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found: %s", promtoolInstall)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestPromtoolChecksRulesAndConfig(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	promtool(t, root, "check", "rules", rulesFile)
	// The config names the rules relative to itself, as the compose
	// service mounts the folder: this checks both, as Prometheus loads them.
	promtool(t, root, "check", "config", prometheusConf)
	// Each alert fires on the series that should page, and only then.
	promtool(t, filepath.Join(root, prometheusDir), "test", "rules", rulesTestFile)
}

type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName    string `yaml:"job_name"`
		DNSConfigs []struct {
			Names []string `yaml:"names"`
			Port  int      `yaml:"port"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

// TestComposePrometheusScrapesEveryProgram holds the compose stack's
// Prometheus to the services: it loads this folder, and scrapes the worker
// and the starter by service name on the port of their
// REFUNDFLOW_METRICS_ADDRESS, under the job names the alerts read.
func TestComposePrometheusScrapesEveryProgram(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	prom, ok := c.Services["prometheus"]
	if !ok {
		t.Fatal("docker-compose.yml has no prometheus service")
	}
	if !slices.Contains(prom.Volumes, "./"+prometheusDir+":/etc/prometheus:ro") {
		t.Errorf("prometheus mounts %v, want ./%s:/etc/prometheus:ro", prom.Volumes, prometheusDir)
	}
	if !slices.Contains(prom.Command, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Errorf("prometheus command %v does not load /etc/prometheus/prometheus.yml", prom.Command)
	}
	var cfg promConfig
	if err := yaml.Unmarshal([]byte(readRepoFile(t, root, prometheusConf)), &cfg); err != nil {
		t.Fatalf("%s: %v", prometheusConf, err)
	}
	if !slices.Contains(cfg.RuleFiles, filepath.Base(rulesFile)) {
		t.Errorf("%s loads rules %v, not %s", prometheusConf, cfg.RuleFiles, filepath.Base(rulesFile))
	}
	for job, service := range map[string]string{"refundflow-worker": "worker", "refundflow-starter": "starter"} {
		addr, _ := c.Services[service].Environment["REFUNDFLOW_METRICS_ADDRESS"].(string)
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("service %s: REFUNDFLOW_METRICS_ADDRESS %q is not host:port: metrics are off", service, addr)
			continue
		}
		found := false
		for _, sc := range cfg.ScrapeConfigs {
			if sc.JobName != job {
				continue
			}
			for _, d := range sc.DNSConfigs {
				found = found || (slices.Equal(d.Names, []string{service}) && port == strconv.Itoa(d.Port))
			}
		}
		if !found {
			t.Errorf("%s has no job %s scraping %s:%s", prometheusConf, job, service, port)
		}
	}
	// The image is the version the tests run (Debian's prometheus).
	out, err := exec.Command("prometheus", "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("prometheus --version: %v: %s", err, promtoolInstall)
	}
	m := regexp.MustCompile(`version (\d+\.\d+\.\d+)`).FindSubmatch(out)
	if m == nil || prom.Image != "prom/prometheus:v"+string(m[1]) {
		t.Errorf("compose runs %s; the tests run Prometheus %s", prom.Image, m)
	}
}

// TestDashboardPanelsHaveQueries keeps the Grafana dashboard loadable: JSON,
// every panel with a datasource variable and at least one query.
func TestDashboardPanelsHaveQueries(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, root, dashboardFile)), &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: title %q, uid %q, %d panels", dashboardFile, dash.Title, dash.UID, len(dash.Panels))
	}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
			t.Errorf("%s: panel %q has no query", dashboardFile, p.Title)
		}
	}
}
