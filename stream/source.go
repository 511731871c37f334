package stream

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"math"
	"time"

	"github.com/braidstream/braid/internal/pace"
	"github.com/braidstream/braid/operators"
)

// A SourceReader produces the elements of one subtask of a source: what a
// custom source implements. The runtime calls it from one goroutine at a
// time.
//
// Read fills buf with up to len(buf) elements and returns how many it wrote.
// It blocks until at least one element is ready, the input ends, or ctx is
// done; a reader that has some elements but would block for more returns
// those at once, so that a slow stream still flows. At the end of a bounded
// input it returns io.EOF (with n possibly > 0 on that call). When ctx is done
// it returns promptly with ctx's error. Any other error fails the job; the
// runtime names the source and subtask in it.
//
// Close releases the reader's resources; the runtime calls it exactly once,
// after the last Read, whether the input ended or not.
//
// A reader may also implement InlineReader (its Read never waits),
// RejectingReader (it sets bad input aside into DeadLetters instead of
// failing) and, for FromEventTimeSource, EventTimeReader.
type SourceReader[T any] = operators.SourceReader[T]

// A SourceFactory opens the reader of one subtask out of parallelism.
// Sources that cannot be split are given parallelism 1.
//
// Its signature: go doc github.com/braidstream/braid/operators.SourceFactory
type SourceFactory[T any] = operators.SourceFactory[T]

// An InlineReader is a SourceReader whose Read never waits (a generator, a
// slice): the runtime calls it from the source's task itself, saving a
// goroutine and a hand-off per batch.
type InlineReader = operators.InlineReader

// A RejectingReader is a SourceReader that sets aside input it cannot
// deliver as elements (a line over a length limit, a record cut short)
// instead of failing the job. After every Read, from the goroutine that
// called Read, the runtime calls Rejected, which appends to dst what was set
// aside since the last call. Those go to the source's DeadLetters, in order
// with its data, and are counted in Metrics.DeadLetters; each error should
// say where the input was.
type RejectingReader[T any] = operators.RejectingReader[T]

// An EventTimeReader is a SourceReader that knows event time itself: each
// element's timestamp and the source's watermark and idleness, as a Flink
// source that emits watermarks and marks itself idle. See
// FromEventTimeSource.
//
// After every Read, the runtime calls Timestamps (the Unix nanoseconds of
// the elements that Read returned, in order) and then Watermark (no element
// at or before wm will follow; idle: the source sends nothing for now and
// must not hold event time back). A reader with nothing to deliver should
// still return from Read now and then (with n = 0) so that a change is
// seen.
type EventTimeReader = operators.EventTimeReader

// FromSource adds a source made by open, which is called once per subtask.
// parallel says whether the source can be split: if not, it runs as one
// subtask. Connectors use it; most jobs use the sources below.
func FromSource[T any](env *Env, name string, parallel bool, open SourceFactory[T]) *Stream[T] {
	n := operators.NewSourceNode(name, open)
	if !parallel {
		n.MaxParallelism = 1
	}
	s := newStream[T](env, env.add(n), false)
	s.rejects = true
	return s
}

// MinWatermark is the watermark before any (an EventTimeReader's while it
// has none), and MaxWatermark the final one, at the end of input.
const (
	MinWatermark = operators.MinWatermark
	MaxWatermark = operators.MaxWatermark
)

// FromEventTimeSource adds a source whose readers know event time (they
// implement EventTimeReader as well as SourceReader): its stream is in
// event time as it comes, with the reader's timestamps, watermarks and
// idleness, and needs no WithTimestamps. A reader that does not implement
// EventTimeReader fails the job when it is opened.
func FromEventTimeSource[T any](env *Env, name string, parallel bool, open SourceFactory[T]) *Stream[T] {
	n := operators.NewSourceNode(name, func(ctx context.Context, subtask, parallelism int) (SourceReader[T], error) {
		r, err := open(ctx, subtask, parallelism)
		if err != nil {
			return nil, err
		}
		if _, ok := r.(EventTimeReader); !ok {
			r.Close()
			return nil, fmt.Errorf("braid: the reader of event-time source %q, a %T, does not implement EventTimeReader (Timestamps and Watermark)", name, r)
		}
		return r, nil
	})
	if !parallel {
		n.MaxParallelism = 1
	}
	s := newStream[T](env, env.add(n), true)
	s.rejects = true
	return s
}

