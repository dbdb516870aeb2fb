package prodtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/refundflow/refundflow/internal/testenv"
)

// TestServerConfigRendersForCompose has the real server render the shared
// config with the environment docker-compose.yml gives its temporal
// service (TestProductionShape runs it with prod-local's): no Docker here,
// but the file the container would load is checked by the binary that
// would load it.
func TestServerConfigRendersForCompose(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot(t)
	install(t, root)

	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	// What the container gets: compose's variables with their defaults, and
	// what start-server.sh adds in a container bound to 0.0.0.0.
	env := []string{
		"DYNAMIC_CONFIG_FILE_PATH=/deploy/temporal/dynamicconfig/refundflow.yaml",
		"TEMPORAL_BROADCAST_ADDRESS=172.18.0.5",
	}
	found := false
	for _, s := range compose.Services {
		if strings.HasPrefix(s.Image, "temporalio/server:") {
			found = true
			for k, v := range s.Environment {
				env = append(env, k+"="+composeDefault(v))
			}
		}
	}
	if !found {
		t.Fatal("no temporalio/server service in docker-compose.yml")
	}

	// render-config reads the config folder relative to where it runs.
	cmd := exec.Command(filepath.Join(root, "bin", "temporal-server"), "--config", "config", "--env", "refundflow-postgres", "render-config")
	cmd.Dir = filepath.Join(root, "deploy", "temporal")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render-config: %v\n%s", err, out)
	}
	var cfg struct {
		Persistence struct {
			NumHistoryShards int `yaml:"numHistoryShards"`
			Datastores       map[string]struct {
				SQL struct {
					PluginName  string `yaml:"pluginName"`
					ConnectAddr string `yaml:"connectAddr"`
				} `yaml:"sql"`
			} `yaml:"datastores"`
		} `yaml:"persistence"`
		Global struct {
			Membership struct {
				BroadcastAddress string `yaml:"broadcastAddress"`
			} `yaml:"membership"`
		} `yaml:"global"`
		Services map[string]struct {
			RPC struct {
				GRPCPort int    `yaml:"grpcPort"`
				BindOnIP string `yaml:"bindOnIP"`
			} `yaml:"rpc"`
		} `yaml:"services"`
		DynamicConfigClient struct {
			Filepath string `yaml:"filepath"`
		} `yaml:"dynamicConfigClient"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("rendered config: %v\n%s", err, out)
	}
	if cfg.Persistence.NumHistoryShards != int(configShards(t)) {
		t.Errorf("rendered %d history shards", cfg.Persistence.NumHistoryShards)
	}
	if len(cfg.Persistence.Datastores) != 2 {
		t.Errorf("want two datastores, got %d", len(cfg.Persistence.Datastores))
	}
	for name, ds := range cfg.Persistence.Datastores {
		if ds.SQL.PluginName != "postgres12" || ds.SQL.ConnectAddr != "postgresql:5432" {
			t.Errorf("datastore %s: %s at %s; want postgres12 at compose's postgresql:5432", name, ds.SQL.PluginName, ds.SQL.ConnectAddr)
		}
	}
	for _, svc := range []string{"frontend", "history", "matching", "worker"} {
		if rpc := cfg.Services[svc].RPC; rpc.BindOnIP != "0.0.0.0" || rpc.GRPCPort == 0 {
			t.Errorf("service %s: %+v; want bound to 0.0.0.0 in a container", svc, rpc)
		}
	}
	if p := cfg.Services["frontend"].RPC.GRPCPort; p != 7233 {
		t.Errorf("frontend on %d; compose publishes 7233", p)
	}
	if cfg.Global.Membership.BroadcastAddress != "172.18.0.5" {
		t.Errorf("broadcast address %q", cfg.Global.Membership.BroadcastAddress)
	}
	// The container's /deploy/temporal is the repository's deploy/temporal.
	rel := strings.TrimPrefix(cfg.DynamicConfigClient.Filepath, "/deploy/temporal/")
	if _, err := os.Stat(filepath.Join(root, "deploy", "temporal", rel)); err != nil {
		t.Errorf("dynamic config %s: %v", cfg.DynamicConfigClient.Filepath, err)
	}
}

var composeVar = regexp.MustCompile(`\$\{[A-Za-z0-9_]+:?-([^}]*)\}`)

// composeDefault resolves ${VAR:-default} as compose does with VAR unset.
func composeDefault(v string) string {
	return composeVar.ReplaceAllStringFunc(v, func(m string) string {
		return composeVar.FindStringSubmatch(m)[1]
	})
}
