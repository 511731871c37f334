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

// Snapshots of KeyedProcess and KeyedCoProcess: scripts through
// checkSnapshots, which cuts each at every step, restores a fresh operator
// from the incremental snapshots and compares the output (values, order,
// timestamps) with the uninterrupted run's. The function under test reaches
// every state a process operator has: value, list, map, reducing and
// aggregating state, a state with a TTL, event and processing timers set,
// deleted and fired, the watermark.

// procSetup is a process function over kv elements that uses all of it.
// Its outputs say what it saw, so that any state lost shows.
func procSetup(st *state.Store) (ProcessFunc[string, kv, string], error) {
	count, err := state.NewValue[string, int](st, "count")
	if err != nil {
		return ProcessFunc[string, kv, string]{}, err
	}
	timerAt, _ := state.NewValue[string, int64](st, "event timer")
	seen, _ := state.NewList[string, int64](st, "seen")
	parity, _ := state.NewMap[string, bool, int](st, "parity")
	most, _ := state.NewReducing[string, int64](st, "max", func(a, b int64) int64 { return max(a, b) })
	mean, _ := state.NewAggregating[string, int64, [2]int64, string](st, "mean", state.AggregateFunc[int64, [2]int64, string]{
		Init:   func() [2]int64 { return [2]int64{} },
		Add:    func(a [2]int64, v int64) [2]int64 { return [2]int64{a[0] + v, a[1] + 1} },
		Result: func(a [2]int64) string { return fmt.Sprintf("%d/%d", a[0], a[1]) },
	})
	recent, err := state.NewValue[string, int64](st, "recent", state.WithTTL(3*time.Second, state.OnCreateAndWrite))
	if err != nil {
		return ProcessFunc[string, kv, string]{}, err
	}
	describe := func(k string) string {
		p := maps.Collect(parity.Entries(k))
		m, _ := most.Get(k)
		a, _ := mean.Get(k)
		r, ok := recent.Get(k)
		return fmt.Sprintf("seen=%v even=%d odd=%d max=%d mean=%s recent=%d,%v", seen.Get(k), p[true], p[false], m, a, r, ok)
	}
	return ProcessFunc[string, kv, string]{
		OnElement: func(c *ProcessContext[string, string], v kv) {
			k := c.Key()
			n, _ := count.Get(k)
			count.Set(k, n+1)
			seen.Add(k, v.V)
			e, _ := parity.Get(k, v.V%2 == 0)
			parity.Put(k, v.V%2 == 0, e+1)
			most.Add(k, v.V)
			mean.Add(k, v.V)
			ts, _ := c.Timestamp()
			if _, ok := timerAt.Get(k); !ok {
				at := ts.UnixNano() + 10
				c.SetEventTimer(time.Unix(0, at))
				timerAt.Set(k, at)
			}
			switch {
			case v.V%5 == 0: // move the event timer back
				at, _ := timerAt.Get(k)
				c.DeleteEventTimer(time.Unix(0, at))
				c.SetEventTimer(time.Unix(0, at+3))
				timerAt.Set(k, at+3)
			case v.V%7 == 0:
				c.DeleteProcessingTimer(c.Now().Truncate(time.Second).Add(2 * time.Second))
			default:
				c.SetProcessingTimer(c.Now().Truncate(time.Second).Add(2 * time.Second))
			}
			c.Emit(fmt.Sprintf("el %s #%d %s", k, n+1, describe(k)))
			recent.Set(k, v.V)
		},
		OnTimer: func(c *ProcessContext[string, string], t TimerInfo) {
			k := c.Key()
			c.Emit(fmt.Sprintf("timer %s %v@%d wm=%d %s", k, t.Domain, t.At.UnixNano(), c.Watermark().UnixNano(), describe(k)))
			if t.Domain == EventTime {
				timerAt.Clear(k)
				seen.Clear(k)
				parity.Delete(k, true)
				return
			}
			count.Clear(k)
			most.Clear(k)
		},
	}, nil
}

