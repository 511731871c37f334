package stream_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type sensorReading struct {
	Sensor string
	At     int64 // seconds
	Marker bool  // "every sensorReading up to At has been sent"
}

func (r sensorReading) time() time.Time { return time.Unix(r.At, 0) }

// punctuated emits a watermark at each marker's time.
type punctuated struct{}

func (punctuated) OnEvent(r sensorReading, ts time.Time, out stream.WatermarkOutput) {
	if r.Marker {
		out.EmitWatermark(ts)
	}
}
func (punctuated) OnPeriodicEmit(stream.WatermarkOutput) {}

// A punctuated watermark takes effect right after its element, inside a
// batch: the element after the marker is late for the windows the marker
// closed, whatever the batch size.
func TestPunctuatedWatermarks(t *testing.T) {
	in := []sensorReading{{"a", 1, false}, {"a", 2, false}, {"a", 7, false}, {"m", 10, true}, {"a", 6, false}, {"a", 11, false}}
	for _, batch := range []int{1, 2, 4096} {
		env := stream.NewEnv(stream.WithBatchSize(batch))
		src := stream.FromSlice(env, in).WithWatermarks(sensorReading.time, func() stream.WatermarkGenerator[sensorReading] { return punctuated{} })
		ws := stream.KeyBy(src, func(r sensorReading) string { return r.Sensor }).Window(window.Tumbling(5 * time.Second))
		counts := stream.Collect(stream.Map(stream.Count(ws), func(r window.Result[string, int64]) string {
			return fmt.Sprintf("%s %v %d", r.Key, r.Window, r.Value)
		}))
		late := stream.Collect(ws.Late())
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := counts.Items()
		slices.Sort(got)
		want := []string{
			fmt.Sprintf("a %v 2", window.Window{Start: 0, End: 5e9}),
			fmt.Sprintf("a %v 1", window.Window{Start: 5e9, End: 10e9}),
			fmt.Sprintf("a %v 1", window.Window{Start: 10e9, End: 15e9}),
			fmt.Sprintf("m %v 1", window.Window{Start: 10e9, End: 15e9}),
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("batch %d: windows %v, want %v", batch, got, want)
		}
		if l := late.Items(); len(l) != 1 || l[0].At != 6 {
			t.Errorf("batch %d: late %v, want the sensorReading at 6 s (after the marker of 10 s)", batch, l)
		}
	}
}

// periodic is bounded out-of-orderness written as a generator: the
// watermark follows the largest timestamp, on the periodic hook. With
// idleAfter > 0, idleAfter periods without an element make the input idle.
type periodic struct {
	max       time.Time
	quiet     int
	idleAfter int
	events    *atomic.Int64
}

func (p *periodic) OnEvent(r sensorReading, ts time.Time, out stream.WatermarkOutput) {
	p.events.Add(1)
	p.quiet = 0
	if ts.After(p.max) {
		p.max = ts
	}
}

func (p *periodic) OnPeriodicEmit(out stream.WatermarkOutput) {
	if p.quiet++; p.idleAfter > 0 && p.quiet > p.idleAfter {
		out.MarkIdle()
		return
	}
	if !p.max.IsZero() {
		out.EmitWatermark(p.max.Add(-time.Nanosecond))
	}
}

// A periodic generator runs on the Env's clock: windows fire when the fake
// clock moves past a period, not before; and its idleness lets another
// input's event time through a merge.
func TestPeriodicWatermarksOnTheEnvClock(t *testing.T) {
	clock := stream.NewFakeClock(time.Unix(1e9, 0))
	env := stream.NewEnv(stream.WithClock(clock), stream.WithWatermarkInterval(time.Second))
	var events atomic.Int64
	aC, bC := make(chan sensorReading, 8), make(chan sensorReading, 8)
	a := stream.FromChannel(env, aC).WithWatermarks(sensorReading.time,
		func() stream.WatermarkGenerator[sensorReading] { return &periodic{events: &events} })
	b := stream.FromChannel(env, bC).WithWatermarks(sensorReading.time,
		func() stream.WatermarkGenerator[sensorReading] { return &periodic{events: &events, idleAfter: 3} })
	out := make(chan window.Result[struct{}, int64], 8)
	stream.Count(a.Merge(b).WindowAll(window.Tumbling(10 * time.Second))).ToChannel(out)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(ctx) }()

	aC <- sensorReading{"a", 1, false}
	aC <- sensorReading{"a", 12, false}
	bC <- sensorReading{"b", 3, false}
	for events.Load() < 3 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-out:
		t.Fatalf("a window fired before any periodic watermark: %v", r)
	case <-time.After(50 * time.Millisecond):
	}
	// Each period, a's watermark is 12s-1ns and b's 3s-1ns: the merge holds
	// at b's until b has been quiet for three periods and is idle; then
	// a's watermark goes through and [0s,10s) fires.
	periods := 0
	for fired := false; !fired; {
		clock.Advance(time.Second)
		periods++
		select {
		case r := <-out:
			if r.Value != 2 {
				t.Fatalf("first window %v, want [0s,10s) with 2", r)
			}
			fired = true
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the window did not fire once b was idle")
		}
	}
	if periods < 4 {
		t.Fatalf("fired after %d periods, before b could be idle (4)", periods)
	}
	close(aC)
	close(bC)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// eventTimeReader is a custom source that knows event time: each element
