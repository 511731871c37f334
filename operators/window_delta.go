package operators

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

type deltaKey[K comparable, A any] struct {
	key   K
	acc   A
	n     int64 // elements in the open window
	start int64 // ordinal of its first element
	maxTs int64
	// rank orders the keys as they first arrived, across restores.
	rank  int64
	dirty bool // in DeltaWindow.dirty

	// For checkpoints of a buffering function (see deltaChunks): the
	// store holds the first savedN elements of the open window, which
	// started at savedStart, in chunks entries.
	savedN     int
	chunks     int32
	savedStart int64
}

// DeltaWindow is the keyed operator for window.DeltaWindows: per key, the
// trigger point and the open window's accumulator (or buffer, for Apply).
// The result carries the largest timestamp of the window's elements.
type DeltaWindow[T any, K comparable, A, R any] struct {
	spec   WindowSpec[T, K, A, R]
	policy window.DeltaWindows[T]
	out    Input[R]
	em     *emitter[R]
	idx    map[K]int32
	keys   []deltaKey[K, A]
	points []T // trigger points, parallel to keys

	// Checkpoints: the keys changed since the last snapshot, by slot
	// (keys are never dropped), each once (deltaKey.dirty).
	track bool
	dirty []int32
	snap  *keyedSnap[K, deltaRec[T, A]]
	ranks int64 // the rank of the next new key
	// chunked, for a buffering function (Apply), writes a key's elements
	// in chunks; nil writes the accumulator whole.
	chunked *deltaChunks[T, K, A]
}

// NewDeltaWindow builds the operator for one subtask.
func NewDeltaWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], bc *BuildContext, out Input[R]) *DeltaWindow[T, K, A, R] {
	o := &DeltaWindow[T, K, A, R]{spec: spec, policy: spec.Assigner.(window.DeltaWindows[T]), out: out,
		em: newEmitter(out, spec.EventTime), idx: make(map[K]int32)}
	if bc.Checkpointing() {
		if spec.Agg.Empty != nil {
			chunked, ok, err := newDeltaChunks[T, K, A](spec.Hash, bc.MaxParallelism, spec.Agg.Gather)
			if err != nil {
				uncodable(bc, "delta window", err)
				return o
			}
			if ok {
				o.chunked, o.track = chunked, true
				bc.AddSnapshotter(o)
				return o
			}
		}
		snap, err := newKeyedSnap[K, deltaRec[T, A]](spec.Hash, bc.MaxParallelism)
		if err != nil {
			uncodable(bc, "delta window", err)
			return o
		}
		o.snap, o.track = snap, true
		bc.AddSnapshotter(o)
	}
	return o
}

// Push implements Input.
func (o *DeltaWindow[T, K, A, R]) Push(b *Batch[T]) error {
	keys := keysOf[T, K](b)
	for i, v := range b.Values {
		var k K
		if keys != nil {
			k = keys[i]
		} else {
			k = o.spec.Key(v)
		}
		j, ok := o.idx[k]
		if !ok {
			j = int32(len(o.keys))
			o.idx[k] = j
			o.keys = append(o.keys, deltaKey[K, A]{key: k, maxTs: math.MinInt64, rank: o.ranks})
			o.ranks++
			o.points = append(o.points, o.policy.Initial)
		}
		dk := &o.keys[j]
		if o.track && !dk.dirty {
			dk.dirty = true
			o.dirty = append(o.dirty, j)
		}
		ts := int64(math.MinInt64)
		if b.Times != nil {
			ts = b.Times[i]
		}
		if o.policy.Triggers(o.points[j], v) {
			o.fire(dk)
			o.points[j] = v
		}
		if dk.n == 0 && o.spec.Agg.Empty == nil {
			dk.acc = o.spec.Agg.first(v)
		} else {
			dk.acc = o.spec.Agg.Add(dk.acc, v)
		}
		dk.n++
		dk.maxTs = max(dk.maxTs, ts)
	}
	return o.em.flush()
}

// fire emits a key's open window, if it has elements, and starts the next.
func (o *DeltaWindow[T, K, A, R]) fire(dk *deltaKey[K, A]) {
	if dk.n == 0 {
		return
	}
	o.em.at(dk.maxTs)
	o.spec.Fire(dk.key, window.Window{Start: dk.start, End: dk.start + dk.n}, dk.acc, o.em.emit)
	if o.spec.Agg.Empty != nil {
		dk.acc = o.spec.Agg.Empty(dk.acc) // a buffer, emptied for reuse
	} else {
		var zero A
		dk.acc = zero
	}
	dk.start += dk.n
	dk.n, dk.maxTs = 0, math.MinInt64
}

