package stream

import (
	"cmp"
	"fmt"
	"time"

	"golang.org/x/exp/constraints"

	"github.com/braidstream/braid/internal/errs"
	"github.com/braidstream/braid/operators"
	"github.com/braidstream/braid/window"
)

// A WindowedStream is a keyed (or whole) stream cut into windows, waiting
// for a window function: Reduce, Aggregate, Apply, or one of Sum, Min, Max,
// MinBy, MaxBy, Count, Mean.
//
// Windows are in event time when the stream has timestamps
// (Stream.WithTimestamps) and in processing time otherwise. Semantics are
// Flink's window operator's:
//   - A time window [start,end) fires when the watermark (or processing
//     time) reaches end-1; sliding windows may start before time zero.
//   - An element whose every window ended more than the allowed lateness
//     before the watermark is late: it is counted (Metrics.LateRecords) and
//     goes to the Late stream when one is asked for.
//   - An element within the allowed lateness of a window that has fired
//     fires that window again at once, with all its elements.
//   - Sessions that overlap or touch merge.
//   - When a bounded input ends, every time window and session still open
//     with the default trigger fires (the final watermark in event time; in
//     processing time too, so that no element is lost). Count windows that
//     are not full do not fire, as in Flink; delta windows (window.Delta)
//     emit their open window, as Flink 0.9 did on close. A window with a
//     trigger of its own fires at the end only as its trigger says: the
//     final watermark fires event-time timers, but processing-time timers
//     left over do not fire (as in Flink), and a CountTrigger's unfinished
//     count does not fire, so such windows can end unfired.
//   - Count and delta windows count elements in arrival order per key;
//     time plays no part and there are no late elements.
type WindowedStream[K comparable, T any] struct {
	ks            *KeyedStream[K, T]
	assigner      window.Assigner
	lateness      time.Duration
	all           bool
	late          *lateOutput
	trigger       window.Trigger[T]
	before, after window.Evictor[T]
}

// Trigger replaces the window's trigger: when it fires and purges (see
// window.Trigger; CountTrigger, EventTimeTrigger, ProcessingTimeTrigger,
// Every, DeltaTrigger, Purging). With window.Global() a trigger is needed.
// On session windows, which merge, the trigger must implement
// window.MergingTrigger (the built-in ones do, but DeltaTrigger), so that
// its state merges with the sessions. A window with a custom trigger or an
// evictor keeps every element.
//
// The last 5 elements, every 2 seconds (0.9's
// window(Count.of(5)).every(Time.of(2, SECONDS))):
//
//	ks.Window(window.Global()).Trigger(window.Every[T](2*time.Second, false)).Evictor(window.CountEvictor[T](5))
func (w *WindowedStream[K, T]) Trigger(t window.Trigger[T]) *WindowedStream[K, T] {
	c := *w
	c.trigger = t
	return &c
}

// Evictor removes elements from the window before its function runs each
// time it fires (window.CountEvictor, TimeEvictor, DeltaEvictor).
func (w *WindowedStream[K, T]) Evictor(e window.Evictor[T]) *WindowedStream[K, T] {
	c := *w
	c.before = e
	return &c
}

// EvictAfter removes elements from the window after its function runs.
func (w *WindowedStream[K, T]) EvictAfter(e window.Evictor[T]) *WindowedStream[K, T] {
	c := *w
	c.after = e
	return &c
}

// lateOutput links the late side outputs of the window operators made from
// one WindowedStream to its Late stream.
type lateOutput struct {
	merge *operators.Node   // the Late stream's node, once asked for
	sides []*operators.Node // one side output per window operator
}

// Window cuts the keyed stream into windows of the assigner.
func (k *KeyedStream[K, T]) Window(a window.Assigner) *WindowedStream[K, T] {
	if err := a.Validate(); err != nil {
		k.s.env.fail(errs.Wrapf(err, "braid: window %v after %q", a, k.s.node.Name))
	}
	return &WindowedStream[K, T]{ks: k, assigner: a, late: &lateOutput{}}
}

