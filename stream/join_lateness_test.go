package stream_test

// Window joins and co-groups with allowed lateness, against a brute-force
// twin that follows the window operator's rules (Flink's WindowOperator,
// see reference_test.go) over the union of both sides:
//   - an element's windows whose maxTimestamp + lateness <= watermark are
//     skipped; an element with every window skipped is late, and goes to
//     its side's late output;
//   - a window fires when the watermark reaches its maxTimestamp, and again
//     at once when an element joins it after that; it is dropped at
//     maxTimestamp + lateness; sessions merge first, as in Flink;
//   - a join emits each pair once per window (or session) the two share:
//     a firing emits the pairs not out yet; a co-group sees the whole
//     window at every firing.
//
// The twin must know the watermark each element meets at the window. Both
// sides come from one source subtask, split by chained operators at
// parallelism 1, and every source batch holds one side only and raises the
// watermark (one watermark per batch: max timestamp - bound - 1). Each
// window subtask then receives both sides from one sender, in source
// order, every watermark after the data before it; so the watermark an
// element meets is the one after the batch before its own, at parallelism
// 1 and 4 alike, and so is the order in which late elements arrive.

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type joinEv struct {
	ID    int
	Right bool
	Key   int
	Ts    int64
}

type lateJoinCase struct {
	batches  [][]joinEv // the source's batches, each of one side
	assigner window.Assigner
	bound    int64
	lateness int64
	batch    int // the job's batch size, at least the largest source batch
}

func randomLateJoinCase(rng *rand.Rand, kind string) lateJoinCase {
	keys := 1 + rng.IntN(4)
	disorder := int64(1 + rng.IntN(30))
	c := lateJoinCase{bound: rng.Int64N(disorder), lateness: rng.Int64N(6)}
	if rng.IntN(2) == 0 {
		c.lateness = 5 + rng.Int64N(25)
	}
	batch := 1 + rng.IntN(8)
	c.batch = 8 + rng.IntN(9)
	base, id := int64(rng.IntN(100))-50, 0
	for range 20 + rng.IntN(40) {
		right := rng.IntN(2) == 1
		b := make([]joinEv, 1+rng.IntN(batch))
		for i := range b {
			base += int64(rng.IntN(3))
			ts := base - rng.Int64N(disorder+1)
			if rng.IntN(10) == 0 {
				ts -= rng.Int64N(60) // far behind: late, or nearly
			}
			if i == 0 {
				base++
				ts = base // a new maximum: the watermark rises after each batch
			}
			b[i] = joinEv{ID: id, Right: right, Key: rng.IntN(keys), Ts: ts}
			id++
		}
		c.batches = append(c.batches, b)
	}
	switch kind {
	case "tumbling":
		c.assigner = window.Tumbling(time.Duration(2 + rng.IntN(20)))
	case "sliding":
		slide := 1 + rng.IntN(8)
		c.assigner = window.Sliding(time.Duration(slide*(1+rng.IntN(4))), time.Duration(slide))
	case "session":
		c.assigner = window.Session(time.Duration(1 + rng.IntN(10)))
	}
	return c
}

