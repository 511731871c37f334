// Package window says how a keyed stream is cut into windows: which
// windows an element belongs to, when a window fires, how long its state
// is kept, and which elements come too late. It follows Apache Flink's
// windowing. Most jobs only build an assigner here and hand it to package
// stream, which runs the windows:
//
//	perUser := stream.KeyBy(logins, func(l Login) string { return l.User })
//	counts := stream.Count(perUser.Window(window.Tumbling(time.Minute)))
//	// counts is a *stream.Stream[window.Result[string, int64]]
//
// Each result of a window function is a [Result]: the key, the [Window]
// and the value computed over the window's elements.
//
// # Windows
//
// A [Window] is a half-open interval of time, [Start, End), in nanoseconds
// since the Unix epoch: an element at Start belongs to it, an element at
// End belongs to the next window, never to both. Its last instant is
// [Window.MaxTimestamp], End-1. In event time a window fires when the
// watermark reaches End-1, that is when no element of the window is
// expected any more; in processing time, when the clock reaches it.
//
//	tumbling 1m     [09:00━━━━━━━━━━09:01)[09:01━━━━━━━━━━09:02)
//	                 ▲ 09:00:00 is here    ▲ 09:01:00 is here, not in the first
//
// # Kinds of windows
//
// [Tumbling](size): fixed windows that do not overlap; each element is in
// exactly one. For per-minute counts, hourly totals, daily reports.
//
//	tumbling 10     [0━━━━━━━━10)[10━━━━━━━20)[20━━━━━━━30)
//
// [Sliding](size, slide): windows of size starting every slide, so each
// element is in size/slide of them (rounded, when slide does not divide
// size). For "the last 10 minutes, every
// minute": moving averages and rates that should not wait for the next
// boundary. Windows are aligned to the epoch, not to the data, so the
// first windows start before the first element:
//
//	sliding 10/5    [-5━━━━━━━5)
//	                     [0━━━━━━━━10)
//	                           [5━━━━━━━━15)
//	an element at 3 is in [-5,5) and [0,10)
//
// A sliding window does not cost size/slide times a tumbling one: the
// runtime folds each element once into a slice (the greatest common
// divisor of size and slide, [TimeWindows.SliceSize]) and builds windows
// from slices; only a window with a trigger or evictor of its own adds
// each element to each of its windows. Validate refuses a slide so short that an element would be
// in more than [MaxWindowsPerElement] windows.
//
// [Session](gap): one window per burst of activity of a key, ending after
// gap without an element of that key: visits of a user, bursts of requests
// of a client. Each element opens [ts, ts+gap), and windows of a key that
// overlap or touch merge, so sessions have no fixed length and no common
// boundaries:
//
//	gap 5, elements 1 3 7 12:  [1━━━━6)
//	                             [3━━━━8)
//	                                 [7━━━━12)
//	                                      [12━━━━17)   (7+5 = 12 touches 12)
//	one session:               [1━━━━━━━━━━━━━━━━17)
//
// [TumblingCount](n) and [SlidingCount](size, slide): per key, every slide
// elements, a window of the last size elements of that key (fewer at the
// start), as Flink's countWindow. For "the mean of each sensor's last 100
// readings". Time plays no part: elements count in the order they arrive,
// and there are no late elements. A result's Window is [first, last+1) in
// the key's element numbers, counted from 0, not a time.
//
// [Delta](threshold, fn, initial): a key's window closes when an element
// moves more than threshold away from the element that fired the window
// before (initial at first), as in Flink 0.9 (price warnings: "moved more than 5% since the
// last warning"). Arrival order, no late elements; see [DeltaWindows].
//
// [Global](): one window per key that never ends. Only a trigger fires it
// (package stream refuses a global window without one); with an evictor
// it keeps, say, the last 5 elements and fires every 2 seconds.
//
// # Offsets and time zones
//
// Tumbling and sliding windows start at multiples of their slide since the
// epoch, 1970-01-01 00:00 UTC, also for times before 1970 ([StartOf]).
// [TimeWindows.WithOffset] shifts that grid. Windows are durations, not
// calendar days, so a daily window follows a time zone through its fixed
// offset from UTC: days starting at midnight in UTC+8 are
// Tumbling(24*time.Hour).WithOffset(-8*time.Hour), and in New York's winter
// time (UTC-5) WithOffset(5*time.Hour). A zone with daylight saving time
// has days of 23 and 25 hours, which fixed windows do not follow: for part
// of the year such windows begin at 01:00 (or 23:00) local time. The
// offset must lie strictly between -slide and slide. [Window.StartTime]
// and [Window.EndTime] are in UTC; call In(loc) on them to show local time.
//
// # Triggers and evictors
//
// A window's trigger decides when it fires. By default an event-time
// window fires once, when the watermark reaches End-1
// ([EventTimeTrigger]), and a processing-time window when the clock does
// ([ProcessingTimeTrigger]). stream.WindowedStream.Trigger replaces the
// default, on global, time and session windows (count and delta windows
// have their own rules):
//
//   - [CountTrigger](n): every n elements of the window.
//   - [Every](d, eventTime): every d while the window has elements, in
//     processing or event time (early results of a long window).
//   - [DeltaTrigger](threshold, fn): when an element moves more than
//     threshold from the one the window last fired on.
//   - [Purging](t): as t, but the window empties each time it fires. Without
//     it, a window that fires again runs its function over every element
//     so far.
//
// A trigger replaces the default rather than adding to it: with
// CountTrigger(100) on tumbling windows, the window fires at its 100th,
// 200th ... element, and the elements after the last firing are dropped
// with the window at its end, unfired. A trigger answers with a
// [TriggerResult]: [Continue], [Fire] (run the window function over the
// window's elements, keep them), [Purge] (drop them) or [FireAndPurge].
//
// Session windows merge, so their trigger must follow the merges: it must
// be a [MergingTrigger]. CountTrigger, EventTimeTrigger,
// ProcessingTimeTrigger and Every are, and so is Purging of one of them;
// DeltaTrigger is not. When sessions merge, the merged window's trigger
// state is folded from theirs (CountTrigger adds up the counts; the time
// triggers set a timer for the merged window's end), as Flink's onMerge.
//
// An evictor removes elements from a window each time it fires, before
// the function runs (stream.WindowedStream.Evictor) or after it
// (EvictAfter): [CountEvictor] keeps the last n, [TimeEvictor] those
// within d of the latest timestamp, [DeltaEvictor] those close enough to
// the last element. A
// window with a trigger or an evictor of its own keeps its elements (until
// it purges, or is dropped) instead of one accumulator per window.
//
// # Allowed lateness and late elements
//
// In event time the watermark says that no element at or before it is
// expected any more. An element that arrives behind it anyway is late when
// every window it belongs to is late: its [CleanupTime], End-1 plus the
// allowed lateness, is at or before the watermark ([IsLate]). An element
// that falls into or merges with a session still kept is not late; one
// that would open a session of its own is late when that session is.
//
//	allowed lateness L    [start━━━━━━━━━━━━end)
//	watermark reaches:                    end-1 ─── the window fires
//	                                           end-1+L ─── its state is dropped
//
//	an element for the window, when the watermark is
//	  below end-1:               joins it
//	  from end-1 to end-1+L:     joins it, and fires it again at once
//	  (end-1+L excluded)
//	  at end-1+L or beyond:      is late
//
// The allowed lateness (stream.WindowedStream.AllowedLateness, default 0)
// keeps each window for that long after it fires; an element for it within
// that time updates it and fires it again, with all its elements. Late
// elements are counted in the window operator's Metrics.LateRecords and
// dropped, unless they are read from stream.WindowedStream.Late. Count,
// delta and global windows have no late elements.
//
// # The end of input
//
// When a bounded input ends (a file read to its end, a slice), package
// stream does what Flink does:
//
//   - In event time the final watermark, the end of time, brings every
//     timer due: every time window and session with the default trigger
//     fires, and so does every event-time timer of other triggers (an
//     event-time Every fires one last time). A window whose trigger waits for something
//     else, such as CountTrigger's next nth element, is dropped unfired.
//   - In processing time, windows with neither a trigger nor an evictor of
//     their own fire too, so that no element is lost. Processing-time
//     timers that other windows are waiting for do not fire, as in Flink:
//     those windows end unfired.
//   - A count window that has not reached its count does not fire; a
//     delta window emits its open window; a global window fires only when
//     its trigger says so.
//
// # Limits
//
// Event time is int64 nanoseconds since the epoch, from 1677-09-21 to
// 2262-04-11 (UTC). Package stream sends an element whose timestamp lies
// outside to the dead letters of WithTimestamps instead of putting it in a
// wrong window. Near the two ends, arithmetic here saturates instead of
// wrapping around: a window that would start before math.MinInt64 starts
// there, one that would end after math.MaxInt64 ends there (both are
// shorter than Size), a session's End and a window's CleanupTime stop at
// math.MaxInt64. An element at exactly math.MaxInt64, which no half-open
// window can contain, is given the windows that end there, so that it is
// not lost.
//
// # For implementers: the contract
//
// Everything in this package is a pure function of its arguments: an
// element's timestamp, a watermark, an allowed lateness, a trigger's
// state. It never starts a goroutine, never reads the clock (no
// time.Now: the current times come in [TriggerState]), never does I/O and
// keeps nothing between calls; the same inputs give the same outputs on
// every run. The runtime (package operators) owns the goroutines, the
// timers and the state and calls in here. Triggers and evictors of your
// own follow the same rules, and one more: a single trigger or evictor
// value serves every key, window and subtask, called concurrently at
// parallelism above 1, so it keeps nothing in itself, only in the
// TriggerState it is handed.
//
// Assigners. [Assigner] is a closed set (TimeWindows, SessionWindows,
// CountWindows, DeltaWindows, GlobalWindows): the runtime has an operator
// for each. Validate is called once, before use, and reports every
// problem, joined, each in a sentence. Then:
//
//  1. [TimeWindows.Assign](ts, dst) appends to dst the windows that contain
//     ts, the latest first, and returns the extended slice: Size/Slide
//     windows when Slide divides Size, else that ratio rounded down or up.
//     It allocates only when dst is too short, so a caller reusing dst
//     allocates nothing per element. Windows are clipped at the ends of
//     the int64 range as described under Limits.
//  2. [SessionWindows.Assign](ts) is the element's own window
//     [ts, ts+Gap). [MergeSession] folds it into a key's sessions, sorted
//     by start with no two intersecting: it returns the merged window and
//     the range [lo, hi) of sessions it absorbs, and the caller replaces
//     sessions[lo:hi] with it, in O(log n + absorbed).
//     [MergeSessionFunc] does the same over sessions of any type.
//  3. Count and delta windows have no Assign: the operator counts elements
//     per key ([DeltaWindows.Triggers] says when a delta window closes).
//     [GlobalWindows.Window] is the one window, [MinInt64, MaxInt64).
//  4. A window fires at MaxTimestamp, keeps its state until [CleanupTime],
//     and an element whose every window [IsLate] is a late element.
//
// Triggers. A [Trigger] returns its decision as a [TriggerResult] value
// and asks for timers by writing them into its [TriggerState]
// ([TriggerState.SetEventTimer], [TriggerState.SetProcessingTimer]): at
// most one per clock per call, since a second call replaces the first.
// After each call the operator sets the timers asked for and clears the
// fields. Before each call it fills in Window, Watermark and Now; the
// other fields (Count, Last, Next and their Has flags) are the trigger's
// own, zero in a new window, and kept across calls and across a Purge,
// which drops the elements only. The contract, call by call:
//
//   - OnElement is called for each element added to the window, after it
//     was added.
//   - OnTime is called for each timer of the window that comes due, those
//     the trigger set and, for time and session windows, the window's
//     cleanup timer (at CleanupTime in event time, End-1 in processing
//     time), so it checks t and returns
//     Continue for a time it did not ask for. A timer set twice for the
//     same time is one timer. After the cleanup timer's call the window,
//     its timers and its state are dropped.
//   - Fire on a window without elements runs nothing.
//   - On session windows, OnMerge of a [MergingTrigger] is called as its
//     documentation says: the absorbed sessions' timers are deleted before
//     it, the merged window's set after it.
//
// Evictors. An [Evictor] gets the window's elements with their
// timestamps, in the order they arrived, and returns those it keeps, in
// order; it may reuse the slice's memory and must not keep it.
package window
