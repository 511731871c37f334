package stream

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/braidstream/braid/operators"
	"github.com/braidstream/braid/window"
)

// tagged is an element of either side of a join, on the way to the window
// that groups both sides by key.
type tagged[A, B any] struct {
	isB bool
	a   A
	b   B
}

// split holds a window's elements of each side of a co-group.
type split[A, B any] struct {
	as []A
	bs []B
}

// CoGroup groups two keyed streams by key and window and calls f once per
// key and window with the elements of each side (one side may be empty:
// the tool for outer joins). The slices are valid only during the call. As
// in Flink, it is a window over the union of both streams, so the window's
// semantics (lateness, late elements, end of input) are the window
// operator's; the results of time windows carry the window's max
// timestamp. Both streams must carry event timestamps, or neither.
func CoGroup[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner window.Assigner,
	f func(key K, w window.Window, as []A, bs []B, emit func(R))) *Stream[R] {
	if _, ok := assigner.(window.TimeWindows); !ok {
		if _, ok := assigner.(window.SessionWindows); !ok {
			a.s.env.fail(fmt.Errorf("braid: join/cogroup needs time or session windows, not %v", assigner))
		}
	}
	ta := Map(a.s, func(v A) tagged[A, B] { return tagged[A, B]{a: v} }).Name("cogroup left")
	tb := Map(b.s, func(v B) tagged[A, B] { return tagged[A, B]{isB: true, b: v} }).Name("cogroup right")
	keyA, keyB := a.key, b.key
	both := KeyBy(ta.Merge(tb), func(t tagged[A, B]) K {
		if t.isB {
			return keyB(t.b)
		}
		return keyA(t.a)
	})
	// Subtasks call the function concurrently: each call borrows buffers.
	pool := sync.Pool{New: func() any { return new(split[A, B]) }}
	return Apply(both.Window(assigner), func(key K, w window.Window, elems []tagged[A, B], emit func(R)) {
		sp := pool.Get().(*split[A, B])
		for _, t := range elems {
			if t.isB {
				sp.bs = append(sp.bs, t.b)
			} else {
				sp.as = append(sp.as, t.a)
			}
		}
		f(key, w, sp.as, sp.bs, emit)
		clear(sp.as)
		clear(sp.bs)
		sp.as, sp.bs = sp.as[:0], sp.bs[:0]
		pool.Put(sp)
	}).Name("cogroup " + assigner.String())
}

// Join is the inner window join of two keyed streams: for each key and
// window, f of every pair of an element of a and an element of b in it,
// as Flink's a.join(b).where(..).equalTo(..).window(..). Keys without
// elements on both sides give nothing. See CoGroup for outer joins.
func Join[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner window.Assigner, f func(A, B) R) *Stream[R] {
	return CoGroup(a, b, assigner, func(_ K, _ window.Window, as []A, bs []B, emit func(R)) {
		for _, x := range as {
			for _, y := range bs {
				emit(f(x, y))
			}
		}
	}).Name("join " + assigner.String())
}

// An IntervalJoinOption refines IntervalJoin: LowerBoundExclusive,
// UpperBoundExclusive.
type IntervalJoinOption interface{ applyInterval(*intervalConfig) }

type intervalConfig struct {
	lowerExclusive, upperExclusive bool
}

type intervalOpt func(*intervalConfig)

func (f intervalOpt) applyInterval(c *intervalConfig) { f(c) }

// LowerBoundExclusive excludes the lower bound: b joins a only when
// b.ts > a.ts+lower (Flink's lowerBoundExclusive()).
func LowerBoundExclusive() IntervalJoinOption {
	return intervalOpt(func(c *intervalConfig) { c.lowerExclusive = true })
}

// UpperBoundExclusive excludes the upper bound: b joins a only when
// b.ts < a.ts+upper (Flink's upperBoundExclusive()).
func UpperBoundExclusive() IntervalJoinOption {
	return intervalOpt(func(c *intervalConfig) { c.upperExclusive = true })
}

// IntervalJoin joins two keyed streams on event time, as Flink's
// intervalJoin: a of the first stream and b of the second with the same
// key make the pair f(a, b) when a.ts+lower <= b.ts <= a.ts+upper (both
// bounds included unless LowerBoundExclusive or UpperBoundExclusive is
// given; lower may be negative, and lower == upper joins exact offsets).
// Timestamps are whole nanoseconds, so an exclusive bound is the inclusive
// one moved 1ns inwards, as in Flink (in milliseconds there): an interval
// that holds no nanosecond, such as [d, d) or (0, 1ns), is refused when
// the job is built rather than joining nothing. The pair carries the later
// of the two timestamps. Each side is kept per key until the watermark
// passes the last time a partner could arrive, so memory follows the
// interval, not the stream. An element earlier than the watermark is late:
// it joins nothing, is counted, and goes to lateA or lateB (which nothing
// need read). Both streams must carry event timestamps.
func IntervalJoin[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], lower, upper time.Duration,
	f func(A, B) R, opts ...IntervalJoinOption) (joined *Stream[R], lateA *Stream[A], lateB *Stream[B]) {
	env := a.s.env
	var cfg intervalConfig
	for _, o := range opts {
		o.applyInterval(&cfg)
	}
	opening, closing := "[", "]"
	if cfg.lowerExclusive {
		opening = "("
	}
	if cfg.upperExclusive {
		closing = ")"
	}
	interval := fmt.Sprintf("%s%v,%v%s", opening, lower, upper, closing)
	if !a.s.eventTime || !b.s.eventTime {
		env.fail(fmt.Errorf("braid: interval join of %q and %q: both need event timestamps (WithTimestamps)", a.s.node.Name, b.s.node.Name))
	}
	// The inclusive bounds in nanoseconds, without overflow: an exclusive
	// lower bound at the largest duration (or upper at the least) leaves
	// nothing.
	lo, hi := int64(lower), int64(upper)
	empty := false
	if cfg.lowerExclusive {
		empty = empty || lo == math.MaxInt64
		lo++
	}
	if cfg.upperExclusive {
		empty = empty || hi == math.MinInt64
		hi--
	}
	switch {
	case lower > upper:
		env.fail(fmt.Errorf("braid: interval join: lower bound %v is after upper bound %v", lower, upper))
	case empty || lo > hi:
		env.fail(fmt.Errorf("braid: interval join: the interval %s holds no nanosecond, so it would join nothing", interval))
	}
	n := operators.NewOpNode[R]("interval join "+interval, nil)
	sideA := operators.NewSideNode[A]("late left of "+n.Name, n)
	sideB := operators.NewSideNode[B]("late right of "+n.Name, n)
	sideA.Timed, sideB.Timed = true, true
	keyA, keyB := a.key, b.key
	n.SetBuild(func(bc *operators.BuildContext, out any) ([]any, error) {
		j := operators.NewIntervalJoin(keyA, keyB, lo, hi, f, bc, out.(operators.Input[R]),
			bc.Side(0).(operators.Input[A]), bc.Side(1).(operators.Input[B]))
		return j.Inputs(), nil
	})
	n.Inputs = []operators.Edge{a.edge(), b.edge()}
	n.Inputs[1].Input = 1
	env.add(n)
	env.add(sideA)
	env.add(sideB)
	return newStream[R](env, n, true), newStream[A](env, sideA, true), newStream[B](env, sideB, true)
}
