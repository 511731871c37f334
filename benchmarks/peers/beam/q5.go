package beam

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

func init() {
	register.DoFn2x0[int64, func(beam.EventTime, int64)](&bidsFn{})
	register.Function2x1[int64, int, auctionCount](toAuctionCount)
	register.Combiner3[hottest, auctionCount, hottest](&hottestFn{})
	register.DoFn2x0[beam.Window, hottest](&collectHotFn{})
}

// q5Runs holds each run's query, for bidsFn to generate its bids from, and
// its digest. The worker runs in this process (loopback).
var q5Runs = struct {
	sync.Mutex
	q map[int64]workload.Q5
	d map[int64]*workload.Digest
}{q: map[int64]workload.Q5{}, d: map[int64]*workload.Digest{}}

// bidsFn emits the auctions of the bids among one shard's events, stamped
// with the bids' times.
type bidsFn struct{ Run int64 }

func (f *bidsFn) ProcessElement(shard int64, emit func(beam.EventTime, int64)) {
	q5Runs.Lock()
	q := q5Runs.q[f.Run]
	q5Runs.Unlock()
	for i := shard * q.N / Shards; i < (shard+1)*q.N/Shards; i++ {
		if b, ok := q.Bid(i); ok {
			emit(mtime.FromTime(time.Unix(0, b.Ts)), b.Auction)
		}
	}
}

// auctionCount is one auction's bids in a window.
type auctionCount struct {
	Auction int64
	Bids    int
}

func toAuctionCount(a int64, n int) auctionCount { return auctionCount{a, n} }

// hottest is the auctions tied at the most bids.
type hottest struct {
	Bids     int
	Auctions []int64
}

// hottestFn combines a window's auction counts into the auctions tied at
// the most bids.
type hottestFn struct{}

func (hottestFn) CreateAccumulator() hottest { return hottest{} }

func (hottestFn) AddInput(h hottest, c auctionCount) hottest {
	switch {
	case c.Bids > h.Bids:
		return hottest{c.Bids, []int64{c.Auction}}
	case c.Bids == h.Bids:
		h.Auctions = append(h.Auctions, c.Auction)
	}
	return h
}

func (hottestFn) MergeAccumulators(a, b hottest) hottest {
	switch {
	case a.Bids > b.Bids:
		return a
	case b.Bids > a.Bids:
		return b
	}
	return hottest{a.Bids, append(append([]int64(nil), a.Auctions...), b.Auctions...)}
}

type collectHotFn struct{ Run int64 }

func (f *collectHotFn) ProcessElement(w beam.Window, h hottest) {
	start := int64(w.(window.IntervalWindow).Start) * int64(time.Millisecond)
	q5Runs.Lock()
	defer q5Runs.Unlock()
	for _, a := range h.Auctions {
		q5Runs.d[f.Run].Add(start, a, int64(h.Bids))
	}
}

// Q5 is Nexmark q5 as a Beam user writes it: the bids' auctions with their
// event times, WindowInto sliding windows of q.Size every q.Slide,
// stats.Count per auction, and a global combine per window keeping the
// auctions tied at the most bids. It returns the digest of the results (see
// workload.Q5.Expected).
func Q5(ctx context.Context, q workload.Q5) (workload.Digest, error) {
	ms := int64(time.Millisecond)
	if q.Size%ms != 0 || q.Slide%ms != 0 {
		return workload.Digest{}, fmt.Errorf("beam: q5 windows %v every %v are not whole milliseconds", time.Duration(q.Size), time.Duration(q.Slide))
	}
	run := lastRun.Add(1)
	q5Runs.Lock()
	q5Runs.q[run] = q
	q5Runs.d[run] = &workload.Digest{}
	q5Runs.Unlock()
	defer func() {
		q5Runs.Lock()
		delete(q5Runs.q, run)
		delete(q5Runs.d, run)
		q5Runs.Unlock()
	}()

	p, s := beam.NewPipelineWithRoot()
	shards := make([]int64, Shards)
	for i := range shards {
		shards[i] = int64(i)
	}
	auctions := beam.ParDo(s, &bidsFn{Run: run}, beam.CreateList(s, shards))
	windowed := beam.WindowInto(s, window.NewSlidingWindows(time.Duration(q.Slide), time.Duration(q.Size)), auctions)
	counts := beam.ParDo(s, toAuctionCount, stats.Count(s, windowed))
	beam.ParDo0(s, &collectHotFn{Run: run}, beam.Combine(s, &hottestFn{}, counts))
	if err := execute(ctx, p); err != nil {
		return workload.Digest{}, err
	}
	q5Runs.Lock()
	defer q5Runs.Unlock()
	return *q5Runs.d[run], nil
}
