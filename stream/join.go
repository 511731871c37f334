package stream

import (
	"fmt"
	"sync"

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
