package operators

import "math"

type stamped[T any] struct {
	ts int64
	v  T
}

// joinBufs is one key's buffered elements of each side, each sorted by
// timestamp (equal ones in arrival order), so that a probe is a binary
// search and a cleanup drops a prefix.
type joinBufs[K comparable, A, B any] struct {
	key K
	as  []stamped[A]
	bs  []stamped[B]
	// queued is the earliest expiry of the elements, the time of the
	// buffers' live entry in the cleanup queue (MaxInt64: none needed).
	// Other entries for them are stale, and so are all while they are free
	// (kept for a next key).
	queued int64
	free   bool
}

// expiry is an entry of the cleanup queue: at is when p may have elements
// to drop (once the watermark passes it).
type expiry[P any] struct {
	at int64
	p  P
}

// IntervalJoin joins two keyed streams on event time, as Flink's
// KeyedStream.intervalJoin: an element a of the first and b of the second
// with the same key make a pair when a.ts+lower <= b.ts <= a.ts+upper (both
// bounds included: exclusive bounds are these moved by 1ns). The pair's
// timestamp is the later of the two. Each side's elements are kept per key
// until the watermark passes the last time a partner could have (a:
// a.ts+upper; b: b.ts-lower), its expiry; one whose expiry is already
// behind the watermark joins what is buffered and is not kept. An element
// earlier than the watermark is late (Flink: timestamp < watermark): it
// joins nothing and goes to its side's late output.
//
// Cost: an element costs a binary search of its key's other buffer plus
// one step per pair it makes, and an insertion into its own buffer (a
// shift of the elements it arrives out of order with). Cleanup goes
// through a queue ordered by time, one live entry per key holding the
// earliest expiry of its elements, so a watermark visits only the keys
// with something to drop, not every key. A key whose buffers empty is
// forgotten; its buffers are kept for the next key that comes.
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
	bufs         map[K]*joinBufs[K, A, B]
	queue        cleanupQueue[*joinBufs[K, A, B]]
	free         []*joinBufs[K, A, B]
	wm           int64
}

// NewIntervalJoin builds the operator for one subtask; lateA and lateB may
// be nil.
func NewIntervalJoin[A, B any, K comparable, R any](keyA func(A) K, keyB func(B) K, lower, upper int64, f func(A, B) R,
	bc *BuildContext, out Input[R], lateA Input[A], lateB Input[B]) *IntervalJoin[A, B, K, R] {
	bc.Unsupported("interval join") // snapshots pending (issue 8)
	j := &IntervalJoin[A, B, K, R]{twoInputs: newTwoInputs(out), keyA: keyA, keyB: keyB, lower: lower, upper: upper, f: f,
		em: newEmitter(out, true), bc: bc, bufs: make(map[K]*joinBufs[K, A, B]), wm: MinWatermark}
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

// newBufs adds the buffers of key k, reusing those a key left.
func (j *IntervalJoin[A, B, K, R]) newBufs(k K) *joinBufs[K, A, B] {
	var b *joinBufs[K, A, B]
	if n := len(j.free); n > 0 {
		b, j.free = j.free[n-1], j.free[:n-1]
	} else {
		b = &joinBufs[K, A, B]{}
	}
	b.key, b.queued, b.free = k, math.MaxInt64, false
	j.bufs[k] = b
	return b
}

func (j *IntervalJoin[A, B, K, R]) pushA(b *Batch[A]) error {
	// b matches a when a.ts+lower <= b.ts <= a.ts+upper; a can be dropped
	// once the watermark passes a.ts+upper.
	return probe(j, b, j.keyA, j.lateA, j.lower, j.upper, j.upper,
		func(bufs *joinBufs[K, A, B]) *[]stamped[A] { return &bufs.as },
		func(bufs *joinBufs[K, A, B]) []stamped[B] { return bufs.bs },
		func(a A, x B) R { return j.f(a, x) })
}

func (j *IntervalJoin[A, B, K, R]) pushB(b *Batch[B]) error {
	// a matches b when b.ts-upper <= a.ts <= b.ts-lower; b can be dropped
	// once the watermark passes b.ts-lower.
	return probe(j, b, j.keyB, j.lateB, -j.upper, -j.lower, -j.lower,
		func(bufs *joinBufs[K, A, B]) *[]stamped[B] { return &bufs.bs },
		func(bufs *joinBufs[K, A, B]) []stamped[A] { return bufs.as },
		func(x B, a A) R { return j.f(a, x) })
}

// probe handles a batch of one side: a late element goes to its late
// output; any other joins every buffered element of the other side whose
// timestamp lies in [ts+lo, ts+hi], and is buffered itself until the
// watermark passes ts+keep.
func probe[T, O, A, B any, K comparable, R any](j *IntervalJoin[A, B, K, R], b *Batch[T], key func(T) K, late *emitter[T], lo, hi, keep int64,
	mine func(*joinBufs[K, A, B]) *[]stamped[T], other func(*joinBufs[K, A, B]) []stamped[O], pair func(T, O) R) error {
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
		bufs := j.bufs[k]
		if bufs != nil {
			from, to := addTime(ts, lo), addTime(ts, hi)
			os := other(bufs)
			for _, o := range os[firstAtOrAfter(os, from):] {
				if o.ts > to {
					break
				}
				j.em.at(max(ts, o.ts))
				j.em.emit(pair(v, o.v))
			}
		}
		exp := addTime(ts, keep)
		if exp < j.wm {
			// No later element can join it (the interval lies before the
			// watermark): not worth keeping.
			continue
		}
		if bufs == nil {
			bufs = j.newBufs(k)
		}
		m := mine(bufs)
		*m = insertSorted(*m, stamped[T]{ts, v})
		if exp < bufs.queued {
			bufs.queued = exp
			j.queue.push(expiry[*joinBufs[K, A, B]]{exp, bufs})
		}
	}
	return j.flush()
}

