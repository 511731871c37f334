package operators

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/braidstream/braid/state"
)

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
	// dirty: changed since the last snapshot (then listed in the
	// checkpoint's dirty list); stored: in the store as of the last
	// snapshot. Both stay false without checkpoints.
	dirty, stored bool
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
//
// With checkpoints, a snapshot writes the buffers of each key that changed
// since the last one (an element added, a prefix dropped), one entry per
// key in the key's key group, and deletes the keys whose buffers emptied;
// the watermarks of both inputs are the subtask's operator state. A
// restore rebuilds the buffers and the cleanup queue, and takes the least
// watermark of every old subtask (they are equal at an aligned barrier;
// after a change of parallelism the least is the safe one).
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
	ck           *ijCheckpoint[A, B, K] // nil without checkpoints
}

// ijCheckpoint is what an interval join keeps for its snapshots.
type ijCheckpoint[A, B any, K comparable] struct {
	codecA state.Codec[A]
	codecB state.Codec[B]
	codecK state.Codec[K]
	hash   state.Hasher[K]
	maxP   int
	// dirty lists the buffers changed since the last snapshot, each once
	// while its dirty flag is set; entries whose flag is clear are stale
	// (the key left, or the buffers were written already).
	dirty []*joinBufs[K, A, B]
	// gone are the keys in the store whose buffers emptied since.
	gone []K
	// wms are the watermarks (of each input, and combined) last written;
	// wrote is false until the first snapshot, and after a restore.
	wms      [3]int64
	wrote    bool
	key, val []byte // scratch
}

// Keyed state of an interval join: tagBufs, then the key's encoding ->
// the key's two buffers.
const ijTagBufs = 'b'

// ijWatermarks names the operator state holding the inputs' watermarks.
const ijWatermarks = "watermarks"

// NewIntervalJoin builds the operator for one subtask; lateA and lateB may
// be nil. It panics where BuildIntervalJoin fails: with checkpoints on,
// for elements or keys that cannot be checkpointed.
func NewIntervalJoin[A, B any, K comparable, R any](keyA func(A) K, keyB func(B) K, lower, upper int64, f func(A, B) R,
	bc *BuildContext, out Input[R], lateA Input[A], lateB Input[B]) *IntervalJoin[A, B, K, R] {
	j, err := BuildIntervalJoin(keyA, keyB, lower, upper, f, bc, out, lateA, lateB)
	if err != nil {
		panic(err)
	}
	return j
}

// BuildIntervalJoin builds the operator for one subtask; lateA and lateB
// may be nil. With checkpoints on it registers the operator's state, and
// fails when A, B or K cannot be checkpointed (see state.CodecFor and
// state.KeyCodecFor), saying which.
func BuildIntervalJoin[A, B any, K comparable, R any](keyA func(A) K, keyB func(B) K, lower, upper int64, f func(A, B) R,
	bc *BuildContext, out Input[R], lateA Input[A], lateB Input[B]) (*IntervalJoin[A, B, K, R], error) {
	j := &IntervalJoin[A, B, K, R]{twoInputs: newTwoInputs(out), keyA: keyA, keyB: keyB, lower: lower, upper: upper, f: f,
		em: newEmitter(out, true), bc: bc, bufs: make(map[K]*joinBufs[K, A, B]), wm: MinWatermark}
	if lateA != nil {
		j.lateA = newEmitter(lateA, true)
	}
	if lateB != nil {
		j.lateB = newEmitter(lateB, true)
	}
	j.onWatermark = j.cleanup
	if bc.Checkpointing() {
		ck, err := newIJCheckpoint[A, B, K](bc.MaxParallelism)
		if err != nil {
			return nil, err
		}
		j.ck = ck
		bc.AddSnapshotter(j)
	}
	return j, nil
}

