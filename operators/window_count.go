package operators

import (
	"fmt"

	"github.com/braidstream/braid/internal/swag"
	"github.com/braidstream/braid/window"
)

// countKey is one key's state in a count window: how many elements it has
// seen, the slice being filled, and the completed slices of the window.
type countKey[K comparable, A any] struct {
	key     K
	n       int64 // elements seen
	curN    int64 // elements in cur
	cur     A
	q       *swag.Queue[A] // incremental functions: completed slices
	entries []sliceAcc[A]  // buffering functions: completed slices
	dirty   bool           // in CountWindow.dirty
}

// CountWindow is the keyed operator for tumbling and sliding count windows:
// per key, every Slide elements it fires with the last Size elements (fewer
// at the start), as Flink's countWindow(size, slide), which is GlobalWindows
// with a count trigger and a count evictor. Elements are folded once into
// slices of gcd(size, slide) elements; a window combines its slices through
// a two-stack queue. Time plays no part: there are no late elements, and the
// result carries the timestamp of the element that completed the window. A
// window that has not reached its count when the input ends does not fire,
// as in Flink.
type CountWindow[T any, K comparable, A, R any] struct {
	spec               WindowSpec[T, K, A, R]
	size, slide, slice int64
	out                Input[R]
	em                 *emitter[R]
	idx                map[K]int32
	keys               []countKey[K, A]
	gather             A

	// Checkpoints: the keys changed since the last snapshot, by slot
	// (keys are never dropped), each once (countKey.dirty).
	track bool
	dirty []int32
	snap  *keyedSnap[K, countRec[A]]
}

// NewCountWindow builds the operator for one subtask.
func NewCountWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], bc *BuildContext, out Input[R]) *CountWindow[T, K, A, R] {
	a := spec.Assigner.(window.CountWindows)
	o := &CountWindow[T, K, A, R]{spec: spec, size: a.Size, slide: a.Slide, slice: a.SliceSize(),
		out: out, em: newEmitter(out, spec.EventTime), idx: make(map[K]int32)}
	if bc.Checkpointing() {
		snap, err := newKeyedSnap[K, countRec[A]](spec.Hash, bc.MaxParallelism)
		if err != nil {
			uncodable(bc, "count window", err)
			return o
		}
		o.snap, o.track = snap, true
		bc.AddSnapshotter(o)
	}
	return o
}

// newKey adds key k, in slot j.
func (o *CountWindow[T, K, A, R]) newKey(k K) int32 {
	j := int32(len(o.keys))
	o.idx[k] = j
	ck := countKey[K, A]{key: k}
	if o.slice != o.size && o.spec.Agg.Gather == nil {
		ck.q = swag.New(o.spec.Agg.Merge)
	}
	o.keys = append(o.keys, ck)
	return j
}

// Push implements Input.
func (o *CountWindow[T, K, A, R]) Push(b *Batch[T]) error {
	for i, v := range b.Values {
		k := o.spec.Key(v)
		j, ok := o.idx[k]
		if !ok {
			j = o.newKey(k)
		}
		ck := &o.keys[j]
		if o.track && !ck.dirty {
			ck.dirty = true
			o.dirty = append(o.dirty, j)
		}
		if ck.curN == 0 {
			ck.cur = o.spec.Agg.first(v)
		} else {
			ck.cur = o.spec.Agg.Add(ck.cur, v)
		}
		ck.curN++
		ck.n++
		if o.spec.EventTime {
			o.em.at(b.Times[i])
		}
		if o.slice == o.size {
			// Tumbling: the slice is the window.
			if ck.curN == o.size {
				o.spec.Fire(k, window.Window{Start: ck.n - o.size, End: ck.n}, ck.cur, o.em.emit)
				var zero A
				ck.cur, ck.curN = zero, 0
			}
			continue
		}
		if ck.curN == o.slice {
			id := ck.n/o.slice - 1
			if ck.q != nil {
				ck.q.Push(id, ck.cur)
			} else {
				ck.entries = append(ck.entries, sliceAcc[A]{id, ck.cur})
			}
			var zero A
			ck.cur, ck.curN = zero, 0
		}
		if ck.n%o.slide == 0 {
			first := max(0, ck.n-o.size)
			w := window.Window{Start: first, End: ck.n}
			firstID := first / o.slice
			if ck.q != nil {
				ck.q.PopBefore(firstID)
				if acc, ok := ck.q.Aggregate(); ok {
					o.spec.Fire(k, w, acc, o.em.emit)
				}
				continue
			}
			drop := 0
			for drop < len(ck.entries) && ck.entries[drop].start < firstID {
				drop++
			}
			clear(ck.entries[:drop])
			ck.entries = append(ck.entries[:0], ck.entries[drop:]...)
			acc := o.spec.Agg.Empty(o.gather)
			for _, e := range ck.entries {
				acc = o.spec.Agg.Gather(acc, e.acc)
			}
			o.gather = acc
			o.spec.Fire(k, w, acc, o.em.emit)
		}
	}
	return o.em.flush()
}

