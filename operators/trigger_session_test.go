package operators

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/window"
)

// listSpec keeps each window's values in order and prints them when it
// fires: "key window [values]".
func listSpec(a window.Assigner, eventTime bool, lateness int64) WindowSpec[kv, string, []int64, string] {
	return WindowSpec[kv, string, []int64, string]{
		Key:      func(e kv) string { return e.K },
		Assigner: a,
		Agg: Agg[kv, []int64]{First: func(e kv) []int64 { return []int64{e.V} },
			Add: func(a []int64, e kv) []int64 { return append(a, e.V) }},
		Fire: func(k string, w window.Window, acc []int64, emit func(string)) {
			emit(fmt.Sprintf("%s %v %v", k, w, acc))
		},
		EventTime: eventTime,
		Lateness:  lateness,
	}
}

// Flink's CountTrigger on merging windows sums the counts of the merged
// windows (onMerge: ctx.mergePartitionedState), and fires at the element
// that brings the sum to the count. Two sessions of 2 elements each, under
// a count of 3, do not fire; an element bridging them makes one session of
// 5 elements, counted 2+2+1, which fires with all 5: the first session's,
// the second's, then the bridge.
func TestCountTriggerMergesCounts(t *testing.T) {
	out := &collect[string]{}
	op := NewTriggerWindow(listSpec(window.Session(10), true, 0), window.CountTrigger[kv](3), nil, nil, testContext(nil), out, nil)
	must(t, op.Push(batch([]int64{0, 2, 20, 22}, kv{"a", 1}, kv{"a", 2}, kv{"a", 3}, kv{"a", 4})))
	if len(out.vals) != 0 || op.windowCount() != 2 {
		t.Fatalf("two sessions of 2 under a count of 3: fired %v, %d sessions", out.vals, op.windowCount())
	}
	must(t, op.Push(batch([]int64{11}, kv{"a", 5}))) // [11,21) touches [0,12) and [20,32)
	if want := []string{"a [0,32) [1 2 3 4 5]"}; !slices.Equal(out.vals, want) {
		t.Fatalf("after the bridge: %v, want %v", out.vals, want)
	}
	// The count restarted at the firing: two more elements do not fire.
	must(t, op.Push(batch([]int64{12, 13}, kv{"a", 6}, kv{"a", 7})))
	if len(out.vals) != 1 {
		t.Fatalf("fired again after two elements: %v", out.vals)
	}
	if op.windowCount() != 1 || op.timerCount() != 1 {
		t.Fatalf("%d sessions and %d timers, want one session and its cleanup timer", op.windowCount(), op.timerCount())
	}
}

// A merged window fires when event time reaches its end-1, not at the
// ends of the sessions it absorbed (EventTimeTrigger.onMerge registers the
// merged window's timer; clear deletes the merged windows').
func TestEventTimeTriggerOnMergedSession(t *testing.T) {
	out := &collect[string]{}
	op := NewTriggerWindow(listSpec(window.Session(10), true, 0), window.EventTimeTrigger[kv](), nil, nil, testContext(nil), out, nil)
	must(t, op.Push(batch([]int64{0, 15}, kv{"a", 1}, kv{"a", 2})))
	must(t, op.Push(batch([]int64{8}, kv{"a", 3}))) // [8,18) joins [0,10) and [15,25)
	must(t, op.Watermark(23))
	if len(out.vals) != 0 {
		t.Fatalf("fired at an absorbed session's end: %v", out.vals)
	}
	if op.timerCount() != 1 {
		t.Fatalf("%d timers for one session [0,25) (its end-1 and its cleanup are one timer)", op.timerCount())
	}
	must(t, op.Watermark(24))
	if want := []string{"a [0,25) [1 2 3]"}; !slices.Equal(out.vals, want) {
		t.Fatalf("got %v, want %v", out.vals, want)
	}
	if op.windowCount() != 0 || op.timerCount() != 0 {
		t.Fatalf("%d sessions and %d timers left after cleanup", op.windowCount(), op.timerCount())
	}
}

// Processing-time sessions with ProcessingTimeTrigger, on the fake clock:
// the merged session fires at its end-1, its absorbed session's timer is
// gone.
func TestProcessingTimeTriggerOnSessions(t *testing.T) {
	clock := NewFakeClock(time.Unix(0, 100))
	out := &collect[string]{}
	op := NewTriggerWindow(listSpec(window.Session(50), false, 0), window.ProcessingTimeTrigger[kv](), nil, nil, testContext(clock), out, nil)
	must(t, op.Push(batch(nil, kv{"a", 1})))
	clock.Advance(30)
	must(t, op.Push(batch(nil, kv{"a", 2}))) // [130,180) joins [100,150)
	if op.timerCount() != 1 || op.nextTimer() != 179 {
		t.Fatalf("%d timers, next at %d; want one, at 179", op.timerCount(), op.nextTimer())
	}
	clock.Advance(48)
	must(t, op.onTimer(clock.Now().UnixNano()))
	if len(out.vals) != 0 {
		t.Fatalf("fired early: %v", out.vals)
	}
	clock.Advance(1)
	must(t, op.onTimer(clock.Now().UnixNano()))
	if want := []string{"a [100,180) [1 2]"}; !slices.Equal(out.vals, want) {
		t.Fatalf("got %v, want %v", out.vals, want)
	}
	if op.windowCount() != 0 || op.timerCount() != 0 {
		t.Fatalf("%d sessions and %d timers left", op.windowCount(), op.timerCount())
	}
}

