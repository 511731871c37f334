package operators

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

// Scripts for the window operators' snapshots run as subtask 0 of 1 and 1
// of 2 (checkSnapshots), at max parallelism 16: their keys are those of
// key groups 8 to 15, which both subtasks own. Keys of every key group are
// exercised by the rescaling tests (checkRescale).
var upperKeys = []string{"b", "e", "g", "h"}

func TestUpperKeysLieInTheUpperHalf(t *testing.T) {
	for _, k := range upperKeys {
		if kg := state.KeyGroup(state.HashString(k), harnessMaxP); kg < harnessMaxP/2 {
			t.Fatalf("key %q is in key group %d: subtask 1 of 2 does not own it", k, kg)
		}
	}
}

// kvStep is a step of a script over kv elements that the rescaling driver
// can route by key: push vals (with timestamps ts, or none), send a
// watermark, move processing time, or finish.
type kvStep struct {
	ts   []int64
	vals []kv
	wm   int64
	d    time.Duration
	end  bool
}

func kvPush(ts []int64, vals ...kv) kvStep { return kvStep{ts: ts, vals: vals} }
func kvWM(wm int64) kvStep                 { return kvStep{wm: wm} }
func kvAdvance(d time.Duration) kvStep     { return kvStep{d: d} }
func kvEnd() kvStep                        { return kvStep{end: true} }

// harness turns steps into checkSnapshots' script.
func harness(steps []kvStep) []harnessStep {
	var out []harnessStep
	for _, s := range steps {
		switch {
		case s.vals != nil:
			out = append(out, hPush(0, s.ts, s.vals...))
		case s.d != 0:
			out = append(out, hAdvance(s.d))
		case s.end:
			out = append(out, hWatermark[kv](0, MaxWatermark), hFinish[kv](0))
		default:
			out = append(out, hWatermark[kv](0, s.wm))
		}
	}
	return out
}