func procBuild(bc *BuildContext, out Input[string]) []any {
	p, err := NewKeyedProcess(func(v kv) string { return v.K }, procSetup, bc, true, out)
	if err != nil {
		panic(err)
	}
	return []any{Input[kv](p)}
}

// procUpperKeys returns n keys whose key groups lie in the upper half of
// harnessMaxP: owned by subtask 1 of 2 as by subtask 0 of 1, so that
// checkSnapshots runs the same script in both layouts.
func procUpperKeys(n int) []string {
	var ks []string
	for i := 0; len(ks) < n; i++ {
		k := fmt.Sprintf("u%d", i)
		if state.KeyGroup(state.HashString(k), harnessMaxP) >= harnessMaxP/2 {
			ks = append(ks, k)
		}
	}
	return ks
}

// procScript: elements of keys ks on the given inputs, watermarks now and
// then, processing time moving by parts of seconds, then the end.
func procScript(rng *rand.Rand, ks []string, inputs, n int) []harnessStep {
	var s []harnessStep
	t := int64(100)
	wm := int64(0)
	for range n {
		in := rng.IntN(inputs)
		switch r := rng.IntN(10); {
		case r < 6:
			var ts []int64
			var vals []kv
			for range 1 + rng.IntN(3) {
				t += int64(rng.IntN(4))
				ts = append(ts, t)
				vals = append(vals, kv{ks[rng.IntN(len(ks))], int64(1 + rng.IntN(20))})
			}
			s = append(s, hPush[kv](in, ts, vals...))
		case r < 8:
			wm = max(wm, t-int64(rng.IntN(5)))
			s = append(s, hWatermark[kv](in, wm))
		default:
			s = append(s, hAdvance(time.Duration(300+rng.IntN(1500))*time.Millisecond))
		}
	}
	for in := range inputs {
		s = append(s, hWatermark[kv](in, MaxWatermark))
	}
	for in := range inputs {
		s = append(s, hFinish[kv](in))
	}
	return s
}

func TestKeyedProcessSnapshots(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	for range 4 {
		checkSnapshots(t, procBuild, procScript(rng, procUpperKeys(4), 1, 40))
	}
}

// A hand-written script: timers of both domains set, deleted, due and not
// yet, across every cut; a processing timer due while the job was down
// fires after the restore.
func TestKeyedProcessSnapshotsTimers(t *testing.T) {
	ks := procUpperKeys(2)
	a, b := ks[0], ks[1]
	script := []harnessStep{
		hPush[kv](0, []int64{100, 101}, kv{a, 1}, kv{b, 2}), // event timers at 110, 111; processing at +2s
		hWatermark[kv](0, 105),
		hPush[kv](0, []int64{106}, kv{a, 5}), // a's event timer moves to 113
		hAdvance(1500 * time.Millisecond),
		hPush[kv](0, []int64{107}, kv{b, 7}), // deletes b's processing timer
		hWatermark[kv](0, 112),               // fires b at 111
		hAdvance(3 * time.Second),            // fires a's processing timer
		hPush[kv](0, []int64{120}, kv{a, 3}),
		hAdvance(4 * time.Second), // a's recent value expires
		hPush[kv](0, []int64{121}, kv{a, 4}),
		hWatermark[kv](0, MaxWatermark),
		hFinish[kv](0),
	}
	checkSnapshots(t, procBuild, script)
}

