package nexmark

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/stream"
)

// Queries are the names Run takes, in order.
var Queries = []string{"q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q11", "q12"}

// Baselines are the names Baseline takes: the queries that have a
// hand-written twin.
var Baselines = []string{"q0", "q1", "q2", "q5", "q7", "q11"}

// ErrUnknownQuery is returned by Run and Baseline for a name they do not know.
var ErrUnknownQuery = errors.New("braid: nexmark: unknown query")

// A Result is what a run did: how many events it read, how many results it
// emitted, and how long it took (wall time, from building the job to the
// end of Execute, or of the loop).
type Result struct {
	Events, Outputs int64
	Elapsed         time.Duration
}

// Run runs query (one of Queries) over the first n events of cfg's generator
// with Braid, in a job made with opts (parallelism, batch size, ...), and
// counts its results, which it otherwise discards. The generator is made
// before the clock starts.
func Run(ctx context.Context, query string, cfg Config, n int64, opts ...stream.Option) (Result, error) {
	return RunWith(ctx, query, NewGenerator(cfg), n, opts...)
}

// RunWith is Run with a generator made beforehand (a benchmark makes it
// once, out of the timed loop).
func RunWith(ctx context.Context, query string, g *Generator, n int64, opts ...stream.Option) (Result, error) {
	start := time.Now()
	env := stream.NewEnv(opts...)
	var out atomic.Int64
	switch query {
	case "q0":
		sinkCount(Q0(Events(env, g, n)), &out)
	case "q1":
		sinkCount(Q1(Events(env, g, n)), &out)
	case "q2":
		sinkCount(Q2(Events(env, g, n)), &out)
	case "q3":
		sinkCount(Q3(Events(env, g, n)), &out)
	case "q4":
		sinkCount(Q4(Events(env, g, n)), &out)
	case "q5":
		sinkCount(Q5(Events(env, g, n)), &out)
	case "q7":
		sinkCount(Q7(Events(env, g, n)), &out)
	case "q8":
		sinkCount(Q8(Events(env, g, n)), &out)
	case "q11":
		sinkCount(Q11(Events(env, g, n)), &out)
	case "q12":
		sinkCount(Q12(Source(env, g, n)), &out)
	default:
		return Result{}, fmt.Errorf("%w %q (known: %v)", ErrUnknownQuery, query, Queries)
	}
	if err := env.Execute(ctx); err != nil {
		return Result{}, fmt.Errorf("braid: nexmark %s: %w", query, err)
	}
	return Result{Events: n, Outputs: out.Load(), Elapsed: time.Since(start)}, nil
}

// sinkCount ends s in a sink that counts its elements, a batch at a time.
func sinkCount[T any](s *stream.Stream[T], n *atomic.Int64) {
	s.SinkTo("count", func(stream.SinkContext) (stream.TwoPhaseSink[T], error) {
		return &counter[T]{n: n}, nil
	})
}

// counter is a sink subtask that counts what it is given.
type counter[T any] struct{ n *atomic.Int64 }

func (c *counter[T]) Write(vals []T) error            { c.n.Add(int64(len(vals))); return nil }
func (c *counter[T]) PreCommit(int64) ([]byte, error) { return nil, nil }
func (c *counter[T]) Commit([]byte) error             { return nil }
func (c *counter[T]) Recover([][]byte) error          { return nil }
func (c *counter[T]) Abort() error                    { return nil }
func (c *counter[T]) Close() error                    { return nil }

// Baseline runs query (one of Baselines) over the same events as Run, as a
// hand-written Go loop on one goroutine: the generator, a type switch, maps
// and slices, no framework. It is the yardstick of Run's figures.
func Baseline(query string, cfg Config, n int64) (Result, error) {
	return BaselineWith(query, NewGenerator(cfg), n)
}

// BaselineWith is Baseline with a generator made beforehand.
func BaselineWith(query string, g *Generator, n int64) (Result, error) {
	if !slices.Contains(Baselines, query) {
		return Result{}, fmt.Errorf("%w %q for a baseline (known: %v)", ErrUnknownQuery, query, Baselines)
	}
	start := time.Now()
	var out int64
	switch query {
	case "q0":
		out = baseQ0(g.Event, n)
	case "q1":
		out = baseQ1(g.Event, n)
	case "q2":
		out = baseQ2(g.Event, n)
	case "q5":
		baseQ5(g.Event, n, func(HotItem) { out++ })
	case "q7":
		baseQ7(g.Event, n, func(Bid, int64) { out++ })
	case "q11":
		baseQ11(g.Event, n, func(int64, int64, int64, int64) { out++ })
	}
	return Result{Events: n, Outputs: out, Elapsed: time.Since(start)}, nil
}
