// Package deploycheck checks what ships beside the code against the code:
// docker-compose.yml and docs/configuration.md's tables may only name
// REFUNDFLOW_* variables that a program reads, with the defaults it has.
//
// The variables are found in the source, not in a list kept by hand: every
// struct field with an `envconfig:"..."` tag, followed through embedded and
// nested structs the way github.com/kelseyhightower/envconfig does, from the
// config structs of a program's main package. No main package is imported,
// so this works for any program the repository has.
package deploycheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Prefix is what every program passes to envconfig.Process.
const Prefix = "REFUNDFLOW"

// Var is one environment variable a program reads.
type Var struct {
	Name     string
	Default  string
	Desc     string
	Required bool
}

// ModulePath reads the module path from root/go.mod.
func ModulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("no module line in %s/go.mod", root)
}

// ProgramVars returns the REFUNDFLOW_* variables the program in
// root/program reads, by name. The roots are the package's struct types with
// envconfig tags that no other struct of the package nests: its config.
func ProgramVars(root, program string) (map[string]Var, error) {
	module, err := ModulePath(root)
	if err != nil {
		return nil, err
	}
	s := &scanner{root: root, module: module, pkgs: map[string]*pkgInfo{}}
	dir := program
	if p, ok := ConfigPackages[program]; ok {
		dir = p
	}
	mainPath := module + "/" + filepath.ToSlash(dir)
	pkg, err := s.load(mainPath)
	if err != nil {
		return nil, err
	}
	if len(pkg.files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", program)
	}
	// A struct used inside another config struct is not a root of its own,
	// whether envconfig can set that field or not. A struct that is not
	// configuration may hold one (the sandbox's Server holds its Config).
	nested := map[string]bool{}
	for _, st := range pkg.structs {
		if !s.tagged(pkg, st, 0) {
			continue
		}
		for _, f := range st.Fields.List {
			if ref, ok := s.structRef(pkg, st, f.Type); ok && ref.pkg == pkg {
				nested[ref.name] = true
			}
		}
	}
	vars := map[string]Var{}
	names := make([]string, 0, len(pkg.structs))
	for name := range pkg.structs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if nested[name] || !s.tagged(pkg, pkg.structs[name], 0) {
			continue
		}
		found, err := s.vars(pkg, pkg.structs[name], Prefix, 0)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", program, name, err)
		}
		for _, v := range found {
			vars[v.Name] = v
		}
	}
	// Direct reads too: os.Getenv("REFUNDFLOW_...") in the program's package.
	for _, f := range pkg.files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Getenv" && sel.Sel.Name != "LookupEnv") {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); !ok || f.imports[id.Name] != "os" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if name, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(name, Prefix+"_") {
					if _, seen := vars[name]; !seen {
						vars[name] = Var{Name: name}
					}
				}
			}
			return true
		})
	}
	return vars, nil
}

type fileInfo struct {
	ast     *ast.File
	imports map[string]string // local name -> import path
}

type pkgInfo struct {
	path    string
	files   []*fileInfo
	structs map[string]*ast.StructType
	// fileOf says which file declares each struct, for its imports.
	fileOf map[string]*fileInfo
}

type scanner struct {
	root, module string
	pkgs         map[string]*pkgInfo
}

// load parses the non-test Go files of a package of this module.
func (s *scanner) load(path string) (*pkgInfo, error) {
	if p, ok := s.pkgs[path]; ok {
		return p, nil
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(path, s.module), "/")
	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	p := &pkgInfo{path: path, structs: map[string]*ast.StructType{}, fileOf: map[string]*fileInfo{}}
	s.pkgs[path] = p
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		fi := &fileInfo{ast: f, imports: map[string]string{}}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			local := ip[strings.LastIndex(ip, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
			fi.imports[local] = ip
		}
		p.files = append(p.files, fi)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if st, ok := ts.Type.(*ast.StructType); ok {
					p.structs[ts.Name.Name] = st
					p.fileOf[ts.Name.Name] = fi
				}
			}
		}
	}
	return p, nil
}

type structRef struct {
	pkg  *pkgInfo
	name string
}

