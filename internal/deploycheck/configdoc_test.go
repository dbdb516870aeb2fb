package deploycheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// configDoc is the page whose tables document every REFUNDFLOW_* variable.
const configDoc = "docs/configuration.md"

// configRowPrefix starts a row of a configuration table.
const configRowPrefix = "| `" + Prefix + "_"

// configRow is one row of a configuration table in docs/configuration.md:
// | `REFUNDFLOW_X` | worker, starter | `default` | meaning |
type configRow struct {
	line     int
	programs []string
	def      string
}

func configRows(t *testing.T, root string) map[string]configRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(configDoc)))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]configRow{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, configRowPrefix) {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) < 4 {
			t.Errorf("%s:%d: a configuration row needs | variable | read by | default | meaning |", configDoc, n)
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if prev, dup := rows[name]; dup {
			t.Errorf("%s:%d: %s is listed again (first on line %d)", configDoc, n, name, prev.line)
		}
		var programs []string
		for _, p := range strings.Split(cells[1], ",") {
			programs = append(programs, strings.TrimSpace(p))
		}
		sort.Strings(programs)
		rows[name] = configRow{line: n, programs: programs, def: strings.TrimSpace(cells[2])}
	}
	return rows
}

// defaultCell is how the configuration tables write a variable's default.
func defaultCell(v Var) string {
	switch {
	case v.Required:
		return "required"
	case v.Default == "":
		return "—"
	default:
		return "`" + v.Default + "`"
	}
}

// The configuration tables (docs/configuration.md) list every REFUNDFLOW_*
// variable the programs read, only those, with the programs that read them
// and the defaults the code has. A failure prints the row to paste.
func TestConfigurationDocMatchesCode(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	readBy := map[string][]string{}
	vars := map[string]Var{}
	for _, program := range Programs {
		pv, err := ProgramVars(root, program)
		if err != nil {
			t.Fatalf("%s: %v", program, err)
		}
		for name, v := range pv {
			readBy[name] = append(readBy[name], program)
			if prev, ok := vars[name]; ok && defaultCell(prev) != defaultCell(v) {
				t.Errorf("%s has default %s in one program and %s in %s", name, defaultCell(prev), defaultCell(v), program)
			}
			vars[name] = v
		}
	}
	rows := configRows(t, root)

	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := vars[name]
		programs := readBy[name]
		sort.Strings(programs)
		want := fmt.Sprintf("| `%s` | %s | %s | %s |", name, strings.Join(programs, ", "), defaultCell(v), v.Desc)
		row, ok := rows[name]
		switch {
		case !ok:
			t.Errorf("%s does not document %s; add a row such as\n%s", configDoc, name, want)
		case !slices.Equal(row.programs, programs):
			t.Errorf("%s:%d: %s is read by %s, not %s", configDoc, row.line, name, strings.Join(programs, ", "), strings.Join(row.programs, ", "))
		case row.def != defaultCell(v):
			t.Errorf("%s:%d: %s defaults to %s in the code, %s in the table", configDoc, row.line, name, defaultCell(v), row.def)
		}
	}
	for name, row := range rows {
		if _, ok := vars[name]; !ok {
			t.Errorf("%s:%d documents %s, which no program reads", configDoc, row.line, name)
		}
	}
}

// The tables have one home. A configuration row in README.md would be a
// second copy this test does not check, free to drift from the code.
func TestReadmeHasNoConfigurationTable(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), configRowPrefix) {
			t.Errorf("README.md:%d: configuration rows belong in %s, where they are checked against the code", n, configDoc)
		}
	}
}
