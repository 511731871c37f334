package stream_test

// Window semantics against a brute-force twin. The twin keeps every element
// of every (key, window) and recomputes each window from them when it fires,
// following Flink's WindowOperator rule by rule:
//   - an element is assigned its windows; windows whose maxTimestamp +
//     allowedLateness <= watermark are skipped (isWindowLate); an element
//     with every window skipped is late and goes to the late output;
//   - a window fires when the watermark reaches its maxTimestamp, and at
//     once when an element joins it after that (EventTimeTrigger.onElement);
//   - its state is dropped at maxTimestamp + allowedLateness;
//   - sessions merge when they overlap or touch (TimeWindow.intersects);
//   - count windows fire every slide elements of a key with the last size.
// At parallelism 1 the watermark sequence is known exactly (one watermark
// per source batch: max timestamp - bound - 1), so the twin predicts every
// firing, including late ones. At parallelism 4 the sequence depends on
// timing, so those runs use a bound that admits no late element and must
// match the twin's final results exactly.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type ev struct {
	ID  int
	Key int
	Ts  int64
	Val int64
}

type refCase struct {
	events   []ev
	assigner window.Assigner
	bound    int64 // out-of-orderness, ns
	lateness int64
	batch    int // source batch size: one watermark per batch
	fn       string
}

// twin simulates the window operator over the watermark sequence of a
// single source subtask and returns the results and late element ids.
func (c refCase) twin() (results []string, late []int) {
	type kw struct {
		key int
		w   window.Window
	}
	state := map[kw][]ev{}
	wm := int64(math.MinInt64)
	fire := func(k kw) {
		results = append(results, formatResult(c.fn, k.key, k.w, state[k]))
	}
	isLate := func(w window.Window) bool { return window.IsLate(w, c.lateness, wm) }
	advance := func(newWm int64) {
		if newWm <= wm {
			return
		}
		old := wm
		wm = newWm
		var keys []kw
		for k := range state {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].w.End < keys[j].w.End })
		for _, k := range keys {
			if mt := k.w.MaxTimestamp(); mt > old && mt <= wm {
				fire(k)
			}
			if window.CleanupTime(k.w, c.lateness) <= wm {
				delete(state, k)
			}
		}
	}
	// sessions per key, for merging
	sessions := map[int][]window.Window{}
	counts := map[int][]ev{}
	maxTs := int64(math.MinInt64)
	for i, e := range c.events {
		switch a := c.assigner.(type) {
		case window.TimeWindows:
			skipped := true
			for _, w := range a.Assign(e.Ts, nil) {
				if isLate(w) {
					continue
				}
				skipped = false
				k := kw{e.Key, w}
				state[k] = append(state[k], e)
				if w.MaxTimestamp() <= wm {
					fire(k)
				}
			}
			if skipped {
				late = append(late, e.ID)
			}
		case window.SessionWindows:
			w := a.Assign(e.Ts)
			ss := sessions[e.Key]
			merged, lo, hi := window.MergeSession(ss, w)
			if lo == hi && isLate(merged) {
				late = append(late, e.ID)
				break
			}
			var elems []ev
			for _, s := range ss[lo:hi] {
				elems = append(elems, state[kw{e.Key, s}]...)
				delete(state, kw{e.Key, s})
			}
			elems = append(elems, e)
			ss = slices.Replace(ss, lo, hi, merged)
			sessions[e.Key] = ss
			state[kw{e.Key, merged}] = elems
			if merged.MaxTimestamp() <= wm {
				fire(kw{e.Key, merged})
			}
		case window.CountWindows:
			counts[e.Key] = append(counts[e.Key], e)
			n := int64(len(counts[e.Key]))
			if n%a.Slide == 0 {
				first := max(0, n-a.Size)
				results = append(results, formatResult(c.fn, e.Key, window.Window{Start: first, End: n}, counts[e.Key][first:]))
			}
		}
		maxTs = max(maxTs, e.Ts)
		if (i+1)%c.batch == 0 || i == len(c.events)-1 {
			if _, ok := c.assigner.(window.CountWindows); !ok {
				if maxTs >= math.MinInt64+c.bound+1 { // the watermark saturates at the start of time
					advance(maxTs - c.bound - 1)
				}
				// drop sessions whose state was cleaned up
				for k, ss := range sessions {
					live := ss[:0]
					for _, s := range ss {
						if _, ok := state[kw{k, s}]; ok {
							live = append(live, s)
						}
					}
					sessions[k] = live
				}
			}
		}
	}
	if _, ok := c.assigner.(window.CountWindows); !ok {
		advance(math.MaxInt64)
	}
	sort.Strings(results)
	sort.Ints(late)
	return results, late
}

