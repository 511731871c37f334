package operators

import "math"

type stamped[T any] struct {
	ts int64
	v  T
}

type joinBufs[A, B any] struct {
	as []stamped[A]
	bs []stamped[B]
}

// IntervalJoin joins two keyed streams on event time, as Flink's
// KeyedStream.intervalJoin: an element a of the first and b of the second
// with the same key make a pair when a.ts+lower <= b.ts <= a.ts+upper. The
// pair's timestamp is the later of the two. Each side's elements are kept
// per key until the watermark passes the last time a partner could have
// (a: a.ts+upper; b: b.ts-lower). An element earlier than the watermark
// is late (Flink: timestamp < watermark): it joins nothing and goes to its
// side's late output.
type IntervalJoin[A, B any, K comparable, R any] struct {
	twoInputs[R]
	keyA         func(A) K
	keyB         func(B) K
	lower, upper int64
	f            func(A, B) R
	em           *emitter[R]
	lateA        *emitter[A]
	lateB        *emitter[B]
	bc           *BuildContext
	bufs         map[K]*joinBufs[A, B]
	wm           int64
}

// NewIntervalJoin builds the operator for one subtask; lateA and lateB may
// be nil.
func NewIntervalJoin[A, B any, K comparable, R any](keyA func(A) K, keyB func(B) K, lower, upper int64, f func(A, B) R,
	bc *BuildContext, out Input[R], lateA Input[A], lateB Input[B]) *IntervalJoin[A, B, K, R] {
	j := &IntervalJoin[A, B, K, R]{twoInputs: newTwoInputs(out), keyA: keyA, keyB: keyB, lower: lower, upper: upper, f: f,
		em: newEmitter(out, true), bc: bc, bufs: make(map[K]*joinBufs[A, B]), wm: MinWatermark}
	if lateA != nil {
		j.lateA = newEmitter(lateA, true)
	}
	if lateB != nil {
		j.lateB = newEmitter(lateB, true)
	}
	j.onWatermark = j.cleanup
	return j
}

// Inputs returns the operator's two inputs, Input[A] and Input[B].
func (j *IntervalJoin[A, B, K, R]) Inputs() []any {
	final := func(i int) error { return j.finish(i, nil) }
	return []any{
		Input[A](side[A]{i: 0, push: j.pushA, base: &j.twoInputs, final: final}),
		Input[B](side[B]{i: 1, push: j.pushB, base: &j.twoInputs, final: final}),
	}
}

func (j *IntervalJoin[A, B, K, R]) bufsOf(k K) *joinBufs[A, B] {
	b := j.bufs[k]
	if b == nil {
		b = &joinBufs[A, B]{}
		j.bufs[k] = b
	}
	return b
}

func (j *IntervalJoin[A, B, K, R]) pushA(b *Batch[A]) error {
	keys := keysOf[A, K](b)
	for i, a := range b.Values {
		ts := b.Times[i]
		if ts < j.wm {
			j.bc.CountLate(1)
			if j.lateA != nil {
				j.lateA.at(ts)
				j.lateA.emit(a)
			}
			continue
		}
		var k K
		if keys != nil {
			k = keys[i]
		} else {
			k = j.keyA(a)
		}
		bufs := j.bufsOf(k)
		lo, hi := addTime(ts, j.lower), addTime(ts, j.upper)
		for _, x := range bufs.bs {
			if x.ts >= lo && x.ts <= hi {
				j.em.at(max(ts, x.ts))
				j.em.emit(j.f(a, x.v))
			}
		}
		bufs.as = append(bufs.as, stamped[A]{ts, a})
	}
	return j.flush()
}

func (j *IntervalJoin[A, B, K, R]) pushB(b *Batch[B]) error {
	keys := keysOf[B, K](b)
	for i, x := range b.Values {
		ts := b.Times[i]
		if ts < j.wm {
			j.bc.CountLate(1)
			if j.lateB != nil {
				j.lateB.at(ts)
				j.lateB.emit(x)
			}
			continue
		}
		var k K
		if keys != nil {
			k = keys[i]
		} else {
			k = j.keyB(x)
		}
		bufs := j.bufsOf(k)
		// a matches when a.ts+lower <= ts <= a.ts+upper.
		lo, hi := addTime(ts, -j.upper), addTime(ts, -j.lower)
		for _, a := range bufs.as {
			if a.ts >= lo && a.ts <= hi {
				j.em.at(max(ts, a.ts))
				j.em.emit(j.f(a.v, x))
			}
		}
		bufs.bs = append(bufs.bs, stamped[B]{ts, x})
	}
	return j.flush()
}

func (j *IntervalJoin[A, B, K, R]) flush() error {
	if j.lateA != nil {
		if err := j.lateA.flush(); err != nil {
			return err
		}
	}
	if j.lateB != nil {
		if err := j.lateB.flush(); err != nil {
			return err
		}
	}
	return j.em.flush()
}

// cleanup drops what no later element can join: a once the watermark
// passes a.ts+upper, b once it passes b.ts-lower (later elements have
// timestamps at or after the watermark).
func (j *IntervalJoin[A, B, K, R]) cleanup(wm int64) error {
	j.wm = wm
	if wm == math.MaxInt64 {
		clear(j.bufs)
		return j.flush()
	}
	for k, b := range j.bufs {
		b.as = dropBefore(b.as, func(a stamped[A]) bool { return addTime(a.ts, j.upper) < wm })
		b.bs = dropBefore(b.bs, func(x stamped[B]) bool { return addTime(x.ts, -j.lower) < wm })
		if len(b.as) == 0 && len(b.bs) == 0 {
			delete(j.bufs, k)
		}
	}
	return j.flush()
}

// dropBefore removes the elements for which gone is true, keeping order.
func dropBefore[T any](s []stamped[T], gone func(stamped[T]) bool) []stamped[T] {
	out := s[:0]
	for _, e := range s {
		if !gone(e) {
			out = append(out, e)
		}
	}
	clear(s[len(out):])
	return out
}
