package deploycheck

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of docker-compose.yml the checks read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image         string         `yaml:"image"`
	Build         any            `yaml:"build"`
	Command       []string       `yaml:"command"`
	Entrypoint    []string       `yaml:"entrypoint"`
	ContainerName string         `yaml:"container_name"`
	Environment   map[string]any `yaml:"environment"`
	Ports         []any          `yaml:"ports"`
	Volumes       []string       `yaml:"volumes"`
	DependsOn     map[string]any `yaml:"depends_on"`
	Profiles      []string       `yaml:"profiles"`
}

func loadCompose(t *testing.T) (composeFile, string) {
	t.Helper()
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c, root
}

// program is the Refundflow program a service runs ("" for other images):
// the binary its command starts, from the image ./Dockerfile builds.
func (s composeService) program() string {
	if s.Build == nil || len(s.Command) == 0 {
		return ""
	}
	return path.Base(s.Command[0])
}

func sortedNames(services map[string]composeService) []string {
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestComposeServicesHaveImageOrBuild(t *testing.T) {
	t.Parallel()
	c, _ := loadCompose(t)
	for _, name := range sortedNames(c.Services) {
		s := c.Services[name]
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		if strings.HasSuffix(s.Image, ":latest") || (s.Build == nil && !strings.Contains(s.Image, ":")) {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("service %s depends on %s, which does not exist", name, dep)
			}
		}
	}
}

