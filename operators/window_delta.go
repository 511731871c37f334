package operators

import (
	"cmp"
	"fmt"
	"math"
	"slices"

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
}

// NewDeltaWindow builds the operator for one subtask.
func NewDeltaWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], bc *BuildContext, out Input[R]) *DeltaWindow[T, K, A, R] {
	o := &DeltaWindow[T, K, A, R]{spec: spec, policy: spec.Assigner.(window.DeltaWindows[T]), out: out,
		em: newEmitter(out, spec.EventTime), idx: make(map[K]int32)}
	if bc.Checkpointing() {
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
	if w.Full() {
		for j := range o.keys {
			o.snapshotKey(w, int32(j))
		}
	} else {
		for _, j := range o.dirty {
			o.snapshotKey(w, j)
		}
	}
	for _, j := range o.dirty {
		o.keys[j].dirty = false
	}
	o.dirty = o.dirty[:0]
	return nil
}

func (o *DeltaWindow[T, K, A, R]) snapshotKey(w *StateWriter, j int32) {
	dk := &o.keys[j]
	o.snap.set(w, deltaTag, dk.key, nil, deltaRec[T, A]{Acc: dk.acc, N: dk.n, Start: dk.start, MaxTs: dk.maxTs,
		Point: o.points[j], Rank: dk.rank})
}

// Restore implements Snapshotter: the keys come back in the order they
// first arrived (after a change of parallelism, each old subtask's in
// that order).
func (o *DeltaWindow[T, K, A, R]) Restore(r *StateReader) error {
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
		if _, dup := o.idx[k]; dup {
			return fmt.Errorf("braid: delta window: key %v restored twice", k)
		}
		o.idx[k] = int32(len(o.keys))
		o.keys = append(o.keys, deltaKey[K, A]{key: k, acc: rec.Acc, n: rec.N, start: rec.Start, maxTs: rec.MaxTs, rank: rec.Rank})
		o.points = append(o.points, rec.Point)
		o.ranks = max(o.ranks, rec.Rank+1)
	}
	return nil
}
