// Package lint checks rules of the code base that the compiler does not:
// the import arrows of DESIGN.md, that only the runtime starts goroutines,
// and that every exported name is documented.
package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/braidstream/braid/"

type file struct {
	path string // relative to the module root
	pkg  string // first path element: stream, window, ...
	ast  *ast.File
	test bool
}

func parseAll(t *testing.T) []file {
	t.Helper()
	var files []file
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../..", path)
		files = append(files, file{path: rel, pkg: strings.Split(rel, string(filepath.Separator))[0], ast: f,
			test: strings.HasSuffix(path, "_test.go")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// DESIGN.md: stream -> operators -> {window, state}; window and state
// import nothing of braid above them; connectors use stream's interfaces.
func TestImportArrows(t *testing.T) {
	forbidden := map[string][]string{
		"window":    {"state", "operators", "stream", "connectors"},
		"state":     {"window", "operators", "stream", "connectors"},
		"operators": {"stream", "connectors"},
		"internal":  {"operators", "stream", "connectors"},
		// Examples and benchmarks are jobs as a user writes them: the
		// public API (stream, window, state) must be enough.
		"examples":   {"operators"},
		"benchmarks": {"operators"},
	}
	for _, f := range parseAll(t) {
		if f.test {
			continue // tests may import anything
		}
		for _, imp := range f.ast.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !strings.HasPrefix(p, module) {
				continue
			}
			target := strings.Split(strings.TrimPrefix(p, module), "/")[0]
			for _, bad := range forbidden[f.pkg] {
				if target == bad {
					t.Errorf("%s imports %s: %s may not import %s (DESIGN.md)", f.path, p, f.pkg, bad)
				}
			}
		}
	}
}

// Every goroutine belongs to the runtime, which ends them before Execute
// returns: no go statement outside operators/ (tests and commands aside).
func TestGoroutinesOnlyInRuntime(t *testing.T) {
	for _, f := range parseAll(t) {
		if f.test || f.pkg == "operators" || f.pkg == "examples" || f.pkg == "benchmarks" {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if _, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s: a go statement outside operators/", f.path)
			}
			return true
		})
	}
}

// Every exported name of the library has a doc comment.
func TestExportedNamesDocumented(t *testing.T) {
	for _, f := range parseAll(t) {
		if f.test || f.pkg == "examples" || f.pkg == "benchmarks" || f.ast.Name.Name == "main" {
			continue
		}
		for _, d := range f.ast.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Name.IsExported() && d.Doc == nil && receiverExported(d) {
					t.Errorf("%s: %s has no doc comment", f.path, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() && d.Doc == nil && s.Doc == nil {
							t.Errorf("%s: type %s has no doc comment", f.path, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
								t.Errorf("%s: %s has no doc comment", f.path, n.Name)
							}
						}
					}
				}
			}
		}
	}
}

// receiverExported reports whether a method's receiver type is exported
// (methods of unexported types are not part of the API).
func receiverExported(d *ast.FuncDecl) bool {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return true
	}
	t := d.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return true
		}
	}
}
