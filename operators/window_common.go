package operators

import (
	"cmp"
	"math"
	"slices"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

// Agg says how a window function folds elements into an accumulator A.
//
// Incremental functions (Reduce, Aggregate, Sum, Count, ...) set Add and
// Merge: the operator keeps one A per key and slice or session, never the
// elements, and combines accumulators with Merge (older first) to form
// windows. Buffering functions (Apply) keep the elements: A is a list, Add
// appends, Merge concatenates, and Gather/Empty build a window's list in a
// reused buffer.
type Agg[T, A any] struct {
	// First makes the accumulator of a single element. Nil means
	// Add(zero A, v).
	First func(T) A
	Add   func(A, T) A
	Merge func(older, newer A) A
	// Gather appends src to dst for buffering functions; nil for
	// incremental ones. Empty empties dst keeping its memory.
	Gather func(dst, src A) A
	Empty  func(A) A
	// Counts marks a count: A is int64, First(v) is 1 and Add(a, v) is
	// a+1 whatever v. A window operator may then count an element itself,
	// without calling Add or reading the element (the time window does,
	// when the keyed exchange has computed the keys).
	Counts bool
}

func (g *Agg[T, A]) first(v T) A {
	if g.First != nil {
		return g.First(v)
	}
	var zero A
	return g.Add(zero, v)
}

// FireFunc turns a window's accumulator into output: emit may be called any
// number of times. acc is valid only during the call.
type FireFunc[K comparable, A, R any] func(key K, w window.Window, acc A, emit func(R))

// WindowSpec is everything a window operator needs to know, whatever the
// window kind.
type WindowSpec[T any, K comparable, A, R any] struct {
	Key       func(T) K
	Hash      state.Hasher[K]
	Assigner  window.Assigner
	Agg       Agg[T, A]
	Fire      FireFunc[K, A, R]
	EventTime bool
	// Lateness is the allowed lateness in nanoseconds (event time only).
	Lateness int64
	// Late receives elements that arrive after all their windows' allowed
	// lateness; nil drops them (they are still counted).
	Late func(v T, ts int64)
}

// emitter collects a window operator's output into a batch and pushes it
// downstream.
type emitter[R any] struct {
	out   Input[R]
	buf   Batch[R]
	timed bool
	ts    int64
	emit  func(R)
	err   error
}

func newEmitter[R any](out Input[R], timed bool) *emitter[R] {
	e := &emitter[R]{out: out, timed: timed}
	e.emit = func(r R) {
		e.buf.Values = append(e.buf.Values, r)
		if e.timed {
			e.buf.Times = append(e.buf.Times, e.ts)
		}
		if len(e.buf.Values) >= DefaultBatchSize {
			e.flush()
		}
	}
	return e
}

// at sets the timestamp of what is emitted next: a window's max timestamp.
func (e *emitter[R]) at(ts int64) { e.ts = ts }

func (e *emitter[R]) flush() error {
	if len(e.buf.Values) > 0 && e.err == nil {
		e.err = e.out.Push(&e.buf)
		e.buf.Values = e.buf.Values[:0]
		if e.buf.Times != nil {
			e.buf.Times = e.buf.Times[:0]
		}
	}
	return e.err
}

// procTime is the processing-time source of a window operator; the
// timestamp of every element of a batch is the time the batch arrived.
type procTime struct {
	clock Clock
}

func (p procTime) now() int64 { return p.clock.Now().UnixNano() }

// saturating add for times.
func addTime(t, d int64) int64 {
	if d > 0 && t > math.MaxInt64-d {
		return math.MaxInt64
	}
	if d < 0 && t < math.MinInt64-d {
		return math.MinInt64
	}
	return t + d
}

// timeDriven is what the time and session window operators share: their
// outputs, and how watermarks, processing-time timers and the end of input
// drive them through their advance function (fire what ends by then).
type timeDriven[T, R any] struct {
	out       Input[R]
	em        *emitter[R]
	late      *emitter[T]
	eventTime bool
	advanceTo func(t int64) error
}

func newTimeDriven[T, R any](out Input[R], late Input[T], eventTime bool, advance func(int64) error) timeDriven[T, R] {
	d := timeDriven[T, R]{out: out, em: newEmitter(out, eventTime), eventTime: eventTime, advanceTo: advance}
	if late != nil {
		d.late = newEmitter(late, true)
	}
	return d
}

// lateElement counts a late element and sends it to the late output.
func (d *timeDriven[T, R]) lateElement(bc *BuildContext, v T, ts int64) {
	bc.CountLate(1)
	if d.late != nil {
		d.late.at(ts)
		d.late.emit(v)
	}
}

func (d *timeDriven[T, R]) flush() error {
	if d.late != nil {
		if err := d.late.flush(); err != nil {
			return err
		}
	}
	return d.em.flush()
}

// Watermark implements Input: in event time, windows that end by wm fire
// before the watermark goes on.
func (d *timeDriven[T, R]) Watermark(wm int64) error {
	if !d.eventTime && wm != MaxWatermark {
		return d.out.Watermark(wm)
	}
	// In processing time only the final watermark comes here, announcing
	// the end of input: what the windows hold goes out before it.
	if err := d.advanceTo(wm); err != nil {
		return err
	}
	if err := d.flush(); err != nil {
		return err
	}
	return d.out.Watermark(wm)
}

// Idle implements Input.
func (d *timeDriven[T, R]) Idle(idle bool) error { return d.out.Idle(idle) }

// Finish implements Input: every window still open fires (in event time
// the final watermark has fired them already; in processing time they fire
// here, so that no element is lost).
func (d *timeDriven[T, R]) Finish() error {
	if err := d.advanceTo(math.MaxInt64); err != nil {
		return err
	}
	if err := d.flush(); err != nil {
		return err
	}
	return d.out.Finish()
}

func (d *timeDriven[T, R]) onTimer(now int64) error {
	if err := d.advanceTo(now); err != nil {
		return err
	}
	return d.flush()
}

// sortBySlot returns s sorted stably by slot(e), a number from 0 to about
// len(s) (a restore's slot numbers, which a pane gave its keys in arrival
// order; after a change of parallelism several old subtasks' numbers
// mix): a counting sort, which moves each element once, where a stable
// comparison sort of a pane of a million keys merges and rotates them
// dozens of times. Numbers far above len(s), or below 0, which only a
// damaged checkpoint could hold, fall back to a comparison sort.
func sortBySlot[E any](s []E, slot func(*E) int) []E {
	top := 0
	for i := range s {
		n := slot(&s[i])
		if n < 0 || n > 4*len(s)+64 {
			slices.SortStableFunc(s, func(a, b E) int { return cmp.Compare(slot(&a), slot(&b)) })
			return s
		}
		top = max(top, n)
	}
	at := make([]int, top+2)
	for i := range s {
		at[slot(&s[i])+1]++
	}
	for n := 1; n < len(at); n++ {
		at[n] += at[n-1]
	}
	out := make([]E, len(s))
	for i := range s {
		n := slot(&s[i])
		out[at[n]] = s[i]
		at[n]++
	}
	return out
}
