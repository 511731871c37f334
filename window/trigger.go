package window

import (
	"math"
	"time"
)

// TriggerResult is what a trigger decides: whether the window's function
// runs now (Fire) and whether the window's elements are dropped (Purge).
type TriggerResult uint8

// The four decisions, as Flink's TriggerResult.
const (
	Continue     TriggerResult = 0
	Fire         TriggerResult = 1
	Purge        TriggerResult = 2
	FireAndPurge TriggerResult = Fire | Purge
)

// Fires reports whether the window's function runs.
func (r TriggerResult) Fires() bool { return r&Fire != 0 }

// Purges reports whether the window's elements are dropped.
func (r TriggerResult) Purges() bool { return r&Purge != 0 }

// TriggerState is one key's and window's state for its trigger, kept by
// the operator: counters and the last element for the triggers to use, the
// times, and the timers the trigger asks for, which the operator sets after
// each call (and clears from here). A new window's state is zero but for
// Window, Watermark and Now; so is a merged window's before OnMerge (see
// MergingTrigger). Every time is valid, 0 (the Unix epoch) too: the Has
// fields say whether Last, Next and the timers are set.
type TriggerState[T any] struct {
	Window    Window
	Watermark int64 // event time now
	Now       int64 // processing time now
	Count     int64
	Last      T
	HasLast   bool
	Next      int64 // the next periodic firing, for Every triggers
	HasNext   bool

	// Set by the trigger through SetEventTimer and SetProcessingTimer,
	// carried out and reset by the operator.
	EventTimer, ProcessingTimer       int64
	HasEventTimer, HasProcessingTimer bool
}

// SetEventTimer asks for OnTime(EventTime, t) when the watermark reaches t.
func (s *TriggerState[T]) SetEventTimer(t int64) { s.EventTimer, s.HasEventTimer = t, true }

// SetProcessingTimer asks for OnTime(ProcessingTime, t) when the clock
// reaches t.
func (s *TriggerState[T]) SetProcessingTimer(t int64) {
	s.ProcessingTimer, s.HasProcessingTimer = t, true
}

// A Trigger decides when a window fires and is purged. One trigger serves
// every key and window: it keeps what it needs in the TriggerState it is
// handed, and asks for timers through it. It is a pure function of its
// inputs, like everything in this package.
//
// The timers a trigger sets for a window belong to that window: they are
// deleted when the window is dropped (at its cleanup time) and when it
// merges into another. On session windows a trigger must also be a
// MergingTrigger.
//
// With checkpoints, each window's TriggerState (Count, Last, Next, the
// timers set) is checkpointed with the window and restored after a
// restart, so Last's type T must be one checkpoints can encode (see
// state.CodecFor). The trigger value itself is the user's code, built
// anew when the job starts: state a trigger keeps anywhere but in the
// TriggerState it is handed (its own fields, a map of its own) does not
// survive a restart.
type Trigger[T any] interface {
	// OnElement is called for each element added to the window.
	OnElement(v T, ts int64, s *TriggerState[T]) TriggerResult
	// OnTime is called when a timer set for the window comes due (the
	// trigger's own, or the window's cleanup timer); eventTime says which
	// clock.
	OnTime(eventTime bool, t int64, s *TriggerState[T]) TriggerResult
}

// A MergingTrigger is a trigger that can follow windows as they merge, as
// session windows do (Flink's Trigger.canMerge and onMerge). Session
// windows accept only merging triggers: WindowedStream.Trigger refuses the
// others when the job is built. CountTrigger, EventTimeTrigger,
// ProcessingTimeTrigger and Every merge, and so does Purging of a trigger
// that merges; DeltaTrigger does not (its last element has no merge).
//
// When an element's window [ts, ts+gap) overlaps or touches sessions of its
// key and is not inside one of them, the sessions and the element's window
// become one session:
//
//	sessions:   [0━━━━━━10)      [14━━━━━━24)
//	element 9:          [9━━━━━━━━19)
//	merged:     [0━━━━━━━━━━━━━━━━━━━━━━━━24)
//
// The operator then, in this order:
//  1. deletes every timer set for the merged sessions (the trigger's own and
//     their cleanup timers);
//  2. calls OnMerge with a fresh state for the merged window (Window,
//     Watermark and Now filled in, everything else zero) and the states of
//     the sessions it absorbs, oldest (earliest start) first; OnMerge
//     folds what the trigger keeps (Count, Last, Next, ...) into s and sets
//     the timers the merged window needs through s, at most one per clock;
//     it does not fire (a merge is not an element);
//  3. sets the merged window's cleanup timer, and the timers OnMerge asked
//     for;
//  4. adds the element to the merged window, whose elements are those of
//     the absorbed sessions in the same order (oldest session first, each
//     in arrival order), and calls OnElement.
//
// An element whose window falls inside a session joins it without a merge:
// only OnElement is called.
type MergingTrigger[T any] interface {
	Trigger[T]
	OnMerge(s *TriggerState[T], merged []*TriggerState[T])
}