// coSetup is CoReduce's function (running reductions of each side, in
// two value states), plus timers from the second side, so that a co-process
// function's state, timers and two watermarks are all reached.
func coSetup(st *state.Store) (CoProcessFunc[string, kv, kv, string], error) {
	sumA, err := state.NewValue[string, int64](st, "coreduce left")
	if err != nil {
		return CoProcessFunc[string, kv, kv, string]{}, err
	}
	maxB, _ := state.NewValue[string, int64](st, "coreduce right")
	return CoProcessFunc[string, kv, kv, string]{
		OnA: func(c *ProcessContext[string, string], a kv) {
			s, _ := sumA.Get(c.Key())
			sumA.Set(c.Key(), s+a.V)
			c.Emit(fmt.Sprintf("A %s %d", c.Key(), s+a.V))
		},
		OnB: func(c *ProcessContext[string, string], b kv) {
			m, ok := maxB.Get(c.Key())
			if !ok || b.V > m {
				m = b.V
			}
			maxB.Set(c.Key(), m)
			ts, _ := c.Timestamp()
			c.SetEventTimer(ts.Add(5))
			c.SetProcessingTimer(c.Now().Truncate(time.Second).Add(time.Second))
			c.Emit(fmt.Sprintf("B %s %d", c.Key(), m))
		},
		OnTimer: func(c *ProcessContext[string, string], t TimerInfo) {
			s, _ := sumA.Get(c.Key())
			m, _ := maxB.Get(c.Key())
			c.Emit(fmt.Sprintf("timer %s %v@%d wm=%d sum=%d max=%d", c.Key(), t.Domain, t.At.UnixNano(), c.Watermark().UnixNano(), s, m))
			if t.Domain == ProcessingTime {
				maxB.Clear(c.Key())
			}
		},
	}, nil
}

func coBuild(bc *BuildContext, out Input[string]) []any {
	p, err := NewKeyedCoProcess(func(v kv) string { return v.K }, func(v kv) string { return v.K }, coSetup, bc, true, out)
	if err != nil {
		panic(err)
	}
	return p.Inputs()
}

func TestKeyedCoProcessSnapshots(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 3))
	for range 4 {
		checkSnapshots(t, coBuild, procScript(rng, procUpperKeys(3), 2, 40))
	}
}

// The two inputs' watermarks are state: after a restore, a watermark on
// one input combines with the other's from before it.
func TestKeyedCoProcessSnapshotsWatermarks(t *testing.T) {
	k := procUpperKeys(1)[0]
	script := []harnessStep{
		hPush[kv](1, []int64{100}, kv{k, 4}), // event timer at 105
		hWatermark[kv](1, 200),
		hWatermark[kv](0, 50),
		hPush[kv](0, []int64{120}, kv{k, 1}),
		hWatermark[kv](0, 150), // combined 150: fires the timer
		hPush[kv](1, []int64{210}, kv{k, 9}),
		hAdvance(2 * time.Second),
		hWatermark[kv](0, MaxWatermark), hWatermark[kv](1, MaxWatermark),
		hFinish[kv](0), hFinish[kv](1),
	}
	checkSnapshots(t, coBuild, script)
}

