package operators

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collect is an Input that records what reaches it.
type collect[T any] struct {
	vals  []T
	times []int64
	wms   []int64
	done  bool
}

func (c *collect[T]) Push(b *Batch[T]) error {
	c.vals = append(c.vals, b.Values...)
	c.times = append(c.times, b.Times...)
	return nil
}
func (c *collect[T]) Watermark(wm int64) error { c.wms = append(c.wms, wm); return nil }
func (c *collect[T]) Idle(bool) error          { return nil }
func (c *collect[T]) Finish() error            { c.done = true; return nil }

func testContext(clock Clock) *BuildContext {
	if clock == nil {
		clock = NewFakeClock(time.Unix(0, 0))
	}
	return &BuildContext{Parallelism: 1, MaxParallelism: 128, Clock: clock, task: &task{}, metrics: &opMetrics{}}
}

type kv struct {
	K string
	V int64
}

func countSpec(a window.Assigner, eventTime bool, lateness int64) WindowSpec[kv, string, int64, string] {
	return WindowSpec[kv, string, int64, string]{
		Key:      func(e kv) string { return e.K },
		Hash:     state.HashString,
		Assigner: a,
		Agg: Agg[kv, int64]{First: func(e kv) int64 { return e.V }, Add: func(a int64, e kv) int64 { return a + e.V },
			Merge: func(a, b int64) int64 { return a + b }},
		Fire: func(k string, w window.Window, acc int64, emit func(string)) {
			emit(fmt.Sprintf("%s %v %d", k, w, acc))
		},
		EventTime: eventTime,
		Lateness:  lateness,
	}
}

func batch(ts []int64, vals ...kv) *Batch[kv] { return &Batch[kv]{Values: vals, Times: ts} }

// Flink docs, "Windows / Allowed Lateness": elements that arrive after the
// watermark has passed the end of the window but before it passes the end
// plus the allowed lateness are still added, and fire the window again.
func TestSlidingWindowHarness(t *testing.T) {
	out, late := &collect[string]{}, &collect[kv]{}
	bc := testContext(nil)
	op := NewTimeWindow(countSpec(window.Sliding(10, 5), true, 5), bc, out, late)
	must(t, op.Push(batch([]int64{3, 7, 12}, kv{"a", 1}, kv{"a", 2}, kv{"b", 4})))
	must(t, op.Watermark(9)) // fires [0,10) and [-5,5)
	want := []string{"a [-5,5) 1", "a [0,10) 3"}
	if !slices.Equal(out.vals, want) {
		t.Fatalf("after watermark 9: %v, want %v", out.vals, want)
	}
	if !slices.Equal(out.times, []int64{4, 9}) {
		t.Fatalf("result timestamps %v, want the windows' max timestamps", out.times)
	}
	// 8 is behind the watermark but within [0,10)'s lateness: [0,10) fires
	// again at once; [5,15) has not fired and simply takes it.
	must(t, op.Push(batch([]int64{8}, kv{"a", 10})))
	want = append(want, "a [0,10) 13")
	if !slices.Equal(out.vals, want) {
		t.Fatalf("after a late element: %v, want %v", out.vals, want)
	}
	must(t, op.Watermark(20)) // [5,15) and [10,20) fire; [0,10) is dropped at 9+5
	must(t, op.Push(batch([]int64{2}, kv{"a", 100})))
	if len(late.vals) != 1 || late.vals[0].V != 100 || bc.metrics.late.Load() != 1 {
		t.Fatalf("element at 2 behind watermark 20 should be late: %v", late.vals)
	}
	must(t, op.Watermark(MaxWatermark))
	must(t, op.Finish())
	want = append(want, "a [5,15) 12", "b [5,15) 4", "b [10,20) 4")
	if !slices.Equal(out.vals, want) || !out.done {
		t.Fatalf("final %v, want %v", out.vals, want)
	}
	if !slices.Equal(out.wms, []int64{9, 20, MaxWatermark}) {
		t.Fatalf("watermarks forwarded %v", out.wms)
	}
}

func TestProcessingTimeWindowTimers(t *testing.T) {
	clock := NewFakeClock(time.Unix(0, 100))
	out := &collect[string]{}
	op := NewTimeWindow(countSpec(window.Tumbling(50), false, 0), testContext(clock), out, nil)
	if op.nextTimer() != math.MaxInt64 {
		t.Fatalf("a window operator without data wants no timer")
	}
	must(t, op.Push(batch(nil, kv{"a", 1}, kv{"a", 1})))
	if got := op.nextTimer(); got != 149 {
		t.Fatalf("timer at %d, want 149 (end of [100,150) minus 1)", got)
	}
	clock.Advance(48)
	must(t, op.onTimer(clock.Now().UnixNano()))
	if len(out.vals) != 0 {
		t.Fatalf("fired early: %v", out.vals)
	}
	clock.Advance(1)
	must(t, op.onTimer(clock.Now().UnixNano()))
	if !slices.Equal(out.vals, []string{"a [100,150) 2"}) || out.times != nil {
		t.Fatalf("got %v (times %v)", out.vals, out.times)
	}
}

