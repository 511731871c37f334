// Package nexmark is the Nexmark benchmark for Braid: a generator of the
// auction site's persons, auctions and bids, the Nexmark queries written
// with Braid's public API (as a user would write them), a hand-written
// baseline for the keyed-window queries, and Run and Baseline to time them
// side by side in one process.
//
// Use it in three steps:
//
//  1. Make a generator: g := nexmark.NewGenerator(nexmark.Config{Seed: 1}).
//     g.Event(i) is event i, a pure function of the seed and i, so events can
//     be made in any order, in parallel, and replayed.
//  2. Make the event stream of a job, in event time: events :=
//     nexmark.Events(env, g, n), then a query's stream: nexmark.Q5(events).
//     Or make them beforehand, m := g.Take(n), and read them from memory:
//     nexmark.FromEvents(env, m).
//  3. Or time a whole query: nexmark.Run(ctx, "q5", cfg, n, opts...) and the
//     plain-Go loop for the same work, nexmark.Baseline("q5", cfg, n), both
//     making the events as they run; or, on events made beforehand (the
//     query's work alone), nexmark.RunEvents(ctx, "q5", m, opts...) and
//     nexmark.BaselineEvents("q5", m). A run of one of LatencyQueries also
//     samples its results' latency (Result.P50, P99; see Latency).
//
// The generator follows the reference one (Apache Beam's and the nexmark/
// nexmark repository's Flink generator): events come in epochs of 50, one
// person, then three auctions, then 46 bids; person and auction ids follow
// from the event number; an auction's seller and a bid's bidder are a hot
// person (3 in 4) or one of the 1,000 most recent (plus a lead of 10 ids not
// yet made); a bid's auction is the hot one (1 in 2) or one of the 100 most
// recent (plus 10 ahead); prices are 100 * 10^U(0,6); auctions run for a
// random time averaging the span in which 100 more auctions are made;
// event i happens at BaseTime + i * 1e6/EventsPerSecond µs (in ms, as the
// reference).
//
// Where it departs from the reference, so that any event can be made on its
// own and none allocates: each event draws from its own random sequence,
// seeded from the seed and its id (the reference has one sequence per
// generator, so its events depend on those before); strings are cut from
// pools made once (item names, descriptions and extras as the reference's
// lengths; e-mail addresses and credit-card numbers from 16,384 each);
// 10^x is read from an interpolated table; and a bid's bidder gets
// FirstPersonID added once (Beam's generator), not twice (the Flink port's).
// No query here reads the strings.
package nexmark

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The reference generator's constants (GeneratorConfig, PersonGenerator,
// AuctionGenerator, BidGenerator and NexmarkConfiguration's defaults).
const (
	FirstPersonID   = 1000 // the first person's id
	FirstAuctionID  = 1000 // the first auction's id
	FirstCategoryID = 10   // categories are FirstCategoryID .. FirstCategoryID+NumCategories-1
	NumCategories   = 5

	PersonProportion  = 1  // persons per epoch
	AuctionProportion = 3  // auctions per epoch
	BidProportion     = 46 // bids per epoch
	TotalProportion   = PersonProportion + AuctionProportion + BidProportion

	numActivePeople     = 1000
	numInFlightAuctions = 100
	personIDLead        = 10
	auctionIDLead       = 10
	hotAuctionRatio     = 2 // 1 - 1/2 of bids are for the hot auction
	hotSellersRatio     = 4 // 1 - 1/4 of auctions are by a hot seller
	hotBiddersRatio     = 4 // 1 - 1/4 of bids are by a hot bidder
	hotGroup            = 100
	hotChannelsRatio    = 2
	channelsNumber      = 10_000
	avgPersonBytes      = 200
	avgAuctionBytes     = 500
	avgBidBytes         = 100
)

// Kind says which of Event's fields holds the event.
type Kind uint8

// The kinds of events.
const (
	KindPerson Kind = iota
	KindAuction
	KindBid
)

// A Person is a new user of the auction site. Times are milliseconds since
// the Unix epoch, as in the reference.
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     int64
	Extra        string
}

// An Auction is an item put up for sale by Seller, open from DateTime until
// Expires (ms since the Unix epoch).
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	InitialBid  int64
	Reserve     int64
	DateTime    int64
	Expires     int64
	Seller      int64
	Category    int64
	Extra       string
}

// A Bid is Bidder's offer of Price (in cents) for Auction at DateTime (ms
// since the Unix epoch).
type Bid struct {
	Auction  int64
	Bidder   int64
	Price    int64
	Channel  string
	URL      string
	DateTime int64
	Extra    string
}