func formatResult(fn string, key int, w window.Window, elems []ev) string {
	var v string
	switch fn {
	case "count":
		v = fmt.Sprint(len(elems))
	case "sum":
		var s int64
		for _, e := range elems {
			s += e.Val
		}
		v = fmt.Sprint(s)
	case "max":
		m := elems[0].Val
		for _, e := range elems {
			m = max(m, e.Val)
		}
		v = fmt.Sprint(m)
	case "apply":
		ids := make([]int, len(elems))
		for i, e := range elems {
			ids[i] = e.ID
		}
		sort.Ints(ids)
		v = fmt.Sprint(ids)
	}
	return fmt.Sprintf("%d %v %s", key, w, v)
}

// run executes the case through the real runtime.
func (c refCase) run(t testing.TB, parallelism int) (results []string, late []int) {
	env := stream.NewEnv(stream.WithBatchSize(c.batch), stream.WithParallelism(parallelism))
	src := stream.FromSlice(env, c.events)
	if parallelism > 1 {
		src = stream.Generate(env, func(i int64) ev { return c.events[i] }, stream.Limit(int64(len(c.events))))
	}
	timed := src
	if _, ok := c.assigner.(window.CountWindows); !ok {
		timed = src.WithTimestamps(func(e ev) time.Time { return time.Unix(0, e.Ts) }, stream.BoundedOutOfOrderness(time.Duration(c.bound)))
	}
	ws := stream.KeyBy(timed, func(e ev) int { return e.Key }).Window(c.assigner).AllowedLateness(time.Duration(c.lateness))
	var out *stream.Collector[string]
	switch c.fn {
	case "count":
		out = collectResults(stream.Count(ws), func(v int64) string { return fmt.Sprint(v) })
	case "sum":
		out = collectResults(stream.Sum(ws, func(e ev) int64 { return e.Val }), func(v int64) string { return fmt.Sprint(v) })
	case "max":
		out = collectResults(stream.Max(ws, func(e ev) int64 { return e.Val }), func(v int64) string { return fmt.Sprint(v) })
	case "apply":
		out = stream.Collect(stream.Apply(ws, func(k int, w window.Window, elems []ev, emit func(string)) {
			emit(formatResult("apply", k, w, elems))
		}))
	}
	var lateC *stream.Collector[ev]
	if _, ok := c.assigner.(window.CountWindows); !ok {
		lateC = stream.Collect(ws.Late())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	results = out.Items()
	sort.Strings(results)
	if lateC != nil {
		for _, e := range lateC.Items() {
			late = append(late, e.ID)
		}
	}
	sort.Ints(late)
	return results, late
}

func collectResults[V any](s *stream.Stream[window.Result[int, V]], f func(V) string) *stream.Collector[string] {
	return stream.Collect(stream.Map(s, func(r window.Result[int, V]) string {
		return fmt.Sprintf("%d %v %s", r.Key, r.Window, f(r.Value))
	}))
}

func randomCase(rng *rand.Rand, kind string, noLate bool) refCase {
	n := 50 + rng.IntN(400)
	keys := 1 + rng.IntN(6)
	disorder := int64(rng.IntN(40))
	events := make([]ev, n)
	base := int64(rng.IntN(200)) - 100 // negative times too
	// "kind@max" and "kind@min" put the events against the ends of the
	// int64 range, where windows are clipped.
	kind, edge, _ := strings.Cut(kind, "@")
	switch edge {
	case "max":
		base = math.MaxInt64 - int64(3*n) + int64(rng.IntN(200))
	case "min":
		base = math.MinInt64 + disorder + int64(rng.IntN(50))
	}
	for i := range events {
		base += int64(rng.IntN(4))
		if base < 0 && edge == "max" {
			base = math.MaxInt64 // wrapped: stay at the end
		}
		ts := base - int64(rng.Int64N(disorder+1))
		events[i] = ev{ID: i, Key: rng.IntN(keys), Ts: ts, Val: rng.Int64N(1000)}
	}
	c := refCase{events: events, batch: 1 + rng.IntN(20), fn: []string{"count", "sum", "max", "apply"}[rng.IntN(4)]}
	c.bound = rng.Int64N(disorder + 1)
	if rng.IntN(2) == 0 {
		c.lateness = rng.Int64N(30)
	}
	if noLate {
		// With the watermark one more than the disorder behind, no element
		// is late and none can arrive touching a session that has closed, so
		// the results do not depend on how watermarks interleave.
		c.bound, c.lateness = disorder+1, 0
	}
	switch kind {
	case "tumbling":
		c.assigner = window.Tumbling(time.Duration(1 + rng.IntN(30)))
	case "sliding":
		slide := 1 + rng.IntN(12)
		c.assigner = window.Sliding(time.Duration(slide*(1+rng.IntN(5))+rng.IntN(slide)), time.Duration(slide))
	case "session":
		c.assigner = window.Session(time.Duration(1 + rng.IntN(15)))
	case "count":
		size := int64(1 + rng.IntN(8))
		c.assigner = window.SlidingCount(size, 1+rng.Int64N(size))
		c.lateness = 0
	}
	return c
}

func TestWindowsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	iterations := 40
	if testing.Short() {
		iterations = 10
	}
	for _, kind := range []string{"tumbling", "sliding", "session", "count",
		"tumbling@max", "sliding@max", "session@max", "tumbling@min", "sliding@min", "session@min"} {
		t.Run(kind, func(t *testing.T) {
			for i := range iterations {
				c := randomCase(rng, kind, false)
				want, wantLate := c.twin()
				got, gotLate := c.run(t, 1)
				if d := diff(want, got); d != "" || !slices.Equal(wantLate, gotLate) {
					t.Fatalf("case %d (%v, fn %s, bound %d, lateness %d, batch %d, %d events): results differ from the brute-force twin:\n%s\nlate want %v\nlate got  %v",
						i, c.assigner, c.fn, c.bound, c.lateness, c.batch, len(c.events), d, wantLate, gotLate)
				}
			}
		})
	}
}

func TestWindowsMatchBruteForceParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	iterations := 15
	if testing.Short() {
		iterations = 4
	}
	for _, kind := range []string{"tumbling", "sliding", "session", "sliding@max", "sliding@min"} {
		t.Run(kind, func(t *testing.T) {
			for i := range iterations {
				c := randomCase(rng, kind, true)
				want, _ := c.twin()
				got, gotLate := c.run(t, 4)
				if d := diff(want, got); d != "" || len(gotLate) > 0 {
					t.Fatalf("case %d (%v, fn %s, bound %d, %d events): results differ from the brute-force twin:\n%s\nlate: %v",
						i, c.assigner, c.fn, c.bound, len(c.events), d, gotLate)
				}
			}
		})
	}
}

// diff lists the lines only in want (-) and only in got (+), both sorted.
func diff(want, got []string) string {
	var b strings.Builder
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || i < len(want) && want[i] < got[j]:
			fmt.Fprintf(&b, "- %s\n", want[i])
			i++
		case i == len(want) || want[i] > got[j]:
			fmt.Fprintf(&b, "+ %s\n", got[j])
			j++
		default:
			i++
			j++
		}
	}
	return b.String()
}