// Watermark implements Input. The final watermark announces the end of
// input: the open windows are emitted before it goes on, so that event-time
// operators downstream count them instead of finding them late.
func (o *DeltaWindow[T, K, A, R]) Watermark(wm int64) error {
	if wm == MaxWatermark {
		if err := o.flushOpen(); err != nil {
			return err
		}
	}
	return o.out.Watermark(wm)
}

// flushOpen emits every key's open window, in the order the keys first
// arrived.
func (o *DeltaWindow[T, K, A, R]) flushOpen() error {
	for j := range o.keys {
		if o.track && !o.keys[j].dirty && o.keys[j].n > 0 {
			o.keys[j].dirty = true
			o.dirty = append(o.dirty, int32(j))
		}
		o.fire(&o.keys[j])
	}
	return o.em.flush()
}

// Idle implements Input.
func (o *DeltaWindow[T, K, A, R]) Idle(idle bool) error { return o.out.Idle(idle) }

// Finish implements Input: every key's open window is emitted (already at
// the final watermark, when the stream has one).
func (o *DeltaWindow[T, K, A, R]) Finish() error {
	if err := o.flushOpen(); err != nil {
		return err
	}
	return o.out.Finish()
}

// deltaRec is a key's state as checkpoints keep it: the open window, the
// trigger point, and the key's rank in arrival order (the end of input
// emits the open windows in that order).
type deltaRec[T, A any] struct {
	Acc      A
	N, Start int64
	MaxTs    int64
	Point    T
	Rank     int64
}

const deltaTag = 'd'

// Snapshot implements Snapshotter: one entry per key changed since the
// last snapshot (every key when w.Full).
func (o *DeltaWindow[T, K, A, R]) Snapshot(w *StateWriter) error {
	full := w.Full()
	if full {
		for j := range o.keys {
			o.snapshotKey(w, int32(j), full)
		}
	} else {
		for _, j := range o.dirty {
			o.snapshotKey(w, j, full)
		}
	}
	for _, j := range o.dirty {
		o.keys[j].dirty = false
	}
	o.dirty = o.dirty[:0]
	return nil
}

func (o *DeltaWindow[T, K, A, R]) snapshotKey(w *StateWriter, j int32, full bool) {
	dk := &o.keys[j]
	if o.chunked != nil {
		o.chunked.write(w, dk, o.points[j], full)
		return
	}
	o.snap.set(w, deltaTag, dk.key, nil, deltaRec[T, A]{Acc: dk.acc, N: dk.n, Start: dk.start, MaxTs: dk.maxTs,
		Point: o.points[j], Rank: dk.rank})
}

// Restore implements Snapshotter: the keys come back in the order they
// first arrived (after a change of parallelism, each old subtask's in
// that order).
func (o *DeltaWindow[T, K, A, R]) Restore(r *StateReader) error {
	if o.chunked != nil {
		return o.restoreChunked(r)
	}
	var recs []deltaRec[T, A]
	var keys []K
	err := r.Keyed(func(kg int, key, val []byte) error {
		tag, k, _, rec, err := o.snap.decode(kg, key, val)
		if err != nil {
			return err
		}
		if tag != deltaTag {
			return fmt.Errorf("braid: delta window: a state entry of tag %q", tag)
		}
		recs, keys = append(recs, rec), append(keys, k)
		return nil
	})
	if err != nil {
		return err
	}
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(recs[a].Rank, recs[b].Rank) })
	for _, i := range order {
		rec, k := &recs[i], keys[i]
		if err := o.restoreKey(deltaKey[K, A]{key: k, acc: rec.Acc, n: rec.N, start: rec.Start, maxTs: rec.MaxTs, rank: rec.Rank}, rec.Point); err != nil {
			return err
		}
	}
	return nil
}

