package nexmark

import (
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Source is the stream of g's events 0 to n-1, in processing time (for q12).
// At parallelism p it runs in p subtasks, subtask j making events j, j+p, ...
func Source(env *stream.Env, g *Generator, n int64) *stream.Stream[Event] {
	return stream.Generate(env, g.Event, stream.Limit(n)).Name("nexmark")
}

// Events is Source in event time: each event's timestamp is its DateTime,
// and watermarks trail the latest one by g.MaxOutOfOrder(), so that no
// event is late.
func Events(env *stream.Env, g *Generator, n int64) *stream.Stream[Event] {
	return Source(env, g, n).WithTimestampsUnixNano(eventTime, stream.BoundedOutOfOrderness(g.MaxOutOfOrder()))
}

// eventTime is the event's time in ns since 1970, for
// WithTimestampsUnixNano.
func eventTime(e Event) int64 { return e.DateTime() * int64(time.Millisecond) }

// Bids is the stream of the events' bids. (One FlatMap rather than Filter
// then Map: an Event is about 300 bytes, and each chained operator copies
// it; this saves a copy per event, a sixth of q1's and q7's CPU.)
func Bids(events *stream.Stream[Event]) *stream.Stream[Bid] {
	return stream.FlatMap(events, func(e Event, emit func(Bid)) {
		if e.Kind == KindBid {
			emit(e.Bid)
		}
	})
}

// Persons is the stream of the events' persons.
func Persons(events *stream.Stream[Event]) *stream.Stream[Person] {
	return stream.FlatMap(events, func(e Event, emit func(Person)) {
		if e.Kind == KindPerson {
			emit(e.Person)
		}
	})
}

// Auctions is the stream of the events' auctions.
func Auctions(events *stream.Stream[Event]) *stream.Stream[Auction] {
	return stream.FlatMap(events, func(e Event, emit func(Auction)) {
		if e.Kind == KindAuction {
			emit(e.Auction)
		}
	})
}

// Q0 is the pass-through: every event, unchanged (what the framework costs
// with no work to do).
func Q0(events *stream.Stream[Event]) *stream.Stream[Event] {
	return stream.Map(events, func(e Event) Event { return e }).Name("q0")
}

// Q1 is currency conversion: every bid, its price in euros (price*908/1000).
func Q1(events *stream.Stream[Event]) *stream.Stream[Bid] {
	return stream.Map(Bids(events), func(b Bid) Bid {
		b.Price = b.Price * 908 / 1000
		return b
	}).Name("q1")
}

// AuctionPrice is an auction and a price bid for it (q2's result).
type AuctionPrice struct {
	Auction, Price int64
}

// Q2Modulus is q2's selection: bids for auctions whose id is a multiple of it.
const Q2Modulus = 123

// Q2 is selection: the bids for auctions whose id is a multiple of
// Q2Modulus, as auction and price.
func Q2(events *stream.Stream[Event]) *stream.Stream[AuctionPrice] {
	return stream.Map(Bids(events).Filter(func(b Bid) bool { return b.Auction%Q2Modulus == 0 }),
		func(b Bid) AuctionPrice { return AuctionPrice{b.Auction, b.Price} }).Name("q2")
}

// LocalItem is q3's result: a seller from OR, ID or CA and one of their
// auctions in category 10.
type LocalItem struct {
	Name, City, State string
	Auction           int64
}

// q3State says whether a state is one of q3's.
func q3State(s string) bool { return s == "OR" || s == "ID" || s == "CA" }

// Q3Category is the category of q3's auctions.
const Q3Category = 10

// Q3 is local item suggestion: persons in OR, ID or CA joined with their
// auctions in category Q3Category, by seller id, whichever comes first (an
// auction's seller can be a person not made yet: the generator's lead ids).
// It is an unbounded join, as the reference's: a person is kept for their
// later auctions, an auction whose seller has not come is kept until they
// do (for ever, if the seller lives elsewhere).
func Q3(events *stream.Stream[Event]) *stream.Stream[LocalItem] {
	persons := Persons(events).Filter(func(p Person) bool { return q3State(p.State) })
	auctions := Auctions(events).Filter(func(a Auction) bool { return a.Category == Q3Category })
	c := stream.ConnectKeyed(stream.KeyBy(persons, func(p Person) int64 { return p.ID }),
		stream.KeyBy(auctions, func(a Auction) int64 { return a.Seller }))
	type F = stream.CoProcessFunc[int64, Person, Auction, LocalItem]
	return stream.CoProcess(c, func(st *state.Store) (F, error) {
		seller, err := state.NewValue[int64, Person](st, "seller")
		if err != nil {
			return F{}, err
		}
		waiting, err := state.NewList[int64, int64](st, "waiting auctions")
		if err != nil {
			return F{}, err
		}
		return F{
			OnA: func(c *stream.ProcessContext[int64, LocalItem], p Person) {
				seller.Set(c.Key(), p)
				for _, a := range waiting.Get(c.Key()) {
					c.Emit(LocalItem{p.Name, p.City, p.State, a})
				}
				waiting.Clear(c.Key())
			},
			OnB: func(c *stream.ProcessContext[int64, LocalItem], a Auction) {
				if p, ok := seller.Get(c.Key()); ok {
					c.Emit(LocalItem{p.Name, p.City, p.State, a.ID})
					return
				}
				waiting.Add(c.Key(), a.ID)
			},
		}, nil
	}).Name("q3")
}

// Closing is an auction's closing price: the highest bid made from its
// start to its expiry, both included (q4's first stage).
type Closing struct {
	Auction, Category, Price int64
}

// pendingBid is a bid for an auction not seen yet.
type pendingBid struct{ DateTime, Price int64 }

// openAuction is an auction in q4's join, with its highest bid so far.
type openAuction struct {
	DateTime, Expires, Category int64
	Price                       int64
	HasBid                      bool
}

// Q4Closing joins auctions with their bids and emits, at each auction's
// expiry (in event time), its closing price, when it had a bid in time. A
// bid that comes before its auction (the generator's lead ids) waits until
// the watermark passes its time: an auction that starts at or before it
// has come by then.
func Q4Closing(events *stream.Stream[Event]) *stream.Stream[Closing] {
	c := stream.ConnectKeyed(stream.KeyBy(Auctions(events), func(a Auction) int64 { return a.ID }),
		stream.KeyBy(Bids(events), func(b Bid) int64 { return b.Auction }))
	type F = stream.CoProcessFunc[int64, Auction, Bid, Closing]
	return stream.CoProcess(c, func(st *state.Store) (F, error) {
		open, err := state.NewValue[int64, openAuction](st, "auction")
		if err != nil {
			return F{}, err
		}
		early, err := state.NewList[int64, pendingBid](st, "early bids")
		if err != nil {
			return F{}, err
		}
		return F{
			OnA: func(c *stream.ProcessContext[int64, Closing], a Auction) {
				o := openAuction{DateTime: a.DateTime, Expires: a.Expires, Category: a.Category}
				for _, b := range early.Get(c.Key()) {
					if b.DateTime >= a.DateTime && b.DateTime <= a.Expires && (!o.HasBid || b.Price > o.Price) {
						o.Price, o.HasBid = b.Price, true
					}
				}
				early.Clear(c.Key())
				open.Set(c.Key(), o)
				c.SetEventTimer(time.UnixMilli(a.Expires))
			},
			OnB: func(c *stream.ProcessContext[int64, Closing], b Bid) {
				o, ok := open.Get(c.Key())
				if !ok {
					early.Add(c.Key(), pendingBid{b.DateTime, b.Price})
					c.SetEventTimer(time.UnixMilli(b.DateTime))
					return
				}
				if b.DateTime >= o.DateTime && b.DateTime <= o.Expires && (!o.HasBid || b.Price > o.Price) {
					o.Price, o.HasBid = b.Price, true
					open.Set(c.Key(), o)
				}
			},
			OnTimer: func(c *stream.ProcessContext[int64, Closing], t stream.TimerInfo) {
				now := t.At.UnixMilli()
				o, ok := open.Get(c.Key())
				if !ok {
					// Early bids whose time has passed: no auction will come for them.
					keep := early.Get(c.Key())[:0]
					for _, b := range early.Get(c.Key()) {
						if b.DateTime > now {
							keep = append(keep, b)
						}
					}
					if len(keep) == 0 {
						early.Clear(c.Key())
					} else {
						early.Set(c.Key(), keep)
					}
					return
				}
				if now < o.Expires {
					return
				}
				if o.HasBid {
					c.Emit(Closing{c.Key(), o.Category, o.Price})
				}
				open.Clear(c.Key())
			},
		}, nil
	}).Name("q4 closing")
}

// CategoryPrice is q4's result: the average closing price of a category's
// auctions closed so far, and how many they are.
type CategoryPrice struct {
	Category int64
	Average  float64
	Auctions int64
}

type sumCount struct{ Sum, Count int64 }

// Q4 is the average closing price per category: Q4Closing, then a running
// average per category, emitted anew at each closing (the last one per
// category is over all its auctions).
func Q4(events *stream.Stream[Event]) *stream.Stream[CategoryPrice] {
	return averagePerCategory(Q4Closing(events))
}

func averagePerCategory(closings *stream.Stream[Closing]) *stream.Stream[CategoryPrice] {
	byCategory := stream.KeyBy(closings, func(c Closing) int64 { return c.Category })
	type F = stream.ProcessFunc[int64, Closing, CategoryPrice]
	return stream.Process(byCategory, func(st *state.Store) (F, error) {
		totals, err := state.NewValue[int64, sumCount](st, "totals")
		if err != nil {
			return F{}, err
		}
		return F{OnElement: func(c *stream.ProcessContext[int64, CategoryPrice], cl Closing) {
			s, _ := totals.Get(c.Key())
			s.Sum += cl.Price
			s.Count++
			totals.Set(c.Key(), s)
			c.Emit(CategoryPrice{c.Key(), float64(s.Sum) / float64(s.Count), s.Count})
		}}, nil
	}).Name("q4")
}

// HotItem is q5's result: an auction with the most bids in a window (all
// of them, when several tie).
type HotItem struct {
	Window  window.Window
	Auction int64
	Bids    int64
}

// q5 windows.
const (
	Q5Size  = 10 * time.Second
	Q5Slide = 2 * time.Second
)

type hottest struct {
	Bids     int64
	Auctions []int64
}

// Q5 is hot items: bids per auction in sliding windows of Q5Size every
// Q5Slide, and per window every auction with the most bids. The counts of a
// window come out when the watermark reaches its end, each stamped with the
// window's last instant; the second stage, keyed by window, collects them
// and emits the winners at that instant.
//
// Of a bid it reads only the auction (its time is the stream's timestamp),
// so it takes that alone from each event: the keyed exchange then moves 8
// bytes a bid rather than a Bid's 80.
func Q5(events *stream.Stream[Event]) *stream.Stream[HotItem] {
	auctions := stream.FlatMap(events, func(e Event, emit func(int64)) {
		if e.Kind == KindBid {
			emit(e.Bid.Auction)
		}
	})
	perAuction := stream.KeyBy(auctions, func(auction int64) int64 { return auction })
	counts := stream.Count(perAuction.Window(window.Sliding(Q5Size, Q5Slide))).Name("q5 counts")
	byWindow := stream.KeyBy(counts, func(r window.Result[int64, int64]) window.Window { return r.Window })
	type F = stream.ProcessFunc[window.Window, window.Result[int64, int64], HotItem]
	return stream.Process(byWindow, func(st *state.Store) (F, error) {
		best, err := state.NewValue[window.Window, hottest](st, "hottest")
		if err != nil {
			return F{}, err
		}
		return F{
			OnElement: func(c *stream.ProcessContext[window.Window, HotItem], r window.Result[int64, int64]) {
				h, ok := best.Get(c.Key())
				switch {
				case !ok || r.Value > h.Bids:
					h = hottest{r.Value, append(h.Auctions[:0], r.Key)}
				case r.Value == h.Bids:
					h.Auctions = append(h.Auctions, r.Key)
				}
				best.Set(c.Key(), h)
				if !ok {
					c.SetEventTimer(time.Unix(0, c.Key().End-1))
				}
			},
			OnTimer: func(c *stream.ProcessContext[window.Window, HotItem], _ stream.TimerInfo) {
				h, _ := best.Get(c.Key())
				for _, a := range h.Auctions {
					c.Emit(HotItem{c.Key(), a, h.Bids})
				}
				best.Clear(c.Key())
			},
		}, nil
	}).Name("q5")
}

// Q7Size is q7's window.
const Q7Size = 10 * time.Second

// higherBid is the higher of two bids: by price, then the earlier, then by
// auction and bidder, so that the winner does not depend on arrival order.
func higherBid(a, b Bid) Bid {
	switch {
	case a.Price != b.Price:
		if a.Price > b.Price {
			return a
		}
		return b
	case a.DateTime != b.DateTime:
		if a.DateTime < b.DateTime {
			return a
		}
		return b
	case a.Auction != b.Auction:
		if a.Auction < b.Auction {
			return a
		}
		return b
	case a.Bidder < b.Bidder:
		return a
	}
	return b
}

// Q7 is the highest bid of each tumbling window of Q7Size (of equal prices,
// the earliest, then the least auction and bidder ids).
func Q7(events *stream.Stream[Event]) *stream.Stream[window.Result[struct{}, Bid]] {
	return stream.Reduce(Bids(events).WindowAll(window.Tumbling(Q7Size)), higherBid).Name("q7")
}

// NewUser is q8's result: a person who put up an auction in the window in
// which they registered.
type NewUser struct {
	ID     int64
	Name   string
	Window window.Window
}

// Q8Size is q8's window.
const Q8Size = 10 * time.Second

// Q8 is new users: persons and auctions joined by person id and seller in
// tumbling windows of Q8Size; each person with an auction in their window,
// once.
func Q8(events *stream.Stream[Event]) *stream.Stream[NewUser] {
	persons := stream.KeyBy(Persons(events), func(p Person) int64 { return p.ID })
	auctions := stream.KeyBy(Auctions(events), func(a Auction) int64 { return a.Seller })
	return stream.CoGroup(persons, auctions, window.Tumbling(Q8Size),
		func(id int64, w window.Window, ps []Person, as []Auction, emit func(NewUser)) {
			if len(as) == 0 {
				return
			}
			for _, p := range ps {
				emit(NewUser{id, p.Name, w})
			}
		}).Name("q8")
}

// Q11Gap is q11's session gap.
const Q11Gap = 10 * time.Second

// Q11 is user sessions: each bidder's bids counted per session (a gap of
// Q11Gap without a bid ends one).
// Of a bid it reads only the bidder (as Q5 the auction).
func Q11(events *stream.Stream[Event]) *stream.Stream[window.Result[int64, int64]] {
	bidders := stream.FlatMap(events, func(e Event, emit func(int64)) {
		if e.Kind == KindBid {
			emit(e.Bid.Bidder)
		}
	})
	perBidder := stream.KeyBy(bidders, func(bidder int64) int64 { return bidder })
	return stream.Count(perBidder.Window(window.Session(Q11Gap))).Name("q11")
}

// Q12Size is q12's window.
const Q12Size = 10 * time.Second

// Q12 is processing-time windows: each bidder's bids counted per tumbling
// window of Q12Size of processing time. events must be in processing time
// (Source, not Events): an event-time stream would get event-time windows.
func Q12(events *stream.Stream[Event]) *stream.Stream[window.Result[int64, int64]] {
	perBidder := stream.KeyBy(Bids(events), func(b Bid) int64 { return b.Bidder })
	return stream.Count(perBidder.Window(window.Tumbling(Q12Size))).Name("q12")
}
