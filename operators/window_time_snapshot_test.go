package operators

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

// Snapshots of TimeWindow: every script runs through checkSnapshots, which
// cuts it at every step, restores a fresh operator from the (incremental)
// snapshots and compares the output with the uninterrupted run's, values,
// order and timestamps.

// twLateTo sends late elements to the main output as strings, so that the
// harness checks them too.
type twLateTo struct{ out Input[string] }

func (l twLateTo) Push(b *Batch[kv]) error {
	s := &Batch[string]{Times: slices.Clone(b.Times)}
	for _, v := range b.Values {
		s.Values = append(s.Values, fmt.Sprintf("late %s %d", v.K, v.V))
	}
	return l.out.Push(s)
}
func (l twLateTo) Watermark(int64) error { return nil }
func (l twLateTo) Idle(bool) error       { return nil }
func (l twLateTo) Finish() error         { return nil }

func twBuild(spec WindowSpec[kv, string, int64, string]) opBuild[string] {
	return func(bc *BuildContext, out Input[string]) []any {
		return []any{Input[kv](NewTimeWindow(spec, bc, out, twLateTo{out}))}
	}
}

// twUpperKeys returns n keys whose key groups lie in the upper half of
// harnessMaxP, owned by subtask 1 of 2 as by subtask 0 of 1, so that
// checkSnapshots can run the same script in both layouts.
func twUpperKeys(n int) []string {
	var ks []string
	for i := 0; len(ks) < n; i++ {
		k := fmt.Sprintf("k%d", i)
		if state.KeyGroup(state.HashString(k), harnessMaxP) >= harnessMaxP/2 {
			ks = append(ks, k)
		}
	}
	return ks
}

// script is a timeline for one window operator: elements (at times, of
// keys), watermarks, processing time, the end.
type twScript []harnessStep

func (s *twScript) push(ts []int64, vals ...kv) { *s = append(*s, hPush[kv](0, ts, vals...)) }
func (s *twScript) wm(wm int64)                 { *s = append(*s, hWatermark[kv](0, wm)) }
func (s *twScript) advance(d time.Duration)     { *s = append(*s, hAdvance(d)) }
func (s *twScript) end()                        { *s = append(*s, hWatermark[kv](0, MaxWatermark), hFinish[kv](0)) }

// twEventScript: keys ks, elements in order with some out of order, some
// within the lateness and some past it, watermarks now and then.
func twEventScript(ks []string, base, step int64, n int, rng *rand.Rand) twScript {
	var s twScript
	t := base
	for i := range n {
		var ts []int64
		var vals []kv
		for range 1 + rng.IntN(3) {
			t += step * int64(rng.IntN(3))
			at := t - step*int64(rng.IntN(6)) // some behind the watermark
			ts = append(ts, at)
			vals = append(vals, kv{ks[rng.IntN(len(ks))], int64(1 + rng.IntN(9))})
		}
		s.push(ts, vals...)
		if i%2 == 1 {
			s.wm(t - step*int64(rng.IntN(3)))
		}
	}
	s.end()
	return s
}

func TestTimeWindowSnapshotsTumbling(t *testing.T) {
	ks := twUpperKeys(4)
	for _, lateness := range []int64{0, 5} {
		t.Run(fmt.Sprintf("lateness=%d", lateness), func(t *testing.T) {
			var s twScript
			s.push([]int64{1, 3, 4}, kv{ks[0], 1}, kv{ks[1], 2}, kv{ks[0], 3})
			s.push([]int64{11, 9}, kv{ks[2], 4}, kv{ks[1], 5})
			s.wm(9)                           // [0,10) fires
			s.push([]int64{7}, kv{ks[0], 10}) // within the lateness: fires again, or is late
			s.push([]int64{12, 15}, kv{ks[3], 6}, kv{ks[0], 7})
			s.wm(14)
			s.push([]int64{2}, kv{ks[1], 20}) // [0,10) past 9+5: late either way
			s.push([]int64{8, 18}, kv{ks[2], 30}, kv{ks[2], 1})
			s.wm(19)
			s.push([]int64{16, 25}, kv{ks[1], 40}, kv{ks[0], 2})
			s.wm(31)
			s.push([]int64{21, 33}, kv{ks[3], 50}, kv{ks[3], 3})
			s.end()
			checkSnapshots(t, twBuild(countSpec(window.Tumbling(10), true, lateness)), s)
		})
	}
}