// WindowAll cuts the whole stream into windows, computed by one subtask.
// Results have the zero key, struct{}{}.
func (s *Stream[T]) WindowAll(a window.Assigner) *WindowedStream[struct{}, T] {
	ks := KeyBy(s, func(T) struct{} { return struct{}{} })
	ws := ks.Window(a)
	ws.all = true
	return ws
}

// AllowedLateness keeps event-time windows for d after they fire, so that
// late elements within d update them (and fire them again). Default 0.
func (w *WindowedStream[K, T]) AllowedLateness(d time.Duration) *WindowedStream[K, T] {
	if d < 0 {
		w.ks.s.env.fail(fmt.Errorf("braid: allowed lateness must not be negative, got %v", d))
	}
	c := *w
	c.lateness = d
	return &c
}

// Late returns the stream of elements that arrived too late for every
// window they belong to, with their timestamps, from the window functions
// applied to w (before or after this call).
func (w *WindowedStream[K, T]) Late() *Stream[T] {
	env := w.ks.s.env
	if w.late.merge == nil {
		w.late.merge = operators.NewOpNode[T]("late elements", func(bc *operators.BuildContext, out any) ([]any, error) {
			return []any{out}, nil
		})
		env.add(w.late.merge)
		for _, side := range w.late.sides {
			w.late.merge.Inputs = append(w.late.merge.Inputs, edge(side))
		}
	}
	return newStream[T](env, w.late.merge, true)
}

// apply adds the window operator of a window function.
func applyWindow[K comparable, T, A, R any](w *WindowedStream[K, T], name string, agg operators.Agg[T, A], fire operators.FireFunc[K, A, R]) *Stream[R] {
	s := w.ks.s
	eventTime := s.eventTime
	spec := operators.WindowSpec[T, K, A, R]{
		Key: w.ks.key, Hash: w.ks.hash, Assigner: w.assigner, Agg: agg, Fire: fire,
		EventTime: eventTime, Lateness: int64(w.lateness),
	}
	_, isCount := w.assigner.(window.CountWindows)
	_, isDelta := w.assigner.(window.DeltaWindows[T])
	if (isCount || isDelta) && w.lateness > 0 {
		s.env.fail(fmt.Errorf("braid: window %v: count and delta windows have no allowed lateness", w.assigner))
	}
	n := operators.NewOpNode[R]("window "+w.assigner.String()+" "+name, nil)
	lateIdx := -1
	_, isGlobal := w.assigner.(window.GlobalWindows)
	general := w.trigger != nil || w.before != nil || w.after != nil || isGlobal
	if general {
		switch w.assigner.(type) {
		case window.GlobalWindows, window.TimeWindows:
		case window.SessionWindows:
			if _, ok := w.trigger.(window.MergingTrigger[T]); w.trigger != nil && !ok {
				s.env.fail(fmt.Errorf("braid: window %v: trigger %T cannot merge, and session windows merge: "+
					"give a window.MergingTrigger (CountTrigger, EventTimeTrigger, ProcessingTimeTrigger, Every, "+
					"or Purging of one; a trigger of your own needs an OnMerge method)", w.assigner, w.trigger))
			}
		default:
			s.env.fail(fmt.Errorf("braid: window %v: triggers and evictors work on global, time and session windows", w.assigner))
		}
		if isGlobal && w.trigger == nil {
			s.env.fail(fmt.Errorf("braid: global windows never fire without a trigger: give one with Trigger"))
		}
	}
	n.SetBuild(func(bc *operators.BuildContext, out any) ([]any, error) {
		o := out.(operators.Input[R])
		var late operators.Input[T]
		if lateIdx >= 0 {
			late = bc.Side(lateIdx).(operators.Input[T])
		}
		if general {
			trigger := w.trigger
			if trigger == nil {
				trigger = window.ProcessingTimeTrigger[T]()
				if eventTime {
					trigger = window.EventTimeTrigger[T]()
				}
			}
			return []any{operators.NewTriggerWindow(spec, trigger, w.before, w.after, bc, o, late)}, nil
		}
		switch w.assigner.(type) {
		case window.TimeWindows:
			return []any{operators.NewTimeWindow(spec, bc, o, late)}, nil
		case window.SessionWindows:
			return []any{operators.NewSessionWindow(spec, bc, o, late)}, nil
		case window.CountWindows:
			return []any{operators.NewCountWindow(spec, bc, o)}, nil
		case window.DeltaWindows[T]:
			return []any{operators.NewDeltaWindow(spec, bc, o)}, nil
		}
		return nil, fmt.Errorf("unsupported window assigner %T", w.assigner)
	})
	n.Inputs = []operators.Edge{w.ks.edge()}
	if w.all {
		n.MaxParallelism = 1
		n.Inputs[0].Partition = operators.Global()
	}
	s.env.add(n)
	if !isCount && !isDelta {
		// Late elements go to a side output, which discards them (they are
		// still counted) unless the Late stream reads it.
		lateIdx = len(n.Sides)
		side := operators.NewSideNode[T]("late elements of "+n.Name, n)
		side.Timed = true
		s.env.add(side)
		w.late.sides = append(w.late.sides, side)
		if w.late.merge != nil {
			w.late.merge.Inputs = append(w.late.merge.Inputs, edge(side))
		}
	}
	// Results of time windows carry the window's max timestamp.
	return newStream[R](s.env, n, eventTime)
}