// Restore at another parallelism: snapshots of subtasks 0 and 1 of 2,
// restored into one subtask, give the state and timers of every key (their
// timers share times and registration numbers); and a state at
// parallelism 1 splits back into two.
func TestKeyedProcessRescale(t *testing.T) {
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	run := func(sub, par int, keep func(string) bool, snap func(*opRun)) (*opRun, *collect[string]) {
		r, c := newOpRun(t, procBuild, sub, par, time.Unix(1000, 0))
		var vals []kv
		var ts []int64
		for i, k := range keys {
			if keep(k) {
				vals = append(vals, kv{k, int64(i + 1)})
				ts = append(ts, 100) // timers at one time: the old subtasks' numbers collide
			}
		}
		if err := r.ins[0].(Input[kv]).Push(&Batch[kv]{Values: vals, Times: ts}); err != nil {
			t.Fatal(err)
		}
		if err := r.ins[0].(Input[kv]).Watermark(int64(101 - sub)); err != nil {
			t.Fatal(err)
		}
		snap(r)
		return r, c
	}
	owner := func(k string, par int) int {
		return state.SubtaskOf(state.KeyGroup(state.HashString(k), harnessMaxP), harnessMaxP, par)
	}
	finish := func(r *opRun) {
		in := r.ins[0].(Input[kv])
		if err := in.Watermark(MaxWatermark); err != nil {
			t.Fatal(err)
		}
		if err := in.Finish(); err != nil {
			t.Fatal(err)
		}
	}
	// The reference: one subtask, all keys, straight through.
	_, want := run(0, 1, func(string) bool { return true }, func(r *opRun) { finish(r) })
	wantTimers := timerLines(want.vals)

	// Two subtasks, snapshotted, restored into one.
	store := map[string][]byte{}
	for sub := range 2 {
		run(sub, 2, func(k string) bool { return owner(k, 2) == sub }, func(r *opRun) {
			if err := r.snapshot(1, true, store); err != nil {
				t.Fatal(err)
			}
		})
	}
	one, got := newOpRun(t, procBuild, 0, 1, time.Unix(1000, 0))
	if err := one.restore(1, store); err != nil {
		t.Fatal(err)
	}
	if wm := one.ins[0].(*KeyedProcess[kv, string, string]).processCore.wm; wm != 100 {
		t.Fatalf("2 -> 1: watermark %d restored, want the least of 101 and 100", wm)
	}
	finish(one)
	if g := timerLines(got.vals); !slices.Equal(g, wantTimers) {
		t.Fatalf("2 -> 1: event timers fired\n%q\nwant\n%q", g, wantTimers)
	}
	// One subtask snapshotted, restored into two.
	store = map[string][]byte{}
	run(0, 1, func(string) bool { return true }, func(r *opRun) {
		if err := r.snapshot(1, true, store); err != nil {
			t.Fatal(err)
		}
	})
	var lines []string
	for sub := range 2 {
		r, c := newOpRun(t, procBuild, sub, 2, time.Unix(1000, 0))
		if err := r.restore(1, store); err != nil {
			t.Fatal(err)
		}
		finish(r)
		lines = append(lines, timerLines(c.vals)...)
	}
	slices.Sort(lines)
	if !slices.Equal(lines, wantTimers) {
		t.Fatalf("1 -> 2: event timers fired\n%q\nwant\n%q", lines, wantTimers)
	}
}

// timerLines are the event timer outputs, less the watermark they saw
// (which depends on the layout), sorted.
func timerLines(vals []string) []string {
	var out []string
	for _, v := range vals {
		if strings.HasPrefix(v, "timer ") && strings.Contains(v, fmt.Sprintf(" %v@", EventTime)) {
			i := strings.Index(v, " wm=")
			j := strings.Index(v[i+1:], " ")
			out = append(out, v[:i]+v[i+1+j:])
		}
	}
	slices.Sort(out)
	return out
}

// With checkpoints, a state type that cannot be encoded fails the build,
// naming the state and the type; without, it builds.
func TestKeyedProcessRefusesUncodableState(t *testing.T) {
	//lint:ignore U1000 the codec reads the fields by reflection
	type conn struct{ c chan int }
	setup := func(st *state.Store) (ProcessFunc[string, kv, string], error) {
		if _, err := state.NewValue[string, conn](st, "connections"); err != nil {
			return ProcessFunc[string, kv, string]{}, err
		}
		return ProcessFunc[string, kv, string]{OnElement: func(*ProcessContext[string, string], kv) {}}, nil
	}
	bc := testContext(NewFakeClock(time.Unix(0, 0)))
	bc.task.cp = &taskCP{coord: &coordinator{}}
	_, err := NewKeyedProcess(func(v kv) string { return v.K }, setup, bc, false, Input[string](&collect[string]{}))
	if !errors.Is(err, state.ErrUncodable) || !strings.Contains(err.Error(), `"connections"`) || !strings.Contains(err.Error(), "conn") {
		t.Fatalf("got %v, want ErrUncodable naming the state and its type", err)
	}
	bc = testContext(NewFakeClock(time.Unix(0, 0)))
	if _, err := NewKeyedProcess(func(v kv) string { return v.K }, setup, bc, false, Input[string](&collect[string]{})); err != nil {
		t.Fatalf("without checkpoints: %v", err)
	}
}