// restoreKey adds a restored key, after those restored before it.
func (o *DeltaWindow[T, K, A, R]) restoreKey(dk deltaKey[K, A], point T) error {
	if _, dup := o.idx[dk.key]; dup {
		return fmt.Errorf("braid: delta window: key %v restored twice", dk.key)
	}
	o.idx[dk.key] = int32(len(o.keys))
	o.keys = append(o.keys, dk)
	o.points = append(o.points, point)
	o.ranks = max(o.ranks, dk.rank+1)
	return nil
}

// Checkpoints of a buffering function (Apply), whose open window is the
// list of its elements: a key's list can grow long (a price that does not
// move far enough for hours), and a snapshot writes what was added to it
// since the last one, not the whole list again. A key has a head entry
// (the window's bounds, the trigger point, its rank, how many chunks) and
// its elements in chunk entries, one per snapshot that found the list
// longer:
//
//	'h' key        ->  deltaHead
//	'c' key i:4    ->  the elements the i-th chunk added
//
// The list is written anew (its old chunks deleted, all its elements in
// chunk 0) when it is no longer the one the chunks hold the start of: the
// window fired since (its start moved) or the list is shorter; and when it
// has maxDeltaChunks chunks, so that a restore reads few entries per key.
// A restore concatenates the chunks in order.
type deltaChunks[T any, K comparable, A any] struct {
	head *keyedSnap[K, T] // its value codec is the trigger point's
	accs state.Codec[A]
	// gather appends a chunk to a list (the function's Gather).
	gather func(dst, src A) A
	suffix [4]byte
}

// deltaHead is a key's head entry in chunked checkpoints: N, Start,
// MaxTs and Rank as varints, Chunks as a uvarint, then Point.
type deltaHead[T any] struct {
	N, Start, MaxTs int64
	Point           T
	Rank            int64
	Chunks          int32
}

const (
	deltaHeadTag   = 'h'
	deltaChunkTag  = 'c'
	maxDeltaChunks = 32
)

// newDeltaChunks builds the chunked checkpoints of a delta window whose
// accumulator is a list (a slice, which Gather appends to); ok is false
// when A is not a slice.
func newDeltaChunks[T any, K comparable, A any](hash state.Hasher[K], maxP int, gather func(dst, src A) A) (c *deltaChunks[T, K, A], ok bool, err error) {
	if gather == nil || reflect.TypeFor[A]().Kind() != reflect.Slice {
		return nil, false, nil
	}
	head, err := newKeyedSnap[K, T](hash, maxP)
	if err != nil {
		return nil, false, err
	}
	accs, err := state.CodecFor[A]()
	if err != nil {
		return nil, false, fmt.Errorf("its state: %w", err)
	}
	return &deltaChunks[T, K, A]{head: head, accs: accs, gather: gather}, true, nil
}

// tail returns the length of list a and a[from:] (a snapshot's, not an
// element's work: reflection is cheap enough there).
func (c *deltaChunks[T, K, A]) tail(a A, from int) (n int, tail A) {
	v := reflect.ValueOf(&a).Elem()
	n = v.Len()
	if from < n {
		tail = v.Slice(from, n).Interface().(A)
	}
	return n, tail
}

func (c *deltaChunks[T, K, A]) chunkSuffix(i int32) []byte {
	binary.BigEndian.PutUint32(c.suffix[:], uint32(i))
	return c.suffix[:]
}

// write writes what changed of a key since the last snapshot (all of it
// when full: the store then holds nothing of it).
func (c *deltaChunks[T, K, A]) write(w *StateWriter, dk *deltaKey[K, A], point T, full bool) {
	n := 0
	if dk.n > 0 {
		n, _ = c.tail(dk.acc, 0)
	}
	if full || dk.start != dk.savedStart || n < dk.savedN || dk.chunks >= maxDeltaChunks {
		if !full {
			for i := range dk.chunks {
				c.head.del(w, deltaChunkTag, dk.key, c.chunkSuffix(i))
			}
		}
		dk.chunks, dk.savedN = 0, 0
	}
	if n > dk.savedN {
		_, added := c.tail(dk.acc, dk.savedN)
		kg := c.head.keyGroup(dk.key)
		key := c.head.storeKey(deltaChunkTag, dk.key, c.chunkSuffix(dk.chunks))
		c.head.vbuf = c.accs.Append(c.head.vbuf[:0], added)
		w.Set(kg, key, c.head.vbuf)
		dk.chunks++
	}
	dk.savedN, dk.savedStart = n, dk.start
	v := binary.AppendVarint(c.head.vbuf[:0], dk.n)
	v = binary.AppendVarint(v, dk.start)
	v = binary.AppendVarint(v, dk.maxTs)
	v = binary.AppendVarint(v, dk.rank)
	v = binary.AppendUvarint(v, uint64(dk.chunks))
	c.head.vbuf = c.head.vals.Append(v, point)
	w.Set(c.head.keyGroup(dk.key), c.head.storeKey(deltaHeadTag, dk.key, nil), c.head.vbuf)
}