// An Event is one of a Person, an Auction or a Bid, as Kind says; the other
// two fields are zero. It is a plain value (no pointers but its strings'),
// so streams of events move no interface and allocate nothing per event.
type Event struct {
	Kind    Kind
	Person  Person
	Auction Auction
	Bid     Bid
}

// DateTime is the event's time, in ms since the Unix epoch.
func (e *Event) DateTime() int64 {
	switch e.Kind {
	case KindPerson:
		return e.Person.DateTime
	case KindAuction:
		return e.Auction.DateTime
	}
	return e.Bid.DateTime
}

// Config says what a Generator makes. Its zero value is the reference's
// default workload from seed 0.
type Config struct {
	// Seed picks the random choices; the same seed gives the same events.
	Seed uint64
	// EventsPerSecond is the event-time rate (the reference's firstEventRate):
	// event i happens i * 1e6/EventsPerSecond µs after BaseTime. Default (0)
	// 10,000. It does not pace the generator, which runs as fast as it can.
	EventsPerSecond float64
	// BaseTime is the time of event 0, in ms since the Unix epoch. Default
	// (0): the epoch.
	BaseTime int64
	// OutOfOrderGroupSize, when above 1, shuffles events within each group of
	// that many consecutive ones (the reference's outOfOrderGroupSize): their
	// ids and times come out of order by up to the group's span. Default (0
	// or 1): in order.
	OutOfOrderGroupSize int64
}

// A Generator makes Nexmark events. It is safe for concurrent use: Event
// only reads it.
type Generator struct {
	t        *tables
	cfg      Config
	delayUs  float64
	group    int64
	hotURLs  [4]string
	channels []channel
}

type channel struct{ name, url string }

var hotChannels = [4]string{"Google", "Facebook", "Baidu", "Apple"}

var (
	usStates  = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities  = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstName = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastName  = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
)

// tables are the strings events draw from, made once: a 1 MiB pool of
// letters that extras are cut from (as the reference's reusable extra
// string), a pool of words (letters and 1 in 13 spaces) that item names
// and descriptions are cut from, and tables of names, e-mail addresses and
// credit-card numbers. The reference makes a new e-mail address and card
// number per person; drawing them from 16,384 each keeps events free of
// allocation, at no cost to any query (none reads them).
type tables struct {
	letters, words string
	names          []string
	emails, cards  []string
}

const tableSize = 1 << 14

var sharedTables = sync.OnceValue(func() *tables {
	r := rng{s: 0x6e65786d61726b} // "nexmark"
	t := &tables{}
	var b strings.Builder
	for range 1 << 20 {
		b.WriteByte(byte('a' + r.intn(26)))
	}
	t.letters = b.String()
	b.Reset()
	for range 1 << 20 {
		if r.intn(13) == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(byte('a' + r.intn(26)))
		}
	}
	t.words = b.String()
	for _, f := range firstName {
		for _, l := range lastName {
			t.names = append(t.names, f+" "+l)
		}
	}
	t.emails = make([]string, tableSize)
	t.cards = make([]string, tableSize)
	for i := range tableSize {
		t.emails[i] = t.cutWords(&r, 7) + "@" + t.cutWords(&r, 5) + ".com"
		var cc [19]byte
		for j := range 4 {
			if j > 0 {
				cc[5*j-1] = ' '
			}
			n := r.intn(10000)
			for k := 3; k >= 0; k-- {
				cc[5*j+k] = byte('0' + n%10)
				n /= 10
			}
		}
		t.cards[i] = string(cc[:])
	}
	return t
})

// cutWords is the reference's nextString(maxLength): 3 to maxLength-1
// characters, letters with 1 in 13 spaces, trimmed; cut from the pool of
// words, so it does not allocate.
func (t *tables) cutWords(r *rng, maxLength int) string {
	n := 3 + r.intn(maxLength-3)
	off := r.intn(len(t.words) - n)
	return strings.TrimSpace(t.words[off : off+n])
}

// extra is the reference's nextExtra: a string of letters such that
// currentSize plus its length is desiredAverage on average.
func (t *tables) extra(r *rng, currentSize, desiredAverage int) string {
	if currentSize > desiredAverage {
		return ""
	}
	desiredAverage -= currentSize
	delta := int(math.Round(float64(desiredAverage) * 0.2))
	size := desiredAverage - delta
	if delta > 0 {
		size += r.intn(2 * delta)
	}
	off := r.intn(len(t.letters) - size)
	return t.letters[off : off+size]
}