func newIJCheckpoint[A, B any, K comparable](maxP int) (*ijCheckpoint[A, B, K], error) {
	ck := &ijCheckpoint[A, B, K]{maxP: maxP}
	var err error
	if ck.codecA, err = state.CodecFor[A](); err != nil {
		return nil, fmt.Errorf("braid: interval join: the elements of its first input cannot be checkpointed: %w", err)
	}
	if ck.codecB, err = state.CodecFor[B](); err != nil {
		return nil, fmt.Errorf("braid: interval join: the elements of its second input cannot be checkpointed: %w", err)
	}
	if ck.codecK, err = state.KeyCodecFor[K](); err != nil {
		return nil, fmt.Errorf("braid: interval join: its keys cannot be checkpointed: %w", err)
	}
	if ck.hash, err = state.NewHasher[K](); err != nil {
		return nil, fmt.Errorf("braid: interval join: its keys cannot be checkpointed: %w", err)
	}
	return ck, nil
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
		if j.ck != nil && !bufs.dirty {
			j.touch(bufs)
		}
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
		if j.ck != nil {
			for _, b := range j.bufs {
				j.forget(b)
				b.free = true
			}
		}
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
			if j.ck != nil {
				j.forget(b)
			}
			delete(j.bufs, b.key)
			var zero K
			b.key, b.as, b.bs, b.free = zero, b.as[:0], b.bs[:0], true
			j.free = append(j.free, b)
			continue
		}
		if j.ck != nil && !b.dirty {
			j.touch(b)
		}
		b.queued = next
		j.queue.push(expiry[*joinBufs[K, A, B]]{next, b})
	}
	return j.flush()
}

// touch notes that b changed since the last snapshot.
func (j *IntervalJoin[A, B, K, R]) touch(b *joinBufs[K, A, B]) {
	b.dirty = true
	j.ck.dirty = append(j.ck.dirty, b)
}

// forget notes that b's key leaves: the store must lose it.
func (j *IntervalJoin[A, B, K, R]) forget(b *joinBufs[K, A, B]) {
	if b.stored {
		j.ck.gone = append(j.ck.gone, b.key)
	}
	b.dirty, b.stored = false, false
}

// Snapshot writes the buffers of the keys that changed since the last
// snapshot, deletes those of the keys that left, and writes the inputs'
// watermarks when they moved (everything, when w.Full()).
func (j *IntervalJoin[A, B, K, R]) Snapshot(w *StateWriter) error {
	c := j.ck
	if w.Full() {
		for _, b := range j.bufs {
			j.writeBufs(w, b)
		}
	} else {
		for _, k := range c.gone {
			c.key = c.codecK.Append(append(c.key[:0], ijTagBufs), k)
			w.Delete(state.KeyGroup(c.hash(k), c.maxP), c.key)
		}
		for _, b := range c.dirty {
			if b.dirty {
				j.writeBufs(w, b)
			}
		}
	}
	clear(c.dirty)
	clear(c.gone)
	c.dirty, c.gone = c.dirty[:0], c.gone[:0]
	wms := [3]int64{j.twoInputs.wm[0], j.twoInputs.wm[1], j.emitted}
	if w.Full() || !c.wrote || wms != c.wms {
		c.val = c.val[:0]
		for _, wm := range wms {
			c.val = binary.AppendVarint(c.val, wm)
		}
		w.SetOperator(ijWatermarks, c.val)
		c.wms, c.wrote = wms, true
	}
	return nil
}

// writeBufs writes b's key and buffers: the count of each side's
// elements, then each element's timestamp and value, in buffer order.
func (j *IntervalJoin[A, B, K, R]) writeBufs(w *StateWriter, b *joinBufs[K, A, B]) {
	c := j.ck
	c.key = c.codecK.Append(append(c.key[:0], ijTagBufs), b.key)
	v := binary.AppendUvarint(c.val[:0], uint64(len(b.as)))
	for _, e := range b.as {
		v = c.codecA.Append(binary.AppendVarint(v, e.ts), e.v)
	}
	v = binary.AppendUvarint(v, uint64(len(b.bs)))
	for _, e := range b.bs {
		v = c.codecB.Append(binary.AppendVarint(v, e.ts), e.v)
	}
	c.val = v
	w.Set(state.KeyGroup(c.hash(b.key), c.maxP), c.key, v)
	b.dirty, b.stored = false, true
}

