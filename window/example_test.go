package window_test

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/braidstream/braid/window"
)

// Example does by hand what the window operator does with this package:
// it assigns three elements to sliding windows of 10s every 5s, and folds
// elements into session windows with a 5s gap.
func Example() {
	sec := func(s int64) int64 { return s * int64(time.Second) }
	span := func(w window.Window) string {
		return fmt.Sprintf("[%ds,%ds)", w.Start/int64(time.Second), w.End/int64(time.Second))
	}

	// Build the assigner, and validate it once, before use.
	sliding := window.Sliding(10*time.Second, 5*time.Second)
	if err := sliding.Validate(); err != nil {
		panic(err)
	}
	// Assign each element, reusing one buffer: no allocation per element.
	var buf []window.Window
	for _, ts := range []int64{sec(3), sec(7), sec(12)} {
		buf = sliding.Assign(ts, buf[:0])
		fmt.Printf("%s:", time.Duration(ts))
		for _, w := range buf {
			fmt.Print(" ", span(w))
		}
		fmt.Println()
	}

	// Session windows: merge each element's own window into the sessions.
	session := window.Session(5 * time.Second)
	var sessions []window.Window
	for _, ts := range []int64{sec(1), sec(12), sec(3), sec(7)} {
		merged, lo, hi := window.MergeSession(sessions, session.Assign(ts))
		sessions = slices.Replace(sessions, lo, hi, merged)
	}
	for _, s := range sessions {
		// A session fires when the watermark reaches its max timestamp,
		// 17s-1ns: at watermark 16s it is still open.
		fmt.Println("session", span(s), "late at watermark 16s:", window.IsLate(s, 0, sec(16)))
	}

	// Output:
	// 3s: [0s,10s) [-5s,5s)
	// 7s: [5s,15s) [0s,10s)
	// 12s: [10s,20s) [5s,15s)
	// session [1s,17s) late at watermark 16s: false
}

// ExampleStartOf shows that window starts round down, also before the
// epoch, and follow the offset.
func ExampleStartOf() {
	fmt.Println(window.StartOf(13, 0, 10))
	fmt.Println(window.StartOf(-1, 0, 10))
	fmt.Println(window.StartOf(13, 5, 10))
	fmt.Println(window.StartOf(3, -2, 10))
	// Output:
	// 10
	// -10
	// 5
	// -2
}

// ExampleTumbling shows that windows are half-open: the last nanosecond
// of a minute is in that minute's window, the first nanosecond of the
// next minute is not.
func ExampleTumbling() {
	minute := window.Tumbling(time.Minute)
	if err := minute.Validate(); err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, t := range []time.Time{t0, t0.Add(time.Minute - time.Nanosecond), t0.Add(time.Minute)} {
		w := minute.Assign(t.UnixNano(), nil)[0] // a tumbling window per element
		fmt.Printf("%s is in [%s, %s), fires at watermark %s\n", t.Format("15:04:05.000000000"),
			w.StartTime().Format("15:04"), w.EndTime().Format("15:04"),
			time.Unix(0, w.MaxTimestamp()).UTC().Format("15:04:05.000000000"))
	}
	// Output:
	// 09:00:00.000000000 is in [09:00, 09:01), fires at watermark 09:00:59.999999999
	// 09:00:59.999999999 is in [09:00, 09:01), fires at watermark 09:00:59.999999999
	// 09:01:00.000000000 is in [09:01, 09:02), fires at watermark 09:01:59.999999999
}

// ExampleSliding lists the windows of one element: with a size of 1 hour
// and a slide of 15 minutes, each element is in four windows, the latest
// first. Validate refuses a slide longer than the size, and one so short
// that an element would be in too many windows.
func ExampleSliding() {
	hour := window.Sliding(time.Hour, 15*time.Minute)
	t := time.Date(2026, 3, 1, 9, 20, 0, 0, time.UTC)
	for _, w := range hour.Assign(t.UnixNano(), nil) {
		fmt.Printf("[%s, %s)\n", w.StartTime().Format("15:04"), w.EndTime().Format("15:04"))
	}
	fmt.Println(hour.SliceSize() == int64(15*time.Minute)) // each element is folded into one 15m slice
	fmt.Println(window.Sliding(time.Minute, time.Hour).Validate())
	// Output:
	// [09:15, 10:15)
	// [09:00, 10:00)
	// [08:45, 09:45)
	// [08:30, 09:30)
	// true
	// window slide 1h0m0s is longer than its size 1m0s: elements between windows would belong to none
}