// FromSlice is a bounded source of the elements of vals, in order, in one
// subtask.
func FromSlice[T any](env *Env, vals []T) *Stream[T] {
	return FromSource(env, "slice", false, func(ctx context.Context, subtask, parallelism int) (SourceReader[T], error) {
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
	return FromSource(env, "seq", false, func(ctx context.Context, subtask, parallelism int) (SourceReader[T], error) {
		next, stop := iter.Pull(seq)
		return &seqReader[T]{next: next, stop: stop}, nil
	})
}

type seqReader[T any] struct {
	next  func() (T, bool)
	stop  func()
	pacer pace.Pacer
	read  uint64 // elements taken from the iterator
}

func (r *seqReader[T]) Read(ctx context.Context, buf []T) (int, error) {
	// The iterator is the user's: paced as Generate's function is.
	done := ctx.Done()
	k := 0
	for start := pace.Now(); k < len(buf); {
		end := k + r.pacer.Run(len(buf)-k)
		t0 := pace.Now()
		k0 := k
		for ; k < end; k++ {
			v, ok := r.next()
			if !ok {
				return k, io.EOF
			}
			buf[k] = v
			r.read++
			if uint(k-k0)%pace.Check == pace.Check-1 && pace.Now()-t0 > pace.Budget {
				k++
				break
			}
		}
		t1 := pace.Now()
		r.pacer.Learn(k-k0, t1-t0)
		if k < len(buf) && (t1-start >= pace.Budget || isDone(done)) {
			break
		}
	}
	return k, ctx.Err()
}

func (r *seqReader[T]) Close() error { r.stop(); return nil }

// FromChannel is a source of the values received from ch, in one subtask;
// it ends when ch is closed.
func FromChannel[T any](env *Env, ch <-chan T) *Stream[T] {
	return FromSource(env, "channel", false, func(ctx context.Context, subtask, parallelism int) (SourceReader[T], error) {
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
// Env's clock). Without it, or with +Inf, elements come as fast as they are
// consumed; a rate below MinRate is a build error.
func Rate(perSecond float64) GenerateOption { return genOpt(func(c *genConfig) { c.rate = perSecond }) }

// MinRate is the slowest Rate: one element in about 32 years.
const MinRate = 1e-9

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
	} else if cfg.rate > 0 && cfg.rate < MinRate {
		env.fail(fmt.Errorf("braid: Generate: rate %v per second is below the least, %v (one element in about 32 years)", cfg.rate, MinRate))
	}
	clock := env.clock()
	return FromSource(env, "generate", true, func(ctx context.Context, subtask, parallelism int) (SourceReader[T], error) {
		r := &genReader[T]{f: f, next: int64(subtask), step: int64(parallelism), limit: cfg.limit, clock: clock}
		if cfg.rate > 0 {
			iv := float64(time.Second) * float64(parallelism) / cfg.rate
			r.interval = time.Duration(min(iv, math.MaxInt64/2)) // a slow rate at a high parallelism stays slow
			r.start = clock.Now()
		}
		return r, nil
	})
}

type genReader[T any] struct {
	f          func(int64) T
	next, step int64
	limit      int64
	clock      Clock
	interval   time.Duration
	start      time.Time
	count      int64
	timer      Timer
	pacer      pace.Pacer
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
	// f is the user's: run it in paced runs, and return early when the
	// job is cancelled or a read's budget is spent, so a slow f neither
	// delays cancellation nor holds back what it made.
	f, i, step, limit := r.f, r.next, r.step, r.limit
	done := ctx.Done()
	k := 0
	for start := pace.Now(); k < n && i < limit; {
		end := k + r.pacer.Run(n-k)
		t0 := pace.Now()
		k0 := k
		for ; k < end && i < limit; k++ {
			buf[k] = f(i)
			i += step
			if uint(k-k0)%pace.Check == pace.Check-1 && pace.Now()-t0 > pace.Budget {
				k++
				break
			}
		}
		t1 := pace.Now()
		r.pacer.Learn(k-k0, t1-t0)
		if k < n && (t1-start >= pace.Budget || isDone(done)) {
			break
		}
	}
	r.next = i
	r.count += int64(k)
	if i >= limit {
		return k, io.EOF
	}
	return k, nil
}

// isDone reports whether done is closed, without waiting.
func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

func (r *genReader[T]) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	return nil
}

func (r *sliceReader[T]) Inline() bool { return true }
func (r *genReader[T]) Inline() bool   { return r.interval == 0 }

// ReplayableReader is a SourceReader that can say where it is and go back
// there: a source that takes part in checkpoints. See
// operators.ReplayableReader.
type ReplayableReader = operators.ReplayableReader

// CommitListener is a ReplayableReader told, between two Reads, the
// position of the newest complete checkpoint, so that it can let go of
// what no restore needs (old segments of a log, offsets to commit to a
// broker). See operators.CommitListener for when it is told and what it
// may let go of.
type CommitListener = operators.CommitListener

// Positions of the built-in sources, for checkpoints: the number of
// elements read (slice, seq) or the next index (Generate), as a uvarint.

func (r *sliceReader[T]) Position() ([]byte, error) {
	return binary.AppendUvarint(nil, uint64(r.pos)), nil
}

func (r *sliceReader[T]) Seek(pos []byte) error {
	p, err := decodePosition(pos, "slice")
	if err != nil {
		return err
	}
	if p > uint64(len(r.vals)) {
		return fmt.Errorf("braid: slice source: position %d beyond its %d elements (was the slice changed?)", p, len(r.vals))
	}
	r.pos = int(p)
	return nil
}

// FromSeq replays by running the iterator again and skipping what was
// read: exact for an iterator that yields the same sequence each time.
func (r *seqReader[T]) Position() ([]byte, error) { return binary.AppendUvarint(nil, r.read), nil }

func (r *seqReader[T]) Seek(pos []byte) error {
	p, err := decodePosition(pos, "seq")
	if err != nil {
		return err
	}
	for r.read < p {
		if _, ok := r.next(); !ok {
			return fmt.Errorf("braid: seq source: the sequence ended after %d elements, before its checkpointed position %d (is it not the same each run?)", r.read, p)
		}
		r.read++
	}
	return nil
}

func (r *genReader[T]) Position() ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(r.next))
	return binary.AppendUvarint(b, uint64(r.count)), nil
}

func (r *genReader[T]) Seek(pos []byte) error {
	next, n := binary.Uvarint(pos)
	count, m := binary.Uvarint(pos[max(n, 0):])
	if n <= 0 || m <= 0 || n+m != len(pos) || int64(next) < 0 || (int64(next)-int64(count)*r.step) != r.next {
		return fmt.Errorf("braid: generate source: position %x is not one of this subtask's (was the parallelism changed?)", pos)
	}
	r.next, r.count = int64(next), int64(count)
	if r.interval > 0 {
		// Go on at the rate from here, without a burst for the time the job
		// was down.
		r.start = r.clock.Now().Add(-time.Duration(r.count) * r.interval)
	}
	return nil
}

func decodePosition(pos []byte, source string) (uint64, error) {
	p, n := binary.Uvarint(pos)
	if n <= 0 || n != len(pos) {
		return 0, fmt.Errorf("braid: %s source: malformed position %x", source, pos)
	}
	return p, nil
}
