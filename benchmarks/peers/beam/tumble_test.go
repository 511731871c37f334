package beam

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

// Every (window, key, count) of the keyed tumbling count, on an input small
// enough for prism under the race detector: 20,000 events, 100 keys, windows
// of 5,000 events, so each window holds each key 50 times.
func TestTumbleExact(t *testing.T) {
	tc := workload.Tumble{N: 20_000, Keys: 100, Step: 200_000, Size: 1_000_000_000} // 0.2 ms apart, 1 s windows
	got, err := Tumble(context.Background(), tc)
	if err != nil {
		t.Fatal(err)
	}
	if want := tc.Expected(); got != want {
		t.Errorf("digest %+v, want %+v", got, want)
	}
}

// q5's hot items in every sliding window, exactly, on a small made-up input
// whose hottest auction changes over time and ties: 3,000 events 10 ms
// apart, two in three of them bids; first on two auctions in turn, then on
// one of 7 with a hot one that moves.
func TestQ5Exact(t *testing.T) {
	q := workload.Q5{N: 3000, Size: workload.Q5Size, Slide: workload.Q5Slide, Bid: func(i int64) (workload.Bid, bool) {
		if i%3 == 2 {
			return workload.Bid{}, false
		}
		a := (i * 5) % 7
		switch {
		case i < 1000:
			a = i % 2 // two auctions tied in the first 10 s
		case i%4 == 0:
			a = i / 700 // then a hot auction that changes every 7 s
		}
		return workload.Bid{Auction: a, Ts: i * 10_000_000}, true
	}}
	got, err := Q5(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	want := q.Expected()
	if got != want {
		t.Errorf("digest %+v, want %+v", got, want)
	}
	t.Logf("%d hot items", want.Results)
}
