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
	// b matches a when a.ts+lower <= b.ts <= a.ts+upper.
	return probe(j, b, j.keyA, j.lateA, j.lower, j.upper,
		func(bufs *joinBufs[A, B]) *[]stamped[A] { return &bufs.as },
		func(bufs *joinBufs[A, B]) []stamped[B] { return bufs.bs },
		func(a A, x B) R { return j.f(a, x) })
}

func (j *IntervalJoin[A, B, K, R]) pushB(b *Batch[B]) error {
	// a matches b when b.ts-upper <= a.ts <= b.ts-lower.
	return probe(j, b, j.keyB, j.lateB, -j.upper, -j.lower,
		func(bufs *joinBufs[A, B]) *[]stamped[B] { return &bufs.bs },
		func(bufs *joinBufs[A, B]) []stamped[A] { return bufs.as },
		func(x B, a A) R { return j.f(a, x) })
}

// probe handles a batch of one side: a late element goes to its late
// output; any other joins every buffered element of the other side whose
// timestamp lies in [ts+lo, ts+hi], and is buffered itself.
func probe[T, O, A, B any, K comparable, R any](j *IntervalJoin[A, B, K, R], b *Batch[T], key func(T) K, late *emitter[T], lo, hi int64,
	mine func(*joinBufs[A, B]) *[]stamped[T], other func(*joinBufs[A, B]) []stamped[O], pair func(T, O) R) error {
	keys := keysOf[T, K](b)
	for i, v := range b.Values {
		ts := b.Times[i]
		if ts < j.wm {
			j.bc.CountLate(1)
			if late != nil {
				late.at(ts)
				late.emit(v)
			}
			continue
		}
		var k K
		if keys != nil {
			k = keys[i]
		} else {
			k = key(v)
		}
		bufs := j.bufsOf(k)
		from, to := addTime(ts, lo), addTime(ts, hi)
		for _, o := range other(bufs) {
			if o.ts >= from && o.ts <= to {
				j.em.at(max(ts, o.ts))
				j.em.emit(pair(v, o.v))
			}
		}
		m := mine(bufs)
		*m = append(*m, stamped[T]{ts, v})
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