func TestTimeWindowSnapshotsSliding(t *testing.T) {
	ks := twUpperKeys(5)
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 9))
	for _, c := range []struct {
		size, slide, lateness int64
	}{{9, 3, 0}, {9, 3, 6}, {10, 4, 4}, {12, 3, 0}} {
		t.Run(fmt.Sprintf("size=%d/slide=%d/lateness=%d", c.size, c.slide, c.lateness), func(t *testing.T) {
			s := twEventScript(ks, 0, 1, 14, rng)
			checkSnapshots(t, twBuild(countSpec(window.Sliding(time.Duration(c.size), time.Duration(c.slide)), true, c.lateness)), s)
		})
	}
}

// Floating-point sums are associative only up to rounding: a sliding
// window's queue must come back split between its stacks as it was, or a
// sum after the restore differs in its last bits from the sum without it.
func TestTimeWindowSnapshotsFloatSums(t *testing.T) {
	ks := twUpperKeys(3)
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 10))
	spec := WindowSpec[kv, string, float64, string]{
		Key: func(e kv) string { return e.K }, Hash: state.HashString,
		Assigner: window.Sliding(12, 2), EventTime: true, Lateness: 4,
		Agg: Agg[kv, float64]{
			First: func(e kv) float64 { return 1 / float64(e.V) },
			Add:   func(a float64, e kv) float64 { return a + 1/float64(e.V) },
			Merge: func(a, b float64) float64 { return a + b },
		},
		Fire: func(k string, w window.Window, acc float64, emit func(string)) {
			emit(fmt.Sprintf("%s %v %b", k, w, math.Float64bits(acc)))
		},
	}
	build := func(bc *BuildContext, out Input[string]) []any {
		return []any{Input[kv](NewTimeWindow(spec, bc, out, nil))}
	}
	checkSnapshots(t, build, twEventScript(ks, 0, 1, 16, rng))
}

// Buffering functions (Apply) keep the elements: a list per slice and key,
// gathered into a reused buffer when a window fires.
func twListSpec(a window.Assigner, eventTime bool, lateness int64) WindowSpec[kv, string, []int64, string] {
	return WindowSpec[kv, string, []int64, string]{
		Key: func(e kv) string { return e.K }, Hash: state.HashString,
		Assigner: a, EventTime: eventTime, Lateness: lateness,
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
	}
}

func TestTimeWindowSnapshotsBuffering(t *testing.T) {
	ks := twUpperKeys(4)
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 11))
	for _, a := range []window.TimeWindows{window.Tumbling(5), window.Sliding(9, 3), window.Sliding(10, 4)} {
		t.Run(a.String(), func(t *testing.T) {
			build := func(bc *BuildContext, out Input[string]) []any {
				return []any{Input[kv](NewTimeWindow(twListSpec(a, true, 4), bc, out, nil))}
			}
			checkSnapshots(t, build, twEventScript(ks, 0, 1, 14, rng))
		})
	}
}

// Processing time: windows fire on the clock, through the operator's
// timer, which a restored operator must arm again.
func TestTimeWindowSnapshotsProcessingTime(t *testing.T) {
	ks := twUpperKeys(3)
	for _, a := range []window.TimeWindows{window.Tumbling(10), window.Sliding(9, 3), window.Sliding(20, 5)} {
		t.Run(a.String(), func(t *testing.T) {
			var s twScript
			for i := range 12 {
				s.push(nil, kv{ks[i%3], int64(i)}, kv{ks[(i*7)%3], 1})
				s.advance(time.Duration(1 + i%4*3))
			}
			s.advance(50)
			s.push(nil, kv{ks[0], 100})
			s.end()
			checkSnapshots(t, twBuild(countSpec(a, false, 0)), s)
			checkSnapshots(t, func(bc *BuildContext, out Input[string]) []any {
				return []any{Input[kv](NewTimeWindow(twListSpec(a, false, 0), bc, out, nil))}
			}, s)
		})
	}
}

