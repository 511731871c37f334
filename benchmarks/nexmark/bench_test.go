package nexmark

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
)

var benchEvents = flag.Int64("nexmark.events", 2_000_000, "events per run of each Nexmark benchmark")

// BenchmarkNexmark runs each query with Braid at parallelism 1 and 2, and
// its hand-written baseline where it has one, over the same events (the
// reference's default workload, 10,000 events a second of event time),
// read from memory (src=memory: made beforehand by Generator.Take, so the
// figures are the query's work) or made as the job runs (src=stream, the
// generator's cost included):
//
//	go test -run NONE -bench Nexmark -count 5 ./benchmarks/nexmark/ | tee new.txt
//
// Metrics: events/s (wall time), cpu-ns/event (user and system CPU of the
// whole process, every goroutine), allocs/event, and for LatencyQueries
// p50-ns and p99-ns (Latency) of the last run.
func BenchmarkNexmark(b *testing.B) {
	g := NewGenerator(Config{Seed: 42})
	n := *benchEvents
	evs := g.Take(n)
	for _, q := range Queries {
		for _, src := range []string{"memory", "stream"} {
			for _, par := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/src=%s/impl=braid/p=%d", q, src, par), func(b *testing.B) {
					measure(b, n, func() (Result, error) {
						if src == "memory" {
							return RunEvents(context.Background(), q, evs, stream.WithParallelism(par))
						}
						return RunWith(context.Background(), q, g, n, stream.WithParallelism(par))
					})
				})
			}
			if slices.Contains(Baselines, q) {
				b.Run(fmt.Sprintf("%s/src=%s/impl=baseline", q, src), func(b *testing.B) {
					measure(b, n, func() (Result, error) {
						if src == "memory" {
							return BaselineEvents(q, evs)
						}
						return BaselineWith(q, g, n)
					})
				})
			}
		}
	}
}

// BenchmarkGenerator is what making the events alone costs.
func BenchmarkGenerator(b *testing.B) {
	g := NewGenerator(Config{Seed: 42})
	var i int64
	var sink Kind
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		e := g.Event(i)
		sink += e.Kind
		i++
	}
	_ = sink
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
}

// measure runs run in b's loop and reports events/s, CPU and allocations
// per event.
func measure(b *testing.B, n int64, run func() (Result, error)) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	iters := 0
	var last Result
	for b.Loop() {
		r, err := run()
		last = r
		if err != nil {
			b.Fatal(err)
		}
		if r.Outputs == 0 {
			b.Fatal("no results")
		}
		iters++
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	events := float64(n) * float64(iters)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
	if len(last.Latencies) > 0 {
		b.ReportMetric(float64(last.P50.Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(last.P99.Nanoseconds()), "p99-ns")
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
