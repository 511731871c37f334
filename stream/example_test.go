package stream_test

import (
	"context"
	"fmt"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Trades per symbol, summed in one-minute event-time windows.
func Example() {
	type trade struct {
		Symbol string
		At     time.Time
		Qty    int
	}
	t0 := time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)
	trades := []trade{
		{"ACME", t0, 100}, {"INIT", t0.Add(10 * time.Second), 5},
		{"ACME", t0.Add(30 * time.Second), 50}, {"ACME", t0.Add(70 * time.Second), 10},
	}

	env := stream.NewEnv()
	src := stream.FromSlice(env, trades).
		WithTimestamps(func(t trade) time.Time { return t.At }, stream.MonotonousTimestamps())
	volume := stream.Sum(
		stream.KeyBy(src, func(t trade) string { return t.Symbol }).Window(window.Tumbling(time.Minute)),
		func(t trade) int { return t.Qty })
	out := stream.Collect(volume)
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range out.Items() {
		fmt.Printf("%s %s-%s %d\n", r.Key, r.Window.StartTime().Format("15:04"), r.Window.EndTime().Format("15:04"), r.Value)
	}
	// Output:
	// ACME 09:30-09:31 150
	// INIT 09:30-09:31 5
	// ACME 09:31-09:32 10
}
