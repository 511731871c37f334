package operators

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/window"
)

// Flink's WindowOperator keeps one timer per open session: when windows
// merge, the merged-away windows' timers are deleted (MergingWindowSet's
// merge callback, triggerContext.onMerge and clear). Here, after every
// batch and watermark of a random run with many extensions, merges, late
// elements and allowed lateness, the operator holds exactly one timer per
// open session, so its memory follows the sessions, not the elements.
func TestSessionTimersFollowOpenSessions(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 7))
	for c := range 50 {
		gap := 1 + rng.Int64N(20)
		lateness := int64(0)
		if rng.IntN(2) == 0 {
			lateness = rng.Int64N(40)
		}
		out := &collect[string]{}
		op := NewSessionWindow(countSpec(window.Session(time.Duration(gap)), true, lateness), testContext(nil), out, nil)
		keys := 1 + rng.IntN(8)
		base, wm := int64(0), int64(-1<<62)
		for range 200 {
			n := 1 + rng.IntN(30)
			vals, times := make([]kv, n), make([]int64, n)
			for i := range vals {
				base += rng.Int64N(4)
				vals[i] = kv{fmt.Sprint("k", rng.IntN(keys)), 1}
				times[i] = base - rng.Int64N(3*gap) // disorder bridges sessions
			}
			must(t, op.Push(batch(times, vals...)))
			if l, s := op.liveTimers(), op.openSessions(); l != s {
				t.Fatalf("case %d (gap %d, lateness %d): %d timers for %d open sessions after a batch", c, gap, lateness, l, s)
			}
			if w := base - rng.Int64N(2*gap); w > wm {
				wm = w
				must(t, op.Watermark(wm))
				if l, s := op.liveTimers(), op.openSessions(); l != s {
					t.Fatalf("case %d (gap %d, lateness %d): %d timers for %d open sessions after watermark %d", c, gap, lateness, l, s, wm)
				}
			}
		}
		must(t, op.Watermark(MaxWatermark))
		if l, s := op.liveTimers(), op.openSessions(); l != 0 || s != 0 {
			t.Fatalf("case %d: %d timers and %d sessions left after the final watermark", c, l, s)
		}
	}
}

// One session extended by a million elements, in order and slightly out
// of order, holds one timer all along.
func TestLongSessionHasOneTimer(t *testing.T) {
	out := &collect[string]{}
	op := NewSessionWindow(countSpec(window.Session(1000), true, 0), testContext(nil), out, nil)
	vals, times := make([]kv, 1000), make([]int64, 1000)
	for i := range vals {
		vals[i] = kv{"a", 1}
	}
	first, last := int64(0), int64(0)
	for b := range int64(1000) {
		for i := range times {
			times[i] = b*1000 + int64(i) - int64(i%7)*3
			first, last = min(first, times[i]), max(last, times[i])
		}
		must(t, op.Push(batch(times, vals...)))
		must(t, op.Watermark(b*1000+500))
		if l := op.liveTimers(); l != 1 {
			t.Fatalf("after %d elements: %d timers for one session", (b+1)*1000, l)
		}
	}
	must(t, op.Watermark(MaxWatermark))
	if want := []string{fmt.Sprintf("a [%d,%d) 1000000", first, last+1000)}; !slices.Equal(out.vals, want) {
		t.Fatalf("got %v, want %v", out.vals, want)
	}
}

