package stream_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Join pairs the elements of two keyed streams that share a key and a
// window: here each ad impression with the clicks of the same user in the
// same minute. A click at 10:01:10 has no impression in its minute, so it
// pairs with nothing, although the impression of 10:00:50 is only 20s
// before it: windows are fixed slots of time (see IntervalJoin for "within
// 20s of each other").
func ExampleJoin() {
	type impression struct {
		User, Ad string
		At       time.Time
	}
	type click struct {
		User string
		At   time.Time
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	impressions := []impression{
		{"u1", "shoes", at(5)}, {"u2", "tents", at(12)}, {"u1", "boots", at(50)},
	}
	clicks := []click{{"u1", at(20)}, {"u3", at(30)}, {"u1", at(70)}}

	env := stream.NewEnv()
	// Both sides need event time (or neither).
	imps := stream.FromSlice(env, impressions).
		WithTimestamps(func(i impression) time.Time { return i.At }, stream.MonotonousTimestamps())
	clks := stream.FromSlice(env, clicks).
		WithTimestamps(func(c click) time.Time { return c.At }, stream.MonotonousTimestamps())
	joined := stream.Join(
		stream.KeyBy(imps, func(i impression) string { return i.User }),
		stream.KeyBy(clks, func(c click) string { return c.User }),
		window.Tumbling(time.Minute),
		func(i impression, c click) string {
			return fmt.Sprintf("%s saw %s at %s, clicked at %s", i.User, i.Ad, i.At.Format("15:04:05"), c.At.Format("15:04:05"))
		})
	out := stream.Collect(joined)
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	// The two sources run side by side: sort the pairs.
	pairs := out.Items()
	slices.Sort(pairs)
	for _, p := range pairs {
		fmt.Println(p)
	}
	// Output:
	// u1 saw boots at 10:00:50, clicked at 10:00:20
	// u1 saw shoes at 10:00:05, clicked at 10:00:20
}

// IntervalJoin pairs elements by the time between them, not by window:
// here each payment with the logins of the same account in the 10 minutes
// before it (lower -10m, upper 0). A payment with no login shortly before
// it is one to look at twice.
func ExampleIntervalJoin() {
	type login struct {
		Account, IP string
		At          time.Time
	}
	type payment struct {
		Account string
		Cents   int
		At      time.Time
	}
	t0 := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	payments := []payment{
		{"acct-7", 4999, at(3)},
		{"acct-9", 120000, at(15)}, // its login was 15 minutes before
		{"acct-7", 1500, at(12)},   // 3 minutes out of order: within the bound
	}
	logins := []login{
		{"acct-9", "203.0.113.9", at(0)}, {"acct-7", "10.0.0.5", at(1)}, {"acct-7", "10.0.0.5", at(8)},
	}

	env := stream.NewEnv()
	pays := stream.FromSlice(env, payments).
		WithTimestamps(func(p payment) time.Time { return p.At }, stream.BoundedOutOfOrderness(5*time.Minute))
	logs := stream.FromSlice(env, logins).
		WithTimestamps(func(l login) time.Time { return l.At }, stream.MonotonousTimestamps())
	// A pair when payment.At-10m <= login.At <= payment.At.
	joined, latePayments, lateLogins := stream.IntervalJoin(
		stream.KeyBy(pays, func(p payment) string { return p.Account }),
		stream.KeyBy(logs, func(l login) string { return l.Account }),
		-10*time.Minute, 0,
		func(p payment, l login) string {
			return fmt.Sprintf("%s paid %d.%02d at %s, logged in from %s at %s",
				p.Account, p.Cents/100, p.Cents%100, p.At.Format("15:04"), l.IP, l.At.Format("15:04"))
		})
	out := stream.Collect(joined)
	// Elements behind the watermark join nothing and come out here;
	// nothing need read them.
	_, _ = latePayments, lateLogins
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	pairs := out.Items()
	slices.Sort(pairs)
	for _, p := range pairs {
		fmt.Println(p)
	}
	// Output:
	// acct-7 paid 15.00 at 20:12, logged in from 10.0.0.5 at 20:08
	// acct-7 paid 49.99 at 20:03, logged in from 10.0.0.5 at 20:01
}