func resultFire[K comparable, A, V any](result func(A) V) operators.FireFunc[K, A, window.Result[K, V]] {
	return func(k K, w window.Window, acc A, emit func(window.Result[K, V])) {
		emit(window.Result[K, V]{Key: k, Window: w, Value: result(acc)})
	}
}

func identity[A any](a A) A { return a }

// Reduce combines each window's elements with f, incrementally: one value
// per key and window (per slice, for sliding windows), never a buffer of
// elements. f must be associative.
func Reduce[K comparable, T any](w *WindowedStream[K, T], f func(a, b T) T) *Stream[window.Result[K, T]] {
	agg := operators.Agg[T, T]{First: identity[T], Add: f, Merge: f}
	return applyWindow(w, "reduce", agg, resultFire[K](identity[T]))
}

// An AggregateFunc folds elements into an accumulator A and turns it into a
// result R, as Flink's AggregateFunction. Merge combines two accumulators
// (of consecutive slices, or of merging sessions), the older first.
type AggregateFunc[T, A, R any] struct {
	Init   func() A
	Add    func(acc A, v T) A
	Merge  func(older, newer A) A
	Result func(acc A) R
}

// Aggregate computes f over each window, incrementally: one accumulator
// per key and window (per slice, for sliding windows).
func Aggregate[K comparable, T, A, R any](w *WindowedStream[K, T], f AggregateFunc[T, A, R]) *Stream[window.Result[K, R]] {
	if f.Init == nil || f.Add == nil || f.Merge == nil || f.Result == nil {
		w.ks.s.env.fail(fmt.Errorf("braid: Aggregate: Init, Add, Merge and Result must all be set"))
	}
	agg := operators.Agg[T, A]{First: func(v T) A { return f.Add(f.Init(), v) }, Add: f.Add, Merge: f.Merge}
	return applyWindow(w, "aggregate", agg, resultFire[K](f.Result))
}

// Apply calls f once per key and window with all of the window's elements
// (valid only during the call), for computations that cannot be
// incremental. f may emit any number of results. It buffers every element
// of every open window.
func Apply[K comparable, T, R any](w *WindowedStream[K, T], f func(key K, w window.Window, elems []T, emit func(R))) *Stream[R] {
	agg := operators.Agg[T, []T]{
		First:  func(v T) []T { return []T{v} },
		Add:    func(a []T, v T) []T { return append(a, v) },
		Merge:  func(a, b []T) []T { return append(a, b...) },
		Gather: func(dst, src []T) []T { return append(dst, src...) },
		Empty:  func(a []T) []T { return a[:0] },
	}
	return applyWindow(w, "apply", agg, operators.FireFunc[K, []T, R](f))
}