// Restore rebuilds the buffers of the subtask's keys and their cleanup
// entries, and the watermarks: the least of each old subtask's.
func (j *IntervalJoin[A, B, K, R]) Restore(r *StateReader) error {
	c := j.ck
	wms, err := r.OperatorAll(ijWatermarks)
	if err != nil {
		return err
	}
	for i, v := range wms {
		var got [3]int64
		for n := range got {
			x, m := binary.Varint(v)
			if m <= 0 {
				return fmt.Errorf("braid: interval join: the watermarks in the checkpoint do not decode (%x)", wms[i])
			}
			got[n], v = x, v[m:]
		}
		if i == 0 {
			j.twoInputs.wm[0], j.twoInputs.wm[1], j.emitted = got[0], got[1], got[2]
			continue
		}
		j.twoInputs.wm[0] = min(j.twoInputs.wm[0], got[0])
		j.twoInputs.wm[1] = min(j.twoInputs.wm[1], got[1])
		j.emitted = min(j.emitted, got[2])
	}
	j.wm = j.emitted
	c.wrote = false
	return r.Keyed(func(kg int, key, val []byte) error {
		if len(key) == 0 || key[0] != ijTagBufs {
			return fmt.Errorf("braid: interval join: state key %x in key group %d is not the join's", key, kg)
		}
		k, err := state.DecodeExact(c.codecK, key[1:])
		if err != nil {
			return fmt.Errorf("braid: interval join: a key in key group %d: %w", kg, err)
		}
		if _, dup := j.bufs[k]; dup {
			return fmt.Errorf("braid: interval join: key %v twice in the checkpoint", k)
		}
		b := j.newBufs(k)
		rest, err := decodeSide(val, c.codecA, &b.as)
		if err == nil {
			rest, err = decodeSide(rest, c.codecB, &b.bs)
		}
		if err == nil && len(rest) > 0 {
			err = fmt.Errorf("%d bytes left over", len(rest))
		}
		if err == nil && len(b.as)+len(b.bs) == 0 {
			err = fmt.Errorf("no elements")
		}
		if err != nil {
			return fmt.Errorf("braid: interval join: the buffers of key %v: %w", k, err)
		}
		if len(b.as) > 0 {
			b.queued = addTime(b.as[0].ts, j.upper)
		}
		if len(b.bs) > 0 {
			b.queued = min(b.queued, addTime(b.bs[0].ts, -j.lower))
		}
		b.stored = true
		j.queue.push(expiry[*joinBufs[K, A, B]]{b.queued, b})
		return nil
	})
}

// decodeSide reads a count and that many timestamped elements into *dst
// (sorted by time, as written).
func decodeSide[T any](src []byte, codec state.Codec[T], dst *[]stamped[T]) ([]byte, error) {
	n, m := binary.Uvarint(src)
	if m <= 0 || n > uint64(len(src)-m) {
		return nil, fmt.Errorf("bad element count")
	}
	src = src[m:]
	s := make([]stamped[T], 0, n)
	for range n {
		ts, m := binary.Varint(src)
		if m <= 0 {
			return nil, fmt.Errorf("bad timestamp")
		}
		v, rest, err := codec.Decode(src[m:])
		if err != nil {
			return nil, err
		}
		if len(s) > 0 && s[len(s)-1].ts > ts {
			return nil, fmt.Errorf("elements out of time order")
		}
		s, src = append(s, stamped[T]{ts, v}), rest
	}
	*dst = s
	return src, nil
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