// twin returns the join's pairs ("a b maxTimestamp"), the co-group's
// firings ("key window [a ids] [b ids]"), the late ids of each side, and
// how many firings were for an element that came late.
func (c lateJoinCase) twin() (pairs, groups []string, lateA, lateB []int, refires int) {
	type kw struct {
		key int
		w   window.Window
	}
	type win struct {
		elems []joinEv
		out   map[[2]int]bool // pairs out
	}
	state := map[kw]*win{}
	sessions := map[int][]window.Window{}
	wm := int64(math.MinInt64)
	fire := func(k kw) {
		st := state[k]
		var as, bs []int
		for _, a := range st.elems {
			if a.Right {
				bs = append(bs, a.ID)
				continue
			}
			as = append(as, a.ID)
			for _, b := range st.elems {
				if b.Right && !st.out[[2]int{a.ID, b.ID}] {
					st.out[[2]int{a.ID, b.ID}] = true
					pairs = append(pairs, fmt.Sprintf("%d %d %d", a.ID, b.ID, k.w.MaxTimestamp()))
				}
			}
		}
		slices.Sort(as)
		slices.Sort(bs)
		groups = append(groups, fmt.Sprintf("%d %v %v %v", k.key, k.w, as, bs))
	}
	isLate := func(w window.Window) bool { return window.IsLate(w, c.lateness, wm) }
	advance := func(to int64) {
		old := wm
		wm = to
		var due []kw
		for k := range state {
			due = append(due, k)
		}
		slices.SortFunc(due, func(x, y kw) int { return int(x.w.End - y.w.End) })
		for _, k := range due {
			if mt := k.w.MaxTimestamp(); mt > old && mt <= wm {
				fire(k)
			}
			if window.CleanupTime(k.w, c.lateness) <= wm {
				delete(state, k)
				if ss := sessions[k.key]; ss != nil {
					sessions[k.key] = slices.DeleteFunc(ss, func(w window.Window) bool { return w == k.w })
				}
			}
		}
	}
	late := func(e joinEv) {
		if e.Right {
			lateB = append(lateB, e.ID)
		} else {
			lateA = append(lateA, e.ID)
		}
	}
	maxTs := int64(math.MinInt64)
	for _, b := range c.batches {
		for _, e := range b {
			switch a := c.assigner.(type) {
			case window.TimeWindows:
				skipped := true
				for _, w := range a.Assign(e.Ts, nil) {
					if isLate(w) {
						continue
					}
					skipped = false
					k := kw{e.Key, w}
					if state[k] == nil {
						state[k] = &win{out: map[[2]int]bool{}}
					}
					state[k].elems = append(state[k].elems, e)
					if w.MaxTimestamp() <= wm {
						fire(k)
						refires++
					}
				}
				if skipped {
					late(e)
				}
			case window.SessionWindows:
				ss := sessions[e.Key]
				merged, lo, hi := window.MergeSession(ss, a.Assign(e.Ts))
				if lo == hi && isLate(merged) {
					late(e)
					continue
				}
				st := &win{out: map[[2]int]bool{}}
				for _, s := range ss[lo:hi] {
					old := state[kw{e.Key, s}]
					st.elems = append(st.elems, old.elems...)
					for p := range old.out {
						st.out[p] = true
					}
					delete(state, kw{e.Key, s})
				}
				st.elems = append(st.elems, e)
				sessions[e.Key] = slices.Replace(ss, lo, hi, merged)
				state[kw{e.Key, merged}] = st
				if merged.MaxTimestamp() <= wm {
					fire(kw{e.Key, merged})
					refires++
				}
			}
			maxTs = max(maxTs, e.Ts)
		}
		advance(maxTs - c.bound - 1)
	}
	advance(math.MaxInt64)
	slices.Sort(pairs)
	slices.Sort(groups)
	slices.Sort(lateA)
	slices.Sort(lateB)
	return pairs, groups, lateA, lateB, refires
}

// run executes the case: the join and the co-group in one job, their late
// outputs read in the window's tasks, or through a rebalance into other
// tasks when crossTask.
func (c lateJoinCase) run(t *testing.T, par int, crossTask bool) (pairs, groups []string, lateA, lateB []int) {
	t.Helper()
	env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(c.batch))
	// Timestamps and the split at the source's parallelism, 1, chained
	// (WithTimestamps alone would run at the job's parallelism).
	src := batchedSource(env, c.batches).WithTimestamps(func(e joinEv) time.Time { return time.Unix(0, e.Ts) },
		stream.BoundedOutOfOrderness(time.Duration(c.bound))).SetParallelism(1)
	sides := func() (*stream.KeyedStream[int, joinEv], *stream.KeyedStream[int, joinEv]) {
		key := func(e joinEv) int { return e.Key }
		l := src.Filter(func(e joinEv) bool { return !e.Right }).SetParallelism(1)
		r := src.Filter(func(e joinEv) bool { return e.Right }).SetParallelism(1)
		return stream.KeyBy(l, key), stream.KeyBy(r, key)
	}
	l, r := sides()
	joined, jla, jlb := stream.JoinWithLateness(l, r, c.assigner, time.Duration(c.lateness),
		func(a, b joinEv) [2]int { return [2]int{a.ID, b.ID} })
	stamped := stream.Process(stream.KeyBy(joined, func(p [2]int) int { return p[0] }),
		func(*state.Store) (stream.ProcessFunc[int, [2]int, string], error) {
			return stream.ProcessFunc[int, [2]int, string]{OnElement: func(pc *stream.ProcessContext[int, string], p [2]int) {
				ts, _ := pc.Timestamp()
				pc.Emit(fmt.Sprintf("%d %d %d", p[0], p[1], ts.UnixNano()))
			}}, nil
		})
	l2, r2 := sides()
	grouped, gla, glb := stream.CoGroupWithLateness(l2, r2, c.assigner, time.Duration(c.lateness),
		func(k int, w window.Window, as, bs []joinEv, emit func(string)) {
			ids := func(es []joinEv) []int {
				out := []int{}
				for _, e := range es {
					out = append(out, e.ID)
				}
				slices.Sort(out)
				return out
			}
			emit(fmt.Sprintf("%d %v %v %v", k, w, ids(as), ids(bs)))
		})
	read := func(s *stream.Stream[joinEv]) *stream.Collector[joinEv] {
		if crossTask {
			s = s.Rebalance()
		}
		return stream.Collect(s)
	}
	pc, gc := stream.Collect(stamped), stream.Collect(grouped)
	lates := []*stream.Collector[joinEv]{read(jla), read(jlb), read(gla), read(glb)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	ids := func(c *stream.Collector[joinEv], right bool) []int {
		var out []int
		for _, e := range c.Items() {
			if e.Right != right {
				t.Fatalf("element %d of the other side on a late output", e.ID)
			}
			out = append(out, e.ID)
		}
		slices.Sort(out)
		return out
	}
	lateA, lateB = ids(lates[0], false), ids(lates[1], true)
	if ga, gb := ids(lates[2], false), ids(lates[3], true); !slices.Equal(ga, lateA) || !slices.Equal(gb, lateB) {
		t.Fatalf("join and co-group disagree on late elements: %v %v and %v %v", lateA, lateB, ga, gb)
	}
	pairs, groups = pc.Items(), gc.Items()
	slices.Sort(pairs)
	slices.Sort(groups)
	return pairs, groups, lateA, lateB
}

