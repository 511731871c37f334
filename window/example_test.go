package window_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/braidstream/braid/window"
)

// Example assigns three elements to sliding windows of 10s every 5s, and
// folds the same elements into session windows with a 5s gap.
func Example() {
	sec := func(s int64) int64 { return s * int64(time.Second) }
	span := func(w window.Window) string {
		return fmt.Sprintf("[%ds,%ds)", w.Start/int64(time.Second), w.End/int64(time.Second))
	}

	// 1-2. Build and validate the assigner.
	sliding := window.Sliding(10*time.Second, 5*time.Second)
	if err := sliding.Validate(); err != nil {
		panic(err)
	}
	// 3. Assign each element, reusing one buffer.
	var buf []window.Window
	for _, ts := range []int64{sec(3), sec(7), sec(12)} {
		buf = sliding.Assign(ts, buf[:0])
		fmt.Printf("%s:", time.Duration(ts))
		for _, w := range buf {
			fmt.Print(" ", span(w))
		}
		fmt.Println()
	}

	// 4. Session windows: merge each element's window into the sessions.
	session := window.Session(5 * time.Second)
	var sessions []window.Window
	for _, ts := range []int64{sec(1), sec(12), sec(3), sec(7)} {
		merged, lo, hi := window.MergeSession(sessions, session.Assign(ts))
		sessions = slices.Replace(sessions, lo, hi, merged)
	}
	for _, s := range sessions {
		// 5. A session fires when the watermark reaches its max timestamp.
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
