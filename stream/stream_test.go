package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

func TestMapFilterFlatMapMerge(t *testing.T) {
	env := stream.NewEnv(stream.WithBatchSize(3))
	a := stream.FromSlice(env, []int{1, 2, 3, 4, 5, 6})
	b := stream.FromSlice(env, []int{10, 20})
	sq := stream.Map(a.Merge(b).Filter(func(v int) bool { return v%2 == 0 }), func(v int) string { return strconv.Itoa(v * v) })
	words := stream.FlatMap(sq, func(s string, emit func(string)) {
		for _, r := range s {
			emit(string(r))
		}
	})
	got := stream.Collect(sq)
	chars := stream.Collect(words)
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := got.Items()
	slices.Sort(g)
	if want := []string{"100", "16", "36", "4", "400"}; !slices.Equal(g, want) {
		t.Fatalf("got %v, want %v", g, want)
	}
	if n := len(chars.Items()); n != 11 { // 3+2+2+1+3 digits
		t.Fatalf("flatmap emitted %d characters, want 11", n)
	}
}

func TestPanicFailsJobNamingOperator(t *testing.T) {
	env := stream.NewEnv()
	s := stream.Map(stream.Generate(env, func(i int64) int64 { return i }), func(v int64) int64 {
		if v == 5000 {
			panic("boom at 5000")
		}
		return v
	}).Name("explode")
	s.ForEach(func(int64) error { return nil })
	err := env.Execute(context.Background())
	if !errors.Is(err, stream.ErrPanic) {
		t.Fatalf("Execute = %v, want an error marked ErrPanic", err)
	}
	oe, ok := errors.AsType[*stream.OperatorError](err)
	if !ok || oe.Operator != "explode" || len(oe.Stack) == 0 {
		t.Fatalf("error %v does not name operator %q with a stack", err, "explode")
	}
	if !strings.Contains(err.Error(), `operator "explode" subtask 1/1`) || !strings.Contains(err.Error(), "boom at 5000") {
		t.Fatalf("message %q does not say where and what", err)
	}
}

func TestUserErrorFailsJob(t *testing.T) {
	env := stream.NewEnv(stream.WithParallelism(2))
	stream.Generate(env, func(i int64) int64 { return i }).ForEach(func(v int64) error {
		if v > 100 {
			return fmt.Errorf("sink refused %d", v)
		}
		return nil
	})
	err := env.Execute(context.Background())
	if err == nil || !strings.Contains(err.Error(), "sink refused") || !strings.Contains(err.Error(), `operator "foreach"`) {
		t.Fatalf("Execute = %v", err)
	}
}

