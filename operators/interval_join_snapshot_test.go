package operators

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
)

// The two sides of the joins under test have types of their own, so that
// both codecs are exercised.
type ijLeft struct {
	K    int
	ID   int
	Name string
}

type ijRight struct {
	K  int
	ID int
	W  float64
}

type ijJoin = IntervalJoin[ijLeft, ijRight, int, string]

// taggedOut turns an input of T into strings on the harness's output, so
// that late elements are compared with the pairs.
type taggedOut[T any] struct {
	out Input[string]
	tag string
	b   Batch[string]
}

func (o *taggedOut[T]) Push(b *Batch[T]) error {
	o.b.Values, o.b.Times = o.b.Values[:0], append(o.b.Times[:0], b.Times...)
	for _, v := range b.Values {
		o.b.Values = append(o.b.Values, fmt.Sprintf("%s%v", o.tag, v))
	}
	return o.out.Push(&o.b)
}
func (o *taggedOut[T]) Watermark(int64) error { return nil }
func (o *taggedOut[T]) Idle(bool) error       { return nil }
func (o *taggedOut[T]) Finish() error         { return nil }

// ijHarnessBuild builds a join of bounds [lower, upper]; its inputs are
// ins[0] and ins[1], and ins[2] is the join itself, for hDumpJoin.
func ijHarnessBuild(lower, upper int64) opBuild[string] {
	return func(bc *BuildContext, out Input[string]) []any {
		j, err := BuildIntervalJoin(func(a ijLeft) int { return a.K }, func(b ijRight) int { return b.K }, lower, upper,
			func(a ijLeft, b ijRight) string { return fmt.Sprintf("k%d:%s-b%d", a.K, a.Name, b.ID) },
			bc, out, &taggedOut[ijLeft]{out: out, tag: "lateA"}, &taggedOut[ijRight]{out: out, tag: "lateB"})
		if err != nil {
			panic(err)
		}
		return append(j.Inputs(), j)
	}
}

// dumpJoin describes what the join holds: per key, each side's elements
// (timestamp and id) and the time of its cleanup entry; then the
// watermarks. The harness compares it like any output, so state that a
// restore rebuilds wrong (a lost cleanup entry, a key that should have
// gone) shows even when no pair would.
func dumpJoin(j *ijJoin) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(j.bufs)) {
		bufs := j.bufs[k]
		fmt.Fprintf(&b, "k%d a[", k)
		for _, e := range bufs.as {
			fmt.Fprintf(&b, " %d:%d", e.ts, e.v.ID)
		}
		b.WriteString(" ] b[")
		for _, e := range bufs.bs {
			fmt.Fprintf(&b, " %d:%d", e.ts, e.v.ID)
		}
		due := "none"
		if bufs.queued != MaxWatermark {
			due = fmt.Sprint(bufs.queued)
			if !queueHolds(&j.queue, bufs) {
				due += " (not queued)"
			}
		}
		fmt.Fprintf(&b, " ] cleanup %s; ", due)
	}
	fmt.Fprintf(&b, "wm %d %d -> %d", j.twoInputs.wm[0], j.twoInputs.wm[1], j.wm)
	return b.String()
}

// queueHolds reports whether the live entry of bufs is in q.
func queueHolds[P comparable](q *cleanupQueue[P], p P) bool {
	for _, e := range q.run[q.head:] {
		if e.p == p {
			return true
		}
	}
	for _, e := range q.heap {
		if e.p == p {
			return true
		}
	}
	return false
}

// hDumpJoin puts dumpJoin's description on the output.
func hDumpJoin() harnessStep {
	return func(r *opRun) error {
		j := r.ins[2].(*ijJoin)
		return j.out.Push(&Batch[string]{Values: []string{"state: " + dumpJoin(j)}, Times: []int64{0}})
	}
}

func ijA(ts int64, k, id int) harnessStep {
	return hPush[ijLeft](0, []int64{ts}, ijLeft{K: k, ID: id, Name: fmt.Sprintf("a%d", id)})
}

func ijB(ts int64, k, id int) harnessStep {
	return hPush[ijRight](1, []int64{ts}, ijRight{K: k, ID: id, W: float64(id) / 4})
}