// Number is the constraint of Sum and Mean.
type Number interface {
	constraints.Integer | constraints.Float
}

// Sum adds up f(element) over each window.
func Sum[K comparable, T any, N Number](w *WindowedStream[K, T], f func(T) N) *Stream[window.Result[K, N]] {
	agg := operators.Agg[T, N]{First: f, Add: func(a N, v T) N { return a + f(v) }, Merge: func(a, b N) N { return a + b }}
	return applyWindow(w, "sum", agg, resultFire[K](identity[N]))
}

// Count counts the elements of each window.
func Count[K comparable, T any](w *WindowedStream[K, T]) *Stream[window.Result[K, int64]] {
	agg := operators.Agg[T, int64]{First: func(T) int64 { return 1 }, Add: func(a int64, _ T) int64 { return a + 1 }, Merge: func(a, b int64) int64 { return a + b }, Counts: true}
	return applyWindow(w, "count", agg, resultFire[K](identity[int64]))
}

// Min is the least f(element) of each window.
func Min[K comparable, T any, V cmp.Ordered](w *WindowedStream[K, T], f func(T) V) *Stream[window.Result[K, V]] {
	agg := operators.Agg[T, V]{First: f, Add: func(a V, v T) V { return min(a, f(v)) }, Merge: func(a, b V) V { return min(a, b) }}
	return applyWindow(w, "min", agg, resultFire[K](identity[V]))
}

// Max is the greatest f(element) of each window.
func Max[K comparable, T any, V cmp.Ordered](w *WindowedStream[K, T], f func(T) V) *Stream[window.Result[K, V]] {
	agg := operators.Agg[T, V]{First: f, Add: func(a V, v T) V { return max(a, f(v)) }, Merge: func(a, b V) V { return max(a, b) }}
	return applyWindow(w, "max", agg, resultFire[K](identity[V]))
}

// MinBy is the element of each window with the least f(element); of
// equal ones, the first to arrive (in event time order across slices).
func MinBy[K comparable, T any, V cmp.Ordered](w *WindowedStream[K, T], f func(T) V) *Stream[window.Result[K, T]] {
	pick := func(a, b T) T {
		if f(b) < f(a) {
			return b
		}
		return a
	}
	agg := operators.Agg[T, T]{First: identity[T], Add: pick, Merge: pick}
	return applyWindow(w, "minby", agg, resultFire[K](identity[T]))
}

// MaxBy is the element of each window with the greatest f(element); of
// equal ones, the first to arrive.
func MaxBy[K comparable, T any, V cmp.Ordered](w *WindowedStream[K, T], f func(T) V) *Stream[window.Result[K, T]] {
	pick := func(a, b T) T {
		if f(b) > f(a) {
			return b
		}
		return a
	}
	agg := operators.Agg[T, T]{First: identity[T], Add: pick, Merge: pick}
	return applyWindow(w, "maxby", agg, resultFire[K](identity[T]))
}

type meanAcc struct {
	sum float64
	n   int64
}

// Mean is the arithmetic mean of f(element) over each window.
func Mean[K comparable, T any, N Number](w *WindowedStream[K, T], f func(T) N) *Stream[window.Result[K, float64]] {
	agg := operators.Agg[T, meanAcc]{
		First: func(v T) meanAcc { return meanAcc{float64(f(v)), 1} },
		Add:   func(a meanAcc, v T) meanAcc { return meanAcc{a.sum + float64(f(v)), a.n + 1} },
		Merge: func(a, b meanAcc) meanAcc { return meanAcc{a.sum + b.sum, a.n + b.n} },
	}
	return applyWindow(w, "mean", agg, resultFire[K](func(a meanAcc) float64 { return a.sum / float64(a.n) }))
}