// ExampleTimeWindows_WithOffset aligns daily windows to midnight in
// UTC+8 (Singapore): by default days start at midnight UTC.
func ExampleTimeWindows_WithOffset() {
	singapore := time.FixedZone("UTC+8", 8*60*60)
	t := time.Date(2026, 3, 1, 7, 30, 0, 0, singapore) // 23:30 UTC the day before

	utcDays := window.Tumbling(24 * time.Hour)
	localDays := utcDays.WithOffset(-8 * time.Hour)
	for _, a := range []window.TimeWindows{utcDays, localDays} {
		w := a.Assign(t.UnixNano(), nil)[0]
		fmt.Printf("%s: %s to %s\n", a, w.StartTime().In(singapore).Format("Jan 2 15:04"),
			w.EndTime().In(singapore).Format("Jan 2 15:04"))
	}
	// Output:
	// tumbling 24h0m0s: Feb 28 08:00 to Mar 1 08:00
	// tumbling 24h0m0s offset -8h0m0s: Mar 1 00:00 to Mar 2 00:00
}

// ExampleSession folds a user's clicks into sessions with a 30-minute gap,
// one click at a time, as the window operator does: Assign gives the
// click's own window, MergeSession says which sessions it joins. The click
// at 09:50, arriving last, bridges two sessions: it touches the first
// (which ends at 09:50) and overlaps the second.
func ExampleSession() {
	visits := window.Session(30 * time.Minute)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var sessions []window.Window // sorted by start, none intersecting
	for _, min := range []int{0, 20, 75, 100, 50} {
		click := t0.Add(time.Duration(min) * time.Minute)
		merged, lo, hi := window.MergeSession(sessions, visits.Assign(click.UnixNano()))
		sessions = slices.Replace(sessions, lo, hi, merged)
		fmt.Printf("click %s: absorbs %d, sessions", click.Format("15:04"), hi-lo)
		for _, s := range sessions {
			fmt.Printf(" [%s,%s)", s.StartTime().Format("15:04"), s.EndTime().Format("15:04"))
		}
		fmt.Println()
	}
	// Output:
	// click 09:00: absorbs 0, sessions [09:00,09:30)
	// click 09:20: absorbs 1, sessions [09:00,09:50)
	// click 10:15: absorbs 0, sessions [09:00,09:50) [10:15,10:45)
	// click 10:40: absorbs 1, sessions [09:00,09:50) [10:15,11:10)
	// click 09:50: absorbs 2, sessions [09:00,11:10)
}

// ExampleCountTrigger drives a trigger by hand, as the window operator
// does: a state per window, filled in by the operator, kept by the
// trigger, and a decision per element. CountTrigger is a MergingTrigger:
// when two sessions merge, their counts add up.
func ExampleCountTrigger() {
	every3 := window.CountTrigger[string](3)
	w := window.Window{Start: 0, End: 100}
	st := window.TriggerState[string]{Window: w, Watermark: math.MinInt64}
	for i, page := range []string{"/a", "/b", "/c", "/d"} {
		r := every3.OnElement(page, int64(i), &st)
		fmt.Printf("%s: fires %v\n", page, r.Fires())
	}

	// Two sessions, with 1 and 1 elements since they last fired, merge;
	// the element that merges them is the third.
	a := &window.TriggerState[string]{Window: window.Window{Start: 0, End: 10}, Count: 1}
	b := &window.TriggerState[string]{Window: window.Window{Start: 12, End: 22}, Count: 1}
	merged := window.TriggerState[string]{Window: window.Window{Start: 0, End: 22}, Watermark: math.MinInt64}
	every3.(window.MergingTrigger[string]).OnMerge(&merged, []*window.TriggerState[string]{a, b})
	fmt.Println("merged count:", merged.Count)
	fmt.Println("/e fires:", every3.OnElement("/e", 9, &merged).Fires())
	// Output:
	// /a: fires false
	// /b: fires false
	// /c: fires true
	// /d: fires false
	// merged count: 2
	// /e fires: true
}

// ExampleIsLate follows one window through event time with an allowed
// lateness of 5: it fires when the watermark reaches 9, and its elements
// are late from watermark 14 on.
func ExampleIsLate() {
	w := window.Window{Start: 0, End: 10}
	const lateness = 5
	fmt.Println("fires at", w.MaxTimestamp(), "dropped at", window.CleanupTime(w, lateness))
	for _, wm := range []int64{9, 13, 14} {
		fmt.Printf("watermark %d: late %v\n", wm, window.IsLate(w, lateness, wm))
	}
	// Output:
	// fires at 9 dropped at 14
	// watermark 9: late false
	// watermark 13: late false
	// watermark 14: late true
}
