package operators

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Operators that hold no state of their own between batches: plumbing and
// element-wise functions. A checkpoint needs nothing of them.
var statelessOperators = map[string]string{
	"Map": "element-wise", "Filter": "element-wise", "FlatMap": "element-wise", "MapErr": "element-wise",
	"Sink":     "calls the user's function per batch",
	"CoMap":    "element-wise on two inputs",
	"exchange": "plumbing: flushed before every barrier", "keyedExchange": "plumbing",
	"keyedChain": "plumbing: computes keys, holds nothing between batches",
	"fanout":     "plumbing", "instrumented": "plumbing", "counted": "plumbing", "side": "plumbing",
	"withSides": "plumbing", "discard": "plumbing",
}

// Operators with two inputs take them through side[T], so they have no
// Push method of their own: the guard looks at them by name.
var twoInputOperators = []string{"CoMap", "KeyedCoProcess", "IntervalJoin"}

// Every operator type (anything with a Push method) in package operators
// either snapshots its state (has a Snapshot method) or is known to hold
// none. A new operator that holds state and does not snapshot it fails
// here until it does.
func TestEveryOperatorSnapshotsOrIsStateless(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	pushers := map[string]string{}
	snapshots := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || len(fd.Recv.List) == 0 {
				continue
			}
			name := recvName(fd.Recv.List[0].Type)
			switch fd.Name.Name {
			case "Push":
				pushers[name] = fset.Position(fd.Pos()).String()
			case "Snapshot":
				snapshots[name] = true
			}
		}
	}
	for _, name := range twoInputOperators {
		pushers[name] = "two inputs"
	}
	for name, where := range pushers {
		if snapshots[name] || statelessOperators[name] != "" {
			continue
		}
		t.Errorf("operator %s (%s) neither snapshots its state nor is listed as stateless", name, where)
	}
	if len(pushers) < 15 {
		t.Fatalf("found only %d operators: is the parse right?", len(pushers))
	}
}

func recvName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recvName(x.X)
	case *ast.IndexExpr:
		return recvName(x.X)
	case *ast.IndexListExpr:
		return recvName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return ""
}
