package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// One job, run at parallelism 1, 2 and 4, chained and not, with several
// batch sizes, must give the same results (STYLE.md, "Metamorphic"). The
// job has two keyed exchanges, so watermarks cross two shuffles, and event
// time admits no late element, so the results do not depend on timing.
// A second part of the job reads every kind of side output (a window's late
// elements, dead letters, an interval join's late sides) across tasks; its
// late elements are late at any batch size.
func TestSameResultsWhateverTheLayout(t *testing.T) {
	type tick struct {
		Sym   int
		At    int64
		Price int64
	}
	const n = 20_000
	gen := func(i int64) tick {
		return tick{Sym: int(i*7919) % 13, At: i*1000 - (i*31)%5000, Price: (i * 2654435761) % 997}
	}
	job := func(opts ...stream.Option) []string {
		env := stream.NewEnv(opts...)
		ticks := stream.Generate(env, gen, stream.Limit(n)).
			WithTimestamps(func(t tick) time.Time { return time.Unix(0, t.At) }, stream.BoundedOutOfOrderness(5001))
		ticks = ticks.Filter(func(t tick) bool { return t.Price != 13 })
		maxes := stream.Max(stream.KeyBy(ticks, func(t tick) int { return t.Sym }).Window(window.Sliding(400_000, 100_000)),
			func(t tick) int64 { return t.Price })
		// Second stage: how many symbols had a max above 900, per window.
		high := maxes.Filter(func(r window.Result[int, int64]) bool { return r.Value > 900 })
		counts := stream.Count(stream.KeyBy(high, func(r window.Result[int, int64]) int64 { return r.Window.End }).
			Window(window.Tumbling(100_000)))
		out := stream.Collect(stream.Map(counts, func(r window.Result[int64, int64]) string {
			return fmt.Sprintf("%d %v %d", r.Key, r.Window, r.Value)
		}))
		all := stream.Collect(stream.Map(maxes, func(r window.Result[int, int64]) string {
			return fmt.Sprintf("%d %v %d", r.Key, r.Window, r.Value)
		}))
		sides := sideOutputs(env)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := env.Execute(ctx); err != nil {
			t.Fatal(err)
		}
		res := append(out.Items(), all.Items()...)
		for _, c := range sides {
			res = append(res, c.Items()...)
		}
		slices.Sort(res)
		return res
	}
	want := job()
	if len(want) < 100 {
		t.Fatalf("only %d results: the job tests too little", len(want))
	}
	for _, kind := range []string{"late 3", "late 1002", "dead 97:", "late left 4", "late right 1001", "pair 8995 8995"} {
		if !slices.ContainsFunc(want, func(r string) bool { return strings.HasPrefix(r, kind) }) {
			t.Fatalf("no %q among the results: the side outputs are not tested", kind)
		}
	}
	for _, par := range []int{1, 2, 4} {
		for _, batch := range []int{1, 7, 4096} {
			for _, chain := range []bool{true, false} {
				if batch == 1 && par == 4 && testing.Short() {
					continue
				}
				opts := []stream.Option{stream.WithParallelism(par), stream.WithBatchSize(batch)}
				if !chain {
					opts = append(opts, stream.WithoutChaining())
				}
				if got := job(opts...); !slices.Equal(got, want) {
					t.Errorf("parallelism %d, batch %d, chaining %v: %d results differ from the default run's %d:\n%s",
						par, batch, chain, len(got), len(want), diff(want, got))
				}
			}
		}
	}
}

// sideOutputs adds to env a pipeline whose side outputs are read through
// keyed exchanges, rebalancing and other parallelisms, and returns what
// they deliver, formatted.
func sideOutputs(env *stream.Env) []*stream.Collector[string] {
	var vals []int64
	for v := int64(1); v <= 9000; v++ {
		vals = append(vals, v)
	}
	vals = append(vals, 3, 4, 5, 1000, 1001, 1002) // late at any batch size up to 4096
	src := stream.FromSlice(env, vals)
	nums, dead := stream.MapErr(src, func(v int64) (int64, error) {
		if v%97 == 0 {
			return 0, fmt.Errorf("multiple of 97")
		}
		return v, nil
	})
	nums = nums.SetParallelism(1).WithTimestamps(func(v int64) time.Time { return time.Unix(v, 0) }, stream.BoundedOutOfOrderness(time.Second)).
		SetParallelism(1)
	byMod := func(v int64) int64 { return v % 5 }
	ws := stream.KeyBy(nums, byMod).Window(window.Tumbling(10 * time.Second))
	counts := stream.Map(stream.Count(ws), func(r window.Result[int64, int64]) string {
		return fmt.Sprintf("count %d %v %d", r.Key, r.Window, r.Value)
	})
	first := func(a, _ int64) int64 { return a }
	late := stream.Map(stream.Reduce(stream.KeyBy(ws.Late(), byMod).Window(window.TumblingCount(1)), first),
		func(r window.Result[int64, int64]) string { return fmt.Sprintf("late %d", r.Value) })
	joined, lateA, lateB := stream.IntervalJoin(stream.KeyBy(nums, byMod), stream.KeyBy(nums, byMod),
		-2*time.Second, 2*time.Second, func(a, b int64) string { return fmt.Sprintf("pair %d %d", a, b) })
	la := stream.Map(lateA.Rebalance(), func(v int64) string { return fmt.Sprintf("late left %d", v) }).SetParallelism(3)
	lb := stream.Map(lateB, func(v int64) string { return fmt.Sprintf("late right %d", v) }).SetParallelism(1)
	dl := stream.Map(dead.Rebalance(), func(d stream.DeadLetter[int64]) string { return fmt.Sprintf("dead %d: %v", d.Value, d.Err) })
	var cs []*stream.Collector[string]
	for _, s := range []*stream.Stream[string]{counts, late, joined, la, lb, dl} {
		cs = append(cs, stream.Collect(s.Rebalance()))
	}
	return cs
}