// Watermark implements Input.
func (o *CountWindow[T, K, A, R]) Watermark(wm int64) error { return o.out.Watermark(wm) }

// Idle implements Input.
func (o *CountWindow[T, K, A, R]) Idle(idle bool) error { return o.out.Idle(idle) }

// Finish implements Input: incomplete windows do not fire.
func (o *CountWindow[T, K, A, R]) Finish() error { return o.out.Finish() }

// countRec is a key's state as checkpoints keep it: its counts, the slice
// being filled, and the completed slices (with how they lie in the
// two-stack queue, so that a restored queue combines them in the same
// order).
type countRec[A any] struct {
	N, CurN int64
	Cur     A
	IDs     []int64
	Vals    []A
	Front   int
	LastID  int64
	Pushed  bool
}

const countTag = 'c'

// Snapshot implements Snapshotter: one entry per key changed since the
// last snapshot (every key when w.Full).
func (o *CountWindow[T, K, A, R]) Snapshot(w *StateWriter) error {
	if w.Full() {
		for j := range o.keys {
			o.snapshotKey(w, &o.keys[j])
		}
	} else {
		for _, j := range o.dirty {
			o.snapshotKey(w, &o.keys[j])
		}
	}
	for _, j := range o.dirty {
		o.keys[j].dirty = false
	}
	o.dirty = o.dirty[:0]
	return nil
}

func (o *CountWindow[T, K, A, R]) snapshotKey(w *StateWriter, ck *countKey[K, A]) {
	r := &o.snap.scratch
	*r = countRec[A]{N: ck.n, CurN: ck.curN, Cur: ck.cur, IDs: r.IDs[:0], Vals: r.Vals[:0]}
	if ck.q != nil {
		ck.q.Entries(func(id int64, val A, front bool) {
			r.IDs, r.Vals = append(r.IDs, id), append(r.Vals, val)
			if front {
				r.Front++
			}
		})
		r.LastID, r.Pushed = ck.q.LastID()
	}
	for _, e := range ck.entries {
		r.IDs, r.Vals = append(r.IDs, e.start), append(r.Vals, e.acc)
	}
	o.snap.set(w, countTag, ck.key, nil, *r)
	clear(r.Vals)
	var zero A
	r.Cur = zero
}

// Restore implements Snapshotter.
func (o *CountWindow[T, K, A, R]) Restore(r *StateReader) error {
	return r.Keyed(func(kg int, key, val []byte) error {
		tag, k, _, rec, err := o.snap.decode(kg, key, val)
		if err != nil {
			return err
		}
		if _, dup := o.idx[k]; tag != countTag || dup || len(rec.IDs) != len(rec.Vals) {
			return fmt.Errorf("braid: count window: a bad state entry for key %v", k)
		}
		ck := &o.keys[o.newKey(k)]
		ck.n, ck.curN, ck.cur = rec.N, rec.CurN, rec.Cur
		switch {
		case ck.q != nil:
			if err := rebuildQueue(ck.q, rec); err != nil {
				return err
			}
		case len(rec.IDs) > 0:
			ck.entries = make([]sliceAcc[A], len(rec.IDs))
			for i := range rec.IDs {
				ck.entries[i] = sliceAcc[A]{rec.IDs[i], rec.Vals[i]}
			}
		}
		return nil
	})
}

// rebuildQueue restores q as rec describes it; damaged state is an error,
// not a panic.
func rebuildQueue[A any](q *swag.Queue[A], rec countRec[A]) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("braid: count window: the slices of a key do not restore: %v", v)
		}
	}()
	q.Rebuild(rec.IDs, rec.Vals, rec.Front, rec.LastID, rec.Pushed)
	return nil
}