// NewGenerator returns a generator of cfg's events. It builds the bid
// channels' URLs from cfg.Seed (10,000 of them, as the reference).
func NewGenerator(cfg Config) *Generator {
	if cfg.EventsPerSecond <= 0 {
		cfg.EventsPerSecond = 10_000
	}
	g := &Generator{t: sharedTables(), cfg: cfg, delayUs: 1e6 / cfg.EventsPerSecond, group: max(cfg.OutOfOrderGroupSize, 1)}
	t := g.t
	r := rng{s: mix(cfg.Seed ^ 0x6368616e6e656c)}
	baseURL := func() string {
		return "https://www.nexmark.com/" + strings.ReplaceAll(t.cutWords(&r, 5), " ", "_") + "/" +
			strings.ReplaceAll(t.cutWords(&r, 5), " ", "_") + "/" +
			strings.ReplaceAll(t.cutWords(&r, 5), " ", "_") + "/item.htm?query=1"
	}
	for i := range g.hotURLs {
		g.hotURLs[i] = baseURL()
	}
	g.channels = make([]channel, channelsNumber)
	for i := range g.channels {
		url := baseURL()
		if r.intn(10) > 0 {
			url += "&channel_id=" + strconv.FormatUint(uint64(bits.Reverse32(uint32(i))&math.MaxInt32), 10)
		}
		g.channels[i] = channel{"channel-" + strconv.Itoa(i), url}
	}
	return g
}

// Config is the generator's configuration, with its defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// MaxOutOfOrder is how far behind the latest event time seen an event of
// this generator can be: zero when events are in order, else about the time
// span of an out-of-order group. It is the bound Events gives
// stream.BoundedOutOfOrderness.
func (g *Generator) MaxOutOfOrder() time.Duration {
	if g.group <= 1 {
		return 0
	}
	return time.Duration(float64(g.group)*g.delayUs)*time.Microsecond + time.Millisecond
}

// eventID is the reference's nextAdjustedEventNumber: i itself, or i moved
// within its out-of-order group.
func (g *Generator) eventID(i int64) int64 {
	if g.group <= 1 {
		return i
	}
	return i/g.group*g.group + (i*953)%g.group
}

// timestamp is the reference's timestampForEvent, in ms.
func (g *Generator) timestamp(eventNumber int64) int64 {
	return g.cfg.BaseTime + int64(float64(eventNumber)*g.delayUs)/1000
}

// Kind is the kind of event i, without making it.
func (g *Generator) Kind(i int64) Kind {
	switch rem := g.eventID(i) % TotalProportion; {
	case rem < PersonProportion:
		return KindPerson
	case rem < PersonProportion+AuctionProportion:
		return KindAuction
	}
	return KindBid
}

// Event returns event i (i >= 0): a function of the seed and i only. It does
// not allocate. g.Event is the function stream.Generate takes.
func (g *Generator) Event(i int64) Event {
	id := g.eventID(i)
	ts := g.timestamp(id)
	r := rng{s: mix(g.cfg.Seed ^ mix(uint64(id)))}
	var e Event
	switch rem := id % TotalProportion; {
	case rem < PersonProportion:
		e.Kind = KindPerson
		g.person(&e.Person, id, ts, &r)
	case rem < PersonProportion+AuctionProportion:
		e.Kind = KindAuction
		g.auction(&e.Auction, id, ts, &r)
	default:
		e.Kind = KindBid
		g.bid(&e.Bid, id, ts, &r)
	}
	return e
}

func (g *Generator) person(p *Person, id, ts int64, r *rng) {
	t := g.t
	p.ID = lastBase0PersonID(id) + FirstPersonID
	p.Name = t.names[r.intn(len(firstName))*len(lastName)+r.intn(len(lastName))]
	p.EmailAddress = t.emails[r.intn(tableSize)]
	p.CreditCard = t.cards[r.intn(tableSize)]
	p.City = usCities[r.intn(len(usCities))]
	p.State = usStates[r.intn(len(usStates))]
	p.DateTime = ts
	size := 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State)
	p.Extra = t.extra(r, size, avgPersonBytes)
}

