package operators

import (
	"math"

	"github.com/braidstream/braid/window"
)

type deltaKey[K comparable, A any] struct {
	key   K
	acc   A
	n     int64 // elements in the open window
	start int64 // ordinal of its first element
	maxTs int64
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
}

// NewDeltaWindow builds the operator for one subtask.
func NewDeltaWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], out Input[R]) *DeltaWindow[T, K, A, R] {
	return &DeltaWindow[T, K, A, R]{spec: spec, policy: spec.Assigner.(window.DeltaWindows[T]), out: out,
		em: newEmitter(out, spec.EventTime), idx: make(map[K]int32)}
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
			o.keys = append(o.keys, deltaKey[K, A]{key: k, maxTs: math.MinInt64})
			o.points = append(o.points, o.policy.Initial)
		}
		dk := &o.keys[j]
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