// ijKeys returns n int keys whose key groups (of harnessMaxP) lie in
// [lo, hi): the harness runs the join as subtask 1 of 2, which must only
// see keys of its own key groups, as the keyed exchange guarantees.
func ijKeys(t *testing.T, n, lo, hi int) []int {
	t.Helper()
	h, err := state.NewHasher[int]()
	if err != nil {
		t.Fatal(err)
	}
	var keys []int
	for k := 0; len(keys) < n; k++ {
		if kg := state.KeyGroup(h(k), harnessMaxP); kg >= lo && kg < hi {
			keys = append(keys, k)
		}
	}
	return keys
}

// Both sides buffered across snapshots, keys that fill, empty and come
// back, cleanups due right after the cut, late elements on each side,
// each input's watermark ahead of the other in turn, and the end of
// input: every cut gives the pairs, the late elements and the state of
// the run without one.
func TestIntervalJoinSnapshots(t *testing.T) {
	lo, hi := state.KeyGroupRange(1, harnessMaxP, 2)
	k := ijKeys(t, 3, lo, hi)
	script := []harnessStep{
		ijA(10, k[0], 1), ijB(12, k[0], 2), ijA(11, k[1], 3),
		hPush[ijRight](1, []int64{9, 13, 13}, ijRight{K: k[0], ID: 4}, ijRight{K: k[1], ID: 5}, ijRight{K: k[0], ID: 6}),
		hDumpJoin(),
		// Input 1 ahead: the combined watermark is input 0's.
		hWatermark[ijRight](1, 30), hWatermark[ijLeft](0, 12),
		hDumpJoin(),
		// Due for cleanup at the next watermark: k0's a at 10 (+3).
		ijA(12, k[0], 7), ijB(11, k[2], 8),
		hWatermark[ijLeft](0, 14),
		hDumpJoin(),
		// Late on each side: before the combined watermark 14.
		ijA(13, k[1], 9), ijB(12, k[0], 10),
		// At the watermark: not late.
		ijB(14, k[0], 11), ijA(14, k[2], 12),
		hDumpJoin(),
		// Input 0 overtakes input 1, which then holds the watermark.
		hWatermark[ijLeft](0, 40), hDumpJoin(),
		ijB(31, k[1], 13), ijA(30, k[1], 14), ijB(30, k[1], 15),
		hWatermark[ijRight](1, 33), hDumpJoin(),
		// A key that emptied comes back.
		ijA(35, k[0], 16), ijB(36, k[0], 17), ijB(29, k[2], 18),
		hDumpJoin(),
		hWatermark[ijLeft](0, MaxWatermark), hWatermark[ijRight](1, MaxWatermark),
		hDumpJoin(), hFinish[ijLeft](0), hFinish[ijRight](1),
	}
	// b joins a when a.ts-2 <= b.ts <= a.ts+3.
	checkSnapshots(t, ijHarnessBuild(-2, 3), script)
}

// Exclusive bounds reach the operator as inclusive ones moved by 1ns
// (stream.IntervalJoin): (0, 5) is [1, 4]. Pairs at the bounds' very
// nanoseconds, and elements whose only partner lies just outside, on
// either side of a cut.
func TestIntervalJoinSnapshotsExclusiveBounds(t *testing.T) {
	lo, hi := state.KeyGroupRange(1, harnessMaxP, 2)
	k := ijKeys(t, 2, lo, hi)
	script := []harnessStep{
		ijA(100, k[0], 1), ijA(100, k[1], 2),
		ijB(100, k[0], 3), ijB(101, k[0], 4), ijB(104, k[0], 5), ijB(105, k[0], 6),
		hWatermark[ijLeft](0, 101), hWatermark[ijRight](1, 101), hDumpJoin(),
		ijB(101, k[1], 7), ijB(105, k[1], 8), ijA(97, k[0], 9), ijA(100, k[0], 10),
		hWatermark[ijLeft](0, 104), hWatermark[ijRight](1, 104), hDumpJoin(),
		ijB(104, k[1], 11), ijB(105, k[1], 12), ijA(104, k[1], 13),
		hWatermark[ijLeft](0, 106), hWatermark[ijRight](1, 106), hDumpJoin(),
		ijB(108, k[1], 14),
		hFinish[ijLeft](0), hFinish[ijRight](1), hDumpJoin(),
	}
	checkSnapshots(t, ijHarnessBuild(1, 4), script)
}