// firstAtOrAfter is the index of the first element of s (sorted by time)
// at or after t.
func firstAtOrAfter[T any](s []stamped[T], t int64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m].ts < t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// insertSorted adds e to s (sorted by time) after the elements at or
// before its time: in order, it is an append.
func insertSorted[T any](s []stamped[T], e stamped[T]) []stamped[T] {
	i := len(s)
	for i > 0 && s[i-1].ts > e.ts {
		i--
	}
	s = append(s, e)
	if i < len(s)-1 {
		copy(s[i+1:], s[i:len(s)-1])
		s[i] = e
	}
	return s
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
// timestamps at or after the watermark). Only keys whose queue entry is
// due are visited.
func (j *IntervalJoin[A, B, K, R]) cleanup(wm int64) error {
	j.wm = wm
	if wm == math.MaxInt64 {
		clear(j.bufs)
		j.queue.reset()
		return j.flush()
	}
	for j.queue.min() < wm {
		e := j.queue.pop()
		b := e.p
		if b.free || b.queued != e.at {
			continue // stale: the key left, or has an earlier entry
		}
		b.as = dropPrefix(b.as, j.upper, wm)
		b.bs = dropPrefix(b.bs, -j.lower, wm)
		next := int64(math.MaxInt64)
		if len(b.as) > 0 {
			next = addTime(b.as[0].ts, j.upper)
		}
		if len(b.bs) > 0 {
			next = min(next, addTime(b.bs[0].ts, -j.lower))
		}
		if len(b.as) == 0 && len(b.bs) == 0 {
			delete(j.bufs, b.key)
			var zero K
			b.key, b.as, b.bs, b.free = zero, b.as[:0], b.bs[:0], true
			j.free = append(j.free, b)
			continue
		}
		b.queued = next
		j.queue.push(expiry[*joinBufs[K, A, B]]{next, b})
	}
	return j.flush()
}

// dropPrefix removes the elements (sorted by time) with ts+keep before
// wm. What remains moves to the front of the array when it is short, or
// not much longer than what went (so moving costs at most a few steps per
// element dropped, and a buffer keeps its array); otherwise the slice
// starts later, and the append that next fills it copies only what is
// live.
func dropPrefix[T any](s []stamped[T], keep, wm int64) []stamped[T] {
	n := 0
	for n < len(s) && addTime(s[n].ts, keep) < wm {
		n++
	}
	if n == 0 {
		return s
	}
	if m := len(s) - n; m <= 256 || m <= 4*n {
		copy(s, s[n:])
		clear(s[m:])
		return s[:m]
	}
	clear(s[:n])
	return s[n:]
}

// cleanupQueue orders the cleanup entries by time. Entries mostly come in
// time order (an element's expiry is its timestamp plus a constant), so
// those not earlier than the last in order go to a FIFO run, at O(1), and
// only the others to a binary heap: the earliest entry is the earlier of
// the run's head and the heap's top.
type cleanupQueue[P any] struct {
	run  []expiry[P] // non-decreasing at, from head on
	head int
	heap []expiry[P]
}

func (q *cleanupQueue[P]) len() int { return len(q.run) - q.head + len(q.heap) }

func (q *cleanupQueue[P]) reset() {
	clear(q.run)
	clear(q.heap)
	q.run, q.head, q.heap = q.run[:0], 0, q.heap[:0]
}

// min returns the earliest entry's time, or MaxInt64 when q is empty.
func (q *cleanupQueue[P]) min() int64 {
	at := int64(math.MaxInt64)
	if q.head < len(q.run) {
		at = q.run[q.head].at
	}
	if len(q.heap) > 0 {
		at = min(at, q.heap[0].at)
	}
	return at
}

func (q *cleanupQueue[P]) push(e expiry[P]) {
	if n := len(q.run); n == q.head || q.run[n-1].at <= e.at {
		if q.head > 0 && q.head >= n/2 {
			// Move the live run to the front: one step per entry popped.
			m := copy(q.run, q.run[q.head:])
			clear(q.run[m:])
			q.run, q.head = q.run[:m], 0
		}
		q.run = append(q.run, e)
		return
	}
	h := append(q.heap, e)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	q.heap = h
}

// pop removes and returns the earliest entry; q must not be empty.
func (q *cleanupQueue[P]) pop() expiry[P] {
	if q.head < len(q.run) && (len(q.heap) == 0 || q.run[q.head].at <= q.heap[0].at) {
		e := q.run[q.head]
		q.run[q.head] = expiry[P]{}
		q.head++
		if q.head == len(q.run) {
			q.run, q.head = q.run[:0], 0
		}
		return e
	}
	h := q.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = expiry[P]{}
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h[l].at < h[m].at {
			m = l
		}
		if r := l + 1; r < n && h[r].at < h[m].at {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.heap = h
	return top
}
