package nexmark

import (
	"math"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
)

// TestGeneratorRules checks the reference generator's rules event by event:
// the 1:3:46 epochs, ids from the event number, bids and auctions that name
// persons and auctions made at most the lead ahead, prices, categories,
// expiry and times.
func TestGeneratorRules(t *testing.T) {
	seed := testseed.Seed(t)
	cfg := Config{Seed: seed, EventsPerSecond: 2500, BaseTime: 1_700_000_000_000}
	g := NewGenerator(cfg)
	const n = 50 * 400
	var lastPerson, lastAuction int64 = FirstPersonID - 1, FirstAuctionID - 1
	kinds := [3]int{}
	var hotAuctionBids, hotBidderBids, hotSellerAuctions, bids, auctions int
	for i := range int64(n) {
		e := g.Event(i)
		want := KindBid
		switch i % TotalProportion {
		case 0:
			want = KindPerson
		case 1, 2, 3:
			want = KindAuction
		}
		if e.Kind != want {
			t.Fatalf("event %d is %v, want %v", i, e.Kind, want)
		}
		kinds[e.Kind]++
		if ts, want := e.DateTime(), cfg.BaseTime+i*400/1000; ts != want {
			t.Fatalf("event %d at %d, want %d (400 µs apart)", i, ts, want)
		}
		switch e.Kind {
		case KindPerson:
			if p := e.Person; p.ID != lastPerson+1 || p.Name == "" || p.EmailAddress == "" || len(p.CreditCard) != 19 || p.City == "" || p.State == "" {
				t.Fatalf("event %d: person %+v after person %d", i, p, lastPerson)
			}
			lastPerson = e.Person.ID
		case KindAuction:
			a := e.Auction
			if a.ID != lastAuction+1 {
				t.Fatalf("event %d: auction %d after %d", i, a.ID, lastAuction)
			}
			lastAuction = a.ID
			if a.Seller < FirstPersonID || a.Seller > lastPerson+personIDLead {
				t.Fatalf("event %d: auction %d's seller %d, last person %d", i, a.ID, a.Seller, lastPerson)
			}
			if a.Category < FirstCategoryID || a.Category >= FirstCategoryID+NumCategories {
				t.Fatalf("event %d: category %d", i, a.Category)
			}
			if a.Expires <= a.DateTime || a.InitialBid < 100 || a.Reserve <= a.InitialBid || a.InitialBid > 100_000_000 {
				t.Fatalf("event %d: auction %+v", i, a)
			}
			auctions++
			if (a.Seller-FirstPersonID)%hotGroup == 0 && a.Seller-FirstPersonID == (lastPerson-FirstPersonID)/hotGroup*hotGroup {
				hotSellerAuctions++
			}
		case KindBid:
			b := e.Bid
			if b.Auction < FirstAuctionID || b.Auction > lastAuction+auctionIDLead || b.Auction < lastAuction-numInFlightAuctions-hotGroup {
				t.Fatalf("event %d: bid for auction %d, last auction %d", i, b.Auction, lastAuction)
			}
			if b.Bidder < FirstPersonID || b.Bidder > lastPerson+personIDLead || b.Price < 100 || b.Price > 100_000_000 || b.Channel == "" || b.URL == "" {
				t.Fatalf("event %d: bid %+v, last person %d", i, b, lastPerson)
			}
			bids++
			if b.Auction == (lastAuction-FirstAuctionID)/hotGroup*hotGroup+FirstAuctionID {
				hotAuctionBids++
			}
			if b.Bidder == (lastPerson-FirstPersonID)/hotGroup*hotGroup+1+FirstPersonID {
				hotBidderBids++
			}
		}
	}
	if kinds != [3]int{n / 50, 3 * n / 50, 46 * n / 50} {
		t.Errorf("kinds %v", kinds)
	}
	// Hot choices: 1 in 2 bids for the hot auction, 3 in 4 bids by the hot
	// bidder and auctions by the hot seller (a few more by chance). The
	// bounds are 5 standard deviations of the fraction around it: of 1,200
	// auctions, 0.0125 (seed 15586287259626951794 gave 0.714).
	for _, c := range []struct {
		what    string
		got, of int
		lo, hi  float64
	}{
		{"bids for the hot auction", hotAuctionBids, bids, 0.48, 0.56},
		{"bids by the hot bidder", hotBidderBids, bids, 0.73, 0.78},
		{"auctions by the hot seller", hotSellerAuctions, auctions, 0.69, 0.82},
	} {
		if f := float64(c.got) / float64(c.of); f < c.lo || f > c.hi {
			t.Errorf("%s: %.3f, want in [%.2f, %.2f]", c.what, f, c.lo, c.hi)
		}
	}
}