// batchedSource is a source in one subtask that reads the batches given,
// one per Read, so that a watermark follows each.
func batchedSource(env *stream.Env, batches [][]joinEv) *stream.Stream[joinEv] {
	return stream.FromSource(env, "batches", false, func(context.Context, int, int) (stream.SourceReader[joinEv], error) {
		return &batchReader{batches: batches}, nil
	})
}

type batchReader struct{ batches [][]joinEv }

func (r *batchReader) Read(_ context.Context, buf []joinEv) (int, error) {
	if len(r.batches) == 0 {
		return 0, io.EOF
	}
	if len(buf) < len(r.batches[0]) {
		return 0, fmt.Errorf("a read of %d for a batch of %d", len(buf), len(r.batches[0]))
	}
	n := copy(buf, r.batches[0])
	r.batches = r.batches[1:]
	return n, nil
}

func (r *batchReader) Close() error { return nil }
func (r *batchReader) Inline() bool { return true }

func TestJoinAndCoGroupWithLatenessMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 31))
	iterations := 12
	if testing.Short() {
		iterations = 4
	}
	for _, kind := range []string{"tumbling", "sliding", "session"} {
		t.Run(kind, func(t *testing.T) {
			var refires, lates int
			// Cases go on (up to three times as many) until some firing was
			// for a late element and some element was late.
			for i := 0; i < iterations || (refires == 0 || lates == 0) && i < 3*iterations; i++ {
				c := randomLateJoinCase(rng, kind)
				wantPairs, wantGroups, wantLateA, wantLateB, n := c.twin()
				refires += n
				lates += len(wantLateA) + len(wantLateB)
				for _, par := range []int{1, 4} {
					crossTask := (i+par)%2 == 0
					pairs, groups, lateA, lateB := c.run(t, par, crossTask)
					where := fmt.Sprintf("case %d (%v, bound %d, lateness %d, batch %d), parallelism %d, late read across tasks %v",
						i, c.assigner, c.bound, c.lateness, c.batch, par, crossTask)
					if d := diff(wantPairs, pairs); d != "" {
						t.Fatalf("%s: join pairs differ from the twin:\n%s", where, d)
					}
					if d := diff(wantGroups, groups); d != "" {
						t.Fatalf("%s: co-group firings differ from the twin:\n%s", where, d)
					}
					if !slices.Equal(lateA, wantLateA) || !slices.Equal(lateB, wantLateB) {
						t.Fatalf("%s: late left %v, want %v; late right %v, want %v", where, lateA, wantLateA, lateB, wantLateB)
					}
				}
			}
			// The cases must exercise what they test.
			if refires == 0 || lates == 0 {
				t.Fatalf("%d late firings and %d late elements in all: the cases test too little", refires, lates)
			}
		})
	}
}

// Settings a window join refuses, each with its reason, when the job is
// built: a negative lateness, lateness without event time, windows that
// are not time or session windows.
func TestJoinWithLatenessRefusesBadSettings(t *testing.T) {
	for _, c := range []struct {
		name      string
		eventTime bool
		assigner  window.Assigner
		lateness  time.Duration
		want      string
	}{
		{"negative lateness", true, window.Tumbling(10), -1, "must not be negative"},
		{"processing time", false, window.Tumbling(10), 5, "needs event timestamps"},
		{"count windows", true, window.SlidingCount(3, 1), 0, "needs time or session windows"},
	} {
		for _, cogroup := range []bool{false, true} {
			env := stream.NewEnv()
			side := func() *stream.KeyedStream[int, joinEv] {
				s := stream.FromSlice(env, []joinEv{{ID: 1}})
				if c.eventTime {
					s = s.WithTimestamps(func(e joinEv) time.Time { return time.Unix(0, e.Ts) }, stream.MonotonousTimestamps())
				}
				return stream.KeyBy(s, func(e joinEv) int { return e.Key })
			}
			if cogroup {
				out, _, _ := stream.CoGroupWithLateness(side(), side(), c.assigner, c.lateness,
					func(int, window.Window, []joinEv, []joinEv, func(int)) {})
				stream.Collect(out)
			} else {
				out, _, _ := stream.JoinWithLateness(side(), side(), c.assigner, c.lateness, func(a, b joinEv) int { return 0 })
				stream.Collect(out)
			}
			err := env.Execute(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s (co-group %v): error %v, want one saying %q", c.name, cogroup, err, c.want)
			}
		}
	}
}
