package window

import (
	"fmt"
	"math"
	"time"
)

// Window is a half-open interval of time, [Start, End), in nanoseconds since
// the Unix epoch. For count windows Start and End are element ordinals of the
// key ([first, last+1)) and not times.
//
//	       Start                End
//	time ───[━━━━━━━━━━━━━━━━━━━━)───▶
//	         ts = Start is in   ts = End is not
type Window struct {
	Start, End int64
}

// MaxTimestamp is the largest timestamp in the window, End-1. An event-time
// window fires when the watermark reaches it.
func (w Window) MaxTimestamp() int64 { return w.End - 1 }

// Contains reports whether ts lies in [Start, End).
func (w Window) Contains(ts int64) bool { return ts >= w.Start && ts < w.End }

// Intersects reports whether w and o overlap or touch. As in Flink's
// TimeWindow.intersects, [0,5) and [5,10) intersect, so session windows that
// touch are merged.
func (w Window) Intersects(o Window) bool { return w.Start <= o.End && w.End >= o.Start }

// Cover is the smallest window that contains both w and o.
func (w Window) Cover(o Window) Window {
	return Window{Start: min(w.Start, o.Start), End: max(w.End, o.End)}
}

// StartTime is Start as a time.Time in UTC.
func (w Window) StartTime() time.Time { return time.Unix(0, w.Start).UTC() }

// EndTime is End as a time.Time in UTC.
func (w Window) EndTime() time.Time { return time.Unix(0, w.End).UTC() }

// String formats the window as "[start,end)": RFC 3339 times when both bounds
// fall in the years 1970-2262 beyond the first twelve days, raw integers
// otherwise (count windows, small test timestamps).
func (w Window) String() string {
	const small = int64(1e15) // about 11.6 days in nanoseconds
	if w.Start < small || w.End < small {
		return fmt.Sprintf("[%d,%d)", w.Start, w.End)
	}
	return "[" + w.StartTime().Format(time.RFC3339Nano) + "," + w.EndTime().Format(time.RFC3339Nano) + ")"
}

// StartOf returns the start of the window of the given size (and offset)
// that contains ts: the largest start <= ts with start ≡ offset (mod size).
// It is right for negative timestamps and offsets: StartOf(-1, 0, 10) is
// -10 and StartOf(3, -2, 10) is -2, as Flink's
// TimeWindow.getWindowStartWithOffset. Unlike that function it does not
// overflow when ts-offset lies outside the int64 range; a start that would
// lie before math.MinInt64 saturates to math.MinInt64. size must be
// positive.
func StartOf(ts, offset, size int64) int64 {
	return satSub(ts, startDelta(ts, offset, size))
}

// SinceStart returns how far ts lies after the start of its window of the
// given size and offset, ts-StartOf(ts, offset, size), in [0, size). Unlike
// that subtraction it is exact where the start would lie before
// math.MinInt64. size must be positive.
func SinceStart(ts, offset, size int64) int64 { return startDelta(ts, offset, size) }

// startDelta returns ts-StartOf(ts, offset, size), the distance from the
// window start back to ts, in [0, size), without overflowing.
func startDelta(ts, offset, size int64) int64 {
	d := ts - offset
	if (ts^offset) < 0 && (d^ts) < 0 {
		// ts-offset overflowed: reduce each operand first. Both remainders
		// lie in [0, size), so their difference cannot overflow.
		a, b := ts%size, offset%size
		if a < 0 {
			a += size
		}
		if b < 0 {
			b += size
		}
		d = a - b
	}
	r := d % size
	if r < 0 {
		r += size
	}
	return r
}

// satAdd returns a+b, saturating at math.MinInt64 and math.MaxInt64.
func satAdd(a, b int64) int64 {
	c := a + b
	if (c > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return c
}

// satSub returns a-b, saturating at math.MinInt64 and math.MaxInt64.
func satSub(a, b int64) int64 {
	c := a - b
	if (c < a) != (b > 0) {
		if b > 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return c
}

// CleanupTime is the time at which a window's state may be dropped: its max
// timestamp plus the allowed lateness, saturating at math.MaxInt64 instead of
// overflowing (Flink's WindowOperator.cleanupTime). Allowed lateness is
// meant to be at least zero; a negative one saturates at math.MinInt64.
func CleanupTime(w Window, lateness int64) int64 {
	return satAdd(w.MaxTimestamp(), lateness)
}

// IsLate reports whether a window is late at the given watermark: its max
// timestamp plus the allowed lateness is at or before the watermark (Flink's
// WindowOperator.isWindowLate). Elements whose every window is late are late
// elements.
func IsLate(w Window, lateness, watermark int64) bool {
	return CleanupTime(w, lateness) <= watermark
}

// Result is what a window function emits: the key, the window and the value
// computed over the window's elements. Non-keyed windows (WindowAll) have the
// zero key.
type Result[K comparable, V any] struct {
	Key    K
	Window Window
	Value  V
}

// String formats the result as "key [start,end) value".
func (r Result[K, V]) String() string {
	return fmt.Sprintf("%v %v %v", r.Key, r.Window, r.Value)
}
