package stream

import (
	"context"
	"fmt"
	"io"
	"iter"
	"math"
	"time"

	"github.com/braidstream/braid/operators"
)

// FromSource adds a source made by open, which is called once per subtask.
// parallel says whether the source can be split: if not, it runs as one
// subtask. Connectors use it; most jobs use the sources below.
func FromSource[T any](env *Env, name string, parallel bool, open operators.SourceFactory[T]) *Stream[T] {
	n := operators.NewSourceNode(name, open)
	if !parallel {
		n.MaxParallelism = 1
	}
	s := newStream[T](env, env.add(n), false)
	s.rejects = true
	return s
}

// FromSlice is a bounded source of the elements of vals, in order, in one
// subtask.
func FromSlice[T any](env *Env, vals []T) *Stream[T] {
	return FromSource(env, "slice", false, func(ctx context.Context, subtask, parallelism int) (operators.SourceReader[T], error) {
		return &sliceReader[T]{vals: vals}, nil
	})
}

type sliceReader[T any] struct {
	vals []T
	pos  int
}

func (r *sliceReader[T]) Read(ctx context.Context, buf []T) (int, error) {
	n := copy(buf, r.vals[r.pos:])
	r.pos += n
	if r.pos == len(r.vals) {
		return n, io.EOF
	}
	return n, nil
}

func (r *sliceReader[T]) Close() error { return nil }

// FromSeq is a source of the elements of seq, in one subtask; bounded when
// seq ends. The iterator runs in the source's goroutine; it is stopped
// (yield returns false) when the job ends first.
func FromSeq[T any](env *Env, seq iter.Seq[T]) *Stream[T] {
	return FromSource(env, "seq", false, func(ctx context.Context, subtask, parallelism int) (operators.SourceReader[T], error) {
		next, stop := iter.Pull(seq)
		return &seqReader[T]{next: next, stop: stop}, nil
	})
}

type seqReader[T any] struct {
	next func() (T, bool)
	stop func()
}

func (r *seqReader[T]) Read(ctx context.Context, buf []T) (int, error) {
	for i := range buf {
		v, ok := r.next()
		if !ok {
			return i, io.EOF
		}
		buf[i] = v
	}
	return len(buf), ctx.Err()
}

func (r *seqReader[T]) Close() error { r.stop(); return nil }

// FromChannel is a source of the values received from ch, in one subtask;
// it ends when ch is closed.
func FromChannel[T any](env *Env, ch <-chan T) *Stream[T] {
	return FromSource(env, "channel", false, func(ctx context.Context, subtask, parallelism int) (operators.SourceReader[T], error) {
		return chanReader[T]{ch}, nil
	})
}

type chanReader[T any] struct{ ch <-chan T }

func (r chanReader[T]) Read(ctx context.Context, buf []T) (int, error) {
	select {
	case v, ok := <-r.ch:
		if !ok {
			return 0, io.EOF
		}
		buf[0] = v
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	n := 1
	for n < len(buf) {
		select {
		case v, ok := <-r.ch:
			if !ok {
				return n, io.EOF
			}
			buf[n] = v
			n++
		default:
			return n, nil
		}
	}
	return n, nil
}

func (chanReader[T]) Close() error { return nil }

// A GenerateOption bounds or paces Generate.
type GenerateOption interface{ applyGen(*genConfig) }

type genConfig struct {
	limit int64
	rate  float64
}

type genOpt func(*genConfig)

func (f genOpt) applyGen(c *genConfig) { f(c) }

// Limit ends Generate after n elements (indices 0 to n-1). Without it the
// stream is endless.
func Limit(n int64) GenerateOption { return genOpt(func(c *genConfig) { c.limit = n }) }

// Rate paces Generate to about perSecond elements a second in all (by the
// Env's clock). Without it, elements come as fast as they are consumed.
func Rate(perSecond float64) GenerateOption { return genOpt(func(c *genConfig) { c.rate = perSecond }) }

// Generate is a source whose element i is f(i): deterministic, so it can be
// replayed from any index. In parallel, subtask j of p produces the indices
// j, j+p, j+2p, ... in order.
func Generate[T any](env *Env, f func(i int64) T, opts ...GenerateOption) *Stream[T] {
	cfg := genConfig{limit: math.MaxInt64}
	for _, o := range opts {
		o.applyGen(&cfg)
	}
	if cfg.limit < 0 || cfg.rate < 0 || math.IsNaN(cfg.rate) {
		env.fail(fmt.Errorf("braid: Generate: limit and rate must not be negative (got %d, %v)", cfg.limit, cfg.rate))
	}
	clock := env.clock()
	return FromSource(env, "generate", true, func(ctx context.Context, subtask, parallelism int) (operators.SourceReader[T], error) {
		r := &genReader[T]{f: f, next: int64(subtask), step: int64(parallelism), limit: cfg.limit, clock: clock}
		if cfg.rate > 0 {
			r.interval = time.Duration(float64(time.Second) * float64(parallelism) / cfg.rate)
			r.start = clock.Now()
		}
		return r, nil
	})
}

type genReader[T any] struct {
	f          func(int64) T
	next, step int64
	limit      int64
	clock      operators.Clock
	interval   time.Duration
	start      time.Time
	count      int64
	timer      operators.Timer
}

func (r *genReader[T]) Read(ctx context.Context, buf []T) (int, error) {
	n := len(buf)
	if r.interval > 0 {
		// Elements due by now, and at least one (waiting for it).
		due := int64(r.clock.Now().Sub(r.start)/r.interval) + 1 - r.count
		if due <= 0 {
			wait := r.start.Add(time.Duration(r.count) * r.interval).Sub(r.clock.Now())
			if r.timer == nil {
				r.timer = r.clock.NewTimer(wait)
			} else {
				r.timer.Reset(wait)
			}
			select {
			case <-r.timer.C():
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			due = 1
		}
		n = int(min(int64(n), due))
	}
	f, i, step, limit := r.f, r.next, r.step, r.limit
	k := 0
	for ; k < n && i < limit; k++ {
		buf[k] = f(i)
		i += step
	}
	r.next = i
	r.count += int64(k)
	if i >= limit {
		return k, io.EOF
	}
	return k, nil
}

func (r *genReader[T]) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	return nil
}

func (r *sliceReader[T]) Inline() bool { return true }
func (r *genReader[T]) Inline() bool   { return r.interval == 0 }