// The windows clipped at the ends of int64: the first ones start at
// math.MinInt64, the last ones end at math.MaxInt64 and fire on the final
// watermark, and an element at math.MaxInt64 belongs to them.
func TestTimeWindowSnapshotsEndsOfTime(t *testing.T) {
	ks := twUpperKeys(3)
	const lo, hi = math.MinInt64, math.MaxInt64
	for _, a := range []window.TimeWindows{window.Tumbling(10), window.Sliding(9, 3), window.Sliding(10, 4)} {
		for _, lateness := range []int64{0, 5} {
			t.Run(fmt.Sprintf("%v/lateness=%d", a, lateness), func(t *testing.T) {
				var s twScript
				s.push([]int64{lo, lo + 1, lo + 4}, kv{ks[0], 1}, kv{ks[1], 2}, kv{ks[0], 3})
				s.wm(lo + 3)
				s.push([]int64{lo + 2, lo + 8}, kv{ks[2], 4}, kv{ks[0], 5})
				s.wm(lo + 20)
				s.push([]int64{lo + 14, hi - 20}, kv{ks[1], 6}, kv{ks[2], 7})
				s.wm(hi - 15)
				s.push([]int64{hi - 17, hi - 3, hi}, kv{ks[0], 8}, kv{ks[1], 9}, kv{ks[2], 10})
				s.wm(hi - 2)
				s.push([]int64{hi - 1, hi - 6}, kv{ks[0], 11}, kv{ks[1], 12})
				s.end()
				checkSnapshots(t, twBuild(countSpec(a, true, lateness)), s)
			})
		}
	}
}

// Many keys over many key groups, in panes large enough that a snapshot
// between two elements changes only a few of their keys.
func TestTimeWindowSnapshotsManyKeys(t *testing.T) {
	ks := twUpperKeys(150)
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 12))
	var s twScript
	t0 := int64(0)
	for i := range 12 {
		var ts []int64
		var vals []kv
		n := 3
		if i%4 == 0 {
			n = 300
		}
		for range n {
			ts = append(ts, t0+int64(rng.IntN(4)))
			vals = append(vals, kv{ks[rng.IntN(len(ks))], int64(rng.IntN(5))})
		}
		s.push(ts, vals...)
		t0 += 2
		if i%3 == 2 {
			s.wm(t0 - 3)
		}
	}
	s.end()
	for _, a := range []window.TimeWindows{window.Tumbling(6), window.Sliding(6, 2)} {
		t.Run(a.String(), func(t *testing.T) {
			checkSnapshots(t, twBuild(countSpec(a, true, 3)), s)
		})
	}
}

// A codec that refuses the accumulator's type makes a job with checkpoints
// refuse to start, naming the operator and the type; without checkpoints
// the operator runs.
func TestTimeWindowUncodableAccumulator(t *testing.T) {
	spec := WindowSpec[kv, string, func() int, string]{
		Key: func(e kv) string { return e.K }, Hash: state.HashString, Assigner: window.Tumbling(10), EventTime: true,
		Agg:  Agg[kv, func() int]{Add: func(f func() int, e kv) func() int { return f }, Merge: func(a, b func() int) func() int { return a }},
		Fire: func(string, window.Window, func() int, func(string)) {},
	}
	bc := testContext(nil)
	op := NewTimeWindow(spec, bc, &collect[string]{}, nil)
	must(t, op.Push(batch([]int64{1}, kv{"a", 1})))

	bc = testContext(nil)
	bc.task.cp = &taskCP{coord: &coordinator{}}
	op = NewTimeWindow(spec, bc, &collect[string]{}, nil)
	u := bc.task.cp.unsupported
	if len(u) != 1 || !strings.Contains(u[0], "time window") || !strings.Contains(u[0], "func() int") {
		t.Fatalf("unsupported %q, want the time window and its accumulator type named", u)
	}
	if err := op.Snapshot(&StateWriter{e: &entries{}}); err == nil {
		t.Fatalf("snapshot with an uncodable accumulator succeeded")
	}
}

// checkIncremental runs script with an incremental snapshot after every
// step, and after every other step compares what the store then holds with
// what a full snapshot of the same moment writes: an incremental snapshot
// that misses a change, or leaves behind an entry of a pane or key that
// has gone, fails here even when the outputs do not show it.
func checkIncremental[R any](t *testing.T, build opBuild[R], s twScript) {
	t.Helper()
	for _, layout := range [][2]int{{0, 1}, {1, 2}} {
		start := time.Unix(1_000, 0)
		r, _ := newOpRun(t, build, layout[0], layout[1], start)
		// The twin runs the same steps and takes the full snapshots: a
		// full snapshot starts the operator's lists' chunks anew, which
		// the incremental store of r would no longer match.
		twin, _ := newOpRun(t, build, layout[0], layout[1], start)
		store := map[string][]byte{}
		must(t, r.snapshot(1, true, store))
		for i, st := range s {
			must(t, st(r))
			must(t, st(twin))
			id := int64(2*i + 2)
			must(t, r.snapshot(id, false, store))
			if i%2 == 0 {
				continue
			}
			fresh := map[string][]byte{}
			must(t, twin.snapshot(id, true, fresh))
			// Lists kept in chunks are compared joined: restored, then
			// snapshotted whole.
			canon := map[string][]byte{}
			c, _ := newOpRun(t, build, layout[0], layout[1], start)
			must(t, c.restore(id, store))
			must(t, c.snapshot(id, true, canon))
			if diff := storeDiff(canon, fresh); diff != "" {
				t.Fatalf("subtask %d/%d after step %d: the incremental snapshots hold %s", layout[0]+1, layout[1], i, diff)
			}
		}
	}
}

