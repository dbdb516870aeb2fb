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

// readmeRow is one row of a configuration table in README.md:
// | `REFUNDFLOW_X` | worker, starter | `default` | meaning |
type readmeRow struct {
	line     int
	programs []string
	def      string
}

func readmeRows(t *testing.T, root string) map[string]readmeRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]readmeRow{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `"+Prefix+"_") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) < 4 {
			t.Errorf("README.md:%d: a configuration row needs | variable | read by | default | meaning |", n)
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if prev, dup := rows[name]; dup {
			t.Errorf("README.md:%d: %s is listed again (first on line %d)", n, name, prev.line)
		}
		var programs []string
		for _, p := range strings.Split(cells[1], ",") {
			programs = append(programs, strings.TrimSpace(p))
		}
		sort.Strings(programs)
		rows[name] = readmeRow{line: n, programs: programs, def: strings.TrimSpace(cells[2])}
	}
	return rows
}

// defaultCell is how the README writes a variable's default.
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

// The README's configuration tables list every REFUNDFLOW_* variable the
// programs read, only those, with the programs that read them and the
// defaults the code has. A failure prints the row to paste.
func TestReadmeConfigurationMatchesCode(t *testing.T) {
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
	rows := readmeRows(t, root)

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
			t.Errorf("README.md does not document %s; add a row such as\n%s", name, want)
		case !slices.Equal(row.programs, programs):
			t.Errorf("README.md:%d: %s is read by %s, not %s", row.line, name, strings.Join(programs, ", "), strings.Join(row.programs, ", "))
		case row.def != defaultCell(v):
			t.Errorf("README.md:%d: %s defaults to %s in the code, %s in the README", row.line, name, defaultCell(v), row.def)
		}
	}
	for name, row := range rows {
		if _, ok := vars[name]; !ok {
			t.Errorf("README.md:%d documents %s, which no program reads", row.line, name)
		}
	}
}