// CountTrigger fires every n elements of the window (Flink's CountTrigger).
func CountTrigger[T any](n int64) Trigger[T] { return countTrigger[T]{n} }

type countTrigger[T any] struct{ n int64 }

func (c countTrigger[T]) OnElement(_ T, _ int64, s *TriggerState[T]) TriggerResult {
	s.Count++
	if s.Count >= c.n {
		s.Count = 0
		return Fire
	}
	return Continue
}
func (countTrigger[T]) OnTime(bool, int64, *TriggerState[T]) TriggerResult { return Continue }

// OnMerge implements MergingTrigger: the merged window has the elements
// counted in its sessions since they last fired (Flink's CountTrigger sums
// the counts); it fires at the next element that brings the sum to n.
func (countTrigger[T]) OnMerge(s *TriggerState[T], merged []*TriggerState[T]) {
	for _, m := range merged {
		s.Count += m.Count
	}
}

// EventTimeTrigger fires when the watermark reaches the window's end - 1,
// and at once for an element that arrives after that (Flink's
// EventTimeTrigger): the default of event-time windows.
func EventTimeTrigger[T any]() Trigger[T] { return eventTimeTrigger[T]{} }

type eventTimeTrigger[T any] struct{}

func (eventTimeTrigger[T]) OnElement(_ T, _ int64, s *TriggerState[T]) TriggerResult {
	if s.Window.MaxTimestamp() <= s.Watermark {
		return Fire
	}
	s.SetEventTimer(s.Window.MaxTimestamp())
	return Continue
}
func (eventTimeTrigger[T]) OnTime(eventTime bool, t int64, s *TriggerState[T]) TriggerResult {
	if eventTime && t == s.Window.MaxTimestamp() {
		return Fire
	}
	return Continue
}

// OnMerge implements MergingTrigger: a timer at the merged window's end - 1,
// unless the watermark has passed it (then the element that merged fires
// it at once, and a timer would fire it twice).
func (eventTimeTrigger[T]) OnMerge(s *TriggerState[T], _ []*TriggerState[T]) {
	if mt := s.Window.MaxTimestamp(); mt > s.Watermark {
		s.SetEventTimer(mt)
	}
}

// ProcessingTimeTrigger fires when the clock reaches the window's end - 1
// (Flink's ProcessingTimeTrigger): the default of processing-time windows.
func ProcessingTimeTrigger[T any]() Trigger[T] { return procTimeTrigger[T]{} }

type procTimeTrigger[T any] struct{}

func (procTimeTrigger[T]) OnElement(_ T, _ int64, s *TriggerState[T]) TriggerResult {
	s.SetProcessingTimer(s.Window.MaxTimestamp())
	return Continue
}
func (procTimeTrigger[T]) OnTime(eventTime bool, t int64, s *TriggerState[T]) TriggerResult {
	if !eventTime && t == s.Window.MaxTimestamp() {
		return Fire
	}
	return Continue
}

// OnMerge implements MergingTrigger: a timer at the merged window's end - 1
// when the clock has not reached it.
func (procTimeTrigger[T]) OnMerge(s *TriggerState[T], _ []*TriggerState[T]) {
	if mt := s.Window.MaxTimestamp(); mt > s.Now {
		s.SetProcessingTimer(mt)
	}
}

// Every fires periodically while the window has elements: at every
// multiple of d in processing time (eventTime false) or event time (true),
// as 0.9's every(Time.of(d)) and Flink's Continuous*TimeTrigger.
func Every[T any](d time.Duration, eventTime bool) Trigger[T] { return every[T]{int64(d), eventTime} }

type every[T any] struct {
	d         int64
	eventTime bool
}

func (e every[T]) OnElement(_ T, ts int64, s *TriggerState[T]) TriggerResult {
	if !s.HasNext {
		base := s.Now
		if e.eventTime {
			base = ts
		}
		s.Next, s.HasNext = StartOf(base, 0, e.d)+e.d, true
		e.arm(s)
	}
	return Continue
}

func (e every[T]) OnTime(eventTime bool, t int64, s *TriggerState[T]) TriggerResult {
	if eventTime != e.eventTime || !s.HasNext || t != s.Next {
		return Continue
	}
	s.Next += e.d
	if !(e.eventTime && s.Watermark == math.MaxInt64) { // the end: fire once more, not forever
		e.arm(s)
	}
	return Fire
}

// OnMerge implements MergingTrigger: the merged window fires at the
// earliest next firing of its sessions (Flink's Continuous*TimeTrigger
// keeps the least fire time).
func (e every[T]) OnMerge(s *TriggerState[T], merged []*TriggerState[T]) {
	for _, m := range merged {
		if m.HasNext && (!s.HasNext || m.Next < s.Next) {
			s.Next, s.HasNext = m.Next, true
		}
	}
	if s.HasNext {
		e.arm(s)
	}
}

