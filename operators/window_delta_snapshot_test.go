package operators

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"

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

type listDelta = DeltaWindow[kv, string, []int64, string]

// deltaState is what a delta window holds of a key, in key order.
func deltaState(o *listDelta) []string {
	var out []string
	for j, dk := range o.keys {
		var elems []int64
		if dk.n > 0 {
			elems = dk.acc
		}
		out = append(out, fmt.Sprintf("%s n=%d start=%d maxTs=%d rank=%d point=%v %v", dk.key, dk.n, dk.start, dk.maxTs,
			dk.rank, o.points[j], elems))
	}
	return out
}

// A brute-force twin of chunked delta-window checkpoints: random elements
// (keys whose values wander, so that their windows fire now and then, and
// one in every batch that never moves, whose list outgrows the chunk
// limit), checkpoints at random points, some failed after the 40th (the
// next is then full). After each
// checkpoint a fresh instance restored from the store holds exactly the
// live one's state, and now and then the run goes on from it; the output
// of the whole run, across restores, is the uninterrupted run's.
func TestDeltaWindowChunkedTwin(t *testing.T) {
	seed := testseed.Seed(t)
	for round := range 4 {
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		keys := []string{"a", "b", "c", "d", "e", "f"}
		vals := map[string]int64{}
		var steps []kvStep
		ts := int64(0)
		for range 600 {
			ts++
			s := kvStep{vals: []kv{{"f", 0}}, ts: []int64{ts}} // f never fires: its list grows
			for range rng.IntN(6) {
				k := keys[rng.IntN(len(keys))]
				if k != "f" {
					vals[k] += int64(rng.IntN(4) - 1)
				}

				ts++
				s.vals, s.ts = append(s.vals, kv{k, vals[k]}), append(s.ts, ts)
			}
			steps = append(steps, s)
		}
		steps = append(steps, kvEnd())
		script := harness(steps)
		build := deltaBuild(listSpecOf)
		start := time.Unix(1_000, 0)
		straight, want := newOpRun(t, build, 0, 1, start)
		for _, st := range script {
			must(t, st(straight))
		}
		r, out := newOpRun(t, build, 0, 1, start)
		outs := []*collect[string]{out}
		store := map[string][]byte{}
		full, id, restores, most := true, int64(0), 0, int32(0)
		for i, st := range script {
			must(t, st(r))
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
			live := r.ins[0].(*listDelta)
			for _, dk := range live.keys {
				most = max(most, dk.chunks)
			}
			back, bout := newOpRun(t, build, 0, 1, r.clock.Now())
			must(t, back.restore(id, store))
			if got, want := deltaState(back.ins[0].(*listDelta)), deltaState(live); !slices.Equal(got, want) {
				t.Fatalf("round %d, checkpoint %d after step %d: restored\n%q\nlive\n%q", round, id, i, got, want)
			}
			if rng.IntN(8) == 0 {
				r, outs = back, append(outs, bout)
				restores++
			}
		}
		checkChunkedRun(t, round, restores, outs, want, most, maxDeltaChunks)
	}
}

// An incremental snapshot of a long list writes what was added to it, not
// the list: 10 elements more on 10,000 write tens of bytes.
func TestDeltaWindowChunkedWritesWhatWasAdded(t *testing.T) {
	r, _ := newOpRun(t, deltaBuild(listSpecOf), 0, 1, time.Unix(1_000, 0))
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
		t.Fatalf("a full snapshot of 10,000 elements wrote %d bytes", n)
	}
	push(10)
	if n := written(false); n > 200 {
		t.Fatalf("10 elements added to 10,000: the snapshot wrote %d bytes", n)
	}
}
