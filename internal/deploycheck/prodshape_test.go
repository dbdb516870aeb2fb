package deploycheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/refundflow/refundflow/internal/stack"
)

// The production shape has two runners, docker-compose.yml and `make
// prod-local` (deploy/prod-local.sh, which the test in harness/prodtest
// runs). These checks keep them one shape: the same Temporal files, the same
// server version, and a config whose every required variable both provide.

const (
	serverConfig  = "deploy/temporal/config/refundflow-postgres.yaml"
	dynamicConfig = "deploy/temporal/dynamicconfig/refundflow.yaml"
	prodLocal     = "deploy/prod-local.sh"
)

func readRepoFile(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// serviceByImage is the one service whose image is repo:tag, for the given repo.
func serviceByImage(t *testing.T, c composeFile, repo string) (string, composeService) {
	t.Helper()
	var found []string
	for _, name := range sortedNames(c.Services) {
		if r, _, _ := strings.Cut(c.Services[name].Image, ":"); r == repo {
			found = append(found, name)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one service running %s, found %v", repo, found)
	}
	return found[0], c.Services[found[0]]
}

// runsDeployScript: the service's entrypoint or command runs script from the
// repository's deploy/temporal, mounted read-only at /deploy/temporal.
func runsDeployScript(t *testing.T, name string, s composeService, script string) {
	t.Helper()
	mounted := false
	for _, v := range s.Volumes {
		if v == "./deploy/temporal:/deploy/temporal:ro" {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("service %s does not mount ./deploy/temporal:/deploy/temporal:ro", name)
	}
	argv := strings.Join(append(append([]string{}, s.Entrypoint...), s.Command...), " ")
	if !strings.Contains(argv, "/deploy/temporal/"+script) {
		t.Errorf("service %s runs %q, not /deploy/temporal/%s", name, argv, script)
	}
}

// Compose and prod-local start the server, set up the schemas and create
// the namespace with the same scripts, and so the same config file.
func TestComposeAndProdLocalShareTemporalFiles(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	local := readRepoFile(t, root, prodLocal)

	name, server := serviceByImage(t, c, "temporalio/server")
	runsDeployScript(t, name, server, "start-server.sh")
	for _, v := range server.Volumes {
		if strings.Contains(v, "/etc/temporal/config") {
			t.Errorf("service %s mounts %s: its config is %s, through start-server.sh", name, v, serverConfig)
		}
	}
	schema, init := "", ""
	for _, n := range sortedNames(c.Services) {
		argv := strings.Join(append(append([]string{}, c.Services[n].Entrypoint...), c.Services[n].Command...), " ")
		switch {
		case strings.Contains(argv, "setup-postgres.sh"):
			schema = n
		case strings.Contains(argv, "create-namespace.sh"):
			init = n
		}
	}
	if schema == "" || init == "" {
		t.Fatalf("compose needs a one-shot schema service and a namespace service (found %q, %q)", schema, init)
	}
	runsDeployScript(t, schema, c.Services[schema], "setup-postgres.sh")
	runsDeployScript(t, init, c.Services[init], "create-namespace.sh")
	if _, ok := server.DependsOn[schema]; !ok {
		t.Errorf("service %s must wait for the schema service %s", name, schema)
	}

	for _, script := range []string{"start-server.sh", "setup-postgres.sh", "create-namespace.sh"} {
		if !strings.Contains(local, "deploy/temporal/"+script) {
			t.Errorf("%s does not run deploy/temporal/%s, which compose runs", prodLocal, script)
		}
	}
	start := readRepoFile(t, root, "deploy/temporal/start-server.sh")
	env := strings.TrimSuffix(filepath.Base(serverConfig), ".yaml")
	if !regexp.MustCompile(`--config config --env ` + regexp.QuoteMeta(env) + `\b`).MatchString(start) {
		t.Errorf("deploy/temporal/start-server.sh does not start the server with --config config --env %s", env)
	}
}

var (
	templateEnv     = regexp.MustCompile(`(with )?env "([A-Z0-9_]+)"( \| default)?`)
	numShards       = regexp.MustCompile(`(?m)^  numHistoryShards: (\d+)$`)
	setWithDefault  = `: "${%s:=`
	exportedInLocal = regexp.MustCompile(`(?m)^\s*export ([A-Z0-9_ =]+)`)
)

// The server config: a template the server renders (so the same file fits
// a container and this machine), history shards fixed in the file, both
// stores on PostgreSQL, and every variable it needs without a default set
// by both runners.
func TestServerConfigFitsBothRunners(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	cfg := readRepoFile(t, root, serverConfig)
	start := readRepoFile(t, root, "deploy/temporal/start-server.sh")
	local := readRepoFile(t, root, prodLocal)

	if !strings.HasPrefix(cfg, "# enable-template\n") {
		t.Errorf("%s must begin with # enable-template, or the server reads its {{ }} literally", serverConfig)
	}
	if !numShards.MatchString(cfg) {
		t.Errorf("%s: numHistoryShards must be a number in the file, not a variable: it cannot change after the cluster is created", serverConfig)
	}
	if n := strings.Count(cfg, "pluginName: postgres12"); n != 2 {
		t.Errorf("%s: want both stores (history and visibility) on postgres12, found %d", serverConfig, n)
	}

	_, server := serviceByImage(t, c, "temporalio/server")
	exported := map[string]bool{}
	for _, m := range exportedInLocal.FindAllStringSubmatch(local, -1) {
		for _, word := range strings.Fields(m[1]) {
			k, _, _ := strings.Cut(word, "=")
			exported[k] = true
		}
	}
	required := map[string]bool{}
	// Not required: one with a default, or one that only adds a section
	// when set ({{ with env "X" }}).
	for _, m := range templateEnv.FindAllStringSubmatch(cfg, -1) {
		if m[1] == "" && m[3] == "" {
			required[m[2]] = true
		}
	}
	// Read without a default but optional by design (empty: the bind address).
	delete(required, "TEMPORAL_BROADCAST_ADDRESS")
	if len(required) == 0 {
		t.Fatalf("%s reads no variable without a default; the check found nothing to check", serverConfig)
	}
	for v := range required {
		byScript := strings.Contains(start, strings.Replace(setWithDefault, "%s", v, 1))
		if !byScript && server.Environment[v] == nil {
			t.Errorf("%s needs %s: neither the compose temporal service nor start-server.sh sets it", serverConfig, v)
		}
		if !byScript && !exported[v] {
			t.Errorf("%s needs %s: neither %s nor start-server.sh sets it", serverConfig, v, prodLocal)
		}
	}
}

// One Temporal server version everywhere: prod-local installs the version
// in deploy/local/common.sh, which must be the compose image's (and that,
// TestComposeTemporalVersionMatchesDevServer checks, the dev server's).
func TestProdLocalServerVersionMatchesCompose(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	m := regexp.MustCompile(`(?m)^TEMPORAL_SERVER_VERSION="v([0-9.]+)"$`).FindStringSubmatch(readRepoFile(t, root, "deploy/local/common.sh"))
	if m == nil {
		t.Fatal("deploy/local/common.sh sets no TEMPORAL_SERVER_VERSION")
	}
	name, server := serviceByImage(t, c, "temporalio/server")
	if _, tag, _ := strings.Cut(server.Image, ":"); tag != m[1] {
		t.Errorf("service %s runs %s; make prod-local installs the server %s", name, server.Image, m[1])
	}
}

// Starters scale like workers: no published port of their own, a load
// balancer on the published port that sends to the service name, and the
// UI's codec endpoint on that port.
func TestComposeStartersBehindPublishedPort(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	var starters []string
	for _, name := range sortedNames(c.Services) {
		if c.Services[name].program() == "starter" {
			starters = append(starters, name)
		}
	}
	if len(starters) != 1 {
		t.Fatalf("want one starter service, found %v", starters)
	}
	starter := c.Services[starters[0]]
	for _, p := range starter.Ports {
		if hostPort(p) != "" {
			t.Errorf("starter publishes host port %s: it could not scale; publish the load balancer's instead", hostPort(p))
		}
	}
	if starter.ContainerName != "" {
		t.Errorf("starter has container_name %q: it could not scale", starter.ContainerName)
	}

	lbName, lb := serviceByImage(t, c, "nginx")
	published := ""
	for _, p := range lb.Ports {
		published = hostPort(p)
	}
	conf := ""
	for _, v := range lb.Volumes {
		if src, _, _ := strings.Cut(v, ":"); strings.HasSuffix(src, ".conf") {
			conf = readRepoFile(t, root, src)
		}
	}
	if !strings.Contains(conf, "http://"+starters[0]+":8080") {
		t.Errorf("service %s does not proxy to %s:8080 (its mounted .conf)", lbName, starters[0])
	}
	ui, uiService := serviceByImage(t, c, "temporalio/ui")
	codec := interpolate(toString(uiService.Environment["TEMPORAL_CODEC_ENDPOINT"]))
	if published == "" || !strings.HasPrefix(codec, "http://localhost:"+published+"/codec") {
		t.Errorf("service %s's codec endpoint %q is not the starters' /codec on the published port %q", ui, codec, published)
	}
}

var (
	poolDefault    = regexp.MustCompile(`maxConns: \{\{ env "[A-Z_]+" \| default "(\d+)" \}\}`)
	maxConnections = regexp.MustCompile(`max_connections=(\d+)`)
)

// PostgreSQL must take every connection the server may open: each of its
// four services has its own pool per store, at the config's defaults.
func TestPostgresTakesTheServersPools(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	cfg := readRepoFile(t, root, serverConfig)
	pools := 0
	for _, m := range poolDefault.FindAllStringSubmatch(cfg, -1) {
		var n int
		if _, err := fmt.Sscan(m[1], &n); err != nil {
			t.Fatal(err)
		}
		pools += n
	}
	if pools == 0 {
		t.Fatalf("%s: no maxConns defaults found", serverConfig)
	}
	need := 4 * pools
	name, pg := serviceByImage(t, c, "postgres")
	for where, text := range map[string]string{
		"service " + name:          strings.Join(pg.Command, " "),
		"deploy/local/postgres.sh": readRepoFile(t, root, "deploy/local/postgres.sh"),
	} {
		m := maxConnections.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("%s does not set max_connections; PostgreSQL's default (100) is below the server's %d", where, need)
			continue
		}
		var n int
		if _, err := fmt.Sscan(m[1], &n); err != nil {
			t.Fatal(err)
		}
		if n <= need {
			t.Errorf("%s: max_connections=%d, the server may open %d (4 services x %d)", where, n, need, pools)
		}
	}
}

// The production server runs with the dynamic settings every dev server
// here runs with (internal/stack.DynamicConfig): what the tests and the
// benchmark proved is what production gets. make dev passes them too.
func TestEveryServerRunsTheSameDynamicConfig(t *testing.T) {
	t.Parallel()
	_, root := loadCompose(t)
	var file map[string][]struct {
		Value       any            `yaml:"value"`
		Constraints map[string]any `yaml:"constraints"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, root, dynamicConfig)), &file); err != nil {
		t.Fatalf("%s: %v", dynamicConfig, err)
	}
	want := map[string]string{}
	for _, kv := range stack.DynamicConfig {
		want[kv.Key] = kv.Value
	}
	for key, values := range file {
		if len(values) != 1 || len(values[0].Constraints) != 0 {
			t.Errorf("%s: %s has %d values or constraints; the dev servers take one unconstrained value", dynamicConfig, key, len(values))
			continue
		}
		if got := fmt.Sprint(values[0].Value); got != want[key] {
			t.Errorf("%s: %s = %s, the dev servers run %q (internal/stack.DynamicConfig)", dynamicConfig, key, got, want[key])
		}
	}
	devScript := readRepoFile(t, root, "scripts/dev.sh")
	for key, value := range want {
		if _, ok := file[key]; !ok {
			t.Errorf("%s lacks %s: %s, which the dev servers run with", dynamicConfig, key, value)
		}
		if !strings.Contains(devScript, "--dynamic-config-value "+key+"="+value) {
			t.Errorf("scripts/dev.sh does not pass --dynamic-config-value %s=%s", key, value)
		}
	}
}
