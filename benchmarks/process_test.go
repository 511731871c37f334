package benchmarks

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
)

// runProcess runs a keyed process function over n generated events: per
// key a running sum (value state) and the last few prices (list state,
// cleared by an event timer one second of event time after the key's
// first element since the last firing), the sum emitted when the timer
// fires. It returns how many results came and the sum of their values.
// opts are more options of the job's Env (checkpoints).
func runProcess(tb testing.TB, n, keys, step int64, par int, opts ...stream.Option) windowSum {
	return runProcessOut(tb, n, keys, step, par, opts...).windowSum
}

// processOut is what runProcess's job emitted: besides the number and
// total of the results, the sum of their squares (wrapping), which tells
// how the elements were grouped into results.
type processOut struct {
	windowSum
	squares int64
}

// runProcessOut is runProcess, with the squares of the results.
func runProcessOut(tb testing.TB, n, keys, step int64, par int, opts ...stream.Option) processOut {
	env := stream.NewEnv(append(opts, stream.WithParallelism(par))...)
	src := stream.Generate(env, gen(keys, step), stream.Limit(n)).
		WithTimestampsUnixNano(ts, stream.MonotonousTimestamps())
	ks := stream.KeyBy(src, func(e Event) int64 { return e.Key })
	out := stream.Process(ks, func(st *state.Store) (stream.ProcessFunc[int64, Event, int64], error) {
		sum, err := state.NewValue[int64, int64](st, "sum")
		if err != nil {
			return stream.ProcessFunc[int64, Event, int64]{}, err
		}
		last, err := state.NewList[int64, int64](st, "last")
		if err != nil {
			return stream.ProcessFunc[int64, Event, int64]{}, err
		}
		return stream.ProcessFunc[int64, Event, int64]{
			OnElement: func(c *stream.ProcessContext[int64, int64], e Event) {
				s, ok := sum.Get(c.Key())
				if !ok {
					c.SetEventTimer(time.Unix(0, e.Ts).Add(time.Second))
				}
				sum.Set(c.Key(), s+e.Price)
				if l := last.Get(c.Key()); len(l) < 4 {
					last.Add(c.Key(), e.Price)
				}
			},
			OnTimer: func(c *stream.ProcessContext[int64, int64], _ stream.TimerInfo) {
				s, _ := sum.Get(c.Key())
				sum.Clear(c.Key())
				last.Clear(c.Key())
				c.Emit(s)
			},
		}, nil
	})
	var results, total, squares atomic.Int64
	out.ForEach(func(v int64) error {
		results.Add(1)
		total.Add(v)
		squares.Add(v * v)
		return nil
	})
	if err := env.Execute(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return processOut{windowSum{results.Load(), total.Load()}, squares.Load()}
}

// BenchmarkKeyedProcess: the process function above over 10,000 keys,
// checkpoints off.
func BenchmarkKeyedProcess(b *testing.B) {
	for _, par := range []int{1, 2} {
		b.Run(fmt.Sprintf("keys=10000/parallelism=%d", par), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runProcess(b, tumbleN, tumbleKeys, tumbleStep, par)
			}
			b.ReportMetric(float64(tumbleN)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// handProcess is what runProcess emits at parallelism 1, by a loop: a
// key's first element (since its last result) sets its timer 1 s later,
// and every element of the key up to the timer's time is in its result
// (the watermark after a batch is its largest time less 1 ns, and a batch
// of 4096 events never holds both the key's element at the timer's time
// and an element past it: the key's elements are 10,000 events apart);
// the end of input fires the timers left. The squares tell one grouping
// from another.
func handProcess(n, keys, step int64) processOut {
	g := gen(keys, step)
	timer := make(map[int64]int64) // key -> its timer's time
	sum := make(map[int64]int64)   // key -> the sum of its result to come
	var out processOut
	emit := func(v int64) {
		out.results++
		out.sum += v
		out.squares += v * v
	}
	for i := range n {
		e := g(i)
		if t, ok := timer[e.Key]; !ok || e.Ts > t {
			if ok {
				emit(sum[e.Key])
			}
			timer[e.Key], sum[e.Key] = e.Ts+int64(time.Second), 0
		}
		sum[e.Key] += e.Price
	}
	for _, v := range sum {
		emit(v)
	}
	return out
}

// The process job's total is every price once, whatever the parallelism;
// at parallelism 1 its results are the loop's, with checkpoints too (as
// often as they can be taken, in memory). At parallelism 2 their number
// depends on how the sources ran (see BenchmarkKeyedProcessCheckpoints).
func TestKeyedProcessJobSumsEveryPrice(t *testing.T) {
	const n = 1_500_000 // 1.5 s of event time: every key's timer fires once before the end
	want := handProcess(n, tumbleKeys, tumbleStep)
	if got := runProcessOut(t, n, tumbleKeys, tumbleStep, 1); got != want {
		t.Fatalf("parallelism 1: %+v, want %+v", got, want)
	}
	var got processOut
	cp := runCheckpointed(t, cpMem, time.Millisecond, func(opts ...stream.Option) windowSum {
		got = runProcessOut(t, n, tumbleKeys, tumbleStep, 1, opts...)
		return got.windowSum
	})
	if got != want || len(cp.cps) == 0 {
		t.Fatalf("parallelism 1, %d checkpoints: %+v, want %+v", len(cp.cps), got, want)
	}
	got = runProcessOut(t, n, tumbleKeys, tumbleStep, 2)
	if got.sum != want.sum || got.results < tumbleKeys {
		t.Fatalf("parallelism 2: %d results summing to %d, want the sum %d over at least %d results", got.results, got.sum, want.sum, tumbleKeys)
	}
}
