package benchmarks

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Event is the benchmark's element: a key and an event time.
type Event struct {
	Key   int64
	Ts    int64 // ns
	Price int64
}

// gen spreads keys over [0, keys) in a scrambled order and gives event i
// the time i*step.
func gen(keys, step int64) func(i int64) Event {
	return func(i int64) Event {
		k := (i * 7919) % keys
		return Event{Key: k, Ts: i * step, Price: (i * 2654435761) % 100000}
	}
}

func ts(e Event) int64 { return e.Ts }

// windowSum is what a windowed job emitted: how many results, and the sum
// of their values (for a count, every event once per window it is in).
type windowSum struct{ results, sum int64 }

// runCount runs a keyed window count (or max of Price) over n generated
// events and returns its results' number and sum. The sink adds them up
// atomically: at parallelism 2, ForEach runs in both subtasks at once.
func runCount(tb testing.TB, n, keys, step int64, par int, a window.Assigner, max bool) windowSum {
	env := stream.NewEnv(stream.WithParallelism(par))
	src := stream.Generate(env, gen(keys, step), stream.Limit(n)).
		WithTimestampsUnixNano(ts, stream.MonotonousTimestamps())
	ws := stream.KeyBy(src, func(e Event) int64 { return e.Key }).Window(a)
	var results, sum atomic.Int64
	sink := func(r window.Result[int64, int64]) error {
		results.Add(1)
		sum.Add(r.Value)
		return nil
	}
	if max {
		stream.Max(ws, func(e Event) int64 { return e.Price }).ForEach(sink)
	} else {
		stream.Count(ws).ForEach(sink)
	}
	if err := env.Execute(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return windowSum{results.Load(), sum.Load()}
}

// handLoop is the same computation as a plain Go loop: a map of counts per
// key, emitted when the tumbling window changes.
func handLoop(n, keys, step, size int64) int64 {
	g := gen(keys, step)
	counts := make(map[int64]int64)
	var results int64
	cur := int64(-1)
	for i := range n {
		e := g(i)
		w := e.Ts / size
		if w != cur {
			results += int64(len(counts))
			clear(counts)
			cur = w
		}
		counts[e.Key]++
	}
	return results + int64(len(counts))
}

const (
	tumbleKeys = 10_000
	tumbleN    = 5_000_000
	tumbleStep = int64(time.Microsecond) // 1M events per second of event time
)

func BenchmarkKeyedTumblingCount(b *testing.B) {
	for _, par := range []int{1, 2} {
		b.Run(fmt.Sprintf("keys=10000/parallelism=%d", par), func(b *testing.B) {
			b.ReportAllocs()
			cpu := CPUTime()
			for b.Loop() {
				runCount(b, tumbleN, tumbleKeys, tumbleStep, par, window.Tumbling(time.Second), false)
			}
			reportCPU(b, tumbleN, CPUTime()-cpu)
		})
	}
	b.Run("keys=10000/handloop", func(b *testing.B) {
		cpu := CPUTime()
		for b.Loop() {
			handLoop(tumbleN, tumbleKeys, tumbleStep, int64(time.Second))
		}
		reportCPU(b, tumbleN, CPUTime()-cpu)
	})
}

// BenchmarkSlidingHour: 1,000 keys, about 25 events per key per second, a
// one-hour window sliding every second against the tumbling hour on the
// same input: two hours of event time (180M events), so that the sliding
// windows run at their full 3,600 slices for the second hour.
func BenchmarkSlidingHour(b *testing.B) {
	const keys, n = 1000, 180_000_000
	step := int64(time.Second) / 25_000 // 25,000 events per second = 25 per key
	for _, fn := range []string{"count", "max"} {
		for _, a := range []window.TimeWindows{window.Tumbling(time.Hour), window.Sliding(time.Hour, time.Second)} {
			name := "tumbling"
			if !a.IsTumbling() {
				name = "sliding"
			}
			b.Run(fmt.Sprintf("fn=%s/%s", fn, name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					runCount(b, n, keys, step, 1, a, fn == "max")
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkScalingHeavyMap: the keyed tumbling count of
// BenchmarkKeyedTumblingCount behind a map that costs about 0.5 µs an element,
// so that at parallelism 1 one task is the bottleneck and parallelism 2 can
// use the second core: the speed-up shows whether the keyed exchange (which
// at parallelism 2 routes every record between the subtasks) holds the job
// back.
func BenchmarkScalingHeavyMap(b *testing.B) {
	const n = 2_000_000
	heavy := func(e Event) Event {
		x := uint64(e.Price)
		for range 400 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		e.Price = int64(x >> 40)
		return e
	}
	for _, par := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			for b.Loop() {
				env := stream.NewEnv(stream.WithParallelism(par))
				src := stream.Generate(env, gen(tumbleKeys, tumbleStep), stream.Limit(n)).
					WithTimestampsUnixNano(ts, stream.MonotonousTimestamps())
				mapped := stream.Map(src, heavy)
				var counted atomic.Int64 // ForEach runs in both subtasks at parallelism 2
				stream.Count(stream.KeyBy(mapped, func(e Event) int64 { return e.Key }).Window(window.Tumbling(time.Second))).
					ForEach(func(r window.Result[int64, int64]) error { counted.Add(r.Value); return nil })
				if err := env.Execute(context.Background()); err != nil {
					b.Fatal(err)
				}
				if got := counted.Load(); got != n {
					b.Fatalf("%d events counted, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
