package nexmark

import (
	"iter"
	"maps"
	"time"

	"github.com/braidstream/braid/window"
)

// The hand-written baselines: what a Go programmer would write for one query
// over an in-order stream of events, on one goroutine. Each reads the events
// in index order, a batch at a time, from batches: slices of the events made
// beforehand (BaselineEvents, as RunEvents reads them), or a buffer the
// generator fills (BaselineWith, as Run's source does at parallelism 1), so
// that getting the events costs the same on both sides. They rely on
// the events being in order (Config.OutOfOrderGroupSize at most 1): a
// window is over when an event of a later one comes.

func baseQ0(batches iter.Seq[[]Event]) (out int64) {
	for batch := range batches {
		for i := range batch {
			e := &batch[i]
			if e.Kind <= KindBid {
				out++
			}
		}
	}
	return out
}

func baseQ1(batches iter.Seq[[]Event]) (out int64) {
	var sum int64
	for batch := range batches {
		for i := range batch {
			e := &batch[i]
			if e.Kind == KindBid {
				sum += e.Bid.Price * 908 / 1000
				out++
			}
		}
	}
	_ = sum
	return out
}

func baseQ2(batches iter.Seq[[]Event]) (out int64) {
	for batch := range batches {
		for i := range batch {
			e := &batch[i]
			if e.Kind == KindBid && e.Bid.Auction%Q2Modulus == 0 {
				out++
			}
		}
	}
	return out
}

const msNs = int64(time.Millisecond)

// baseQ5 counts bids per auction per slide (a map per slide, in a ring of
// Q5Size/Q5Slide), and when the first bid of a later slide comes, sums the
// slides of each window that ended and emits its auctions with the most bids.
func baseQ5(batches iter.Seq[[]Event], emit func(HotItem)) {
	slide, size := int64(Q5Slide), int64(Q5Size)
	per := size / slide
	ring := make([]map[int64]int64, per) // slide j's counts at ring[j%per], for j in (hi-per, hi]
	for i := range ring {
		ring[i] = make(map[int64]int64)
	}
	total := make(map[int64]int64)
	// flush emits the window that ends with slide k (k >= hi): slides k-per+1 to hi.
	flush := func(k, hi int64) {
		clear(total)
		for j := k - per + 1; j <= hi; j++ {
			for a, c := range ring[mod(j, per)] {
				total[a] += c
			}
		}
		var best int64
		for _, c := range total {
			best = max(best, c)
		}
		w := window.Window{Start: (k+1)*slide - size, End: (k + 1) * slide}
		for a, c := range total {
			if c == best {
				emit(HotItem{w, a, c})
			}
		}
	}
	started := false
	var hi int64 // the latest slide with a bid
	for batch := range batches {
		for i := range batch {
			e := &batch[i]
			if e.Kind != KindBid {
				continue
			}
			s := floorDiv(e.Bid.DateTime*msNs, slide)
			if !started {
				started, hi = true, s
			}
			if s > hi {
				for k := hi; k < s && k < hi+per; k++ {
					flush(k, hi)
				}
				for j := hi + 1; j <= s && j <= hi+per; j++ {
					clear(ring[mod(j, per)])
				}
				hi = s
			}
			ring[mod(s, per)][e.Bid.Auction]++
		}
	}
	if started {
		for k := hi; k < hi+per; k++ {
			flush(k, hi)
		}
	}
}

// baseQ7 keeps the highest bid of the current tumbling window.
func baseQ7(batches iter.Seq[[]Event], emit func(b Bid, start int64)) {
	size := int64(Q7Size)
	var best Bid
	cur, started := int64(0), false
	for batch := range batches {
		for i := range batch {
			e := &batch[i]
			if e.Kind != KindBid {
				continue
			}
			w := floorDiv(e.Bid.DateTime*msNs, size)
			switch {
			case !started:
				started, cur, best = true, w, e.Bid
			case w != cur:
				emit(best, cur*size)
				cur, best = w, e.Bid
			default:
				best = higherBid(best, e.Bid)
			}
		}
	}
	if started {
		emit(best, cur*size)
	}
}

type session struct{ start, end, bids int64 } // ns

// baseQ11 keeps each bidder's open session in a map; a bid after its end
// (more than Q11Gap after the session's last bid) emits it and opens a new
// one; the end of input emits those left.
func baseQ11(batches iter.Seq[[]Event], emit func(bidder, start, end, bids int64)) {
	gap := int64(Q11Gap)
	open := make(map[int64]session)
	for batch := range batches {
		for i := range batch {
			e := &batch[i]
			if e.Kind != KindBid {
				continue
			}
			t := e.Bid.DateTime * msNs
			s, ok := open[e.Bid.Bidder]
			switch {
			case !ok:
				s = session{t, t + gap, 1}
			case t <= s.end:
				s.end = max(s.end, t+gap)
				s.bids++
			default:
				emit(e.Bid.Bidder, s.start, s.end, s.bids)
				s = session{t, t + gap, 1}
			}
			open[e.Bid.Bidder] = s
		}
	}
	for b, s := range maps.All(open) {
		emit(b, s.start, s.end, s.bids)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