// storeDiff compares keyed state; the scalars carry the checkpoint id.
func storeDiff(inc, full map[string][]byte) string {
	scalars := string(opPrefix(nil, "op-under-test", operatorTag))
	for k, v := range inc {
		if strings.HasPrefix(k, scalars) {
			continue
		}
		if w, ok := full[k]; !ok {
			return fmt.Sprintf("an entry a full snapshot does not write (%q)", k)
		} else if string(w) != string(v) {
			return fmt.Sprintf("a stale value for %q", k)
		}
	}
	for k := range full {
		if _, ok := inc[k]; !ok && !strings.HasPrefix(k, scalars) {
			return fmt.Sprintf("no entry for %q", k)
		}
	}
	return ""
}

func TestTimeWindowIncrementalEqualsFull(t *testing.T) {
	ks := twUpperKeys(6)
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 13))
	for _, a := range []window.TimeWindows{window.Tumbling(5), window.Sliding(9, 3), window.Sliding(10, 4)} {
		for _, lateness := range []int64{0, 6} {
			t.Run(fmt.Sprintf("%v/lateness=%d", a, lateness), func(t *testing.T) {
				s := twEventScript(ks, 0, 1, 30, rng)
				checkIncremental(t, twBuild(countSpec(a, true, lateness)), s)
				checkIncremental(t, func(bc *BuildContext, out Input[string]) []any {
					return []any{Input[kv](NewTimeWindow(twListSpec(a, true, lateness), bc, out, nil))}
				}, s)
			})
		}
	}
}

// twEvent is one step of a timeline that can be split by key: elements
// (each goes to the subtask owning its key), a watermark or the end (to
// every subtask).
type twEvent struct {
	ts   []int64
	vals []kv
	wm   int64 // when vals is empty; MaxWatermark is the end
}

// steps gives subtask sub of par its part of evs.
func twSteps(evs []twEvent, sub, par int) twScript {
	var s twScript
	for _, e := range evs {
		if len(e.vals) == 0 {
			if e.wm == MaxWatermark {
				s.end()
			} else {
				s.wm(e.wm)
			}
			continue
		}
		var ts []int64
		var vals []kv
		for i, v := range e.vals {
			if state.SubtaskOf(state.KeyGroup(state.HashString(v.K), harnessMaxP), harnessMaxP, par) == sub {
				ts, vals = append(ts, e.ts[i]), append(vals, v)
			}
		}
		if len(vals) > 0 {
			s.push(ts, vals...)
		}
	}
	return s
}

