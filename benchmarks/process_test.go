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
	env := stream.NewEnv(append(opts, stream.WithParallelism(par))...)
	src := stream.Generate(env, gen(keys, step), stream.Limit(n)).
		WithTimestamps(ts, stream.MonotonousTimestamps())
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
	var results, total atomic.Int64
	out.ForEach(func(v int64) error {
		results.Add(1)
		total.Add(v)
		return nil
	})
	if err := env.Execute(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return windowSum{results.Load(), total.Load()}
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

// The process job's total is every price once, whatever the parallelism.
func TestKeyedProcessJobSumsEveryPrice(t *testing.T) {
	const n = 200_000
	g := gen(tumbleKeys, tumbleStep)
	var want int64
	for i := range int64(n) {
		want += g(i).Price
	}
	for _, par := range []int{1, 2} {
		got := runProcess(t, n, tumbleKeys, tumbleStep, par)
		if got.sum != want || got.results < tumbleKeys {
			t.Fatalf("parallelism %d: %d results summing to %d, want the sum %d over at least %d results", par, got.results, got.sum, want, tumbleKeys)
		}
	}
}