// An incremental snapshot writes a key's state and timers once, however
// often they changed since the last one, and nothing of what was made and
// gone in between: keys whose sum was set and cleared, timers set and
// fired, ten times over (each time at another time) cost no entry; keys
// the store held and that are gone cost one delete each.
func TestKeyedProcessSnapshotWritesOnlyWhatTheStoreLacks(t *testing.T) {
	const keys = 100
	setup := func(st *state.Store) (ProcessFunc[string, kv, string], error) {
		sum, err := state.NewValue[string, int64](st, "sum")
		if err != nil {
			return ProcessFunc[string, kv, string]{}, err
		}
		last, _ := state.NewList[string, int64](st, "last")
		return ProcessFunc[string, kv, string]{
			OnElement: func(c *ProcessContext[string, string], v kv) {
				s, ok := sum.Get(c.Key())
				if !ok {
					ts, _ := c.Timestamp()
					c.SetEventTimer(ts.Add(10))
				}
				sum.Set(c.Key(), s+v.V)
				last.Add(c.Key(), v.V)
			},
			OnTimer: func(c *ProcessContext[string, string], _ TimerInfo) {
				s, _ := sum.Get(c.Key())
				sum.Clear(c.Key())
				last.Clear(c.Key())
				c.Emit(fmt.Sprint(s))
			},
		}, nil
	}
	r, _ := newOpRun(t, func(bc *BuildContext, out Input[string]) []any {
		p, err := NewKeyedProcess(func(v kv) string { return v.K }, setup, bc, true, out)
		must(t, err)
		return []any{Input[kv](p)}
	}, 0, 1, time.Unix(1_000, 0))
	in := r.ins[0].(Input[kv])
	at := int64(0)
	round := func(fire bool) { // an element of each key, then (maybe) their timers fire
		b := &Batch[kv]{}
		for k := range keys {
			b.Values, b.Times = append(b.Values, kv{fmt.Sprint("k", k), 1}), append(b.Times, at)
		}
		must(t, in.Push(b))
		if fire {
			must(t, in.Watermark(at+10))
		}
		at += 20
	}
	written := func(full bool) (sets, dels int) {
		e := &entries{}
		s := r.task.cp.snaps[0]
		must(t, s.s.Snapshot(&StateWriter{id: 1, full: full, e: e, uid: s.uid, subtask: s.subtask, kgLo: s.kgLo, kgHi: s.kgHi}))
		must(t, e.each(func(kind entryKind, _, _ []byte) error {
			if kind == entryDelete {
				dels++
			} else {
				sets++
			}
			return nil
		}))
		return sets, dels
	}
	round(false)
	if sets, dels := written(true); sets != 3*keys+1 || dels != 0 {
		t.Fatalf("full: %d sets, %d deletes; want %d sets (a sum, a list and a timer per key, the watermark)", sets, dels, 3*keys+1)
	}
	for range 10 {
		round(true)
	}
	round(false)
	// The stored sums, lists and timers fired, the keys got new ones.
	if sets, dels := written(false); sets != 3*keys+1 || dels != keys {
		t.Fatalf("after 11 rounds of changes: %d sets, %d deletes; want %d sets and %d deletes (the old timers)", sets, dels, 3*keys+1, keys)
	}
	for range 10 {
		round(true)
	}
	if sets, dels := written(false); sets != 1 || dels != 3*keys {
		t.Fatalf("after 10 rounds of changes, all gone: %d sets, %d deletes; want the watermark and %d deletes", sets, dels, 3*keys)
	}
	for range 10 {
		round(true)
	}
	if sets, dels := written(false); sets != 1 || dels != 0 {
		t.Fatalf("after 10 rounds of changes, none stored: %d sets, %d deletes; want the watermark alone", sets, dels)
	}
}
