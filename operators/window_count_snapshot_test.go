package operators

import (
	"fmt"
	"testing"
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

// applySpec is countSpec with Apply's buffering function: the window's
// elements in a list.
func applySpec(a window.Assigner, eventTime bool) WindowSpec[kv, string, []int64, string] {
	return WindowSpec[kv, string, []int64, string]{
		Key: func(e kv) string { return e.K }, Hash: state.HashString, Assigner: a,
		Agg: Agg[kv, []int64]{
			First:  func(e kv) []int64 { return []int64{e.V} },
			Add:    func(a []int64, e kv) []int64 { return append(a, e.V) },
			Merge:  func(a, b []int64) []int64 { return append(a, b...) },
			Gather: func(dst, src []int64) []int64 { return append(dst, src...) },
			Empty:  func(a []int64) []int64 { return a[:0] },
		},
		Fire: func(k string, w window.Window, acc []int64, emit func(string)) {
			emit(fmt.Sprintf("%s %v %v", k, w, acc))
		},
		EventTime: eventTime,
	}
}

// floatSpec sums float64s, whose rounding shows the order of the sum.
func floatSpec(a window.Assigner) WindowSpec[kv, string, float64, string] {
	return WindowSpec[kv, string, float64, string]{
		Key: func(e kv) string { return e.K }, Hash: state.HashString, Assigner: a,
		Agg: Agg[kv, float64]{First: func(e kv) float64 { return 1 / float64(e.V) },
			Add:   func(a float64, e kv) float64 { return a + 1/float64(e.V) },
			Merge: func(a, b float64) float64 { return a + b }},
		Fire: func(k string, w window.Window, acc float64, emit func(string)) {
			emit(fmt.Sprintf("%s %v %b", k, w, acc))
		},
	}
}

func countBuild[A any](spec func(window.Assigner) WindowSpec[kv, string, A, string], a window.Assigner) opBuild[string] {
	return func(bc *BuildContext, out Input[string]) []any {
		return []any{NewCountWindow(spec(a), bc, out)}
	}
}

func sumSpec(a window.Assigner) WindowSpec[kv, string, int64, string] { return countSpec(a, true, 0) }
func listSpecOf(a window.Assigner) WindowSpec[kv, string, []int64, string] {
	return applySpec(a, true)
}

// Count windows mid-count at every cut: keys at different points of their
// counts, slices half filled, windows that fire across a snapshot.
var countSteps = []kvStep{
	kvPush([]int64{1, 2, 3}, kv{"b", 1}, kv{"e", 2}, kv{"b", 3}),
	kvPush([]int64{4}, kv{"b", 4}),
	kvPush([]int64{5, 6, 7, 8}, kv{"e", 5}, kv{"g", 6}, kv{"b", 7}, kv{"e", 8}),
	kvWM(8),
	kvPush([]int64{9, 10, 11}, kv{"b", 9}, kv{"b", 10}, kv{"h", 11}),
	kvPush([]int64{12, 13}, kv{"e", 12}, kv{"b", 13}),
	kvPush([]int64{14, 15, 16, 17}, kv{"b", 14}, kv{"g", 15}, kv{"g", 16}, kv{"e", 17}),
	kvPush([]int64{18, 19, 20}, kv{"b", 18}, kv{"b", 19}, kv{"e", 20}),
	kvPush([]int64{21, 22, 23}, kv{"e", 21}, kv{"b", 22}, kv{"g", 23}),
	kvPush([]int64{24, 25}, kv{"b", 24}, kv{"b", 25}),
	kvEnd(),
}

func TestCountWindowSnapshots(t *testing.T) {
	for _, a := range []window.CountWindows{window.TumblingCount(3), window.SlidingCount(5, 2), window.SlidingCount(4, 3), window.SlidingCount(2, 3)} {
		t.Run(a.String(), func(t *testing.T) {
			checkSnapshots(t, countBuild(sumSpec, a), harness(countSteps))
			checkSnapshots(t, countBuild(listSpecOf, a), harness(countSteps))
			checkSnapshots(t, countBuild(floatSpec, a), harness(countSteps))
		})
	}
}

func TestCountWindowRescales(t *testing.T) {
	for _, p := range [][2]int{{1, 2}, {2, 1}, {2, 3}} {
		checkRescale(t, countBuild(sumSpec, window.SlidingCount(5, 2)), spread(countSteps), p[0], p[1])
		checkRescale(t, countBuild(listSpecOf, window.TumblingCount(3)), spread(countSteps), p[0], p[1])
	}
}

func TestCountWindowUncodable(t *testing.T) {
	tk := &task{cp: &taskCP{coord: &coordinator{}}}
	bc := &BuildContext{Parallelism: 1, MaxParallelism: 16, Clock: NewFakeClock(time.Unix(0, 0)), task: tk, metrics: &opMetrics{}}
	spec := WindowSpec[kv, string, func(), string]{Key: func(e kv) string { return e.K }, Hash: state.HashString,
		Assigner: window.TumblingCount(2), Agg: Agg[kv, func()]{Add: func(f func(), _ kv) func() { return f }}}
	NewCountWindow(spec, bc, &collect[string]{})
	checkUncodable(t, tk, "count window", "func()")
}