func (e every[T]) arm(s *TriggerState[T]) {
	if e.eventTime {
		s.SetEventTimer(s.Next)
	} else {
		s.SetProcessingTimer(s.Next)
	}
}

// DeltaTrigger fires when fn(the element it last fired on, e) exceeds
// threshold (Flink's DeltaTrigger); the first element only sets the point.
func DeltaTrigger[T any](threshold float64, fn func(old, new T) float64) Trigger[T] {
	return deltaTrigger[T]{threshold, fn}
}

type deltaTrigger[T any] struct {
	threshold float64
	fn        func(old, new T) float64
}

func (d deltaTrigger[T]) OnElement(v T, _ int64, s *TriggerState[T]) TriggerResult {
	if !s.HasLast {
		s.Last, s.HasLast = v, true
		return Continue
	}
	if d.fn(s.Last, v) > d.threshold {
		s.Last = v
		return Fire
	}
	return Continue
}
func (deltaTrigger[T]) OnTime(bool, int64, *TriggerState[T]) TriggerResult { return Continue }

// Purging turns every Fire of t into FireAndPurge: the window empties each
// time it fires. It is a MergingTrigger when t is.
func Purging[T any](t Trigger[T]) Trigger[T] {
	if m, ok := t.(MergingTrigger[T]); ok {
		return mergingPurging[T]{purging[T]{t}, m}
	}
	return purging[T]{t}
}

type purging[T any] struct{ t Trigger[T] }

type mergingPurging[T any] struct {
	purging[T]
	m MergingTrigger[T]
}

// OnMerge implements MergingTrigger: t's.
func (p mergingPurging[T]) OnMerge(s *TriggerState[T], merged []*TriggerState[T]) {
	p.m.OnMerge(s, merged)
}

func (p purging[T]) OnElement(v T, ts int64, s *TriggerState[T]) TriggerResult {
	return purgeOnFire(p.t.OnElement(v, ts, s))
}
func (p purging[T]) OnTime(e bool, t int64, s *TriggerState[T]) TriggerResult {
	return purgeOnFire(p.t.OnTime(e, t, s))
}

func purgeOnFire(r TriggerResult) TriggerResult {
	if r.Fires() {
		return FireAndPurge
	}
	return r
}

// Stamped is a window element with its timestamp, as evictors see them.
type Stamped[T any] struct {
	Ts int64
	V  T
}

// An Evictor removes elements from a window's buffer, before or after its
// function runs (WindowedStream.Evictor, EvictAfter). It returns the
// elements kept, in order (it may reuse elems' memory).
type Evictor[T any] func(elems []Stamped[T]) []Stamped[T]

// CountEvictor keeps the last n elements.
func CountEvictor[T any](n int) Evictor[T] {
	return func(elems []Stamped[T]) []Stamped[T] {
		if len(elems) <= n {
			return elems
		}
		return elems[len(elems)-n:]
	}
}

// TimeEvictor keeps the elements within d of the latest timestamp
// (ts > latest - d), as Flink's TimeEvictor.
func TimeEvictor[T any](d time.Duration) Evictor[T] {
	return func(elems []Stamped[T]) []Stamped[T] {
		latest := int64(math.MinInt64)
		for _, e := range elems {
			latest = max(latest, e.Ts)
		}
		kept := elems[:0]
		for _, e := range elems {
			if e.Ts > latest-int64(d) {
				kept = append(kept, e)
			}
		}
		return kept
	}
}

// DeltaEvictor drops the elements whose fn(element, last element) is at
// least threshold, as Flink's DeltaEvictor.
func DeltaEvictor[T any](threshold float64, fn func(old, new T) float64) Evictor[T] {
	return func(elems []Stamped[T]) []Stamped[T] {
		if len(elems) == 0 {
			return elems
		}
		last := elems[len(elems)-1].V
		kept := elems[:0]
		for _, e := range elems {
			if fn(e.V, last) < threshold {
				kept = append(kept, e)
			}
		}
		return kept
	}
}

// GlobalWindows puts every element of a key in one window that never ends:
// only a trigger makes it fire (as Flink's GlobalWindows).
type GlobalWindows struct{}

// Global returns the global window assigner.
func Global() GlobalWindows { return GlobalWindows{} }

// Window is the one window, [MinInt64, MaxInt64).
func (GlobalWindows) Window() Window { return Window{Start: math.MinInt64, End: math.MaxInt64} }

// Validate implements Assigner.
func (GlobalWindows) Validate() error { return nil }

// String implements Assigner.
func (GlobalWindows) String() string { return "global" }

func (GlobalWindows) isAssigner() {}
