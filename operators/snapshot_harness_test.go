package operators

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// The snapshot harness checks an operator's Snapshotter the way a crash
// would: it runs a script of inputs straight through, then, for every cut
// point, runs the script up to the cut with incremental snapshots along the
// way (one of them failed, so the next must be full), restores a new
// instance from what the store would hold, runs the rest, and compares the
// output (values and timestamps) with the straight run's.

// opRun is one instance of the operator under test.
type opRun struct {
	t     *testing.T
	ins   []any // Input[T_i] per logical input
	clock *FakeClock
	task  *task
	bc    *BuildContext
}

// harnessStep is one step of a script: push a batch, send a watermark,
// move processing time, finish.
type harnessStep func(r *opRun) error

// opBuild makes the operator for bc, writing to out, and returns its
// inputs. It registers its state with bc.AddSnapshotter.
type opBuild[R any] func(bc *BuildContext, out Input[R]) []any

// typed output adapter: the harness compares outputs as strings.
type stringOut[R any] struct{ c *collect[string] }

func (s stringOut[R]) Push(b *Batch[R]) error {
	for i, v := range b.Values {
		s.c.vals = append(s.c.vals, fmt.Sprint(v))
		if b.Times != nil {
			s.c.times = append(s.c.times, b.Times[i])
		}
	}
	return nil
}
func (s stringOut[R]) Watermark(wm int64) error { s.c.wms = append(s.c.wms, wm); return nil }
func (s stringOut[R]) Idle(bool) error          { return nil }
func (s stringOut[R]) Finish() error            { s.c.done = true; return nil }

// Step makers, for scripts.

func hPush[T any](input int, ts []int64, vals ...T) harnessStep {
	return func(r *opRun) error {
		b := &Batch[T]{Values: slices.Clone(vals), Times: slices.Clone(ts)}
		return r.ins[input].(Input[T]).Push(b)
	}
}

func hWatermark[T any](input int, wm int64) harnessStep {
	return func(r *opRun) error { return r.ins[input].(Input[T]).Watermark(wm) }
}

func hFinish[T any](input int) harnessStep {
	return func(r *opRun) error { return r.ins[input].(Input[T]).Finish() }
}

