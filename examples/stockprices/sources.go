package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/braidstream/braid/stream"
)

// StockPrice is one tick.
type StockPrice struct {
	Symbol string
	Price  float64
	At     time.Time
}

// Tweet names three stock symbols.
type Tweet struct {
	Symbols [3]string
	At      time.Time
}

// pacer maps the simulation's event time onto the clock: speedup times
// faster than real time; unpaced runs as fast as it can.
type pacer struct {
	clock     stream.Clock
	start     time.Time // event time at the start
	realStart time.Time
	speedup   float64
	unpaced   bool
}

// wait blocks until event time t is due, or ctx is done.
func (p pacer) wait(ctx context.Context, t time.Time) error {
	if p.unpaced {
		return ctx.Err()
	}
	due := p.realStart.Add(time.Duration(float64(t.Sub(p.start)) / p.speedup))
	d := due.Sub(p.clock.Now())
	if d <= 0 {
		return nil
	}
	timer := p.clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// now is the current event time, at most start plus the longest Duration
// (a huge speedup must not wrap around to the past).
func (p pacer) now() time.Time {
	d := float64(p.clock.Now().Sub(p.realStart)) * p.speedup
	if d >= math.MaxInt64 { // converting more than MaxInt64 to an int64 is undefined
		return p.start.Add(math.MaxInt64)
	}
	return p.start.Add(time.Duration(d))
}

// walk is a geometric Gaussian random walk of one symbol's price, from
// 1000: a tick every 0-200 ms, each multiplying the price by
// exp(N(0, sigma/1000)), a move of about N(0, sigma) at 1000 that keeps
// the price above zero (as a price must be; Flink's example added N(0,
// sigma), which drifts below zero within minutes). Deterministic in its
// seed.
type walk struct {
	sym   string
	sigma float64
	rng   *rand.Rand
	price float64
	at    time.Time
}

func newWalk(sym string, sigma float64, seed uint64, start time.Time) *walk {
	return &walk{sym: sym, sigma: sigma, rng: rand.New(rand.NewPCG(seed, hashSym(sym))), price: initialPrice, at: start}
}

func (w *walk) next() StockPrice {
	w.at = w.at.Add(time.Duration(w.rng.Int64N(int64(200 * time.Millisecond))))
	w.price *= math.Exp(w.rng.NormFloat64() * w.sigma / initialPrice)
	return StockPrice{Symbol: w.sym, Price: w.price, At: w.at}
}

// tweets: a tweet every 0-500 ms naming 3 different random symbols.
type tweets struct {
	rng *rand.Rand
	at  time.Time
}

var tweetSymbols = []string{"SPX", "FTSE", "DJI", "DJT", "BUX", "DAX", "GOOG"}

func newTweets(seed uint64, start time.Time) *tweets {
	return &tweets{rng: rand.New(rand.NewPCG(seed, hashSym("tweets"))), at: start}
}

func (t *tweets) next() Tweet {
	t.at = t.at.Add(time.Duration(t.rng.Int64N(int64(500 * time.Millisecond))))
	perm := t.rng.Perm(len(tweetSymbols))
	return Tweet{Symbols: [3]string{tweetSymbols[perm[0]], tweetSymbols[perm[1]], tweetSymbols[perm[2]]}, At: t.at}
}

func hashSym(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// paced turns a generator of timed elements into a source that delivers
// each when its event time is due, and ends after end. It takes part in
// checkpoints: its position is the number of elements it delivered and
// the event time the pacer had reached, so that a resumed run goes on
// from there in event time too (not from the first run's start).
type paced[T any] struct {
	next func() T
	at   func(T) time.Time
	p    pacer
	end  time.Time // zero: endless
	held *T
	read uint64 // elements delivered
}

// Position is the number of elements delivered and the pacer's event time
// now, as two uvarints (nanoseconds since the start).
func (r *paced[T]) Position() ([]byte, error) {
	b := binary.AppendUvarint(nil, r.read)
	return binary.AppendUvarint(b, uint64(max(r.p.now().Sub(r.p.start), 0))), nil
}

// Seek, on a reader that has delivered nothing yet, generates and drops
// the elements delivered before pos, and sets the pacer's event time to
// that of pos.
func (r *paced[T]) Seek(pos []byte) error {
	n, k := binary.Uvarint(pos)
	if k <= 0 {
		return fmt.Errorf("stockprices: bad source position %x", pos)
	}
	since, k2 := binary.Uvarint(pos[k:])
	if k2 <= 0 || since > math.MaxInt64 {
		return fmt.Errorf("stockprices: bad source position %x", pos)
	}
	for range n {
		r.next()
	}
	r.read = n
	r.p.realStart = r.p.clock.Now().Add(-time.Duration(float64(since) / r.p.speedup))
	return nil
}

func (r *paced[T]) Read(ctx context.Context, buf []T) (int, error) {
	n := 0
	for n < len(buf) {
		if r.held == nil {
			v := r.next()
			r.held = &v
		}
		t := r.at(*r.held)
		if !r.end.IsZero() && t.After(r.end) {
			return n, io.EOF
		}
		if n > 0 && !r.p.unpaced && t.After(r.p.now()) {
			return n, nil // what is due now; the rest later
		}
		if err := r.p.wait(ctx, t); err != nil {
			return n, err
		}
		buf[n] = *r.held
		r.held = nil
		r.read++
		n++
	}
	return n, nil
}

func (r *paced[T]) Close() error { return nil }
