package deploycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	tc "github.com/refundflow/refundflow/internal/temporalclient"
)

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s", root)
	}
	return root
}

// The fixture's types, as envconfig sees them (testdata/app/config.go).
type fixtureConfig struct {
	tc.Config
	Gateway fixtureEndpoint `envconfig:"GW"`
	Plain   string
	Skipped string        `ignored:"true"`
	hidden  string        `envconfig:"HIDDEN"` //nolint:unused // mirrors the fixture
	Wait    time.Duration `envconfig:"WAIT" default:"5s" required:"true"`
	FixtureEmbedded
	fixtureHiddenEmbedded //nolint:unused // mirrors the fixture
}

type fixtureHiddenEmbedded struct {
	Secret string `envconfig:"EMBEDDED_SECRET"`
}

type fixtureEndpoint struct {
	URL   string `envconfig:"URL" default:"http://x"`
	Inner fixtureLeaf
}

type fixtureLeaf struct {
	Depth int `envconfig:"DEPTH"`
}

type FixtureEmbedded struct {
	Flag bool `envconfig:"FLAG"`
}

// envconfigKeys asks envconfig itself which variables a struct reads.
func envconfigKeys(t *testing.T, spec any) []string {
	t.Helper()
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 1, ' ', 0)
	if err := envconfig.Usagef(Prefix, spec, tw, "{{range .}}{{usage_key .}}\n{{end}}"); err != nil {
		t.Fatal(err)
	}
	_ = tw.Flush()
	keys := strings.Fields(buf.String())
	sort.Strings(keys)
	return keys
}

// The scanner must name variables exactly as envconfig does, or the compose
// and docs/configuration.md checks would compare against the wrong names.
func TestScannerNamesVariablesAsEnvconfigDoes(t *testing.T) {
	t.Parallel()
	vars, err := ProgramVars(repoRoot(t), "internal/deploycheck/testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for name := range vars {
		if name != "REFUNDFLOW_DIRECT" {
			got = append(got, name)
		}
	}
	sort.Strings(got)
	want := envconfigKeys(t, &fixtureConfig{})
	if !slices.Equal(got, want) {
		t.Errorf("scanner found\n  %v\nenvconfig reads\n  %v", got, want)
	}
	if _, ok := vars["REFUNDFLOW_DIRECT"]; !ok {
		t.Error("a direct os.Getenv(\"REFUNDFLOW_DIRECT\") was not found")
	}
	if w := vars["REFUNDFLOW_WAIT"]; w.Default != "5s" || !w.Required {
		t.Errorf("REFUNDFLOW_WAIT = %+v, want default 5s, required", w)
	}
	if u := vars["REFUNDFLOW_GW_URL"]; u.Default != "http://x" {
		t.Errorf("REFUNDFLOW_GW_URL = %+v, want default http://x", u)
	}
}

// Every program the compose file and docs/configuration.md speak of has a config the
// scanner can read.
func TestProgramsHaveConfig(t *testing.T) {
	t.Parallel()
	for _, program := range Programs {
		vars, err := ProgramVars(repoRoot(t), program)
		if err != nil {
			t.Fatalf("%s: %v", program, err)
		}
		if len(vars) == 0 {
			t.Errorf("%s reads no REFUNDFLOW_* variable", program)
		}
	}
}
