package nexmark

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
)

// runOn runs q on the stream src makes, in the setup's job, and collects
// its results.
func runOn[T any](t *testing.T, s setup, src func(*stream.Env) *stream.Stream[Event], q func(*stream.Stream[Event]) *stream.Stream[T]) []T {
	t.Helper()
	env := stream.NewEnv(stream.WithParallelism(s.par), stream.WithBatchSize(s.batch))
	c := stream.Collect(q(src(env)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	return c.Items()
}

// sameFromMemory checks that q gives the same results on FromEvents(evs)
// as on Events' stream of the same events.
func sameFromMemory[T comparable](t *testing.T, what string, g *Generator, n int64, s setup, evs []Event, q func(*stream.Stream[Event]) *stream.Stream[T]) {
	t.Helper()
	streamed := runOn(t, s, func(env *stream.Env) *stream.Stream[Event] { return Events(env, g, n) }, q)
	fromMemory := runOn(t, s, func(env *stream.Env) *stream.Stream[Event] { return FromEvents(env, NewMemory(evs)) }, q)
	if len(streamed) == 0 {
		t.Fatalf("%s: no results", what)
	}
	sameMultiset(t, what+" from memory", fromMemory, streamed)
}

// TestFromEventsSameResults: the in-memory source (events made
// beforehand, read in chunks by each subtask, timestamps and watermarks
// from the source) gives every query the results of the generator's
// stream, at every parallelism, batch size and disorder of the setups.
func TestFromEventsSameResults(t *testing.T) {
	forSetups(t, func(t *testing.T, g *Generator, n int64, s setup, evs []Event) {
		if got := g.Take(n); !slices.Equal(got.Events, evs) || got.MaxOutOfOrder > g.MaxOutOfOrder() || got.First != evs[0].DateTime() && s.disorder == 0 {
			t.Fatalf("Take(%d) differs from Event(0..%d)", n, n-1)
		}
		sameFromMemory(t, "q0", g, n, s, evs, Q0)
		sameFromMemory(t, "q3", g, n, s, evs, Q3)
		sameFromMemory(t, "q4", g, n, s, evs, Q4Closing)
		sameFromMemory(t, "q5", g, n, s, evs, Q5)
		sameFromMemory(t, "q7", g, n, s, evs, Q7)
		sameFromMemory(t, "q8", g, n, s, evs, Q8)
		sameFromMemory(t, "q11", g, n, s, evs, Q11)
	})
}

// TestRunEvents: RunEvents and BaselineEvents count what RunWith and
// BaselineWith count on the same events; only the latency queries
// measure latency.
func TestRunEvents(t *testing.T) {
	t.Parallel()
	n, rate := testEvents()
	cfg := func(seed uint64) []Config { return []Config{{Seed: seed, EventsPerSecond: rate}} }
	g := NewGenerator(cfg(testSeed(t, n, cfg))[0])
	evs := g.Take(n)
	for _, q := range Queries {
		for _, par := range []int{1, 2} {
			mem, err := RunEvents(context.Background(), q, evs, stream.WithParallelism(par))
			if err != nil {
				t.Fatalf("%s p=%d: %v", q, par, err)
			}
			streamed, err := RunWith(context.Background(), q, g, n, stream.WithParallelism(par))
			if err != nil {
				t.Fatalf("%s p=%d: %v", q, par, err)
			}
			// q12's windows are of processing time: its counts depend on when
			// each event is read.
			if mem.Outputs == 0 || mem.Events != n || q != "q12" && mem.Outputs != streamed.Outputs {
				t.Errorf("%s p=%d: RunEvents %+v, RunWith had %d outputs", q, par, mem, streamed.Outputs)
			}
			if timed := slices.Contains(LatencyQueries, q); timed != (len(mem.Latencies) > 0) || timed != (len(streamed.Latencies) > 0) {
				t.Errorf("%s p=%d: %d and %d latencies sampled (in memory, streaming)", q, par, len(mem.Latencies), len(streamed.Latencies))
			}
		}
		if slices.Contains(Baselines, q) {
			b, err := BaselineEvents(q, evs)
			if err != nil || b.Outputs != mustRun(t, q, evs).Outputs {
				t.Errorf("%s: BaselineEvents %+v, %v", q, b, err)
			}
			bw, err := BaselineWith(q, g, n)
			if err != nil || bw.Outputs != b.Outputs {
				t.Errorf("%s: BaselineWith %+v, %v; BaselineEvents had %d", q, bw, err, b.Outputs)
			}
		}
	}
	if _, err := RunEvents(context.Background(), "q6", evs); err == nil {
		t.Errorf("RunEvents(q6) has no error")
	}
	disordered := NewGenerator(Config{Seed: 1, OutOfOrderGroupSize: 16}).Take(1000)
	if _, err := BaselineEvents("q5", disordered); err == nil {
		t.Errorf("BaselineEvents on events out of order has no error")
	}
}

func mustRun(t *testing.T, q string, evs *Memory) Result {
	t.Helper()
	r, err := RunEvents(context.Background(), q, evs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLatency: a q7 run samples the latency of every window closed by an
// event (all but the last, closed by the end of input), each a positive
// duration within the run, in memory and streaming.
func TestLatency(t *testing.T) {
	t.Parallel()
	n, rate := testEvents()
	g := NewGenerator(Config{Seed: testseed.Seed(t), EventsPerSecond: rate})
	evs := g.Take(n)
	windows := map[int64]bool{}
	for _, b := range bidsOf(evs.Events) {
		windows[b.DateTime*msNs/int64(Q7Size)] = true
	}
	for _, mode := range []string{"memory", "stream"} {
		var r Result
		var err error
		if mode == "memory" {
			r, err = RunEvents(context.Background(), "q7", evs)
		} else {
			r, err = RunWith(context.Background(), "q7", g, n)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Latencies) != len(windows)-1 {
			t.Errorf("%s: %d latencies for %d windows, want one for each but the last", mode, len(r.Latencies), len(windows))
		}
		if !slices.IsSorted(r.Latencies) {
			t.Errorf("%s: latencies not sorted", mode)
		}
		for _, l := range r.Latencies {
			if l <= 0 || l > r.Elapsed {
				t.Errorf("%s: latency %v (run took %v)", mode, l, r.Elapsed)
			}
		}
		if r.P50 <= 0 || r.P50 > r.P99 || !slices.Contains(r.Latencies, r.P99) {
			t.Errorf("%s: p50 %v, p99 %v of %v", mode, r.P50, r.P99, r.Latencies)
		}
	}
}

// TestQuantile: nearest rank.
func TestQuantile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for q, want := range map[float64]time.Duration{0.5: 5, 0.99: 10, 0.1: 1, 0.11: 2} {
		if got := quantile(d, q); got != want {
			t.Errorf("quantile(1..10, %v) = %v, want %v", q, got, want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Errorf("quantile of none is not 0")
	}
}

// TestFromEventsCheckpointed: a job reading from memory takes checkpoints
// (the source records its position) and still gives q5's results.
func TestFromEventsCheckpointed(t *testing.T) {
	t.Parallel()
	n, rate := testEvents()
	g := NewGenerator(Config{Seed: testseed.Seed(t), EventsPerSecond: rate})
	evs := g.Take(n)
	env := stream.NewEnv(stream.WithParallelism(2), stream.WithBatchSize(16),
		stream.WithCheckpointing(t.TempDir(), 5*time.Millisecond))
	c := stream.Collect(Q5(FromEvents(env, evs)))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	sameMultiset(t, "q5 checkpointed", c.Items(), q5Oracle(evs.Events))
}

// TestNewMemory: the bound is how far an event is behind the latest before
// it; First and Last the least and greatest times.
func TestNewMemory(t *testing.T) {
	m := NewMemory([]Event{bidAt(10, 1, 1, 1), bidAt(30, 1, 1, 1), bidAt(12, 1, 1, 1), bidAt(25, 1, 1, 1), bidAt(5, 1, 1, 1), bidAt(40, 1, 1, 1)})
	if m.MaxOutOfOrder != 25*time.Millisecond || m.First != 5 || m.Last != 40 {
		t.Errorf("NewMemory: bound %v, first %d, last %d; want 25ms, 5, 40", m.MaxOutOfOrder, m.First, m.Last)
	}
}