// An input that goes quiet does not hold event time back once declared
// idle: the window fires while the quiet source is still open.
func TestIdleInputDoesNotHoldBackWatermark(t *testing.T) {
	env := stream.NewEnv()
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	busy := stream.FromSlice(env, []int64{1, 5, 15}).
		WithTimestamps(func(s int64) time.Time { return at(s) }, stream.MonotonousTimestamps())
	quietC := make(chan int64, 1)
	quietC <- 2
	quiet := stream.FromChannel(env, quietC).
		WithTimestamps(func(s int64) time.Time { return at(s) }, stream.MonotonousTimestamps().WithIdleness(50*time.Millisecond))
	out := make(chan window.Result[struct{}, int64], 4)
	stream.Count(busy.Merge(quiet).WindowAll(window.Tumbling(10 * time.Second))).ToChannel(out)
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(context.Background()) }()
	select {
	case r := <-out:
		if r.Window.Start != 0 || r.Value != 3 {
			t.Fatalf("first window %v", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the window did not fire while the quiet input was idle")
	}
	close(quietC)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if r := <-out; r.Window.Start != 10*int64(time.Second) || r.Value != 1 {
		t.Fatalf("second window %v", r)
	}
}

// A slow sink shows: the sink is busy, and the operator feeding the
// exchange before it is blocked on a full output.
func TestMetricsShowTheBottleneck(t *testing.T) {
	env := stream.NewEnv(stream.WithBatchSize(64))
	src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(20_000))
	stream.Map(src, func(v int64) int64 { return v }).Name("fast").Rebalance().ForEach(func(int64) error {
		for start := time.Now(); time.Since(start) < 5*time.Microsecond; {
		}
		return nil
	})
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	var fast, sink stream.Metrics
	for _, m := range env.Metrics() {
		switch m.Operator {
		case "fast":
			fast = m
		case "foreach":
			sink = m
		}
	}
	if fast.RecordsIn != 20_000 || fast.RecordsOut != 20_000 || sink.RecordsIn != 20_000 {
		t.Fatalf("records: fast %+v, sink %+v", fast, sink)
	}
	if sink.Busy < 20_000*5*time.Microsecond {
		t.Fatalf("sink busy %v, less than the time it slept", sink.Busy)
	}
	if fast.Blocked < sink.Busy/4 || fast.Busy > fast.Blocked {
		t.Fatalf("the fast operator should spend its time blocked on the slow sink: %+v", fast)
	}
}

// Generate with a rate paces itself by the Env's clock.
func TestGenerateRate(t *testing.T) {
	env := stream.NewEnv()
	c := stream.Collect(stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(50), stream.Rate(500)))
	start := time.Now()
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("50 elements at 500/s took %v, want about 100ms", d)
	}
	if got := c.Items(); len(got) != 50 || got[49] != 49 {
		t.Fatalf("got %d elements", len(got))
	}
}

// A busy task whose output is sparse still sends it: the buffer timeout
// flushes a partly filled batch although the task never runs out of input.
func TestBufferTimeoutFlushesSparseOutput(t *testing.T) {
	env := stream.NewEnv(stream.WithBufferTimeout(20 * time.Millisecond))
	rare := stream.Generate(env, func(i int64) int64 { return i }).
		Filter(func(v int64) bool { return v%50_000_000 == 0 })
	out := make(chan int64, 1)
	rare.Rebalance().ToChannel(out) // an exchange between the filter and the sink
	firstThenCancel(t, env, out, 20*time.Second, "a record waited in a partly filled batch although the buffer timeout is 20ms")
}

// A panic in a source's own function fails the job with the source named.
func TestPanicInSource(t *testing.T) {
	for _, rate := range []float64{0, 1e6} { // read in the task, and in a goroutine of its own
		env := stream.NewEnv()
		opts := []stream.GenerateOption{stream.Limit(100)}
		if rate > 0 {
			opts = append(opts, stream.Rate(rate))
		}
		stream.Generate(env, func(i int64) int64 {
			if i == 50 {
				panic("bad index")
			}
			return i
		}, opts...).Name("ticks").ForEach(func(int64) error { return nil })
		err := env.Execute(context.Background())
		oe, ok := errors.AsType[*stream.OperatorError](err)
		if !errors.Is(err, stream.ErrPanic) || !ok || oe.Operator != "ticks" || len(oe.Stack) == 0 {
			t.Fatalf("rate %v: Execute = %v", rate, err)
		}
	}
}
