package operators

import (
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
}

// NewCountWindow builds the operator for one subtask.
func NewCountWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], bc *BuildContext, out Input[R]) *CountWindow[T, K, A, R] {
	bc.Unsupported("count window") // snapshots pending (issue 8)
	a := spec.Assigner.(window.CountWindows)
	return &CountWindow[T, K, A, R]{spec: spec, size: a.Size, slide: a.Slide, slice: a.SliceSize(),
		out: out, em: newEmitter(out, spec.EventTime), idx: make(map[K]int32)}
}

// Push implements Input.
func (o *CountWindow[T, K, A, R]) Push(b *Batch[T]) error {
	for i, v := range b.Values {
		k := o.spec.Key(v)
		j, ok := o.idx[k]
		if !ok {
			j = int32(len(o.keys))
			o.idx[k] = j
			ck := countKey[K, A]{key: k}
			if o.slice != o.size && o.spec.Agg.Gather == nil {
				ck.q = swag.New(o.spec.Agg.Merge)
			}
			o.keys = append(o.keys, ck)
		}
		ck := &o.keys[j]
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