// Flink's EventTimeTrigger with allowed lateness: a session that has fired
// and waits for its cleanup, joined by an element that makes it end after
// the watermark, fires again when the watermark reaches its new end-1 (the
// merged window's timer), not at the old cleanup time and not at once.
// Both ways in: the element extends the session, or bridges two.
func TestFiredSessionExtendedFiresAtNewEnd(t *testing.T) {
	t.Run("extended", func(t *testing.T) {
		out := &collect[string]{}
		op := NewSessionWindow(countSpec(window.Session(10), true, 100), testContext(nil), out, nil)
		must(t, op.Push(batch([]int64{0}, kv{"a", 1})))
		must(t, op.Watermark(9)) // [0,10) fires; cleanup at 109
		must(t, op.Push(batch([]int64{10}, kv{"a", 2})))
		must(t, op.Watermark(18))
		if want := []string{"a [0,10) 1"}; !slices.Equal(out.vals, want) {
			t.Fatalf("before the new end: %v, want %v", out.vals, want)
		}
		must(t, op.Watermark(19))
		if want := []string{"a [0,10) 1", "a [0,20) 3"}; !slices.Equal(out.vals, want) {
			t.Fatalf("at the new end-1: %v, want %v", out.vals, want)
		}
		must(t, op.Push(batch([]int64{5}, kv{"a", 4}))) // within lateness: fires at once
		if want := []string{"a [0,10) 1", "a [0,20) 3", "a [0,20) 7"}; !slices.Equal(out.vals, want) {
			t.Fatalf("after a late element: %v, want %v", out.vals, want)
		}
		must(t, op.Watermark(118))
		if op.openSessions() != 1 {
			t.Fatalf("dropped before its cleanup time 119")
		}
		must(t, op.Watermark(119))
		if op.openSessions() != 0 || op.liveTimers() != 0 {
			t.Fatalf("%d sessions, %d timers after cleanup", op.openSessions(), op.liveTimers())
		}
	})
	t.Run("bridged", func(t *testing.T) {
		out := &collect[string]{}
		op := NewSessionWindow(countSpec(window.Session(10), true, 100), testContext(nil), out, nil)
		must(t, op.Push(batch([]int64{0, 18}, kv{"a", 1}, kv{"a", 2})))
		must(t, op.Watermark(9)) // [0,10) fires
		// 9 bridges [0,10) and [18,28): [0,28), ending after the watermark.
		must(t, op.Push(batch([]int64{9}, kv{"a", 4})))
		if op.liveTimers() != 1 || op.openSessions() != 1 {
			t.Fatalf("%d timers for %d sessions after the merge", op.liveTimers(), op.openSessions())
		}
		must(t, op.Watermark(26))
		if want := []string{"a [0,10) 1"}; !slices.Equal(out.vals, want) {
			t.Fatalf("before the merged end: %v, want %v", out.vals, want)
		}
		must(t, op.Watermark(27))
		if want := []string{"a [0,10) 1", "a [0,28) 7"}; !slices.Equal(out.vals, want) {
			t.Fatalf("at the merged end-1: %v, want %v", out.vals, want)
		}
	})
}

// The session operator's per-element path allocates nothing once warm.
func TestSessionWindowAddDoesNotAllocate(t *testing.T) {
	vals, times := make([]kv, 1024), make([]int64, 1024)
	for i := range vals {
		vals[i] = kv{fmt.Sprint(i % 100), int64(i)}
	}
	spec := WindowSpec[kv, string, int64, int64]{
		Key:      func(e kv) string { return e.K },
		Assigner: window.Session(500),
		Agg: Agg[kv, int64]{First: func(e kv) int64 { return e.V }, Add: func(a int64, e kv) int64 { return a + e.V },
			Merge: func(a, b int64) int64 { return a + b }},
		Fire:      func(_ string, _ window.Window, acc int64, emit func(int64)) { emit(acc) },
		EventTime: true,
	}
	var fired int64
	sink := &Sink[int64]{f: func(b *Batch[int64]) error { fired += int64(len(b.Values)); return nil }}
	op := NewSessionWindow(spec, testContext(nil), Input[int64](sink), nil)
	next := int64(0)
	push := func() {
		for i := range times {
			times[i] = next
			next++
		}
		next += 2000 // a gap closes every session
		op.Push(&Batch[kv]{Values: vals, Times: times})
		op.Watermark(next - 600)
	}
	for range 10 {
		push()
	}
	if n := testing.AllocsPerRun(100, push); n != 0 {
		t.Fatalf("%v allocations per batch", n)
	}
	if fired == 0 {
		t.Fatalf("no session fired: the test measures nothing")
	}
}

// timerHeap against a sorted slice: any mix of adds, moves and removes
// gives the timers back in (time, order set) order.
func TestTimerHeapMatchesSortedSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 8))
	type entry struct {
		at  int64
		seq int
		h   int32
	}
	for range 200 {
		var q timerHeap
		var model []entry
		seq := 0
		for range 500 {
			switch op := rng.IntN(10); {
			case op < 4 || len(model) == 0:
				at := rng.Int64N(50)
				seq++
				model = append(model, entry{at, seq, q.add(at, int32(seq))})
			case op < 6:
				i := rng.IntN(len(model))
				at := rng.Int64N(50)
				q.move(model[i].h, at)
				seq++
				model[i].at, model[i].seq = at, seq
			case op < 8:
				i := rng.IntN(len(model))
				q.remove(model[i].h)
				model = slices.Delete(model, i, i+1)
			default:
				slices.SortFunc(model, func(a, b entry) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq)) })
				tm, ok := q.min()
				if !ok || tm.h != model[0].h || tm.at != model[0].at || q.at(tm.h) != tm.at {
					t.Fatalf("min %+v (%v), want %+v", tm, ok, model[0])
				}
				q.remove(tm.h)
				model = model[1:]
			}
			if len(q.heap) != len(model) {
				t.Fatalf("%d timers, want %d", len(q.heap), len(model))
			}
		}
	}
}