// TestGeneratorDeterministic: an event is a function of the seed and its
// index, whatever else was made before, and another seed makes others.
func TestGeneratorDeterministic(t *testing.T) {
	seed := testseed.Seed(t)
	a, b, c := NewGenerator(Config{Seed: seed}), NewGenerator(Config{Seed: seed}), NewGenerator(Config{Seed: seed + 1})
	same := 0
	for i := int64(999); i >= 0; i-- { // b backwards, a forwards below
		if b.Event(i) != a.Event(i) {
			t.Fatalf("event %d differs between two generators of seed %d", i, seed)
		}
		if c.Event(i) == a.Event(i) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of 1000 events are the same with seeds %d and %d", same, seed, seed+1)
	}
}

// TestGeneratorOutOfOrder: with out-of-order groups, each group's events are
// its ids shuffled, and no event is more than MaxOutOfOrder behind the
// latest time before it.
func TestGeneratorOutOfOrder(t *testing.T) {
	g := NewGenerator(Config{Seed: 3, EventsPerSecond: 1000, OutOfOrderGroupSize: 16})
	var latest int64
	behind := int64(0)
	for i := range int64(16 * 500) {
		e := g.Event(i)
		latest = max(latest, e.DateTime())
		behind = max(behind, latest-e.DateTime())
		if i%16 == 15 {
			seen := map[int64]bool{}
			for j := i - 15; j <= i; j++ {
				seen[g.eventID(j)] = true
			}
			if len(seen) != 16 || !seen[i-15] || !seen[i] {
				t.Fatalf("group ending at %d: ids %v", i, seen)
			}
		}
	}
	if behind == 0 || time.Duration(behind)*time.Millisecond > g.MaxOutOfOrder() {
		t.Errorf("events up to %d ms behind, MaxOutOfOrder %v", behind, g.MaxOutOfOrder())
	}
}

// TestGeneratorAllocs: making an event allocates nothing.
func TestGeneratorAllocs(t *testing.T) {
	g := NewGenerator(Config{Seed: 1})
	i := int64(0)
	var sink Event
	if a := testing.AllocsPerRun(1000, func() { sink = g.Event(i); i++ }); a != 0 {
		t.Errorf("Event allocates %v times", a)
	}
	_ = sink
}

// TestPrices: the interpolated table is within 2 ppm of 100 * 10^(6u), and
// prices spread over the reference's range, a sixth of them in each decade.
func TestPrices(t *testing.T) {
	r := rng{s: testseed.Seed(t)}
	var decades [6]int
	const n = 60_000
	for range n {
		x := r
		p := nextPrice(&r)
		u := float64(x.next()) / (1 << 64)
		want := math.Pow(10, 6*u) * 100
		if math.Abs(float64(p)-want) > 2e-6*want+0.5 {
			t.Fatalf("price %d for u=%v, want %.1f", p, u, want)
		}
		decades[min(int(math.Log10(float64(p)/100)), 5)]++
	}
	for d, c := range decades {
		if c < n/6*9/10 || c > n/6*11/10 {
			t.Errorf("%d prices in [10^%d, 10^%d) dollars, want about %d", c, d, d+1, n/6)
		}
	}
}