// A random script over the keys of subtask 1 of 2: disorder, duplicate
// timestamps, watermarks of either input, late elements, dumps.
func TestIntervalJoinSnapshotsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 8))
	lo, hi := state.KeyGroupRange(1, harnessMaxP, 2)
	keys := ijKeys(t, 4, lo, hi)
	for round := range 4 {
		lower := int64(rng.IntN(11) - 5)
		upper := lower + int64(rng.IntN(8))
		var script []harnessStep
		var wm [2]int64
		base := int64(0)
		for i := range 30 {
			switch r := rng.IntN(10); {
			case r < 2:
				s := rng.IntN(2)
				wm[s] = max(wm[s], base-int64(rng.IntN(6)))
				if s == 0 {
					script = append(script, hWatermark[ijLeft](0, wm[0]))
				} else {
					script = append(script, hWatermark[ijRight](1, wm[1]))
				}
			case r < 3:
				script = append(script, hDumpJoin())
			default:
				base += int64(rng.IntN(3))
				ts, key := base-int64(rng.IntN(8)), keys[rng.IntN(len(keys))]
				if rng.IntN(2) == 0 {
					script = append(script, ijA(ts, key, i))
				} else {
					script = append(script, ijB(ts, key, i))
				}
			}
		}
		script = append(script, hDumpJoin(), hFinish[ijLeft](0), hFinish[ijRight](1))
		t.Run(fmt.Sprintf("round%d[%d,%d]", round, lower, upper), func(t *testing.T) {
			checkSnapshots(t, ijHarnessBuild(lower, upper), script)
		})
	}
}

// ijEvent is one step of a rescale script: an element of a side, or a
// watermark of an input (broadcast to every subtask, as the runtime does).
type ijEvent struct {
	side int
	wm   bool
	ts   int64
	key  int
	id   int
}