// decodeHead reads a head entry's value.
func (c *deltaChunks[T, K, A]) decodeHead(val []byte) (deltaHead[T], error) {
	d := snapDec{b: val}
	h := deltaHead[T]{N: d.varint(), Start: d.varint(), MaxTs: d.varint(), Rank: d.varint()}
	chunks := d.uvarint()
	h.Point = decodeWith(&d, c.head.vals)
	d.end()
	if d.err == nil && (h.N < 0 || chunks > maxDeltaChunks) {
		d.fail("a delta window's head")
	}
	h.Chunks = int32(chunks)
	return h, d.err
}

// restoreChunked is Restore for chunked checkpoints.
func (o *DeltaWindow[T, K, A, R]) restoreChunked(r *StateReader) error {
	c := o.chunked
	type restored struct {
		k     K
		h     deltaHead[T]
		parts []A
		have  []bool
	}
	type chunk struct {
		k     K
		i     int
		elems A
	}
	var heads []restored
	var chunks []chunk
	err := r.Keyed(func(kg int, key, val []byte) error {
		if len(key) > 0 && key[0] == deltaChunkTag {
			k, suffix, err := c.head.keys.Decode(key[1:])
			if err != nil {
				return err
			}
			if g := c.head.keyGroup(k); g != kg || len(suffix) != 4 {
				return fmt.Errorf("braid: delta window: a damaged chunk entry of key %v", k)
			}
			elems, err := state.DecodeExact(c.accs, val)
			if err != nil {
				return err
			}
			chunks = append(chunks, chunk{k, int(binary.BigEndian.Uint32(suffix)), elems})
			return nil
		}
		if len(key) == 0 || key[0] != deltaHeadTag {
			return fmt.Errorf("braid: delta window: a state entry of tag %q", key[:min(len(key), 1)])
		}
		k, err := state.DecodeExact(c.head.keys, key[1:])
		if err != nil {
			return err
		}
		if g := c.head.keyGroup(k); g != kg {
			return fmt.Errorf("braid: key %v is stored in key group %d, its key group is %d", k, kg, g)
		}
		h, err := c.decodeHead(val)
		if err != nil {
			return err
		}
		heads = append(heads, restored{k: k, h: h, parts: make([]A, h.Chunks), have: make([]bool, h.Chunks)})
		return nil
	})
	if err != nil {
		return err
	}
	at := make(map[K]int, len(heads))
	for i := range heads {
		at[heads[i].k] = i
	}
	for _, ch := range chunks {
		i, ok := at[ch.k]
		if !ok || ch.i >= len(heads[i].parts) || heads[i].have[ch.i] {
			return fmt.Errorf("braid: delta window: chunk %d of key %v does not belong to its list", ch.i, ch.k)
		}
		heads[i].parts[ch.i], heads[i].have[ch.i] = ch.elems, true
	}
	slices.SortStableFunc(heads, func(a, b restored) int { return cmp.Compare(a.h.Rank, b.h.Rank) })
	for i := range heads {
		h := &heads[i].h
		var acc A
		for j, part := range heads[i].parts {
			if !heads[i].have[j] {
				return fmt.Errorf("braid: delta window: chunk %d of key %v is missing", j, heads[i].k)
			}
			acc = c.gather(acc, part)
		}
		n, _ := c.tail(acc, 0)
		if h.Chunks > 0 && n == 0 || h.N == 0 && n != 0 {
			return fmt.Errorf("braid: delta window: key %v has %d elements in its chunks, its window %d", heads[i].k, n, h.N)
		}
		dk := deltaKey[K, A]{key: heads[i].k, acc: acc, n: h.N, start: h.Start, maxTs: h.MaxTs, rank: h.Rank,
			savedN: n, chunks: h.Chunks, savedStart: h.Start}
		if err := o.restoreKey(dk, h.Point); err != nil {
			return err
		}
	}
	return nil
}
