package window_test

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/braidstream/braid/window"
)

// TestDataDriven runs the timelines in testdata/. Each file is a list of
// cases; the input of a case is a list of element timestamps (integers, in
// nanoseconds, separated by blanks or newlines). Regenerate the expected
// output with
//
//	go test ./window/ -run TestDataDriven -rewrite
//
// and keep the diff only when every changed line can be explained.
//
// Commands:
//
//	assign tumbling size=10 [offset=2]
//	assign sliding size=10 slide=5 [offset=2]
//	3 7 12
//	----
//	[-5,5): 3
//	[0,10): 3 7
//	...
//
// assigns each element with TimeWindows.Assign and prints every window that
// received an element, ordered by start, with its elements in input order.
//
//	session gap=5
//	1 12 3 7
//	----
//	1: [1,6)
//	12: [1,6) [12,17)
//	3: [1,8) [12,17)
//	7: [1,17)
//	sessions:
//	[1,17): 1 3 7 12
//
// feeds the elements, in input order, one at a time through
// SessionWindows.Assign and MergeSession, printing the sessions after each
// arrival, then every final session with its elements in timestamp order.
func TestDataDriven(t *testing.T) {
	// The files directly in testdata; testdata/fuzz holds the fuzz corpus.
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		path := filepath.Join("testdata", e.Name())
		t.Run(e.Name(), func(t *testing.T) { runFile(t, path) })
	}
}

func runFile(t *testing.T, path string) {
	datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
		ts := parseTimestamps(t, td.Input)
		switch td.Cmd {
		case "assign":
			return runAssign(t, td, ts)
		case "session":
			return runSession(t, td, ts)
		default:
			t.Fatalf("%s: unknown command %q", td.Pos, td.Cmd)
			return ""
		}
	})
}

func runAssign(t *testing.T, td *datadriven.TestData, ts []int64) string {
	if len(td.CmdArgs) == 0 {
		t.Fatalf("%s: assign needs tumbling or sliding", td.Pos)
	}
	var size, slide, offset int64
	td.ScanArgs(t, "size", &size)
	switch kind := td.CmdArgs[0].Key; kind {
	case "tumbling":
		slide = size
	case "sliding":
		td.ScanArgs(t, "slide", &slide)
	default:
		t.Fatalf("%s: unknown assigner %q", td.Pos, kind)
	}
	td.MaybeScanArgs(t, "offset", &offset)
	a := window.TimeWindows{Size: time.Duration(size), Slide: time.Duration(slide), Offset: time.Duration(offset)}
	if err := a.Validate(); err != nil {
		return "error: " + err.Error() + "\n"
	}

	elems := map[window.Window][]int64{}
	var buf []window.Window
	for _, x := range ts {
		buf = a.Assign(x, buf[:0])
		for _, w := range buf {
			elems[w] = append(elems[w], x)
		}
	}
	ws := slices.SortedFunc(func(yield func(window.Window) bool) {
		for w := range elems {
			if !yield(w) {
				return
			}
		}
	}, func(a, b window.Window) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "%s: %s\n", bounds(w), join(elems[w]))
	}
	return b.String()
}

func runSession(t *testing.T, td *datadriven.TestData, ts []int64) string {
	var gap int64
	td.ScanArgs(t, "gap", &gap)
	a := window.Session(time.Duration(gap))
	if err := a.Validate(); err != nil {
		return "error: " + err.Error() + "\n"
	}

	var b strings.Builder
	var sessions []window.Window
	var elems [][]int64 // elems[i] belongs to sessions[i]
	for _, x := range ts {
		merged, lo, hi := window.MergeSession(sessions, a.Assign(x))
		var es []int64
		for _, e := range elems[lo:hi] {
			es = append(es, e...)
		}
		es = append(es, x)
		sessions = slices.Replace(sessions, lo, hi, merged)
		elems = slices.Replace(elems, lo, hi, es)

		fmt.Fprintf(&b, "%d:", x)
		for _, s := range sessions {
			fmt.Fprintf(&b, " %s", bounds(s))
		}
		b.WriteByte('\n')
	}
	b.WriteString("sessions:\n")
	for i, s := range sessions {
		slices.Sort(elems[i])
		fmt.Fprintf(&b, "%s: %s\n", bounds(s), join(elems[i]))
	}
	return b.String()
}

// bounds prints a window as raw integers, whatever their size, so that
// timelines near the ends of the int64 range stay readable as numbers.
func bounds(w window.Window) string { return fmt.Sprintf("[%d,%d)", w.Start, w.End) }

func join(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, " ")
}

func parseTimestamps(t *testing.T, input string) []int64 {
	var ts []int64
	for _, f := range strings.Fields(input) {
		x, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("bad timestamp %q: %v", f, err)
		}
		ts = append(ts, x)
	}
	return ts
}
