package window

import (
	"fmt"
	"math"
)

// DeltaWindows cut each key's elements into windows by how far they move
// from a trigger point, as the delta policy with tumbling eviction of
// Flink 0.9 (the stock-price example's price warnings):
//
//   - each key's trigger point starts as Initial;
//
//   - for each arriving element e, Fn(triggerPoint, e) is the delta; when
//     it exceeds Threshold (strictly: delta > Threshold), the window fires
//     with the elements received since the previous trigger, before e is
//     added, and e becomes the trigger point and the first element of the
//     next window;
//
//   - a window is never emitted empty (an element that triggers on an empty
//     window just becomes the trigger point);
//
//   - at the end of a bounded input every key's open window is emitted, as
//     0.9 did on close.
//
//     threshold 5, initial 0:  elements 1 3 9 10 20
//     delta from trigger:      1 3 9>5        20-9=11>5
//     windows:                 [1 3] (fired by 9)   [9 10] (fired by 20)   [20] (at the end)
//
// Elements are counted per key in arrival order, time plays no part, and
// there are no late elements. The result's window is [first, last+1) in
// the key's element ordinals, counted from 0.
type DeltaWindows[T any] struct {
	Threshold float64
	Fn        func(old, new T) float64
	Initial   T
}

// Delta returns delta windows: a key's window fires when fn(trigger point,
// element) > threshold, the trigger point starting at initial.
func Delta[T any](threshold float64, fn func(old, new T) float64, initial T) DeltaWindows[T] {
	return DeltaWindows[T]{Threshold: threshold, Fn: fn, Initial: initial}
}

// Triggers reports whether e fires the window of a key whose trigger point
// is point.
func (a DeltaWindows[T]) Triggers(point, e T) bool { return a.Fn(point, e) > a.Threshold }

// Validate implements Assigner.
func (a DeltaWindows[T]) Validate() error {
	if a.Fn == nil {
		return fmt.Errorf("delta window has no delta function")
	}
	if math.IsNaN(a.Threshold) {
		return fmt.Errorf("delta window threshold is NaN")
	}
	return nil
}

// String implements Assigner.
func (a DeltaWindows[T]) String() string { return fmt.Sprintf("delta %g", a.Threshold) }

func (DeltaWindows[T]) isAssigner() {}
