package window_test

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/window"
)

// TestMergeSessionNaive inserts random windows one at a time with
// MergeSession (and MergeSessionFunc) and, after each insertion, compares
// the sessions with those merged from scratch by mergeNaive. The rule is
// Flink's MergingWindowAssigner / TimeWindow.mergeWindows: windows that
// intersect, touching included, end up in one session, whatever the order
// in which they arrived.
func TestMergeSessionNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	for range 2000 {
		checkMergeSession(t, randWindows(rng, 1+rng.IntN(40)))
	}
}

// TestMergeSessionFixed replays the cases that once needed thought: a
// window touching the sessions on both sides, one inside a session, empty
// windows, and windows at the ends of the int64 range.
func TestMergeSessionFixed(t *testing.T) {
	w := func(s, e int64) window.Window { return window.Window{Start: s, End: e} }
	for _, ws := range [][]window.Window{
		{w(0, 5), w(10, 15), w(5, 10)},
		{w(0, 4), w(6, 9), w(12, 15), w(4, 7)},
		{w(0, 20), w(5, 6)},
		{w(5, 6), w(0, 20)},
		{w(3, 3), w(3, 3), w(0, 3)},
		{w(0, 3), w(3, 3), w(4, 4), w(3, 4)},
		{w(math.MaxInt64-5, math.MaxInt64), w(math.MinInt64, math.MinInt64+5), w(math.MaxInt64-10, math.MaxInt64-5)},
	} {
		checkMergeSession(t, ws)
	}
}

// FuzzMergeSession checks the same property as TestMergeSessionNaive on
// windows decoded from the fuzzer's bytes, two bytes a window: a signed
// start and a length below 16, so that windows collide often.
//
//	go test ./window/ -run '^$' -fuzz FuzzMergeSession -fuzztime 1m
func FuzzMergeSession(f *testing.F) {
	f.Add([]byte{0, 5, 10, 5, 5, 5})        // [0,5) [10,15) [5,10): a bridge
	f.Add([]byte{1, 5, 12, 5, 3, 5, 7, 5})  // the session timeline in testdata/session
	f.Add([]byte{0x80, 15, 0x7f, 15, 0, 0}) // ends of the int8 range, an empty window
	f.Fuzz(func(t *testing.T, data []byte) {
		ws := make([]window.Window, 0, len(data)/2)
		for i := 0; i+1 < len(data); i += 2 {
			start := int64(int8(data[i]))
			ws = append(ws, window.Window{Start: start, End: start + int64(data[i+1]%16)})
		}
		checkMergeSession(t, ws)
	})
}

// checkMergeSession inserts ws one by one and compares the sessions, after
// each insertion, with those merged from scratch. It also checks what
// MergeSession promises: the result is sorted by start, no two sessions
// intersect, and [lo, hi) names exactly the sessions w intersects.
func checkMergeSession(t *testing.T, ws []window.Window) {
	t.Helper()
	var sessions []window.Window
	type acc struct {
		w window.Window
		n int // an accumulator kept beside the window
	}
	var accs []acc
	for i, w := range ws {
		merged, lo, hi := window.MergeSession(sessions, w)
		for j, s := range sessions {
			if got, want := j >= lo && j < hi, s.Intersects(w); got != want {
				t.Fatalf("after %v, inserting %v into %v: lo, hi = %d, %d, but session %v intersects: %t", ws[:i], w, sessions, lo, hi, s, want)
			}
		}
		fm, flo, fhi := window.MergeSessionFunc(accs, func(a *acc) window.Window { return a.w }, w)
		if fm != merged || flo != lo || fhi != hi {
			t.Fatalf("inserting %v into %v: MergeSessionFunc = %v, %d, %d; MergeSession = %v, %d, %d", w, sessions, fm, flo, fhi, merged, lo, hi)
		}
		sessions = slices.Replace(sessions, lo, hi, merged)
		n := 1
		for _, a := range accs[lo:hi] {
			n += a.n
		}
		accs = slices.Replace(accs, lo, hi, acc{merged, n})

		want := mergeNaive(ws[:i+1])
		if !slices.Equal(sessions, want) {
			t.Fatalf("inserting %v one by one: got %v, want %v", ws[:i+1], sessions, want)
		}
		for j := 1; j < len(sessions); j++ {
			if sessions[j-1].Start > sessions[j].Start || sessions[j-1].Intersects(sessions[j]) {
				t.Fatalf("inserting %v: sessions %v are not sorted and apart", ws[:i+1], sessions)
			}
		}
		total := 0
		for _, a := range accs {
			total += a.n
		}
		if total != i+1 {
			t.Fatalf("inserting %v: accumulators count %d windows, want %d", ws[:i+1], total, i+1)
		}
	}
}

// mergeNaive merges windows from scratch: sort by start, then sweep,
// folding each window into the last session when they intersect (as
// Flink's TimeWindow.mergeWindows does).
func mergeNaive(ws []window.Window) []window.Window {
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b window.Window) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	var out []window.Window
	for _, w := range ws {
		if n := len(out); n > 0 && out[n-1].Intersects(w) {
			out[n-1] = out[n-1].Cover(w)
		} else {
			out = append(out, w)
		}
	}
	return out
}

// randWindows returns n random windows: mostly short ones in a narrow
// range, so that they collide, touch and nest; sometimes empty ones; now
// and then ones at the ends of the int64 range.
func randWindows(rng *rand.Rand, n int) []window.Window {
	ws := make([]window.Window, n)
	for i := range ws {
		var start int64
		switch rng.IntN(10) {
		case 0:
			start = math.MaxInt64 - rng.Int64N(50)
		case 1:
			start = math.MinInt64 + rng.Int64N(50)
		default:
			start = rng.Int64N(200) - 100
		}
		length := rng.Int64N(20)
		if start > math.MaxInt64-length {
			length = math.MaxInt64 - start
		}
		ws[i] = window.Window{Start: start, End: start + length}
	}
	return ws
}