// carries its timestamp, and the source says its watermark and when it is
// idle, as a Flink source does.
type eventTimeReader struct {
	items []sensorReading
	pos   int
	times []int64
	idle  bool // idle after the items, until the job ends
	stop  <-chan struct{}
}

func (r *eventTimeReader) Read(ctx context.Context, buf []sensorReading) (int, error) {
	r.times = r.times[:0]
	if r.pos == len(r.items) {
		if !r.idle {
			return 0, io.EOF
		}
		select { // idle: wait, returning now and then
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-r.stop:
			return 0, io.EOF
		case <-time.After(5 * time.Millisecond):
			return 0, nil
		}
	}
	n := copy(buf, r.items[r.pos:r.pos+1]) // one at a time: a watermark after each
	for _, it := range buf[:n] {
		r.times = append(r.times, it.time().UnixNano())
	}
	r.pos += n
	return n, nil
}

func (r *eventTimeReader) Timestamps() []int64 { return r.times }
func (r *eventTimeReader) Watermark() (int64, bool) {
	if r.pos == 0 {
		return stream.MinWatermark, false
	}
	return r.items[r.pos-1].time().UnixNano(), r.idle && r.pos == len(r.items)
}
func (r *eventTimeReader) Close() error { return nil }

func TestEventTimeSource(t *testing.T) {
	for _, layout := range [][]stream.Option{{}, {stream.WithParallelism(2), stream.WithoutChaining()}} {
		env := stream.NewEnv(layout...)
		stop := make(chan struct{})
		open := func(items []sensorReading, idle bool) stream.SourceFactory[sensorReading] {
			return func(ctx context.Context, subtask, parallelism int) (stream.SourceReader[sensorReading], error) {
				return &eventTimeReader{items: items, idle: idle, stop: stop}, nil
			}
		}
		// a: readings, its watermark the last sensorReading's time (a late one
		// after it). b: one sensorReading, then idle until the end.
		a := stream.FromEventTimeSource(env, "a", false,
			open([]sensorReading{{"a", 1, false}, {"a", 12, false}, {"a", 4, false}, {"a", 21, false}}, false))
		b := stream.FromEventTimeSource(env, "b", false, open([]sensorReading{{"b", 2, false}}, true))
		// On a alone, which readings are late follows a's own watermarks.
		ws := a.WindowAll(window.Tumbling(10 * time.Second))
		counts := stream.Collect(stream.Map(stream.Count(ws), func(r window.Result[struct{}, int64]) string {
			return fmt.Sprintf("%v %d", r.Window, r.Value)
		}))
		late := stream.Collect(ws.Late())
		// Merged with b, windows fire once b is idle, while it is open.
		first := make(chan struct{})
		var once atomic.Bool
		stream.Count(a.Merge(b).WindowAll(window.Tumbling(10 * time.Second))).ForEach(func(window.Result[struct{}, int64]) error {
			if once.CompareAndSwap(false, true) {
				close(first)
			}
			return nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errc := make(chan error, 1)
		go func() { errc <- env.Execute(ctx) }()
		select {
		case <-first: // fired while b was still open, but idle
		case <-ctx.Done():
			t.Fatal("no window fired while the idle source was open")
		}
		close(stop)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		cancel()
		got := counts.Items()
		slices.Sort(got)
		want := []string{
			fmt.Sprintf("%v 1", window.Window{Start: 0, End: 10e9}),
			fmt.Sprintf("%v 1", window.Window{Start: 10e9, End: 20e9}),
			fmt.Sprintf("%v 1", window.Window{Start: 20e9, End: 30e9}),
		}
		if !slices.Equal(got, want) {
			t.Errorf("windows %v, want %v", got, want)
		}
		if l := late.Items(); len(l) != 1 || l[0].At != 4 {
			t.Errorf("late %v, want the sensorReading at 4 s", l)
		}
	}
}

// A reader that does not know event time cannot make an event-time
// source: the job fails saying so.
func TestEventTimeSourceNeedsTheInterface(t *testing.T) {
	env := stream.NewEnv()
	stream.FromEventTimeSource(env, "plain", false, func(ctx context.Context, subtask, parallelism int) (stream.SourceReader[int], error) {
		return plainReader{}, nil
	}).ForEach(func(int) error { return nil })
	if err := env.Execute(context.Background()); err == nil || !strings.Contains(err.Error(), "EventTimeReader") {
		t.Fatalf("Execute = %v", err)
	}
}

type plainReader struct{}

func (plainReader) Read(context.Context, []int) (int, error) { return 0, io.EOF }
func (plainReader) Close() error                             { return nil }

// A reader whose Timestamps do not match its last Read, too few or too
// many, fails the job saying so, instead of stamping elements wrongly.
func TestEventTimeSourceTimestampCount(t *testing.T) {
	for _, extra := range []int{-1, 2} {
		env := stream.NewEnv(stream.WithLogger(quiet()))
		stream.FromEventTimeSource(env, "miscounted", false, func(ctx context.Context, subtask, parallelism int) (stream.SourceReader[int], error) {
			return &miscounted{extra: extra}, nil
		}).ForEach(func(int) error { return nil })
		err := env.Execute(context.Background())
		if err == nil || !strings.Contains(err.Error(), "returned 3 elements and") || !strings.Contains(err.Error(), `"miscounted"`) {
			t.Fatalf("%+d timestamps: Execute = %v", extra, err)
		}
	}
}

type miscounted struct{ extra int }

func (m *miscounted) Read(_ context.Context, buf []int) (int, error) {
	copy(buf, []int{1, 2, 3})
	return 3, nil
}
func (m *miscounted) Timestamps() []int64      { return make([]int64, 3+m.extra) }
func (m *miscounted) Watermark() (int64, bool) { return stream.MinWatermark, false }
func (m *miscounted) Close() error             { return nil }

// An input that never sends anything still goes idle after its timeout,
// and when the last active input goes idle too, event time moves to the
// furthest any input reached (as Flink's watermark valve): a window that
// the active input's watermark closes fires while the job runs, whichever
// input went idle first, merged or connected.
func TestIdleInputThatNeverSends(t *testing.T) {
	for _, shape := range []string{"merge", "connect"} {
		for _, par := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s-p%d", shape, par), func(t *testing.T) {
				clock := stream.NewFakeClock(time.Unix(0, 0))
				env := stream.NewEnv(stream.WithParallelism(par), stream.WithClock(clock), stream.WithLogger(quiet()))
				at := func(v int64) time.Time { return time.Unix(v, 0) }
				a := make(chan int64)
				b := make(chan int64)
				// a goes idle first (50ms), then b, which never sends (100ms).
				sa := stream.FromChannel(env, a).WithTimestamps(at, stream.MonotonousTimestamps().WithIdleness(50*time.Millisecond))
				sb := stream.FromChannel(env, b).WithTimestamps(at, stream.MonotonousTimestamps().WithIdleness(100*time.Millisecond))
				var in *stream.Stream[int64]
				if shape == "merge" {
					in = sa.Merge(sb)
				} else {
					in = stream.CoMap(stream.Connect(sa, sb), func(v int64) int64 { return v }, func(v int64) int64 { return v })
				}
				fired := make(chan window.Result[int64, int64], 4)
				stream.Count(stream.KeyBy(in, func(int64) int64 { return 0 }).Window(window.Tumbling(time.Second))).ToChannel(fired)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				errc := make(chan error, 1)
				go func() { errc <- env.Execute(ctx) }()
				a <- 1
				a <- 5
				time.Sleep(50 * time.Millisecond) // a's elements and watermark reach the window
				clock.Advance(60 * time.Millisecond)
				time.Sleep(20 * time.Millisecond)
				clock.Advance(60 * time.Millisecond)
				select {
				case r := <-fired:
					if r.Window.Start != int64(time.Second) || r.Value != 1 {
						t.Fatalf("fired %v", r)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no window fired with both inputs idle")
				}
				close(a)
				close(b)
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
