package window

import (
	"errors"
	"fmt"
	"time"
)

// An Assigner says which windows an element belongs to. The concrete
// assigners are TimeWindows (tumbling and sliding), SessionWindows and
// CountWindows; the runtime picks an implementation per kind, so the set is
// closed.
type Assigner interface {
	// Validate reports, in a plain sentence, why the assigner cannot be
	// used, or nil.
	Validate() error
	// String describes the assigner, e.g. "sliding 10s/5s".
	String() string
	isAssigner()
}

// TimeWindows assigns each element to the windows of a fixed size that
// contain its timestamp, starting every Slide. Slide == Size gives tumbling
// windows; Slide < Size gives sliding (overlapping) windows. Window starts
// are aligned to Offset modulo Slide (Offset 0 aligns them to the epoch) and
// may lie before time zero: with size 10 and slide 5 an element at 3 belongs
// to [-5,5) and [0,10).
//
//	size 10, slide 5       -5    0    5    10   15
//	element at 3:           [━━━━━━━━━)
//	                              [━━━━━━━━━)
//
// The runtime aggregates each element once per slice (the greatest common
// divisor of size and slide) and builds windows from slices.
type TimeWindows struct {
	Size, Slide, Offset time.Duration
}

// MaxWindowsPerElement bounds how many sliding windows an element may
// belong to, Size/Slide rounded up: a day every second (86,400) is allowed,
// an hour every nanosecond (3.6e12 windows, each of which fires) is refused
// by Validate.
const MaxWindowsPerElement = 100_000

// Tumbling returns non-overlapping windows of the given size.
func Tumbling(size time.Duration) TimeWindows { return TimeWindows{Size: size, Slide: size} }

// Sliding returns windows of the given size starting every slide.
func Sliding(size, slide time.Duration) TimeWindows { return TimeWindows{Size: size, Slide: slide} }

// WithOffset shifts window starts by offset, e.g. to align daily windows to
// a time zone: Tumbling(24*time.Hour).WithOffset(-8*time.Hour) gives days
// that start at midnight in UTC+8, as in Flink. The offset must lie strictly
// between -Slide and Slide.
func (a TimeWindows) WithOffset(offset time.Duration) TimeWindows { a.Offset = offset; return a }

// IsTumbling reports whether windows do not overlap (Slide == Size).
func (a TimeWindows) IsTumbling() bool { return a.Slide == a.Size }

// SliceSize is the greatest common divisor of Size and Slide in nanoseconds:
// every window is a whole number of consecutive slices.
func (a TimeWindows) SliceSize() int64 { return gcd(int64(a.Size), int64(a.Slide)) }

// Assign appends to dst the windows that contain ts, the latest first, and
// returns the extended slice: Size/Slide windows when Slide divides Size,
// else that ratio rounded down or up. It allocates only if dst is too short.
// The assigner must be valid (see Validate).
//
// Near the ends of the int64 range a window is clipped instead of wrapping
// around: its Start saturates at math.MinInt64 and its End at
// math.MaxInt64. Every window returned contains ts, but for ts =
// math.MaxInt64, which no half-open window can contain: it gets the
// windows that end at math.MaxInt64, so that it is not lost.
func (a TimeWindows) Assign(ts int64, dst []Window) []Window {
	size, slide := int64(a.Size), int64(a.Slide)
	// d is the distance from a window's start back to ts: the latest window
	// starts StartOf's distance before ts, each earlier one slide further,
	// and a window contains ts while d < size. Working with distances keeps
	// the arithmetic in range for any ts.
	for d := startDelta(ts, int64(a.Offset), slide); d < size; d += slide {
		dst = append(dst, Window{Start: satSub(ts, d), End: satAdd(ts, size-d)})
		if slide >= size-d {
			break // d+slide >= size, or would overflow
		}
	}
	return dst
}

