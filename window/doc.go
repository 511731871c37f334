// Package window holds Braid's window logic: the Window type, the assigners
// that say which windows an element belongs to (tumbling and sliding time
// windows, session windows, count windows), session merging, and the
// lateness and cleanup rules, all after Apache Flink's windowing.
//
// Everything here is a pure function of its arguments: an element's
// timestamp, a watermark, an allowed lateness. The package never starts a
// goroutine, never reads the clock (no time.Now), never does I/O and keeps
// no state between calls; the same inputs give the same outputs on every
// run. The runtime in operators owns the goroutines, timers and state and
// calls in here.
//
// Windows are half-open, [Start, End), in nanoseconds since the Unix epoch.
// Window starts are computed correctly for negative timestamps (before
// 1970), and arithmetic near the ends of the int64 range saturates instead
// of wrapping around.
//
//	tumbling 10       [0━━━━━━━━━10)[10━━━━━━━━20)
//	sliding 10/5      [0━━━━━━━━━10)
//	                       [5━━━━━━━━━━15)
//	session gap 5     1 3 7 12 arrive: [1━━━━━━━━━━━━━━━━━17)
//
// Use:
//
//  1. Build an assigner: Tumbling(size), Sliding(size, slide), optionally
//     with WithOffset, Session(gap), TumblingCount(n) or SlidingCount(n, m).
//  2. Call its Validate once, before use; it reports every problem, joined,
//     in plain sentences.
//  3. For each element of a time window, call TimeWindows.Assign(ts, buf) to
//     get the windows that contain its timestamp, latest first, reusing buf
//     so that the call does not allocate.
//  4. For session windows, turn each element into SessionWindows.Assign(ts)
//     and fold it into the key's sorted sessions with MergeSession, which
//     says which sessions merged and where the result goes.
//  5. A window fires when the watermark reaches its MaxTimestamp; keep its
//     state until CleanupTime(w, lateness); an element whose every window
//     IsLate at the current watermark is a late element (dropped, or sent to
//     a side output).
//  6. Emit results as Result values, which carry the key and the window.
package window
