package stream_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Elements at the ends of event time (int64 nanoseconds) go into the
// windows window.Assign gives them, clipped at the ends, and the job ends:
// window arithmetic saturates instead of wrapping around into a loop.
func TestWindowsAtTheEndsOfTime(t *testing.T) {
	assigners := []window.Assigner{
		window.Tumbling(time.Second), window.Tumbling(time.Hour), window.Tumbling(1),
		window.Sliding(time.Hour, time.Second), window.Sliding(10*time.Second, 3*time.Second),
		window.Tumbling(24 * time.Hour).WithOffset(-8 * time.Hour),
		window.Session(time.Hour),
	}
	for _, a := range assigners {
		for _, ts := range []int64{math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1} {
			for _, lateness := range []time.Duration{0, time.Minute} {
				t.Run(fmt.Sprintf("%v/%d/lateness %v", a, ts, lateness), func(t *testing.T) {
					var want []string
					var wantLate []int64
					switch a := a.(type) {
					case window.TimeWindows:
						// A window whose max timestamp is math.MinInt64 is
						// late before any watermark (Flink's isWindowLate).
						for _, w := range a.Assign(ts, nil) {
							if !window.IsLate(w, int64(lateness), math.MinInt64) {
								want = append(want, fmt.Sprintf("%v 1", w))
							}
						}
						if len(want) == 0 {
							wantLate = []int64{ts}
						}
					case window.SessionWindows:
						want = []string{fmt.Sprintf("%v 1", a.Assign(ts))}
					}
					slices.Sort(want)
					env := stream.NewEnv()
					src := stream.FromSlice(env, []int64{ts}).
						WithTimestamps(func(v int64) time.Time { return time.Unix(0, v) }, stream.MonotonousTimestamps())
					ws := stream.KeyBy(src, func(int64) int { return 0 }).Window(a).AllowedLateness(lateness)
					out := stream.Collect(stream.Map(stream.Count(ws), func(r window.Result[int, int64]) string {
						return fmt.Sprintf("%v %d", r.Window, r.Value)
					}))
					late := stream.Collect(ws.Late())
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					if err := env.Execute(ctx); err != nil {
						if errors.Is(err, context.DeadlineExceeded) {
							t.Fatal("the job hung")
						}
						t.Fatal(err)
					}
					got := out.Items()
					slices.Sort(got)
					if !slices.Equal(got, want) || !slices.Equal(late.Items(), wantLate) {
						t.Fatalf("windows %v, late %v; want %v, late %v", got, late.Items(), want, wantLate)
					}
				})
			}
		}
	}
}

// A stream that crosses both ends: elements at the end of time, then
// elements at its start (all late), then more at the end within the allowed
// lateness, which fire their windows again. With timestamps as time.Time
// and as int64 nanoseconds.
func TestLateElementsAtTheEndOfTime(t *testing.T) {
	for _, unixNano := range []bool{false, true} {
		t.Run(fmt.Sprintf("WithTimestampsUnixNano %v", unixNano), func(t *testing.T) { lateAtTheEndOfTime(t, unixNano) })
	}
}

func lateAtTheEndOfTime(t *testing.T, unixNano bool) {
	env := stream.NewEnv(stream.WithBatchSize(1)) // a watermark after every element
	const top = math.MaxInt64
	src := stream.FromSlice(env, []int64{top - 5, top, math.MinInt64, top - 3})
	if unixNano {
		src = src.WithTimestampsUnixNano(func(v int64) int64 { return v }, stream.MonotonousTimestamps())
	} else {
		src = src.WithTimestamps(func(v int64) time.Time { return time.Unix(0, v) }, stream.MonotonousTimestamps())
	}
	ws := stream.KeyBy(src, func(int64) int { return 0 }).Window(window.Sliding(4, 2)).AllowedLateness(10)
	out := stream.Collect(stream.Map(stream.Count(ws), func(r window.Result[int, int64]) string {
		return fmt.Sprintf("%v %d", r.Window, r.Value)
	}))
	late := stream.Collect(ws.Late())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	// Windows of size 4 every 2 (starts even; top is odd): top-5 is in
	// [top-7,top-3) and [top-5,top-1); top in [top-3,top+1) and
	// [top-1,top+3), both clipped to end at top. The watermark top-1 fires
	// them all; top-3 then joins [top-5,top-1) and [top-3,top) within the
	// allowed lateness and fires them again.
	w := func(start, end int64, n int) string {
		return fmt.Sprintf("%v %d", window.Window{Start: start, End: end}, n)
	}
	want := []string{
		w(top-7, top-3, 1),
		w(top-5, top-1, 1), w(top-5, top-1, 2),
		w(top-3, top, 1), w(top-3, top, 2),
		w(top-1, top, 1),
	}
	got := out.Items()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("windows\n%v\nwant\n%v", got, want)
	}
	if l := late.Items(); !slices.Equal(l, []int64{math.MinInt64}) {
		t.Errorf("late %v, want the element at the start of time", l)
	}
}

