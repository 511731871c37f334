package workload

import "time"

// Bid is what Nexmark q5 reads of a bid: its auction and its event time in
// nanoseconds.
type Bid struct {
	Auction, Ts int64
}

// Q5 describes Nexmark q5 (hot items): over the bids among N events, count
// the bids per auction in sliding windows of Size every Slide, and in each
// window emit every auction tied at the most bids.
type Q5 struct {
	N           int64
	Size, Slide int64                     // ns; Slide divides Size
	Bid         func(i int64) (Bid, bool) // event i, and whether it is a bid
}

// Q5Size and Q5Slide are the query's windows: 10 s every 2 s.
const (
	Q5Size  = int64(10 * time.Second)
	Q5Slide = int64(2 * time.Second)
)

// Expected is the digest of q5's results, each hot auction a result (window
// start, auction, bids), computed the plainest way: every bid counted in each
// of the Size/Slide windows that hold it, in one map keyed by window and
// auction, then the maximum taken per window. Every window holding a bid has
// results.
func (q Q5) Expected() Digest {
	type wa struct{ w, a int64 }
	counts := map[wa]int64{}
	for i := range q.N {
		b, ok := q.Bid(i)
		if !ok {
			continue
		}
		last := b.Ts - mod(b.Ts, q.Slide) // the latest window start at or before b.Ts
		for w := last; w > b.Ts-q.Size; w -= q.Slide {
			counts[wa{w, b.Auction}]++
		}
	}
	best := map[int64]int64{}
	for k, c := range counts {
		best[k.w] = max(best[k.w], c)
	}
	var d Digest
	for k, c := range counts {
		if c == best[k.w] {
			d.Add(k.w, k.a, c)
		}
	}
	return d
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
