package stream_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// KeyBy with a window: failed logins per user in tumbling one-minute
// windows of event time. Each result carries its key and its window.
func ExampleKeyBy() {
	type login struct {
		User string
		OK   bool
		At   time.Time
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	logins := []login{
		{"alice", false, at(5)}, {"mallory", false, at(6)}, {"mallory", false, at(7)},
		{"alice", true, at(20)}, {"mallory", false, at(59)},
		{"mallory", false, at(61)}, {"bob", true, at(75)},
	}

	env := stream.NewEnv()
	failed := stream.FromSlice(env, logins).
		WithTimestamps(func(l login) time.Time { return l.At }, stream.MonotonousTimestamps()).
		Filter(func(l login) bool { return !l.OK })
	perUser := stream.KeyBy(failed, func(l login) string { return l.User })
	counts := stream.Collect(stream.Count(perUser.Window(window.Tumbling(time.Minute))))
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	// Results of different keys come in no defined order: sort them.
	rs := counts.Items()
	slices.SortFunc(rs, func(a, b window.Result[string, int64]) int {
		return cmp.Or(cmp.Compare(a.Window.Start, b.Window.Start), cmp.Compare(a.Key, b.Key))
	})
	for _, r := range rs {
		// A window is [start, end): 08:01:00 itself belongs to the second.
		fmt.Printf("%s-%s %-7s %d failed\n",
			r.Window.StartTime().Format("15:04"), r.Window.EndTime().Format("15:04"), r.Key, r.Value)
	}
	// Output:
	// 08:00-08:01 alice   1 failed
	// 08:00-08:01 mallory 3 failed
	// 08:01-08:02 mallory 1 failed
}

// KeyBy with a sliding window and an incremental Aggregate: the mean
// response time of each endpoint over the last 10 minutes, every 5
// minutes. Aggregate keeps one small accumulator per key and slice of
// the window, never the requests themselves.
func ExampleKeyBy_sliding() {
	type request struct {
		Path   string
		Millis int
		At     time.Time
	}
	type meanAcc struct {
		Sum, N int
	}
	mean := stream.AggregateFunc[request, meanAcc, int]{
		Init:   func() meanAcc { return meanAcc{} },
		Add:    func(a meanAcc, r request) meanAcc { return meanAcc{a.Sum + r.Millis, a.N + 1} },
		Merge:  func(a, b meanAcc) meanAcc { return meanAcc{a.Sum + b.Sum, a.N + b.N} },
		Result: func(a meanAcc) int { return a.Sum / a.N },
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	requests := []request{
		{"/api/orders", 120, at(1)}, {"/api/orders", 80, at(3)},
		{"/login", 30, at(4)}, {"/api/orders", 400, at(7)},
	}

	env := stream.NewEnv()
	reqs := stream.FromSlice(env, requests).
		WithTimestamps(func(r request) time.Time { return r.At }, stream.MonotonousTimestamps())
	byPath := stream.KeyBy(reqs, func(r request) string { return r.Path })
	means := stream.Collect(stream.Aggregate(byPath.Window(window.Sliding(10*time.Minute, 5*time.Minute)), mean))
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	rs := means.Items()
	slices.SortFunc(rs, func(a, b window.Result[string, int]) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Window.Start, b.Window.Start))
	})
	// Every request is in two windows, and the first window starts before
	// the first request: windows are aligned to the epoch, not to the data.
	for _, r := range rs {
		fmt.Printf("%-11s %s-%s mean %dms\n",
			r.Key, r.Window.StartTime().Format("15:04"), r.Window.EndTime().Format("15:04"), r.Value)
	}
	// Output:
	// /api/orders 08:55-09:05 mean 100ms
	// /api/orders 09:00-09:10 mean 200ms
	// /api/orders 09:05-09:15 mean 400ms
	// /login      08:55-09:05 mean 30ms
	// /login      09:00-09:10 mean 30ms
}

// Late returns the elements that came after their window had fired. Here
// clicks are counted per page and minute, with 5 seconds of
// out-of-orderness allowed; one click from 08:00:40 arrives after a click
// at 08:01:30 has moved event time past 08:01:00, so the 08:00 window is
// closed and the click goes to Late instead of being lost without a word.
func ExampleWindowedStream_Late() {
	type click struct {
		Page string
		At   time.Time
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	clicks := []click{
		{"/home", at(10)}, {"/home", at(50)},
		{"/home", at(90)},
		{"/home", at(86)}, // 4s out of order: within the bound, not late
		{"/home", at(40)}, // 50s out of order: its window has fired
	}

	// Watermarks advance once per batch of the source: a batch of one
	// element moves event time after every click, as a live source would.
	env := stream.NewEnv(stream.WithBatchSize(1))
	timed := stream.FromSlice(env, clicks).
		WithTimestamps(func(c click) time.Time { return c.At }, stream.BoundedOutOfOrderness(5*time.Second))
	windows := stream.KeyBy(timed, func(c click) string { return c.Page }).Window(window.Tumbling(time.Minute))
	counts := stream.Collect(stream.Count(windows))
	late := stream.Collect(windows.Late())
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range counts.Items() {
		fmt.Printf("%s %s %d clicks\n", r.Window.StartTime().Format("15:04"), r.Key, r.Value)
	}
	for _, c := range late.Items() {
		fmt.Printf("late: %s at %s\n", c.Page, c.At.Format("15:04:05"))
	}
	// Output:
	// 08:00 /home 2 clicks
	// 08:01 /home 2 clicks
	// late: /home at 08:00:40
}

// AllowedLateness keeps a window for a while after it fires: an element
// that comes late, but within that time, updates the window, which fires
// again at once with all its elements. Later than that, it goes to Late.
func ExampleWindowedStream_AllowedLateness() {
	type sale struct {
		Shop  string
		Cents int
		At    time.Time
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	sales := []sale{
		{"north", 500, at(5)},
		{"north", 700, at(70)},  // event time passes 13:00: the 12:00 hour fires
		{"north", 250, at(50)},  // late, within 30 minutes: the 12:00 hour fires again
		{"north", 900, at(100)}, // event time passes 13:30: the 12:00 hour is dropped
		{"north", 100, at(55)},  // too late: to Late
	}

	env := stream.NewEnv(stream.WithBatchSize(1)) // a watermark after every sale
	timed := stream.FromSlice(env, sales).
		WithTimestamps(func(s sale) time.Time { return s.At }, stream.MonotonousTimestamps())
	hours := stream.KeyBy(timed, func(s sale) string { return s.Shop }).
		Window(window.Tumbling(time.Hour)).
		AllowedLateness(30 * time.Minute)
	totals := stream.Collect(stream.Sum(hours, func(s sale) int { return s.Cents }))
	late := stream.Collect(hours.Late())
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range totals.Items() {
		fmt.Printf("%s %s total %d\n", r.Window.StartTime().Format("15:04"), r.Key, r.Value)
	}
	for _, s := range late.Items() {
		fmt.Printf("late: %s %d at %s\n", s.Shop, s.Cents, s.At.Format("15:04"))
	}
	// Output:
	// 12:00 north total 500
	// 12:00 north total 750
	// 13:00 north total 1600
	// late: north 100 at 12:55
}