func TestSessionWindowHarness(t *testing.T) {
	out, late := &collect[string]{}, &collect[kv]{}
	op := NewSessionWindow(countSpec(window.Session(5), true, 0), testContext(nil), out, late)
	// 1 -> [1,6); 12 -> [12,17); 6 touches [1,6) -> [1,11); 8 -> [1,13)
	// which now touches [12,17): all one session [1,17).
	must(t, op.Push(batch([]int64{1, 12, 6}, kv{"a", 1}, kv{"a", 2}, kv{"a", 3})))
	must(t, op.Watermark(9)) // [1,11) fires at 10
	if len(out.vals) != 0 {
		t.Fatalf("fired early: %v", out.vals)
	}
	must(t, op.Push(batch([]int64{8}, kv{"a", 4})))
	must(t, op.Watermark(16))
	if !slices.Equal(out.vals, []string{"a [1,17) 10"}) {
		t.Fatalf("got %v", out.vals)
	}
	must(t, op.Push(batch([]int64{3}, kv{"a", 5}))) // [3,8) is late at 16
	if len(late.vals) != 1 {
		t.Fatalf("late %v", late.vals)
	}
}

func TestCountWindowHarness(t *testing.T) {
	out := &collect[string]{}
	op := NewCountWindow(countSpec(window.SlidingCount(3, 2), false, 0), testContext(nil), out)
	must(t, op.Push(batch(nil, kv{"a", 1}, kv{"a", 2}, kv{"b", 7}, kv{"a", 3}, kv{"a", 4}, kv{"a", 5})))
	must(t, op.Finish())
	// a fires after 2 (elements 0-1), 4 (1-3) and 6? no: a has 5 elements.
	want := []string{"a [0,2) 3", "a [1,4) 9"}
	if !slices.Equal(out.vals, want) {
		t.Fatalf("got %v, want %v (an incomplete count window does not fire at the end)", out.vals, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The per-record paths allocate nothing once warm: the map chain, the
// window operator's add, the keyed exchange.
func TestHotPathsDoNotAllocate(t *testing.T) {
	vals := make([]kv, 1024)
	times := make([]int64, 1024)
	for i := range vals {
		vals[i] = kv{fmt.Sprint(i % 100), int64(i)}
		times[i] = int64(i)
	}
	b := &Batch[kv]{Values: vals, Times: times}

	t.Run("map chain", func(t *testing.T) {
		sink := &Sink[int64]{f: func(*Batch[int64]) error { return nil }}
		chain := NewMap(func(e kv) kv { e.V++; return e }, Input[kv](NewFilter(func(e kv) bool { return e.V%2 == 0 },
			Input[kv](NewMap(func(e kv) int64 { return e.V }, Input[int64](sink))))))
		if n := testing.AllocsPerRun(100, func() { chain.Push(b) }); n != 0 {
			t.Fatalf("%v allocations per batch", n)
		}
	})
	t.Run("window add", func(t *testing.T) {
		op := NewTimeWindow(countSpec(window.Sliding(1<<40, 1<<30), true, 0), testContext(nil), &collect[string]{}, nil)
		op.Push(b)
		if n := testing.AllocsPerRun(100, func() { op.Push(b) }); n != 0 {
			t.Fatalf("%v allocations per batch", n)
		}
	})
	t.Run("keyed exchange", func(t *testing.T) {
		tk := &task{done: make(chan struct{})}
		recv := make(chan message, 64)
		var links []*link[kv]
		for i := range 4 {
			links = append(links, newLink[kv](recv, int32(i), 4, 1024, true))
		}
		hash := func(k string) uint64 { return uint64(len(k)) * 0x9e3779b97f4a7c15 }
		x := newKeyedExchange(newExchange(tk, links, 1024, true, false), func(e kv) string { return e.K }, hash, 128, "keyBy")
		drain := func() {
			for {
				select {
				case m := <-recv:
					if m.kind == msgData {
						links[m.ch].release(m.batch)
					}
				default:
					return
				}
			}
		}
		// Batches grow as they first fill: warm every credit of every link.
		for range 50 {
			x.Push(b)
			x.flush()
			drain()
		}
		if n := testing.AllocsPerRun(100, func() { x.Push(b); x.flush(); drain() }); n != 0 {
			t.Fatalf("%v allocations per batch", n)
		}
	})
}

// Two inputs: the watermark is the least of both, an idle input does not
// count, and the output ends once, when both inputs have.
func TestTwoInputWatermarks(t *testing.T) {
	out := &collect[string]{}
	c := NewCoMap(func(a int, emit func(string)) { emit(fmt.Sprint("a", a)) },
		func(b string, emit func(string)) { emit("b" + b) }, Input[string](out))
	ins := c.Inputs()
	a, b := ins[0].(Input[int]), ins[1].(Input[string])
	must(t, a.Watermark(5))
	must(t, b.Watermark(3))
	must(t, a.Watermark(8))
	if !slices.Equal(out.wms, []int64{3}) {
		t.Fatalf("watermarks %v, want [3]: the least of both inputs", out.wms)
	}
	must(t, b.Idle(true))
	if !slices.Equal(out.wms, []int64{3, 8}) {
		t.Fatalf("watermarks %v: an idle input must not hold the other back", out.wms)
	}
	must(t, b.Push(&Batch[string]{Values: []string{"x"}}))
	must(t, a.Push(&Batch[int]{Values: []int{1, 2}}))
	must(t, a.Finish())
	if out.done {
		t.Fatal("finished with one input still open")
	}
	must(t, b.Finish())
	if !out.done || !slices.Equal(out.vals, []string{"bx", "a1", "a2"}) {
		t.Fatalf("done %v, values %v", out.done, out.vals)
	}
}

// Interval join against its definition, on random interleavings of both
// sides and watermarks: an element is late when its timestamp is below the
// watermark at its arrival; the pairs are exactly the pairs of non-late
// elements of one key with a.ts+lower <= b.ts <= a.ts+upper, whatever the
// buffers dropped on the way.
func TestIntervalJoinHarness(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 8))
	type ev struct {
		right bool
		key   int
		ts    int64
		id    int
	}
	for round := range 200 {
		lower := int64(rng.IntN(21) - 10)
		upper := lower + int64(rng.IntN(15))
		out := &collect[string]{}
		lateA, lateB := &collect[ev]{}, &collect[ev]{}
		j := NewIntervalJoin(func(e ev) int { return e.key }, func(e ev) int { return e.key }, lower, upper,
			func(a, b ev) string { return fmt.Sprintf("%d-%d", a.id, b.id) }, testContext(nil), Input[string](out), Input[ev](lateA), Input[ev](lateB))
		ins := j.Inputs()
		left, right := ins[0].(Input[ev]), ins[1].(Input[ev])
		var ok []ev
		var wantLate []int
		wm := [2]int64{MinWatermark, MinWatermark}
		base := int64(0)
		for i := range 60 {
			if rng.IntN(4) == 0 {
				s := rng.IntN(2)
				wm[s] = max(wm[s], base-int64(rng.IntN(10)))
				if s == 0 {
					must(t, left.Watermark(wm[s]))
				} else {
					must(t, right.Watermark(wm[s]))
				}
				continue
			}
			base += int64(rng.IntN(3))
			e := ev{right: rng.IntN(2) == 1, key: rng.IntN(3), ts: base - int64(rng.IntN(12)), id: i}
			if e.ts < min(wm[0], wm[1]) {
				wantLate = append(wantLate, e.id)
			} else {
				ok = append(ok, e)
			}
			b := &Batch[ev]{Values: []ev{e}, Times: []int64{e.ts}}
			if e.right {
				must(t, right.Push(b))
			} else {
				must(t, left.Push(b))
			}
		}
		var want []string
		for _, a := range ok {
			for _, b := range ok {
				if !a.right && b.right && a.key == b.key && b.ts >= a.ts+lower && b.ts <= a.ts+upper {
					want = append(want, fmt.Sprintf("%d-%d", a.id, b.id))
				}
			}
		}
		got := slices.Clone(out.vals)
		slices.Sort(got)
		slices.Sort(want)
		var gotLate []int
		for _, e := range append(lateA.vals, lateB.vals...) {
			gotLate = append(gotLate, e.id)
		}
		slices.Sort(gotLate)
		if !slices.Equal(got, want) || !slices.Equal(gotLate, wantLate) {
			t.Fatalf("round %d [%d,%d]: pairs %v, want %v; late %v, want %v", round, lower, upper, got, want, gotLate, wantLate)
		}
	}
}
