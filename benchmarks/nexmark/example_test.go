package nexmark_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/braidstream/braid/benchmarks/nexmark"
	"github.com/braidstream/braid/stream"
)

// Hot items (q5) over the first 60,000 events of seed 1: 6 seconds of
// event time at the reference's 10,000 events a second.
func Example() {
	env := stream.NewEnv(stream.WithParallelism(2))
	noon := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	g := nexmark.NewGenerator(nexmark.Config{Seed: 1, BaseTime: noon.UnixMilli()})
	hot := stream.Collect(nexmark.Q5(nexmark.Events(env, g, 60_000)))
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	items := hot.Items()
	slices.SortFunc(items, func(a, b nexmark.HotItem) int {
		return cmp.Or(cmp.Compare(a.Window.Start, b.Window.Start), cmp.Compare(a.Auction, b.Auction))
	})
	fmt.Println(len(items), "hot items")
	for _, h := range items[:4] {
		fmt.Printf("[%s, %s) auction %d: %d bids\n", h.Window.StartTime().Format("15:04:05"),
			h.Window.EndTime().Format("15:04:05"), h.Auction, h.Bids)
	}
	// Output:
	// 7 hot items
	// [11:59:52, 12:00:02) auction 2100: 821 bids
	// [11:59:54, 12:00:04) auction 2400: 841 bids
	// [11:59:56, 12:00:06) auction 2400: 841 bids
	// [11:59:58, 12:00:08) auction 2400: 841 bids
}