// hAdvance moves processing time and fires the operator's timers.
func hAdvance(d time.Duration) harnessStep {
	return func(r *opRun) error {
		r.clock.Advance(d)
		now := r.clock.Now().UnixNano()
		for _, op := range r.task.timed {
			if op.nextTimer() <= now {
				if err := op.onTimer(now); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

const harnessMaxP = 16

// newOpRun builds a fresh instance as subtask sub of par, at processing
// time start.
func newOpRun[R any](t *testing.T, build opBuild[R], sub, par int, start time.Time) (*opRun, *collect[string]) {
	c := &collect[string]{}
	clock := NewFakeClock(start)
	tk := &task{cp: &taskCP{coord: &coordinator{}}}
	bc := &BuildContext{Subtask: sub, Parallelism: par, MaxParallelism: harnessMaxP, Clock: clock, task: tk,
		metrics: &opMetrics{}, uid: "op-under-test"}
	ins := build(bc, stringOut[R]{c})
	if len(tk.cp.snaps) == 0 {
		t.Fatalf("the operator registered no Snapshotter")
	}
	return &opRun{t: t, ins: ins, clock: clock, task: tk, bc: bc}, c
}

// snapshot takes the instance's snapshot into store (a model of the
// checkpoint store's live state), incrementally unless full.
func (r *opRun) snapshot(id int64, full bool, store map[string][]byte) error {
	e := &entries{}
	for i, s := range r.task.cp.snaps {
		w := StateWriter{id: id, full: full, e: e, uid: s.uid, subtask: s.subtask, kgLo: s.kgLo, kgHi: s.kgHi}
		if full && i == 0 {
			w.clear() // once per operator, as the runtime does
		}
		if err := s.s.Snapshot(&w); err != nil {
			return err
		}
	}
	if store == nil {
		return nil // a failed checkpoint: nothing reaches the store
	}
	return e.each(func(kind entryKind, key, val []byte) error {
		switch kind {
		case entrySet:
			store[string(key)] = bytes.Clone(val)
		case entryDelete:
			delete(store, string(key))
		case entryDeleteRange:
			for k := range store {
				if k >= string(key) && k < string(val) {
					delete(store, k)
				}
			}
		}
		return nil
	})
}

func (r *opRun) restore(id int64, store map[string][]byte) error {
	cp := &memCP{cid: id, data: maps.Clone(store)}
	for _, s := range r.task.cp.snaps {
		sr := &StateReader{uid: s.uid, subtask: s.subtask, kgLo: s.kgLo, kgHi: s.kgHi, cp: cp}
		if err := s.s.Restore(sr); err != nil {
			return err
		}
	}
	return nil
}

// checkSnapshots runs the harness over script for an operator built by
// build, as subtask 0 of 1 and as subtask 1 of 2 (so that key group ranges
// matter; the script should then hold keys of both halves).
func checkSnapshots[R any](t *testing.T, build opBuild[R], script []harnessStep) {
	t.Helper()
	start := time.Unix(1_000, 0)
	for _, layout := range [][2]int{{0, 1}, {1, 2}} {
		sub, par := layout[0], layout[1]
		straight, want := newOpRun(t, build, sub, par, start)
		for i, st := range script {
			if err := st(straight); err != nil {
				t.Fatalf("straight run, step %d: %v", i, err)
			}
		}
		for cut := 0; cut <= len(script); cut++ {
			for _, failAt := range []int{-1, cut / 2} {
				first, got := newOpRun(t, build, sub, par, start)
				store := map[string][]byte{}
				id := int64(0)
				full := true
				for i := 0; i < cut; i++ {
					if err := script[i](first); err != nil {
						t.Fatalf("cut %d, step %d: %v", cut, i, err)
					}
					if i%3 == 1 || i == failAt {
						id++
						failed := i == failAt
						target := store
						if failed {
							target = nil
						}
						if err := first.snapshot(id, full, target); err != nil {
							t.Fatalf("cut %d, snapshot after step %d: %v", cut, i, err)
						}
						full = failed // after a failed checkpoint the next is full
					}
				}
				id++
				if err := first.snapshot(id, full, store); err != nil {
					t.Fatalf("cut %d, snapshot at the cut: %v", cut, err)
				}
				second, got2 := newOpRun(t, build, sub, par, first.clock.Now())
				if err := second.restore(id, store); err != nil {
					t.Fatalf("cut %d: restore: %v", cut, err)
				}
				for i := cut; i < len(script); i++ {
					if err := script[i](second); err != nil {
						t.Fatalf("cut %d, restored, step %d: %v", cut, i, err)
					}
				}
				vals := append(slices.Clone(got.vals), got2.vals...)
				times := append(slices.Clone(got.times), got2.times...)
				if !slices.Equal(vals, want.vals) || !slices.Equal(times, want.times) {
					t.Fatalf("subtask %d/%d, restored at step %d (failed snapshot at %d):\n got %q %v\nwant %q %v",
						sub+1, par, cut, failAt, vals, times, want.vals, want.times)
				}
			}
		}
	}
}

// The harness itself: a counter that snapshots only what changed passes;
// one that forgets a key's change fails.
func TestSnapshotHarness(t *testing.T) {
	build := func(bc *BuildContext, out Input[[2]int]) []any {
		c := &counter{out: out, counts: map[int]int{}, dirty: map[int]bool{}, keys: 5, maxP: bc.MaxParallelism}
		bc.AddSnapshotter(c)
		return []any{c}
	}
	var script []harnessStep
	for i := range 10 {
		script = append(script, hPush[int](0, nil, i, i*3, i*7))
	}
	script = append(script, hFinish[int](0))
	checkSnapshots(t, build, script)

	forgetful := func(bc *BuildContext, out Input[[2]int]) []any {
		c := &forgetfulCounter{counter{out: out, counts: map[int]int{}, dirty: map[int]bool{}, keys: 5, maxP: bc.MaxParallelism}}
		bc.AddSnapshotter(c)
		return []any{c}
	}
	ft := &testing.T{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		checkSnapshots(ft, forgetful, script)
	}()
	<-done
	if !ft.Failed() {
		t.Fatalf("the harness passed a snapshotter that ignores Full")
	}
}

// forgetfulCounter writes only what changed even when asked for all.
type forgetfulCounter struct{ counter }

func (c *forgetfulCounter) Snapshot(w *StateWriter) error {
	full := *w
	full.full = false
	return c.counter.Snapshot(&full)
}

// checkChunkedRun fails the test unless the outputs of a chunked twin's
// run, across its restores, join into the straight run's, the longest
// list reached the most chunks, and the run went on from a restore.
func checkChunkedRun(t *testing.T, round, restores int, outs []*collect[string], want *collect[string], most, maxChunks int32) {
	t.Helper()
	var got []string
	for _, o := range outs {
		got = append(got, o.vals...)
	}
	if !slices.Equal(got, want.vals) {
		t.Fatalf("round %d, across %d restores: got\n%q\nwant\n%q", round, restores, got, want.vals)
	}
	if most != maxChunks || restores == 0 {
		t.Fatalf("round %d: the longest list had %d chunks (the most is %d), the run went on from %d restores",
			round, most, maxChunks, restores)
	}
}