// run applies step s to the instances of parallelism len(runs), each
// element to the subtask that owns its key.
func (s kvStep) run(runs []*opRun) error {
	switch {
	case s.vals != nil:
		for sub, r := range runs {
			var b Batch[kv]
			for i, v := range s.vals {
				kg := state.KeyGroup(state.HashString(v.K), harnessMaxP)
				if state.SubtaskOf(kg, harnessMaxP, len(runs)) != sub {
					continue
				}
				b.Values = append(b.Values, v)
				if s.ts != nil {
					b.Times = append(b.Times, s.ts[i])
				}
			}
			if len(b.Values) > 0 {
				if err := r.ins[0].(Input[kv]).Push(&b); err != nil {
					return err
				}
			}
		}
	default:
		for _, r := range runs {
			var err error
			switch {
			case s.d != 0:
				err = hAdvance(s.d)(r)
			case s.end:
				if err = r.ins[0].(Input[kv]).Watermark(MaxWatermark); err == nil {
					err = r.ins[0].(Input[kv]).Finish()
				}
			default:
				err = r.ins[0].(Input[kv]).Watermark(s.wm)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRescale runs steps at parallelism 1 straight through, and for every
// cut point runs them at parallelism from up to the cut, takes a
// checkpoint (one full snapshot on the way, then an incremental one),
// restores it at parallelism to, runs half of the rest, checkpoints
// (incrementally) and restores again at to for the rest: the results
// (value and timestamp, in any order across subtasks) are the same.
func checkRescale[R any](t *testing.T, build opBuild[R], steps []kvStep, from, to int) {
	t.Helper()
	start := time.Unix(1_000, 0)
	outcome := func(cs []*collect[string]) []string {
		var all []string
		for _, c := range cs {
			for i, v := range c.vals {
				ts := "-"
				if c.times != nil {
					ts = fmt.Sprint(c.times[i])
				}
				all = append(all, v+" @"+ts)
			}
		}
		slices.Sort(all)
		return all
	}
	straight, want := newOpRun(t, build, 0, 1, start)
	for i, s := range steps {
		if err := s.run([]*opRun{straight}); err != nil {
			t.Fatalf("straight run, step %d: %v", i, err)
		}
	}
	wantAll := outcome([]*collect[string]{want})
	for cut := 0; cut <= len(steps); cut++ {
		var first, second []*opRun
		var outs []*collect[string]
		for sub := range from {
			r, c := newOpRun(t, build, sub, from, start)
			first, outs = append(first, r), append(outs, c)
		}
		store := map[string][]byte{}
		for i := range cut {
			if err := steps[i].run(first); err != nil {
				t.Fatalf("cut %d, step %d: %v", cut, i, err)
			}
			if i == cut/2 {
				for _, r := range first {
					if err := r.snapshot(1, true, store); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		for _, r := range first {
			if err := r.snapshot(2, cut == 0, store); err != nil {
				t.Fatal(err)
			}
		}
		for sub := range to {
			r, c := newOpRun(t, build, sub, to, first[0].clock.Now())
			if err := r.restore(2, store); err != nil {
				t.Fatalf("cut %d: restore as subtask %d of %d: %v", cut, sub+1, to, err)
			}
			second, outs = append(second, r), append(outs, c)
		}
		// A second hop at the new parallelism, halfway through the rest:
		// the first snapshot after the restore is incremental.
		cut2 := (cut + len(steps) + 1) / 2
		for i := cut; i < cut2; i++ {
			if err := steps[i].run(second); err != nil {
				t.Fatalf("cut %d, restored, step %d: %v", cut, i, err)
			}
		}
		var third []*opRun
		for _, r := range second {
			if err := r.snapshot(3, false, store); err != nil {
				t.Fatal(err)
			}
		}
		for sub := range to {
			r, c := newOpRun(t, build, sub, to, second[0].clock.Now())
			if err := r.restore(3, store); err != nil {
				t.Fatalf("cut %d: second restore as subtask %d of %d: %v", cut, sub+1, to, err)
			}
			third, outs = append(third, r), append(outs, c)
		}
		for i := cut2; i < len(steps); i++ {
			if err := steps[i].run(third); err != nil {
				t.Fatalf("cut %d, restored twice, step %d: %v", cut, i, err)
			}
		}
		if got := outcome(outs); !slices.Equal(got, wantAll) {
			t.Fatalf("parallelism %d restored at %d after step %d:\n got %q\nwant %q", from, to, cut, got, wantAll)
		}
	}
}

// checkRestoreChain restores twice: for cut points c1 <= c2 it runs steps
// to c1, checkpoints (full) and restores, runs on to c2, checkpoints
// (incrementally: only what changed since the restore) and restores again,
// and runs the rest; the output is that of the straight run. It catches
// state that a restore renumbers while the store keeps the old numbers of
// what did not change (the order of timers, of keys).
func checkRestoreChain[R any](t *testing.T, build opBuild[R], script []harnessStep) {
	t.Helper()
	start := time.Unix(1_000, 0)
	straight, want := newOpRun(t, build, 0, 1, start)
	for i, st := range script {
		if err := st(straight); err != nil {
			t.Fatalf("straight run, step %d: %v", i, err)
		}
	}
	for c1 := 0; c1 <= len(script); c1++ {
		for c2 := c1; c2 <= len(script); c2++ {
			r, out := newOpRun(t, build, 0, 1, start)
			outs := []*collect[string]{out}
			store := map[string][]byte{}
			for i := range c1 {
				must(t, script[i](r))
			}
			must(t, r.snapshot(1, true, store))
			r, out = newOpRun(t, build, 0, 1, r.clock.Now())
			outs = append(outs, out)
			must(t, r.restore(1, store))
			for i := c1; i < c2; i++ {
				must(t, script[i](r))
			}
			must(t, r.snapshot(2, false, store))
			r, out = newOpRun(t, build, 0, 1, r.clock.Now())
			outs = append(outs, out)
			must(t, r.restore(2, store))
			for i := c2; i < len(script); i++ {
				must(t, script[i](r))
			}
			var vals []string
			var times []int64
			for _, o := range outs {
				vals, times = append(vals, o.vals...), append(times, o.times...)
			}
			if !slices.Equal(vals, want.vals) || !slices.Equal(times, want.times) {
				t.Fatalf("restored after steps %d and %d:\n got %q %v\nwant %q %v", c1, c2, vals, times, want.vals, want.times)
			}
		}
	}
}

// lateInto gives build's operator a late output that writes into the
// harness's output, so that scripts see late elements too.
func lateInto(out Input[string]) Input[kv] {
	return stringOut[kv]{out.(stringOut[string]).c}
}

func sessionBuild(eventTime bool, gap time.Duration, lateness int64) opBuild[string] {
	return func(bc *BuildContext, out Input[string]) []any {
		return []any{NewSessionWindow(countSpec(window.Session(gap), eventTime, lateness), bc, out, lateInto(out))}
	}
}

// Event time, gap 10, lateness 5: sessions that merge after a snapshot,
// firing at the watermark, an element within the lateness that fires a
// session again, a new session already behind the watermark but within
// its lateness, elements past the lateness, sessions dropped at their
// cleanup.
var sessionEventSteps = []kvStep{
	kvPush([]int64{0, 3, 1}, kv{"b", 1}, kv{"e", 2}, kv{"g", 3}),
	kvPush([]int64{20, 21}, kv{"b", 10}, kv{"h", 1}),
	kvPush([]int64{11}, kv{"b", 5}),               // b: [0,10) + [11,21) + [20,30) = [0,30)
	kvWM(12),                                      // e [3,13), g [1,11) fire
	kvPush([]int64{8}, kv{"g", 4}),                // within g's lateness: fires again
	kvPush([]int64{0}, kv{"h", 100}),              // new [0,10), behind the watermark: fires at once
	kvWM(16),                                      // g and h's [0,10) dropped; e waits for 17
	kvPush([]int64{2, 4}, kv{"g", 7}, kv{"e", 9}), // g late; e joins its fired session
	kvPush([]int64{25, 26, 29}, kv{"e", 1}, kv{"h", 1}, kv{"b", 2}),
	kvWM(40),
	kvPush([]int64{45, 47}, kv{"b", 1}, kv{"b", 1}),
	kvWM(50),
	kvPush([]int64{31}, kv{"g", 1}), // late
	kvPush([]int64{56}, kv{"b", 1}), // b [45,57) extended, not fired
	kvEnd(),
}

func TestSessionWindowSnapshotsEventTime(t *testing.T) {
	checkSnapshots(t, sessionBuild(true, 10, 5), harness(sessionEventSteps))
	checkSnapshots(t, sessionBuild(true, 10, 0), harness(sessionEventSteps))
}

// Processing time, gap 10 ms: sessions of several keys due at the same
// instant (they fire in the order their timers were set, after a restore
// too), sessions extended and merged, timers that fire after a restore.
var sessionProcSteps = []kvStep{
	kvPush(nil, kv{"b", 1}, kv{"e", 1}, kv{"g", 1}),
	kvAdvance(3 * time.Millisecond),
	kvPush(nil, kv{"h", 2}, kv{"e", 2}),
	kvAdvance(5 * time.Millisecond),
	kvPush(nil, kv{"b", 3}),
	kvAdvance(4 * time.Millisecond), // g fires; b, e, h later
	kvPush(nil, kv{"g", 4}, kv{"h", 4}),
	kvAdvance(9 * time.Millisecond),
	kvAdvance(9 * time.Millisecond),
	kvPush(nil, kv{"b", 5}, kv{"e", 5}, kv{"g", 5}, kv{"h", 5}),
	kvAdvance(time.Millisecond),
	kvPush(nil, kv{"e", 6}),
	kvAdvance(20 * time.Millisecond),
	kvPush(nil, kv{"b", 7}),
	kvEnd(),
}

func TestSessionWindowSnapshotsProcessingTime(t *testing.T) {
	checkSnapshots(t, sessionBuild(false, 10*time.Millisecond, 0), harness(sessionProcSteps))
	checkRestoreChain(t, sessionBuild(false, 10*time.Millisecond, 0), harness(sessionProcSteps))
}

// allKeys spread over every key group.
var allKeys = []string{"a", "b", "c", "d", "e", "f", "g", "h"}

// spread repeats a script's pushes for keys of every key group: each kv
// of key upperKeys[i] also goes to allKeys[2i] and allKeys[2i+1].
func spread(steps []kvStep) []kvStep {
	var out []kvStep
	for _, s := range steps {
		if s.vals == nil {
			out = append(out, s)
			continue
		}
		var ns kvStep
		for i, v := range s.vals {
			j := slices.Index(upperKeys, v.K)
			for _, k := range []string{allKeys[2*j], allKeys[2*j+1]} {
				ns.vals = append(ns.vals, kv{k, v.V})
				if s.ts != nil {
					ns.ts = append(ns.ts, s.ts[i])
				}
			}
		}
		out = append(out, ns)
	}
	return out
}

func TestSessionWindowRescales(t *testing.T) {
	for _, p := range [][2]int{{1, 2}, {2, 1}, {2, 3}} {
		checkRescale(t, sessionBuild(true, 10, 5), spread(sessionEventSteps), p[0], p[1])
		checkRescale(t, sessionBuild(false, 10*time.Millisecond, 0), spread(sessionProcSteps), p[0], p[1])
	}
}

// An accumulator checkpoints cannot encode refuses the job at build time,
// naming the operator and the type.
func TestSessionWindowUncodable(t *testing.T) {
	spec := WindowSpec[kv, string, chan int, string]{
		Key: func(e kv) string { return e.K }, Hash: state.HashString, Assigner: window.Session(10),
		Agg:  Agg[kv, chan int]{Add: func(c chan int, _ kv) chan int { return c }, Merge: func(a, _ chan int) chan int { return a }},
		Fire: func(string, window.Window, chan int, func(string)) {}, EventTime: true,
	}
	tk := &task{cp: &taskCP{coord: &coordinator{}}}
	bc := &BuildContext{Parallelism: 1, MaxParallelism: 16, Clock: NewFakeClock(time.Unix(0, 0)), task: tk, metrics: &opMetrics{}}
	NewSessionWindow(spec, bc, &collect[string]{}, nil)
	checkUncodable(t, tk, "session window", "chan int")
}

// checkUncodable checks that the job of task tk refuses to start with
// checkpoints, naming what it says.
func checkUncodable(t *testing.T, tk *task, says ...string) {
	t.Helper()
	n := &Node{Name: "the window"}
	p := &plan{nodes: []*Node{n}, tasks: map[*Node][]*task{n: {tk}}}
	err := p.unsupported()
	if !errors.Is(err, ErrCheckpointUnsupported) {
		t.Fatalf("the job starts: %v", err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("the error does not say %q: %v", s, err)
		}
	}
	if len(tk.cp.snaps) != 0 {
		t.Fatalf("a Snapshotter registered for state it cannot encode")
	}
}