// Every REFUNDFLOW_* variable a service sets must be one its program reads,
// and every variable its program requires must be set.
func TestComposeEnvironmentMatchesProgramConfig(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	seen := map[string]bool{}
	for _, name := range sortedNames(c.Services) {
		s := c.Services[name]
		program := s.program()
		if program == "" {
			for key := range s.Environment {
				if strings.HasPrefix(key, Prefix+"_") {
					t.Errorf("service %s is not a Refundflow program but sets %s", name, key)
				}
			}
			continue
		}
		seen[program] = true
		vars, err := ProgramVars(root, program)
		if err != nil {
			t.Fatalf("service %s runs %s: %v", name, program, err)
		}
		for key := range s.Environment {
			if !strings.HasPrefix(key, Prefix+"_") {
				t.Errorf("service %s sets %s: the programs read REFUNDFLOW_* only", name, key)
				continue
			}
			if _, ok := vars[key]; !ok {
				t.Errorf("service %s sets %s, which %s does not read", name, key, program)
			}
		}
		for _, v := range vars {
			if v.Required && s.Environment[v.Name] == nil {
				t.Errorf("service %s: %s requires %s, which the compose file does not set", name, program, v.Name)
			}
		}
	}
	for _, program := range []string{"worker", "starter"} {
		if !seen[program] {
			t.Errorf("no service runs the %s", program)
		}
	}
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(:?[-?][^}]*)?\}`)

// hostPort returns the published host port of a ports entry, "" if none.
func hostPort(entry any) string {
	switch e := entry.(type) {
	case map[string]any:
		if p, ok := e["published"]; ok {
			return strings.TrimSpace(interpolate(toString(p)))
		}
		return ""
	default:
		spec := interpolate(toString(e))
		spec, _, _ = strings.Cut(spec, "/") // protocol
		parts := strings.Split(spec, ":")
		switch len(parts) {
		case 1:
			return "" // container port only: a random host port
		case 2:
			return parts[0]
		default:
			return parts[len(parts)-2]
		}
	}
}

// interpolate resolves ${VAR:-default} to its default, as with VAR unset.
func interpolate(s string) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		sub := interpolation.FindStringSubmatch(m)
		if strings.HasPrefix(strings.TrimPrefix(sub[2], ":"), "-") {
			return strings.TrimPrefix(strings.TrimPrefix(sub[2], ":"), "-")
		}
		return ""
	})
}

func toString(v any) string { return fmt.Sprint(v) }

func TestComposePortsDoNotClash(t *testing.T) {
	t.Parallel()
	c, _ := loadCompose(t)
	owner := map[string]string{}
	for _, name := range sortedNames(c.Services) {
		for _, p := range c.Services[name].Ports {
			hp := hostPort(p)
			if hp == "" {
				continue
			}
			if other, ok := owner[hp]; ok {
				t.Errorf("host port %s is published by both %s and %s", hp, other, name)
			}
			owner[hp] = name
		}
	}
}

// `docker compose up --scale worker=N` works only if workers have no fixed
// name and no fixed host port.
func TestComposeWorkerScales(t *testing.T) {
	t.Parallel()
	c, _ := loadCompose(t)
	found := false
	for _, name := range sortedNames(c.Services) {
		s := c.Services[name]
		if s.program() != "worker" {
			continue
		}
		found = true
		if s.ContainerName != "" {
			t.Errorf("worker service %s has container_name %q: it could not scale", name, s.ContainerName)
		}
		for _, p := range s.Ports {
			if hostPort(p) != "" {
				t.Errorf("worker service %s publishes host port %s: it could not scale", name, hostPort(p))
			}
		}
	}
	if !found {
		t.Error("no worker service")
	}
}

// Files the compose file mounts from the repository must exist, and the
// Dockerfile must build what the services run.
func TestComposeMountsAndBuild(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sortedNames(c.Services) {
		s := c.Services[name]
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("service %s mounts %s, which is not in the repository", name, src)
				}
			} else if _, ok := c.Volumes[src]; !ok && !strings.HasPrefix(src, "/") {
				t.Errorf("service %s mounts volume %s, which is not declared", name, src)
			}
		}
		if b, ok := s.Build.(map[string]any); ok {
			if target, _ := b["target"].(string); target != "" && !regexp.MustCompile(`(?mi)^FROM\s+\S+\s+AS\s+`+regexp.QuoteMeta(target)+`\s*$`).Match(dockerfile) {
				t.Errorf("service %s builds target %q, which the Dockerfile does not have", name, target)
			}
		}
		if p := s.program(); p != "" && !strings.Contains(string(dockerfile), "./"+p) {
			t.Errorf("service %s runs %s, which the Dockerfile does not build", name, p)
		}
	}
}

// The compose file runs a patch of the Temporal server line the tests run
// (the one the pinned CLI in bin/ embeds as its dev server), never an older
// one: production takes the line's newest patch without waiting for a CLI
// release. The admin tools (schemas, namespace) may stay on the dev
// server's patch: a patch release changes no schema.
func TestComposeTemporalVersionMatchesDevServer(t *testing.T) {
	t.Parallel()
	c, root := loadCompose(t)
	cli := filepath.Join(root, "bin", "temporal")
	info, err := buildinfo.ReadFile(cli)
	if err != nil {
		t.Fatalf("read %s: %v (make test installs it first: make tools)", cli, err)
	}
	var server string
	for _, dep := range info.Deps {
		if dep.Path == "go.temporal.io/server" {
			server = strings.TrimPrefix(dep.Version, "v")
			if dep.Replace != nil {
				server = strings.TrimPrefix(dep.Replace.Version, "v")
			}
		}
	}
	if server == "" {
		t.Fatalf("%s does not embed go.temporal.io/server", cli)
	}
	checked := 0
	for _, name := range sortedNames(c.Services) {
		image := c.Services[name].Image
		repo, tag, _ := strings.Cut(image, ":")
		switch repo {
		case "temporalio/server", "temporalio/auto-setup":
			checked++
			if !samePatchLineNotOlder(tag, server) {
				t.Errorf("service %s runs %s; the dev server is %s: want a patch of its line, not older", name, image, server)
			}
		case "temporalio/admin-tools":
			checked++
			version, _, _ := strings.Cut(tag, "-")
			if !samePatchLineNotOlder(version, server) {
				t.Errorf("service %s runs %s; the dev server is %s: want a patch of its line, not older", name, image, server)
			}
		}
	}
	if checked == 0 {
		t.Error("no Temporal server image in docker-compose.yml")
	}
}

// samePatchLineNotOlder reports whether version (1.29.2) is a patch of
// base's major.minor line (1.29.1) and not older than base.
func samePatchLineNotOlder(version, base string) bool {
	vLine, vPatch, ok1 := cutPatch(version)
	bLine, bPatch, ok2 := cutPatch(base)
	return ok1 && ok2 && vLine == bLine && vPatch >= bPatch
}

func cutPatch(v string) (line string, patch int, ok bool) {
	i := strings.LastIndex(v, ".")
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(v[i+1:])
	return v[:i], n, err == nil && strings.Count(v[:i], ".") == 1
}

func TestSamePatchLineNotOlder(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		version, base string
		want          bool
	}{
		{"1.29.1", "1.29.1", true}, {"1.29.2", "1.29.1", true}, {"1.29.10", "1.29.9", true},
		{"1.29.0", "1.29.1", false}, {"1.30.0", "1.29.1", false}, {"1.2.9", "1.29.1", false}, {"latest", "1.29.1", false},
	} {
		if got := samePatchLineNotOlder(c.version, c.base); got != c.want {
			t.Errorf("samePatchLineNotOlder(%q, %q) = %v", c.version, c.base, got)
		}
	}
}

// Where a compose implementation is installed (Debian's docker-compose, or
// the docker CLI's compose plugin), it must accept the file too. Neither
// needs a Docker engine for `config`. Absent, the checks above stand alone.
func TestComposeConfigAcceptedByDockerCompose(t *testing.T) {
	t.Parallel()
	_, root := loadCompose(t)
	var cmds [][]string
	if p, err := exec.LookPath("docker-compose"); err == nil {
		cmds = append(cmds, []string{p})
	}
	if p, err := exec.LookPath("docker"); err == nil {
		if exec.Command(p, "compose", "version").Run() == nil {
			cmds = append(cmds, []string{p, "compose"})
		}
	}
	if len(cmds) == 0 {
		t.Log("neither docker-compose nor the docker compose plugin is installed: static checks only")
		return
	}
	for _, base := range cmds {
		args := append(base[1:], "-f", filepath.Join(root, "docker-compose.yml"), "--profile", "sandbox", "config", "-q")
		cmd := exec.Command(base[0], args...)
		cmd.Dir = root
		// The starter's webhook token is required (${...:?}); give it one.
		cmd.Env = append(os.Environ(), "REFUNDFLOW_WEBHOOK_TOKENS=compose-check")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s config: %v\n%s", strings.Join(base, " "), err, out)
		}
	}
}