// Rescaling: subtasks of parallelism 2 run a timeline up to a cut, with
// incremental snapshots on the way; their state restores into 1 and into
// 3 subtasks, which run the rest; the results, all subtasks together, are
// those of one uninterrupted subtask. Keys cover every key group.
func TestTimeWindowSnapshotsRescale(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 14))
	var keys []string
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("r%d", i))
	}
	var evs []twEvent
	t0 := int64(0)
	for i := range 30 {
		var e twEvent
		for range 1 + rng.IntN(6) {
			e.ts = append(e.ts, t0-int64(rng.IntN(8)))
			e.vals = append(e.vals, kv{keys[rng.IntN(len(keys))], int64(1 + rng.IntN(9))})
		}
		evs = append(evs, e)
		t0 += int64(rng.IntN(3))
		if i%3 == 2 {
			evs = append(evs, twEvent{wm: t0 - int64(rng.IntN(3))})
		}
	}
	evs = append(evs, twEvent{wm: MaxWatermark})
	start := time.Unix(1_000, 0)
	sorted := func(cs ...*collect[string]) []string {
		var all []string
		for _, c := range cs {
			for i, v := range c.vals {
				all = append(all, fmt.Sprintf("%s @%d", v, c.times[i]))
			}
		}
		slices.Sort(all)
		return all
	}
	run := func(t *testing.T, build opBuild[string], r *opRun, s twScript) {
		for i, st := range s {
			if err := st(r); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
	}
	for _, a := range []window.TimeWindows{window.Tumbling(5), window.Sliding(9, 3)} {
		for _, lateness := range []int64{0, 5} {
			build := twBuild(countSpec(a, true, lateness))
			one, oneOut := newOpRun(t, build, 0, 1, start)
			run(t, build, one, twSteps(evs, 0, 1))
			want := sorted(oneOut)
			for _, cut := range []int{len(evs) / 3, len(evs) / 2, len(evs) - 3} {
				store := map[string][]byte{}
				var before []*collect[string]
				for sub := range 2 {
					r, out := newOpRun(t, build, sub, 2, start)
					before = append(before, out)
					full := true
					for i, e := range evs[:cut] {
						run(t, build, r, twSteps([]twEvent{e}, sub, 2))
						if i%4 == 3 {
							must(t, r.snapshot(int64(i), full, store))
							full = false
						}
					}
					must(t, r.snapshot(int64(cut), full, store))
				}
				for _, par := range []int{1, 3} {
					outs := slices.Clone(before)
					for sub := range par {
						r, out := newOpRun(t, build, sub, par, start)
						must(t, r.restore(int64(cut), store))
						outs = append(outs, out)
						rest := twSteps(evs[cut:], sub, par)
						// Half way through the rest, snapshot into the
						// store and restore once more, at this
						// parallelism: renumbered panes must be whole.
						half := len(rest) / 2
						run(t, build, r, rest[:half])
						again := maps2(store)
						must(t, r.snapshot(int64(cut+1), false, again))
						// What the store holds of the subtask's key groups
						// is what a full snapshot writes.
						fresh := map[string][]byte{}
						must(t, r.snapshot(int64(cut+2), true, fresh))
						lo, hi := state.KeyGroupRange(sub, harnessMaxP, par)
						from, to := string(keyedKey(nil, "op-under-test", lo, nil)), string(keyedKey(nil, "op-under-test", hi, nil))
						mine := map[string][]byte{}
						for k, v := range again {
							if k >= from && k < to {
								mine[k] = v
							}
						}
						if diff := storeDiff(mine, fresh); diff != "" {
							t.Fatalf("%v lateness %d: cut at %d, par 2 -> %d, subtask %d: the store holds %s", a, lateness, cut, par, sub, diff)
						}
						r2, out2 := newOpRun(t, build, sub, par, start)
						must(t, r2.restore(int64(cut+1), again))
						outs = append(outs, out2)
						run(t, build, r2, rest[half:])
					}
					if got := sorted(outs...); !slices.Equal(got, want) {
						t.Fatalf("%v lateness %d: cut at %d, par 2 -> %d:\n got %q\nwant %q", a, lateness, cut, par, got, want)
					}
				}
			}
		}
	}
}