// Timestamps event time cannot hold (before 1678, after 2262) never go
// into a window: the elements go to WithTimestamps' dead letters, counted,
// and the elements around them are kept.
func TestTimestampsOutOfRangeGoToDeadLetters(t *testing.T) {
	type rec struct {
		ID int
		At time.Time
	}
	in := []rec{
		{7, time.Unix(0, math.MinInt64)}, // the first instant event time holds
		{8, time.Unix(0, math.MinInt64).Add(-time.Nanosecond)},
		{1, time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)},
		{2, time.Time{}}, // year 1: the zero time
		{3, time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC)},
		{4, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
		{5, time.Unix(0, math.MaxInt64)},                      // the last instant event time holds
		{6, time.Unix(0, math.MaxInt64).Add(time.Nanosecond)}, // one past it
	}
	for _, batch := range []int{1, 3, 4096} {
		env := stream.NewEnv(stream.WithBatchSize(batch))
		src := stream.FromSlice(env, in).WithTimestamps(func(r rec) time.Time { return r.At }, stream.MonotonousTimestamps()).
			Name("stamp")
		counts := stream.Collect(stream.Map(stream.Count(stream.KeyBy(src, func(rec) int { return 0 }).
			Window(window.Tumbling(time.Hour)).AllowedLateness(1<<62)), func(r window.Result[int, int64]) string {
			return fmt.Sprintf("%v", r.Window.StartTime().Year())
		}))
		dead := stream.Collect(stream.DeadLetters(src))
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		var ids []int
		for _, d := range dead.Items() {
			if !errors.Is(d.Err, stream.ErrTimestampRange) {
				t.Errorf("dead letter %v: error not marked ErrTimestampRange", d)
			}
			ids = append(ids, d.Value.ID)
		}
		if !slices.Equal(ids, []int{8, 2, 4, 6}) {
			t.Errorf("batch %d: dead letters %v, want elements 8, 2, 4, 6", batch, ids)
		}
		years := counts.Items()
		slices.Sort(years)
		// 7, then 1 and 3, then 5 make windows of 1677, 2026 and 2262.
		for _, y := range []string{"1677", "2026", "2262"} {
			if !slices.Contains(years, y) {
				t.Errorf("batch %d: no window of %s among %v", batch, y, years)
			}
		}
		for _, m := range env.Metrics() {
			if m.Operator == "stamp" && m.DeadLetters != 4 {
				t.Errorf("batch %d: DeadLetters metric %d, want 4", batch, m.DeadLetters)
			}
		}
	}
}

// A process function's timer at a time event time cannot hold saturates:
// the year 2300 fires at the end of input, after every element, at event
// time's end; it never wraps around into the past.
func TestProcessTimerBeyondEventTime(t *testing.T) {
	env := stream.NewEnv()
	at := func(v int64) time.Time { return time.Unix(v, 0) }
	src := stream.FromSlice(env, []int64{1, 2, 3}).WithTimestamps(at, stream.MonotonousTimestamps())
	out := stream.Collect(stream.Process(stream.KeyBy(src, func(int64) int64 { return 0 }),
		func(st *state.Store) (stream.ProcessFunc[int64, int64, string], error) {
			return stream.ProcessFunc[int64, int64, string]{
				OnElement: func(c *stream.ProcessContext[int64, string], v int64) {
					if v == 1 {
						c.SetEventTimer(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
					}
					c.Emit(fmt.Sprint("elem ", v))
				},
				OnTimer: func(c *stream.ProcessContext[int64, string], ti stream.TimerInfo) {
					c.Emit("timer " + ti.At.UTC().Format(time.RFC3339Nano))
				},
			}, nil
		}))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"elem 1", "elem 2", "elem 3", "timer 2262-04-11T23:47:16.854775807Z"}
	if got := out.Items(); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A nil timestamp function is refused when the job is built, with an
// error naming the method and the stream, not a panic when it runs.
func TestNilTimestampFunctionIsRefused(t *testing.T) {
	for method, stamp := range map[string]func(*stream.Stream[int64]) *stream.Stream[int64]{
		"WithTimestamps": func(s *stream.Stream[int64]) *stream.Stream[int64] {
			return s.WithTimestamps(nil, stream.MonotonousTimestamps())
		},
		"WithTimestampsUnixNano": func(s *stream.Stream[int64]) *stream.Stream[int64] {
			return s.WithTimestampsUnixNano(nil, stream.MonotonousTimestamps())
		},
		"WithWatermarks": func(s *stream.Stream[int64]) *stream.Stream[int64] {
			return s.WithWatermarks(nil, func() stream.WatermarkGenerator[int64] { return nil })
		},
	} {
		env := stream.NewEnv()
		stream.Collect(stamp(stream.FromSlice(env, []int64{1, 2}).Name("ticks")))
		err := env.Execute(context.Background())
		if err == nil || !strings.Contains(err.Error(), method+` on "ticks"`) || !strings.Contains(err.Error(), "nil") {
			t.Errorf("%s(nil): %v", method, err)
		}
	}
}