func TestCancelReturnsPromptly(t *testing.T) {
	env := stream.NewEnv(stream.WithParallelism(2))
	src := stream.Generate(env, func(i int64) int64 { return i })
	stream.Count(stream.KeyBy(src, func(v int64) int64 { return v % 10 }).Window(window.Tumbling(time.Hour))).
		ForEach(func(window.Result[int64, int64]) error { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	err := env.Execute(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Execute took %v to return after cancel", d)
	}
}

func TestChannelSourceAndSinkWithBackpressure(t *testing.T) {
	env := stream.NewEnv()
	in := make(chan int)
	out := make(chan int) // unbuffered: the sink waits for the reader
	stream.Map(stream.FromChannel(env, in), func(v int) int { return v * 2 }).ToChannel(out)
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(context.Background()) }()
	go func() {
		for i := range 1000 {
			in <- i
		}
		close(in)
	}()
	sum := 0
	for range 1000 {
		sum += <-out
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if sum != 999*1000 {
		t.Fatalf("sum %d", sum)
	}
}

// Processing-time windows are driven by the Env's clock: with a fake one,
// a test decides when windows end, without sleeping.
func TestProcessingTimeWindowsWithFakeClock(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	clock := stream.NewFakeClock(start)
	env := stream.NewEnv(stream.WithClock(clock))
	in := make(chan string)
	out := make(chan window.Result[string, int64], 10)
	stream.Count(stream.KeyBy(stream.FromChannel(env, in), func(s string) string { return s }).
		Window(window.Tumbling(10 * time.Second))).ToChannel(out)
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(context.Background()) }()

	in <- "a"
	in <- "a"
	in <- "b"
	// Wait until the window operator has the elements and a timer for the
	// window end; then move time past it.
	waitFor(t, func() bool { return windowRecordsIn(env) == 3 && clock.Timers() > 0 })
	clock.Advance(10 * time.Second)
	got := map[string]int64{}
	for range 2 {
		r := <-out
		got[r.Key] = r.Value
		if r.Window.Start != start.UnixNano() || r.Window.End != start.Add(10*time.Second).UnixNano() {
			t.Fatalf("window %v", r.Window)
		}
	}
	if got["a"] != 2 || got["b"] != 1 {
		t.Fatalf("counts %v", got)
	}
	in <- "c"
	close(in)
	// At the end of input the open processing-time window fires.
	if r := <-out; r.Key != "c" || r.Value != 1 {
		t.Fatalf("final window %v", r)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func windowRecordsIn(env *stream.Env) int64 {
	for _, m := range env.Metrics() {
		if strings.HasPrefix(m.Operator, "window") {
			return m.RecordsIn
		}
	}
	return 0
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

type reading struct {
	Sensor string
	At     int64 // seconds
	Value  float64
}

func (r reading) ts() time.Time { return time.Unix(r.At, 0) }

func TestLateElementsSideOutputAndMetrics(t *testing.T) {
	env := stream.NewEnv(stream.WithBatchSize(1))
	src := stream.FromSlice(env, []reading{
		{"s1", 1, 1}, {"s1", 12, 2}, {"s1", 3, 3}, // 3 is late: the watermark is 11 after 12
		{"s1", 25, 4},
	}).WithTimestamps(reading.ts, stream.MonotonousTimestamps())
	ws := stream.KeyBy(src, func(r reading) string { return r.Sensor }).Window(window.Tumbling(10 * time.Second))
	sums := stream.Collect(stream.Sum(ws, func(r reading) float64 { return r.Value }).Name("sum"))
	late := stream.Collect(ws.Late())
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sums.Items() {
		got = append(got, fmt.Sprintf("%d-%d %g", r.Window.StartTime().Unix(), r.Window.EndTime().Unix(), r.Value))
	}
	if want := []string{"0-10 1", "10-20 2", "20-30 4"}; !slices.Equal(got, want) {
		t.Fatalf("sums %v, want %v", got, want)
	}
	if l := late.Items(); len(l) != 1 || l[0].At != 3 {
		t.Fatalf("late %v", l)
	}
	var found bool
	for _, m := range env.Metrics() {
		if m.Operator == "sum" {
			found = true
			if m.LateRecords != 1 || m.RecordsIn != 4 || m.RecordsOut != 3 {
				t.Fatalf("metrics %+v", m)
			}
		}
	}
	if !found {
		t.Fatalf("no metrics for the window operator: %+v", env.Metrics())
	}
}

func TestAllowedLatenessRefires(t *testing.T) {
	env := stream.NewEnv(stream.WithBatchSize(1))
	src := stream.FromSlice(env, []reading{
		{"s", 1, 1}, {"s", 12, 2}, {"s", 3, 3}, {"s", 25, 4}, {"s", 4, 5},
	}).WithTimestamps(reading.ts, stream.MonotonousTimestamps())
	ws := stream.KeyBy(src, func(r reading) string { return r.Sensor }).Window(window.Tumbling(10 * time.Second)).AllowedLateness(5 * time.Second)
	sums := stream.Collect(stream.Sum(ws, func(r reading) float64 { return r.Value }))
	late := stream.Collect(ws.Late())
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sums.Items() {
		got = append(got, fmt.Sprintf("%d %g", r.Window.StartTime().Unix(), r.Value))
	}
	// [0,10) fires at watermark 11 with 1; 3 arrives within the 5s lateness
	// and fires it again with 1+3; 4 arrives at watermark 24, past 9+5.
	if want := []string{"0 1", "0 4", "10 2", "20 4"}; !slices.Equal(got, want) {
		t.Fatalf("sums %v, want %v", got, want)
	}
	if l := late.Items(); len(l) != 1 || l[0].At != 4 {
		t.Fatalf("late %v", l)
	}
}

func TestMapErrDeadLetters(t *testing.T) {
	env := stream.NewEnv()
	lines := stream.FromSlice(env, []string{"1", "2", "x", "4", ""})
	nums, dead := stream.MapErr(lines, strconv.Atoi)
	got := stream.Collect(nums)
	dl := stream.Collect(dead)
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Items(), []int{1, 2, 4}) {
		t.Fatalf("parsed %v", got.Items())
	}
	d := dl.Items()
	if len(d) != 2 || d[0].Value != "x" || d[1].Value != "" || d[0].Err == nil {
		t.Fatalf("dead letters %v", d)
	}
	for _, m := range env.Metrics() {
		if m.Operator == "map" && m.DeadLetters != 2 {
			t.Fatalf("metrics %+v", m)
		}
	}
}

func TestBuildErrorsReportedTogether(t *testing.T) {
	env := stream.NewEnv(stream.WithParallelism(-1))
	src := stream.FromSlice(env, []int{1})
	stream.Count(stream.KeyBy(src, func(v int) *int { return &v }).Window(window.Sliding(time.Second, 2*time.Second))).Print()
	err := env.Execute(context.Background())
	for _, want := range []string{"no stable hash", "slide 2s is longer than its size 1s", "parallelism must lie in [1, 256], got -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Execute = %v, want it to mention %q", err, want)
		}
	}
}

func TestWindowFunctions(t *testing.T) {
	rs := []reading{{"a", 1, 4}, {"a", 2, -1}, {"b", 3, 7}, {"a", 4, 9}}
	run := func(f func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string]) []string {
		env := stream.NewEnv()
		src := stream.FromSlice(env, rs).WithTimestamps(reading.ts, stream.MonotonousTimestamps())
		c := f(stream.KeyBy(src, func(r reading) string { return r.Sensor }).Window(window.Tumbling(time.Minute)))
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := c.Items()
		slices.Sort(out)
		return out
	}
	str := func(s *stream.Stream[window.Result[string, float64]]) *stream.Collector[string] {
		return stream.Collect(stream.Map(s, func(r window.Result[string, float64]) string { return fmt.Sprintf("%s %g", r.Key, r.Value) }))
	}
	val := func(r reading) float64 { return r.Value }
	cases := map[string]struct {
		f    func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string]
		want []string
	}{
		"sum": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return str(stream.Sum(ws, val))
		}, []string{"a 12", "b 7"}},
		"min": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return str(stream.Min(ws, val))
		}, []string{"a -1", "b 7"}},
		"max": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return str(stream.Max(ws, val))
		}, []string{"a 9", "b 7"}},
		"mean": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return str(stream.Mean(ws, val))
		}, []string{"a 4", "b 7"}},
		"minby": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return stream.Collect(stream.Map(stream.MinBy(ws, val), func(r window.Result[string, reading]) string { return fmt.Sprintf("%s %d", r.Key, r.Value.At) }))
		}, []string{"a 2", "b 3"}},
		"maxby": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return stream.Collect(stream.Map(stream.MaxBy(ws, val), func(r window.Result[string, reading]) string { return fmt.Sprintf("%s %d", r.Key, r.Value.At) }))
		}, []string{"a 4", "b 3"}},
		"count": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return stream.Collect(stream.Map(stream.Count(ws), func(r window.Result[string, int64]) string { return fmt.Sprintf("%s %d", r.Key, r.Value) }))
		}, []string{"a 3", "b 1"}},
		"reduce": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return stream.Collect(stream.Map(stream.Reduce(ws, func(x, y reading) reading { x.Value += y.Value; return x }), func(r window.Result[string, reading]) string { return fmt.Sprintf("%s %g", r.Key, r.Value.Value) }))
		}, []string{"a 12", "b 7"}},
		"aggregate": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			type acc struct{ lo, hi float64 }
			spread := stream.AggregateFunc[reading, acc, float64]{
				Init:   func() acc { return acc{1e18, -1e18} },
				Add:    func(a acc, r reading) acc { return acc{min(a.lo, r.Value), max(a.hi, r.Value)} },
				Merge:  func(a, b acc) acc { return acc{min(a.lo, b.lo), max(a.hi, b.hi)} },
				Result: func(a acc) float64 { return a.hi - a.lo },
			}
			return str(stream.Aggregate(ws, spread))
		}, []string{"a 10", "b 0"}},
		"apply": {func(ws *stream.WindowedStream[string, reading]) *stream.Collector[string] {
			return stream.Collect(stream.Apply(ws, func(k string, w window.Window, elems []reading, emit func(string)) {
				emit(fmt.Sprintf("%s %d elements", k, len(elems)))
			}))
		}, []string{"a 3 elements", "b 1 elements"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := run(c.f); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestWindowAllAndCountWindows(t *testing.T) {
	env := stream.NewEnv(stream.WithParallelism(3))
	src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(1000))
	total := stream.Collect(stream.Sum(src.WindowAll(window.TumblingCount(100)), func(v int64) int64 { return v }))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range total.Items() {
		sum += r.Value
	}
	if len(total.Items()) != 10 || sum != 999*1000/2 {
		t.Fatalf("%d windows summing to %d", len(total.Items()), sum)
	}
}

// A consumer of dead letters that fails fails the job, as any sink does.
func TestDeadLetterSinkErrorFailsJob(t *testing.T) {
	env := stream.NewEnv()
	_, dead := stream.MapErr(stream.FromSlice(env, []string{"1", "x"}), strconv.Atoi)
	dead.ForEach(func(stream.DeadLetter[string]) error { return fmt.Errorf("dead-letter store is down") })
	if err := env.Execute(context.Background()); err == nil || !strings.Contains(err.Error(), "dead-letter store is down") {
		t.Fatalf("Execute = %v", err)
	}
}
