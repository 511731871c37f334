package operators

import (
	"testing"
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

func deltaBuild[A any](spec func(window.Assigner) WindowSpec[kv, string, A, string]) opBuild[string] {
	d := window.Delta(4, func(old, new kv) float64 { return float64(new.V - old.V) }, kv{V: 0})
	return func(bc *BuildContext, out Input[string]) []any {
		return []any{NewDeltaWindow(spec(d), bc, out)}
	}
}

// Delta windows: keys before and after a firing (the trigger point moved),
// keys that arrive after a restore (the end of input emits the open
// windows in the order the keys first arrived).
var deltaSteps = []kvStep{
	kvPush([]int64{1, 2, 3}, kv{"h", 1}, kv{"e", 2}, kv{"b", 3}),
	kvPush([]int64{4, 5}, kv{"h", 6}, kv{"e", 3}), // h fires [1]
	kvPush([]int64{6}, kv{"h", 7}),
	kvPush([]int64{8, 7}, kv{"e", 9}, kv{"h", 12}), // e fires [2 3], h fires [6 7]
	kvWM(8),
	kvPush([]int64{9}, kv{"g", 1}),
	kvPush([]int64{10, 11}, kv{"b", 4}, kv{"g", 2}),
	kvPush([]int64{12}, kv{"b", 20}), // b fires [3 4]
	kvEnd(),
}

func TestDeltaWindowSnapshots(t *testing.T) {
	checkSnapshots(t, deltaBuild(sumSpec), harness(deltaSteps))
	checkSnapshots(t, deltaBuild(listSpecOf), harness(deltaSteps))
	checkRestoreChain(t, deltaBuild(listSpecOf), harness(deltaSteps))
}

func TestDeltaWindowRescales(t *testing.T) {
	for _, p := range [][2]int{{1, 2}, {2, 1}, {2, 3}} {
		checkRescale(t, deltaBuild(listSpecOf), spread(deltaSteps), p[0], p[1])
	}
}

func TestDeltaWindowUncodable(t *testing.T) {
	type withChan struct{ C chan int }
	tk := &task{cp: &taskCP{coord: &coordinator{}}}
	bc := &BuildContext{Parallelism: 1, MaxParallelism: 16, Clock: NewFakeClock(time.Unix(0, 0)), task: tk, metrics: &opMetrics{}}
	spec := WindowSpec[withChan, string, int64, string]{Key: func(withChan) string { return "" }, Hash: state.HashString,
		Assigner: window.Delta(1, func(a, b withChan) float64 { return 0 }, withChan{}),
		Agg:      Agg[withChan, int64]{Add: func(a int64, _ withChan) int64 { return a }}}
	NewDeltaWindow(spec, bc, &collect[string]{})
	checkUncodable(t, tk, "delta window", "chan int")
}