func (g *Generator) auction(a *Auction, id, ts int64, r *rng) {
	t := g.t
	a.ID = lastBase0AuctionID(id) + FirstAuctionID
	if r.intn(hotSellersRatio) > 0 {
		a.Seller = lastBase0PersonID(id) / hotGroup * hotGroup
	} else {
		a.Seller = nextBase0PersonID(id, r)
	}
	a.Seller += FirstPersonID
	a.Category = FirstCategoryID + int64(r.intn(NumCategories))
	a.InitialBid = nextPrice(r)
	// The reference's nextAuctionLengthMs: on average the time until
	// numInFlightAuctions more auctions have been made, times two, at random.
	future := g.timestamp(id + numInFlightAuctions*TotalProportion/AuctionProportion)
	a.Expires = ts + 1 + r.int63n(max(2*(future-ts), 1))
	a.DateTime = ts
	a.ItemName = t.cutWords(r, 20)
	a.Description = t.cutWords(r, 100)
	a.Reserve = a.InitialBid + nextPrice(r)
	a.Extra = t.extra(r, 8+len(a.ItemName)+len(a.Description)+5*8, avgAuctionBytes)
}

func (g *Generator) bid(b *Bid, id, ts int64, r *rng) {
	if r.intn(hotAuctionRatio) > 0 {
		b.Auction = lastBase0AuctionID(id) / hotGroup * hotGroup
	} else {
		b.Auction = nextBase0AuctionID(id, r)
	}
	b.Auction += FirstAuctionID
	// The hot bidder is the second of its group of 100, so that hot bidders
	// and hot sellers differ. (The nexmark/nexmark Flink generator adds
	// FirstPersonID twice here; Beam's, followed here, once.)
	if r.intn(hotBiddersRatio) > 0 {
		b.Bidder = lastBase0PersonID(id)/hotGroup*hotGroup + 1
	} else {
		b.Bidder = nextBase0PersonID(id, r)
	}
	b.Bidder += FirstPersonID
	b.Price = nextPrice(r)
	if r.intn(hotChannelsRatio) > 0 {
		i := r.intn(len(hotChannels))
		b.Channel, b.URL = hotChannels[i], g.hotURLs[i]
	} else {
		c := &g.channels[r.intn(channelsNumber)]
		b.Channel, b.URL = c.name, c.url
	}
	b.DateTime = ts
	b.Extra = g.t.extra(r, 32, avgBidBytes)
}

// lastBase0PersonID is the id (from 0) of the last person made at or
// before event id.
func lastBase0PersonID(id int64) int64 {
	epoch, offset := id/TotalProportion, id%TotalProportion
	if offset >= PersonProportion {
		offset = PersonProportion - 1
	}
	return epoch*PersonProportion + offset
}

// lastBase0AuctionID is the id (from 0) of the last auction made at or
// before event id (-1 before the first).
func lastBase0AuctionID(id int64) int64 {
	epoch, offset := id/TotalProportion, id%TotalProportion
	switch {
	case offset < PersonProportion:
		epoch--
		offset = AuctionProportion - 1
	case offset >= PersonProportion+AuctionProportion:
		offset = AuctionProportion - 1
	default:
		offset -= PersonProportion
	}
	return epoch*AuctionProportion + offset
}

// nextBase0PersonID is one of the numActivePeople most recent persons, or
// one of the personIDLead ids after them (a person not made yet).
func nextBase0PersonID(id int64, r *rng) int64 {
	numPeople := lastBase0PersonID(id) + 1
	active := min(numPeople, numActivePeople)
	return numPeople - active + r.int63n(active+personIDLead)
}

// nextBase0AuctionID is one of the numInFlightAuctions most recent
// auctions, or one of the auctionIDLead ids after them.
func nextBase0AuctionID(id int64, r *rng) int64 {
	last := lastBase0AuctionID(id)
	lo := max(last-numInFlightAuctions, 0)
	return lo + r.int63n(last-lo+1+auctionIDLead)
}

// nextPrice is the reference's price, round(100 * 10^U(0,6)) cents, with
// 10^x read from a table and interpolated (within 2 ppm of math.Pow, at a
// tenth of its cost: prices are the generator's most costly part).
func nextPrice(r *rng) int64 {
	x := r.next()
	i := x >> (64 - priceBits)                 // which interval of [0, 6)
	f := float64(x<<priceBits>>11) / (1 << 53) // where in it
	p := pow10Table[i] + (pow10Table[i+1]-pow10Table[i])*f
	return int64(p*100 + 0.5)
}

const priceBits = 12

// pow10Table[i] is 10^(6i/2^priceBits), i from 0 to 2^priceBits.
var pow10Table = func() (t [1<<priceBits + 1]float64) {
	for i := range t {
		t[i] = math.Pow(10, 6*float64(i)/(1<<priceBits))
	}
	return t
}()

// rng is splitmix64: seeded per event from the seed and the event's id,
// which is what makes events a function of (seed, i).
type rng struct{ s uint64 }

func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn is in [0, n), n > 0 (Lemire's multiply-shift; its bias is below
// n/2^64).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

func (r *rng) int63n(n int64) int64 {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}