func maps2(m map[string][]byte) map[string][]byte {
	c := make(map[string][]byte, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// BenchmarkTimeWindowSnapshot: a tumbling window with one open pane of 1M
// keys; full is a full snapshot of it, incremental a snapshot after 10 of
// its keys changed. Reports the bytes the snapshot hands the store.
func BenchmarkTimeWindowSnapshot(b *testing.B) {
	const keys = 1_000_000
	vals := make([]kv, keys)
	times := make([]int64, keys)
	for i := range vals {
		vals[i] = kv{fmt.Sprintf("key%07d", i), 1}
	}
	build := func() *TimeWindow[kv, string, int64, string] {
		bc := testContext(nil)
		bc.task.cp = &taskCP{coord: &coordinator{}}
		op := NewTimeWindow(countSpec(window.Tumbling(1<<40), true, 0), bc, &collect[string]{}, nil)
		mustB(b, op.Push(&Batch[kv]{Values: vals, Times: times}))
		return op
	}
	b.Run("keys=1000000/full", func(b *testing.B) {
		op := build()
		var n int
		for b.Loop() {
			e := &entries{}
			mustB(b, op.Snapshot(&StateWriter{full: true, e: e, uid: "window"}))
			n = len(e.buf)
		}
		b.ReportMetric(float64(n), "bytes/op")
	})
	b.Run("keys=1000000/changed=10", func(b *testing.B) {
		op := build()
		mustB(b, op.Snapshot(&StateWriter{full: true, e: &entries{}, uid: "window"}))
		changed := &Batch[kv]{Values: make([]kv, 10), Times: make([]int64, 10)}
		for i := range changed.Values {
			changed.Values[i] = vals[i*keys/10]
		}
		var n int
		for b.Loop() {
			b.StopTimer()
			mustB(b, op.Push(changed))
			b.StartTimer()
			e := &entries{}
			mustB(b, op.Snapshot(&StateWriter{e: e, uid: "window"}))
			n = len(e.buf)
		}
		b.ReportMetric(float64(n), "bytes/op")
	})
}

func mustB(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// listWindow is a time window of a buffering function, as twListSpec.
type listWindow = TimeWindow[kv, string, []int64, string]

func listWindowBuild(a window.Assigner, lateness int64) opBuild[string] {
	return func(bc *BuildContext, out Input[string]) []any {
		return []any{Input[kv](NewTimeWindow(twListSpec(a, true, lateness), bc, out, nil))}
	}
}

// An incremental snapshot of a buffering window's long list writes what
// was added to it, not the list: 10 elements more on 10,000 write tens of
// bytes (the whole list again was 20 KB and more).
func TestTimeWindowChunkedWritesWhatWasAdded(t *testing.T) {
	for _, a := range []window.Assigner{window.Tumbling(1_000_000), window.Sliding(1_000_000, 500_000)} {
		r, _ := newOpRun(t, listWindowBuild(a, 0), 0, 1, time.Unix(1_000, 0))
		in := r.ins[0].(Input[kv])
		push := func(n int) {
			b := &Batch[kv]{}
			for i := range n {
				b.Values, b.Times = append(b.Values, kv{"h", 1}), append(b.Times, int64(i))
			}
			must(t, in.Push(b))
		}
		written := func(full bool) int {
			e := &entries{}
			s := r.task.cp.snaps[0]
			must(t, s.s.Snapshot(&StateWriter{id: 1, full: full, e: e, uid: s.uid, subtask: s.subtask, kgLo: s.kgLo, kgHi: s.kgHi}))
			return len(e.buf)
		}
		push(10_000)
		if n := written(true); n < 10_000 {
			t.Fatalf("%v: a full snapshot of 10,000 elements wrote %d bytes", a, n)
		}
		push(10)
		if n := written(false); n > 300 {
			t.Fatalf("%v: 10 elements added to 10,000: the snapshot wrote %d bytes", a, n)
		}
		if n := written(false); n > 100 {
			t.Fatalf("%v: nothing added: the snapshot wrote %d bytes", a, n)
		}
	}
}

// The brute-force twin of chunked lists: random elements (some late,
// into fired windows kept for their lateness) into a buffering tumbling
// window, random checkpoints (some failed, so that the next is full);
// after each, an operator restored from the store must hold what the live
// one holds (compared as full snapshots, against a twin that runs the same
// steps and is only snapshotted whole), and now and then the run goes on
// from the restored one. The output across restores equals the straight
// run's, and the longest list reached maxTimeChunks chunks.
func TestTimeWindowChunkedTwin(t *testing.T) {
	seed := testseed.Seed(t)
	build := listWindowBuild(window.Tumbling(200), 60)
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		keys := twUpperKeys(5)
		var script []harnessStep
		ts, wm := int64(0), int64(math.MinInt64)
		for range 900 {
			ts++
			vals, times := []kv{{keys[0], ts}}, []int64{ts} // keys[0] in every step: its lists grow long
			for range rng.IntN(4) {
				at := ts - int64(rng.IntN(120)) // late now and then
				vals, times = append(vals, kv{keys[rng.IntN(len(keys))], at}), append(times, at)
			}
			script = append(script, hPush[kv](0, times, vals...))
			if rng.IntN(4) == 0 && ts-10 > wm {
				wm = ts - 10
				script = append(script, hWatermark[kv](0, wm))
			}
		}
		script = append(script, hWatermark[kv](0, MaxWatermark), hFinish[kv](0))
		start := time.Unix(1_000, 0)
		straight, want := newOpRun(t, build, 0, 1, start)
		for _, st := range script {
			must(t, st(straight))
		}
		r, out := newOpRun(t, build, 0, 1, start)
		twin, _ := newOpRun(t, build, 0, 1, start)
		outs := []*collect[string]{out}
		store := map[string][]byte{}
		full, id, restores, most := true, int64(0), 0, int32(0)
		for i, st := range script {
			must(t, st(r))
			must(t, st(twin))
			if rng.IntN(3) != 0 {
				continue
			}
			id++
			if id > 40 && rng.IntN(20) == 0 {
				must(t, r.snapshot(id, full, nil)) // failed: nothing reaches the store
				full = true
				continue
			}
			must(t, r.snapshot(id, full, store))
			full = false
			for _, sl := range r.ins[0].(*listWindow).cp.lists {
				for _, n := range sl.chunks {
					most = max(most, n)
				}
			}
			check, _ := newOpRun(t, build, 0, 1, start)
			must(t, check.restore(id, store))
			got, live := map[string][]byte{}, map[string][]byte{}
			must(t, check.snapshot(id, true, got))
			must(t, twin.snapshot(id, true, live))
			if diff := storeDiff(got, live); diff != "" {
				t.Fatalf("round %d, checkpoint %d after step %d: restored from the incremental store, it holds %s", round, id, i, diff)
			}
			if rng.IntN(8) == 0 {
				back, bout := newOpRun(t, build, 0, 1, r.clock.Now())
				must(t, back.restore(id, store))
				r, outs = back, append(outs, bout)
				restores++
			}
		}
		checkChunkedRun(t, round, restores, outs, want, most, maxTimeChunks)
	}
}

// A checkpoint that holds a buffering window's lists whole (the layout
// before chunks) restores, and the next snapshot replaces those entries
// by chunks: the run goes on from either store as the straight run does.
func TestTimeWindowChunkedRestoresWholeLists(t *testing.T) {
	ks := twUpperKeys(3)
	build := listWindowBuild(window.Tumbling(10), 5)
	var script []harnessStep
	for i := range 40 {
		script = append(script, hPush[kv](0, []int64{int64(i), int64(i) - 3}, kv{ks[i%3], int64(i)}, kv{ks[(i+1)%3], -int64(i)}))
		if i%4 == 3 {
			script = append(script, hWatermark[kv](0, int64(i)-2))
		}
	}
	script = append(script, hWatermark[kv](0, MaxWatermark), hFinish[kv](0))
	start := time.Unix(1_000, 0)
	straight, want := newOpRun(t, build, 0, 1, start)
	for _, st := range script {
		must(t, st(straight))
	}
	const cut = 30
	old, oldOut := newOpRun(t, build, 0, 1, start)
	old.ins[0].(*listWindow).cp.chunk = -1 // the former layout
	for _, st := range script[:cut] {
		must(t, st(old))
	}
	whole := map[string][]byte{}
	must(t, old.snapshot(1, true, whole))
	tags := func(store map[string][]byte) map[byte]int {
		n := map[byte]int{}
		prefix := string(keyedKey(nil, "op-under-test", 0, nil)[:len(keyedKey(nil, "op-under-test", 0, nil))-2])
		for k := range store {
			if strings.HasPrefix(k, prefix) {
				n[k[len(prefix)+2]]++
			}
		}
		return n
	}
	if n := tags(whole); n[paneTag] == 0 || n[chunkHeadTag] != 0 {
		t.Fatalf("the former layout wrote %v entries by tag", n)
	}
	r, out := newOpRun(t, build, 0, 1, old.clock.Now())
	must(t, r.restore(1, whole))
	chunked := maps.Clone(whole)
	must(t, r.snapshot(2, false, chunked))
	if n := tags(chunked); n[paneTag] != 0 || n[chunkHeadTag] != tags(whole)[paneTag] {
		t.Fatalf("after the first snapshot of the restored window: %v entries by tag, want every %q one a %q one", n, paneTag, chunkHeadTag)
	}
	again, againOut := newOpRun(t, build, 0, 1, old.clock.Now())
	must(t, again.restore(2, chunked))
	for _, st := range script[cut:] {
		must(t, st(r))
		must(t, st(again))
	}
	for name, got := range map[string][]string{"from the whole lists": append(slices.Clone(oldOut.vals), out.vals...),
		"from the chunks": append(slices.Clone(oldOut.vals), againOut.vals...)} {
		if !slices.Equal(got, want.vals) {
			t.Fatalf("restored %s: got\n%q\nwant\n%q", name, got, want.vals)
		}
	}
}