// No timer outlives its window or the merge that absorbs it: through long
// runs of extensions, merges and firings, with each merging trigger, a
// session holds at most two timers (a trigger timer and its cleanup), and
// none is left once every session is gone.
func TestSessionTriggerTimersFollowSessions(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 9))
	triggers := map[string]window.Trigger[kv]{
		"count":          window.CountTrigger[kv](3),
		"event time":     window.EventTimeTrigger[kv](),
		"every":          window.Every[kv](7, true),
		"purging(event)": window.Purging(window.EventTimeTrigger[kv]()),
	}
	for name, trig := range triggers {
		for c := range 20 {
			gap, lateness := 1+rng.Int64N(15), rng.Int64N(3)*rng.Int64N(20)
			op := NewTriggerWindow(listSpec(window.Session(time.Duration(gap)), true, lateness), trig, nil, nil, testContext(nil), &collect[string]{}, nil)
			base, wm := int64(0), int64(MinWatermark)
			for range 100 {
				n := 1 + rng.IntN(20)
				vals, times := make([]kv, n), make([]int64, n)
				for i := range vals {
					base += rng.Int64N(3)
					vals[i], times[i] = kv{fmt.Sprint(rng.IntN(5)), 1}, base-rng.Int64N(2*gap)
				}
				must(t, op.Push(batch(times, vals...)))
				if w := base - rng.Int64N(2*gap); w > wm {
					wm = w
					must(t, op.Watermark(wm))
				}
				if tc, wc := op.timerCount(), op.windowCount(); tc > 2*wc {
					t.Fatalf("%s, case %d (gap %d, lateness %d): %d timers for %d sessions", name, c, gap, lateness, tc, wc)
				}
			}
			must(t, op.Watermark(MaxWatermark))
			if tc, wc := op.timerCount(), op.windowCount(); tc != 0 || wc != 0 {
				t.Fatalf("%s, case %d: %d timers and %d sessions left after the final watermark", name, c, tc, wc)
			}
		}
	}
}

// One session extended by many elements keeps the timers of one window.
func TestLongTriggeredSessionKeepsItsTimers(t *testing.T) {
	op := NewTriggerWindow(listSpec(window.Session(100), true, 10), window.EventTimeTrigger[kv](), nil, nil, testContext(nil), &collect[string]{}, nil)
	for i := range int64(2000) {
		must(t, op.Push(batch([]int64{i}, kv{"a", 1})))
	}
	if op.timerCount() != 2 {
		t.Fatalf("%d timers for one session (want its end-1 and its cleanup)", op.timerCount())
	}
}

// Time 0, the Unix epoch, is a time like any other: a window whose end-1
// is 0 fires there, and a periodic trigger fires at 0 and goes on. (The
// trigger's state once took 0 for "no timer", and lost both.)
func TestTriggerTimersAtTimeZero(t *testing.T) {
	out := &collect[string]{}
	op := NewTriggerWindow(listSpec(window.Session(10), true, 5), window.EventTimeTrigger[kv](), nil, nil, testContext(nil), out, nil)
	must(t, op.Push(batch([]int64{-9}, kv{"a", 1}))) // [-9,1): end-1 is 0
	must(t, op.Watermark(0))
	if want := []string{"a [-9,1) [1]"}; !slices.Equal(out.vals, want) {
		t.Fatalf("event time trigger at 0: %v, want %v", out.vals, want)
	}

	out = &collect[string]{}
	op = NewTriggerWindow(listSpec(window.Session(10), true, 0), window.Every[kv](2, true), nil, nil, testContext(nil), out, nil)
	must(t, op.Push(batch([]int64{-3}, kv{"a", 1}))) // [-3,7), firing at -2, 0, 2, 4, 6
	must(t, op.Watermark(6))
	if len(out.vals) != 5 {
		t.Fatalf("every 2 from -3 to the cleanup at 6: %d firings %v, want 5", len(out.vals), out.vals)
	}
}

// The general operator on session windows allocates nothing per element
// once warm: windows, their buffers and the keys' lists are reused.
func TestSessionTriggerWindowDoesNotAllocate(t *testing.T) {
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
		Lateness:  20,
	}
	var fired int64
	sink := &Sink[int64]{f: func(b *Batch[int64]) error { fired += int64(len(b.Values)); return nil }}
	for name, trig := range map[string]window.Trigger[kv]{
		"event time": window.EventTimeTrigger[kv](),
		"count":      window.Purging(window.CountTrigger[kv](4)),
		"every":      window.Every[kv](128, true),
	} {
		op := NewTriggerWindow(spec, trig, window.CountEvictor[kv](3), nil, testContext(nil), Input[int64](sink), nil)
		next := int64(0)
		push := func() {
			for i := range times {
				times[i] = next - int64(i%5) // a little out of order: merges
				next++
			}
			next += 2000 // a gap closes every session
			op.Push(&Batch[kv]{Values: vals, Times: times})
			op.Watermark(next - 600)
		}
		for range 10 {
			push()
		}
		fired = 0
		if n := testing.AllocsPerRun(30, push); n != 0 {
			t.Errorf("%s: %v allocations per batch", name, n)
		}
		if fired == 0 {
			t.Errorf("%s: nothing fired: the test measures nothing", name)
		}
	}
}