// runIJ runs events through the subtasks of a join at parallelism par,
// each element to the subtask of its key's key group, and returns each
// subtask's output.
func runIJ(t *testing.T, runs []*opRun, outs []*collect[string], events []ijEvent) {
	t.Helper()
	h, _ := state.NewHasher[int]()
	par := len(runs)
	for _, e := range events {
		var targets []int
		if e.wm {
			for s := range par {
				targets = append(targets, s)
			}
		} else {
			targets = []int{state.SubtaskOf(state.KeyGroup(h(e.key), harnessMaxP), harnessMaxP, par)}
		}
		for _, s := range targets {
			var step harnessStep
			switch {
			case e.wm && e.side == 0:
				step = hWatermark[ijLeft](0, e.ts)
			case e.wm:
				step = hWatermark[ijRight](1, e.ts)
			case e.side == 0:
				step = ijA(e.ts, e.key, e.id)
			default:
				step = ijB(e.ts, e.key, e.id)
			}
			if err := step(runs[s]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A checkpoint taken at parallelism 2 restores at 1, 2 and 3: each new
// subtask takes its key groups' buffers and the least watermark, and the
// pairs and late elements of all subtasks are those of a run without a
// restore.
func TestIntervalJoinRestoreAtOtherParallelism(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 9))
	start := time.Unix(1_000, 0)
	build := ijHarnessBuild(-3, 4)
	var events []ijEvent
	var wm [2]int64
	base := int64(0)
	for i := range 300 {
		if rng.IntN(6) == 0 {
			s := rng.IntN(2)
			wm[s] = max(wm[s], base-int64(rng.IntN(6)))
			events = append(events, ijEvent{side: s, wm: true, ts: wm[s]})
			continue
		}
		base += int64(rng.IntN(2))
		events = append(events, ijEvent{side: rng.IntN(2), ts: base - int64(rng.IntN(8)), key: rng.IntN(40), id: i})
	}
	newRuns := func(par int) ([]*opRun, []*collect[string]) {
		runs, outs := make([]*opRun, par), make([]*collect[string], par)
		for s := range par {
			runs[s], outs[s] = newOpRun(t, build, s, par, start)
		}
		return runs, outs
	}
	all := func(outs ...[]*collect[string]) []string {
		var vals []string
		for _, os := range outs {
			for _, o := range os {
				for i, v := range o.vals {
					vals = append(vals, fmt.Sprintf("%s@%d", v, o.times[i]))
				}
			}
		}
		slices.Sort(vals)
		return vals
	}
	straight, straightOut := newRuns(1)
	runIJ(t, straight, straightOut, events)
	want := all(straightOut)
	for _, cut := range []int{len(events) / 3, len(events) / 2} {
		first, firstOut := newRuns(2)
		store := map[string][]byte{}
		runIJ(t, first, firstOut, events[:cut/2])
		for s := range first {
			if err := first[s].snapshot(1, true, store); err != nil {
				t.Fatal(err)
			}
		}
		runIJ(t, first, firstOut, events[cut/2:cut])
		for s := range first {
			if err := first[s].snapshot(2, false, store); err != nil {
				t.Fatal(err)
			}
		}
		for _, par := range []int{1, 2, 3} {
			second, secondOut := newRuns(par)
			for s := range second {
				if err := second[s].restore(2, store); err != nil {
					t.Fatal(err)
				}
			}
			runIJ(t, second, secondOut, events[cut:])
			if got := all(firstOut, secondOut); !slices.Equal(got, want) {
				t.Fatalf("cut at %d, restored at parallelism %d:\n got %q\nwant %q", cut, par, got, want)
			}
		}
	}
}

// With checkpoints on, elements or keys the codecs refuse fail the build,
// saying which; without checkpoints the same join builds.
func TestIntervalJoinUncodableTypes(t *testing.T) {
	type withFunc struct {
		K int
		F func()
	}
	ckContext := func() *BuildContext {
		bc := testContext(nil)
		bc.task.cp = &taskCP{coord: &coordinator{}}
		return bc
	}
	out := Input[int](&collect[int]{})
	key := func(v withFunc) int { return v.K }
	_, err := BuildIntervalJoin(key, func(b int) int { return b }, 0, 1, func(withFunc, int) int { return 0 }, ckContext(), out, nil, nil)
	if !errors.Is(err, state.ErrUncodable) || !strings.Contains(err.Error(), "interval join") || !strings.Contains(err.Error(), "first input") || !strings.Contains(err.Error(), "withFunc") {
		t.Errorf("uncodable first input: got %v", err)
	}
	_, err = BuildIntervalJoin(func(b int) int { return b }, key, 0, 1, func(int, withFunc) int { return 0 }, ckContext(), out, nil, nil)
	if !errors.Is(err, state.ErrUncodable) || !strings.Contains(err.Error(), "second input") {
		t.Errorf("uncodable second input: got %v", err)
	}
	pkey := func(v int) *int { return &v }
	_, err = BuildIntervalJoin(pkey, pkey, 0, 1, func(int, int) int { return 0 }, ckContext(), out, nil, nil)
	if !errors.Is(err, state.ErrUncodable) || !strings.Contains(err.Error(), "keys") {
		t.Errorf("pointer keys: got %v", err)
	}
	if _, err := BuildIntervalJoin(key, func(b int) int { return b }, 0, 1, func(withFunc, int) int { return 0 }, testContext(nil), out, nil, nil); err != nil {
		t.Errorf("without checkpoints: %v", err)
	}
}

// Old subtasks whose watermarks differ (as they may when one input was
// idle for some) restore to the least of each: no element that an old
// subtask would still have taken is late after the restore.
func TestIntervalJoinRestoreTakesLeastWatermark(t *testing.T) {
	start := time.Unix(1_000, 0)
	build := ijHarnessBuild(0, 5)
	store := map[string][]byte{}
	for s, wms := range [][2]int64{{50, 70}, {60, 40}} {
		r, _ := newOpRun(t, build, s, 2, start)
		must(t, hWatermark[ijLeft](0, wms[0])(r))
		must(t, hWatermark[ijRight](1, wms[1])(r))
		must(t, r.snapshot(1, true, store))
	}
	r, _ := newOpRun(t, build, 0, 1, start)
	must(t, r.restore(1, store))
	if got, want := dumpJoin(r.ins[2].(*ijJoin)), "wm 50 40 -> 40"; got != want {
		t.Fatalf("restored at parallelism 1: %s, want %s", got, want)
	}
}
