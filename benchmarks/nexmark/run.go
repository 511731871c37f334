package nexmark

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Queries are the names Run takes, in order.
var Queries = []string{"q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q11", "q12"}

// Baselines are the names Baseline takes: the queries that have a
// hand-written twin.
var Baselines = []string{"q0", "q1", "q2", "q5", "q7", "q11"}

// ErrUnknownQuery is returned by Run and Baseline for a name they do not know.
var ErrUnknownQuery = errors.New("braid: nexmark: unknown query")

// A Result is what a run did: how many events it read, how many results it
// emitted, how long it took (wall time, from building the job to the end
// of Execute, or of the loop) and, for LatencyQueries run with Braid, the
// latency of its results (see Latency).
type Result struct {
	Events, Outputs int64
	Elapsed         time.Duration
	// Latencies are the sampled latencies, sorted; nil when the query does
	// not measure them (not in LatencyQueries, or a baseline).
	Latencies []time.Duration
	// P50 and P99 are the median and 99th percentile of Latencies (0 when
	// there are none).
	P50, P99 time.Duration
}

// LatencyQueries are the queries whose runs measure latency: those whose
// results are windows closed by event time.
var LatencyQueries = []string{"q5", "q7", "q8", "q11"}

// Latency says what Result.Latencies are.
const Latency = "wall time from the read (in memory) or generation (streaming) of the first event whose timestamp is at or past " +
	"a window's end (the event that lets the watermark pass the end) to the window's result reaching the sink; " +
	"sampled on the first result of each window end in each batch the sink is given and every 64th result; " +
	"windows closed only by the end of input are not sampled"

// Run runs query (one of Queries) over the first n events of cfg's generator
// with Braid, in a job made with opts (parallelism, batch size, ...), and
// counts its results, which it otherwise discards. The generator is made
// before the clock starts; the events are made as the job runs (Events),
// so the figures include the generator's cost. RunEvents reads them from
// memory instead.
func Run(ctx context.Context, query string, cfg Config, n int64, opts ...stream.Option) (Result, error) {
	return RunWith(ctx, query, NewGenerator(cfg), n, opts...)
}

// RunWith is Run with a generator made beforehand (a benchmark makes it
// once, out of the timed loop).
func RunWith(ctx context.Context, query string, g *Generator, n int64, opts ...stream.Option) (Result, error) {
	if !slices.Contains(Queries, query) {
		return Result{}, fmt.Errorf("%w %q (known: %v)", ErrUnknownQuery, query, Queries)
	}
	var marks *readTimes
	f := g.Event
	if slices.Contains(LatencyQueries, query) {
		marks = newReadTimes(g.timestamp(0), g.timestamp(n+g.group))
		var hi atomic.Int64
		hi.Store(-1 << 62)
		f = func(i int64) Event {
			e := g.Event(i)
			if t := e.DateTime(); t > hi.Load() {
				if prev := hi.Swap(t); t > prev {
					marks.mark(prev+1, t, time.Now().UnixNano())
				}
			}
			return e
		}
	}
	return run(ctx, query, n, marks, func(env *stream.Env) *stream.Stream[Event] {
		src := stream.Generate(env, f, stream.Limit(n)).Name("nexmark")
		if query == "q12" {
			return src
		}
		return src.WithTimestampsUnixNano(eventTime, stream.BoundedOutOfOrderness(g.MaxOutOfOrder()))
	}, opts)
}

// RunEvents is Run over events made beforehand (Generator.Take): the job's
// source reads them from memory (FromEvents; SourceEvents for q12), so the
// figures are the query's work without the generator's.
func RunEvents(ctx context.Context, query string, m *Memory, opts ...stream.Option) (Result, error) {
	if !slices.Contains(Queries, query) {
		return Result{}, fmt.Errorf("%w %q (known: %v)", ErrUnknownQuery, query, Queries)
	}
	var marks *readTimes
	if slices.Contains(LatencyQueries, query) && len(m.Events) > 0 {
		marks = newReadTimes(m.First, m.Last)
	}
	return run(ctx, query, int64(len(m.Events)), marks, func(env *stream.Env) *stream.Stream[Event] {
		if query == "q12" {
			return SourceEvents(env, m)
		}
		return fromEvents(env, m, marks)
	}, opts)
}

// run builds query's job on the events of source, runs it and counts its
// results; with marks, it samples their latency.
func run(ctx context.Context, query string, n int64, marks *readTimes, source func(*stream.Env) *stream.Stream[Event], opts []stream.Option) (Result, error) {
	start := time.Now()
	env := stream.NewEnv(opts...)
	var out atomic.Int64
	lat := &latencies{marks: marks}
	events := source(env)
	switch query {
	case "q0":
		sinkCount(Q0(events), &out, nil, nil)
	case "q1":
		sinkCount(Q1(events), &out, nil, nil)
	case "q2":
		sinkCount(Q2(events), &out, nil, nil)
	case "q3":
		sinkCount(Q3(events), &out, nil, nil)
	case "q4":
		sinkCount(Q4(events), &out, nil, nil)
	case "q5":
		sinkCount(Q5(events), &out, lat, func(h HotItem) int64 { return h.Window.End })
	case "q7":
		sinkCount(Q7(events), &out, lat, func(r window.Result[struct{}, Bid]) int64 { return r.Window.End })
	case "q8":
		sinkCount(Q8(events), &out, lat, func(u NewUser) int64 { return u.Window.End })
	case "q11":
		sinkCount(Q11(events), &out, lat, func(r window.Result[int64, int64]) int64 { return r.Window.End })
	case "q12":
		sinkCount(Q12(events), &out, nil, nil)
	}
	if err := env.Execute(ctx); err != nil {
		return Result{}, fmt.Errorf("braid: nexmark %s: %w", query, err)
	}
	r := Result{Events: n, Outputs: out.Load(), Elapsed: time.Since(start)}
	if marks != nil {
		r.Latencies = lat.all()
		r.P50, r.P99 = quantile(r.Latencies, 0.50), quantile(r.Latencies, 0.99)
	}
	return r, nil
}