// Validate implements Assigner. It reports every problem, joined, each in a
// sentence of its own.
func (a TimeWindows) Validate() error {
	var errs []error
	if a.Size <= 0 {
		errs = append(errs, fmt.Errorf("window size must be positive, got %v", a.Size))
	}
	if a.Slide <= 0 {
		errs = append(errs, fmt.Errorf("window slide must be positive, got %v", a.Slide))
	} else if a.Slide > a.Size && a.Size > 0 {
		errs = append(errs, fmt.Errorf("window slide %v is longer than its size %v: elements between windows would belong to none", a.Slide, a.Size))
	}
	if a.Slide > 0 && a.Size > 0 && a.Slide <= a.Size {
		if n := (a.Size + a.Slide - 1) / a.Slide; n > MaxWindowsPerElement {
			errs = append(errs, fmt.Errorf("window size %v with slide %v puts every element in %d windows, more than the limit of %d: each element's windows all fire, so make the slide longer", a.Size, a.Slide, n, MaxWindowsPerElement))
		}
	}
	if a.Slide > 0 && (a.Offset <= -a.Slide || a.Offset >= a.Slide) {
		errs = append(errs, fmt.Errorf("window offset must lie strictly between -%v and %v (the slide), got %v", a.Slide, a.Slide, a.Offset))
	}
	return errors.Join(errs...)
}

// String implements Assigner.
func (a TimeWindows) String() string {
	var s string
	if a.IsTumbling() {
		s = "tumbling " + a.Size.String()
	} else {
		s = "sliding " + a.Size.String() + "/" + a.Slide.String()
	}
	if a.Offset != 0 {
		s += " offset " + a.Offset.String()
	}
	return s
}

func (TimeWindows) isAssigner() {}

// SessionWindows assigns each element the window [ts, ts+Gap) and merges
// windows of the same key that overlap or touch, so a session ends after Gap
// without elements. As in Flink, [0,5) and [5,10) merge into [0,10).
//
//	gap 5, elements 1 3 12:   [1━━━━━6)            [12━━━━17)
//	                              [3━━━━━8)
//	sessions:                 [1━━━━━━━━8)         [12━━━━17)
type SessionWindows struct {
	Gap time.Duration
}

// Session returns session windows with the given inactivity gap.
func Session(gap time.Duration) SessionWindows { return SessionWindows{Gap: gap} }

// Assign returns the window of a single element at ts, [ts, ts+Gap), its End
// saturating at math.MaxInt64.
func (a SessionWindows) Assign(ts int64) Window {
	return Window{Start: ts, End: satAdd(ts, int64(a.Gap))}
}

// Validate implements Assigner.
func (a SessionWindows) Validate() error {
	if a.Gap <= 0 {
		return fmt.Errorf("session gap must be positive, got %v", a.Gap)
	}
	return nil
}

// String implements Assigner.
func (a SessionWindows) String() string { return "session " + a.Gap.String() }

func (SessionWindows) isAssigner() {}

// CountWindows fire per key every Slide elements with the last Size
// elements of that key (fewer at the start of a key's stream). Slide == Size
// gives tumbling count windows. The result's window is [first, last+1) in
// the key's element ordinals, counted from 0.
//
// As in Flink (GlobalWindows with a count trigger and evictor), elements
// are counted in arrival order, time plays no part, there are no late
// elements, and a window that has not reached its count when the input ends
// does not fire.
type CountWindows struct {
	Size, Slide int64
}

// TumblingCount returns count windows of n elements each.
func TumblingCount(n int64) CountWindows { return CountWindows{Size: n, Slide: n} }

// SlidingCount returns count windows of the last size elements, firing
// every slide elements.
func SlidingCount(size, slide int64) CountWindows { return CountWindows{Size: size, Slide: slide} }

// IsTumbling reports whether windows do not overlap (Slide == Size).
func (a CountWindows) IsTumbling() bool { return a.Slide == a.Size }

// SliceSize is the greatest common divisor of Size and Slide.
func (a CountWindows) SliceSize() int64 { return gcd(a.Size, a.Slide) }

// Validate implements Assigner.
func (a CountWindows) Validate() error {
	var errs []error
	if a.Size <= 0 {
		errs = append(errs, fmt.Errorf("count window size must be positive, got %d", a.Size))
	}
	if a.Slide <= 0 {
		errs = append(errs, fmt.Errorf("count window slide must be positive, got %d", a.Slide))
	} else if a.Slide > a.Size {
		errs = append(errs, fmt.Errorf("count window slide %d is larger than its size %d", a.Slide, a.Size))
	}
	return errors.Join(errs...)
}

// String implements Assigner.
func (a CountWindows) String() string {
	if a.IsTumbling() {
		return fmt.Sprintf("tumbling count %d", a.Size)
	}
	return fmt.Sprintf("sliding count %d/%d", a.Size, a.Slide)
}

func (CountWindows) isAssigner() {}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
