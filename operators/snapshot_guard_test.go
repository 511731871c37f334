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
	"fanout": "plumbing", "instrumented": "plumbing", "counted": "plumbing", "side": "plumbing",
	"withSides": "plumbing", "discard": "plumbing",
	// GeneratedWatermarks keeps the user's generator, whose state is the
	// user's (as in Flink, generators are not checkpointed): after a
	// restore it starts again and watermarks catch up with the data.
	"GeneratedWatermarks": "the generator is the user's",
}

// Operators with state whose snapshots are not written yet. A job with
// checkpoints refuses to run with one of them (BuildContext.Unsupported),
// so no state is lost silently. This list only shrinks.
var snapshotPending = map[string]bool{
	"TimeWindow": true, "SessionWindow": true, "CountWindow": true, "DeltaWindow": true, "TriggerWindow": true,
	"KeyedProcess": true, "KeyedCoProcess": true, "IntervalJoin": true, "Timestamps": true,
}

// Every operator type (anything with a Push method) in package operators
// either snapshots its state (has a Snapshot method), is known to hold
// none, or is pending. A new operator that holds state and does not
// snapshot it fails here until it is classified.
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
	// Two-input operators push through side[T]; find them by their
	// constructors' result types too.
	for name := range snapshotPending {
		pushers[name] = "pending"
	}
	for name, where := range pushers {
		if snapshots[name] || statelessOperators[name] != "" || snapshotPending[name] {
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