// quantile is the q-quantile of sorted (nearest rank), 0 for none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// sinkCount ends s in a sink that counts its elements, a batch at a time,
// and, with lat and end (the Unix ns of a result's window end), samples
// their latency.
func sinkCount[T any](s *stream.Stream[T], n *atomic.Int64, lat *latencies, end func(T) int64) {
	s.SinkTo("count", func(stream.SinkContext) (stream.TwoPhaseSink[T], error) {
		c := &counter[T]{n: n}
		if lat != nil && lat.marks != nil {
			c.marks, c.end, c.lat = lat.marks, end, lat.add()
		}
		return c, nil
	})
}

// latencies gathers the samples of a job's sink subtasks, each in its own
// slice (so a sample takes no lock).
type latencies struct {
	marks *readTimes
	mu    sync.Mutex
	per   []*[]time.Duration
}

// add returns a new subtask's slice of samples.
func (l *latencies) add() *[]time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := make([]time.Duration, 0, 1024)
	l.per = append(l.per, &s)
	return &s
}

// all is every subtask's samples, sorted.
func (l *latencies) all() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	all := []time.Duration{}
	for _, s := range l.per {
		all = append(all, *s...)
	}
	slices.Sort(all)
	return all
}

// counter is a sink subtask that counts what it is given and, with marks,
// samples latencies.
type counter[T any] struct {
	n       *atomic.Int64
	marks   *readTimes
	end     func(T) int64
	lat     *[]time.Duration
	lastEnd int64
	seen    int64
}

func (c *counter[T]) Write(vals []T) error {
	c.n.Add(int64(len(vals)))
	if c.marks == nil {
		return nil
	}
	now := time.Now().UnixNano()
	for i := range vals {
		c.seen++
		end := c.end(vals[i])
		if end == c.lastEnd && c.seen%64 != 0 {
			continue
		}
		c.lastEnd = end
		if t := c.marks.readAt(end); t != 0 {
			*c.lat = append(*c.lat, time.Duration(now-t))
		}
	}
	c.lastEnd = math.MinInt64 // the next batch samples its first result again
	return nil
}

func (c *counter[T]) PreCommit(int64) ([]byte, error) { return nil, nil }
func (c *counter[T]) Commit([]byte) error             { return nil }
func (c *counter[T]) Recover([][]byte) error          { return nil }
func (c *counter[T]) Abort() error                    { return nil }
func (c *counter[T]) Close() error                    { return nil }

// Baseline runs query (one of Baselines) over the same events as Run, as a
// hand-written Go loop on one goroutine: the generator filling a buffer, a
// branch on the kind, maps and slices, no framework. It is the yardstick
// of Run's figures.
func Baseline(query string, cfg Config, n int64) (Result, error) {
	return BaselineWith(query, NewGenerator(cfg), n)
}

// BaselineWith is Baseline with a generator made beforehand.
func BaselineWith(query string, g *Generator, n int64) (Result, error) {
	return baseline(query, n, func(yield func([]Event) bool) {
		buf := make([]Event, memChunk)
		for i := int64(0); i < n; {
			b := buf[:min(int64(len(buf)), n-i)]
			for k := range b {
				b[k] = g.Event(i)
				i++
			}
			if !yield(b) {
				return
			}
		}
	})
}

// BaselineEvents is Baseline over events made beforehand (Generator.Take),
// read in place: RunEvents' yardstick. It needs them in order
// (m.MaxOutOfOrder == 0).
func BaselineEvents(query string, m *Memory) (Result, error) {
	evs := m.Events
	if m.MaxOutOfOrder != 0 {
		return Result{}, errors.New("braid: nexmark: the baselines need events in order")
	}
	return baseline(query, int64(len(evs)), func(yield func([]Event) bool) {
		for lo := 0; lo < len(evs); lo += memChunk {
			if !yield(evs[lo:min(lo+memChunk, len(evs))]) {
				return
			}
		}
	})
}

func baseline(query string, n int64, batches iter.Seq[[]Event]) (Result, error) {
	if !slices.Contains(Baselines, query) {
		return Result{}, fmt.Errorf("%w %q for a baseline (known: %v)", ErrUnknownQuery, query, Baselines)
	}
	start := time.Now()
	var out int64
	switch query {
	case "q0":
		out = baseQ0(batches)
	case "q1":
		out = baseQ1(batches)
	case "q2":
		out = baseQ2(batches)
	case "q5":
		baseQ5(batches, func(HotItem) { out++ })
	case "q7":
		baseQ7(batches, func(Bid, int64) { out++ })
	case "q11":
		baseQ11(batches, func(int64, int64, int64, int64) { out++ })
	}
	return Result{Events: n, Outputs: out, Elapsed: time.Since(start)}, nil
}