// structRef resolves a field type to a struct of this module, if it is one.
func (s *scanner) structRef(pkg *pkgInfo, owner *ast.StructType, expr ast.Expr) (structRef, bool) {
	if star, ok := expr.(*ast.StarExpr); ok {
		expr = star.X
	}
	switch t := expr.(type) {
	case *ast.Ident:
		if _, ok := pkg.structs[t.Name]; ok {
			return structRef{pkg, t.Name}, true
		}
	case *ast.SelectorExpr:
		id, ok := t.X.(*ast.Ident)
		if !ok {
			return structRef{}, false
		}
		var file *fileInfo
		for name, st := range pkg.structs {
			if st == owner {
				file = pkg.fileOf[name]
			}
		}
		if file == nil {
			return structRef{}, false
		}
		ip := file.imports[id.Name]
		if ip != s.module && !strings.HasPrefix(ip, s.module+"/") {
			return structRef{}, false
		}
		other, err := s.load(ip)
		if err != nil {
			return structRef{}, false
		}
		if _, ok := other.structs[t.Sel.Name]; ok {
			return structRef{other, t.Sel.Name}, true
		}
	}
	return structRef{}, false
}

// tagged reports whether a struct, or one it nests, has an envconfig tag:
// only such structs are configuration.
func (s *scanner) tagged(pkg *pkgInfo, st *ast.StructType, depth int) bool {
	if depth > 10 {
		return false
	}
	for _, f := range st.Fields.List {
		if !exported(f) {
			continue
		}
		if f.Tag != nil {
			raw, _ := strconv.Unquote(f.Tag.Value)
			if _, ok := reflect.StructTag(raw).Lookup("envconfig"); ok {
				return true
			}
		}
		if ref, ok := s.structRef(pkg, st, f.Type); ok && s.tagged(ref.pkg, ref.pkg.structs[ref.name], depth+1) {
			return true
		}
	}
	return false
}

// vars lists the variables of a struct under prefix, as envconfig's
// gatherInfo names them: PREFIX_KEY, where KEY is the envconfig tag or the
// upper-cased field name; an embedded struct adds its fields under the same
// prefix, a named struct field under PREFIX_KEY.
func (s *scanner) vars(pkg *pkgInfo, st *ast.StructType, prefix string, depth int) ([]Var, error) {
	if depth > 10 {
		return nil, fmt.Errorf("structs nested too deep")
	}
	var out []Var
	for _, f := range st.Fields.List {
		var tag reflect.StructTag
		if f.Tag != nil {
			raw, _ := strconv.Unquote(f.Tag.Value)
			tag = reflect.StructTag(raw)
		}
		// envconfig sets only what it can: exported fields, and embedded
		// structs whose type name is exported.
		if tag.Get("ignored") == "true" || !exported(f) {
			continue
		}
		names := []string{}
		for _, n := range f.Names {
			if n.IsExported() {
				names = append(names, n.Name)
			}
		}
		embedded := len(f.Names) == 0
		if ref, ok := s.structRef(pkg, st, f.Type); ok {
			inner := ref.pkg.structs[ref.name]
			if embedded {
				found, err := s.vars(ref.pkg, inner, prefix, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, found...)
				continue
			}
			for _, n := range names {
				found, err := s.vars(ref.pkg, inner, prefix+"_"+key(n, tag), depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, found...)
			}
			continue
		}
		if embedded {
			continue // an embedded non-struct of another package: not config
		}
		for _, n := range names {
			out = append(out, Var{
				Name:     prefix + "_" + key(n, tag),
				Default:  tag.Get("default"),
				Desc:     tag.Get("desc"),
				Required: tag.Get("required") == "true",
			})
		}
	}
	return out, nil
}

// exported reports whether envconfig can set a field: a named field with an
// exported name, or an embedded field whose type name is exported.
func exported(f *ast.Field) bool {
	if len(f.Names) > 0 {
		for _, n := range f.Names {
			if n.IsExported() {
				return true
			}
		}
		return false
	}
	t := f.Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	switch t := t.(type) {
	case *ast.Ident:
		return t.IsExported()
	case *ast.SelectorExpr:
		return t.Sel.IsExported()
	}
	return false
}

// key is a field's variable name without prefix. split_words is not used in
// this repository, so a field without a tag is just its name upper-cased.
func key(field string, tag reflect.StructTag) string {
	if t := tag.Get("envconfig"); t != "" {
		return strings.ToUpper(t)
	}
	return strings.ToUpper(field)
}

// Programs are the main packages whose configuration ships: the compose
// services run them (and operators the commands in cmd/), and
// docs/configuration.md documents their variables.
var Programs = []string{"worker", "starter", "sandbox", "reconcile", "replay-gate"}

// ConfigPackages names, for a program whose main package is only wiring or
// lives in cmd/, the package that holds its config struct.
var ConfigPackages = map[string]string{"sandbox": "internal/sandbox", "reconcile": "cmd/reconcile", "replay-gate": "cmd/replay-gate"}
