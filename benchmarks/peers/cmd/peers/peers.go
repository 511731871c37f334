package main

import (
	"context"

	"github.com/braidstream/braid/benchmarks/nexmark"
	"github.com/braidstream/braid/benchmarks/peers/beam"
	"github.com/braidstream/braid/benchmarks/peers/benthos"
	"github.com/braidstream/braid/benchmarks/peers/gostreams"
	"github.com/braidstream/braid/benchmarks/peers/workload"
)

const (
	eventTime      = "event-time"
	processingTime = "processing-time"
)

// peer is one implementation of the workloads. semantics says which
// expected digest its results are checked against: event-time peers give
// exactly the workload's results (every (window, key, count)); processing-time
// peers give windows that depend on the run's speed, so only their per-key
// totals over all windows are checked. A nil function is a workload the peer
// does not run (see the README for why).
type peer struct {
	order     int
	semantics string
	tumble    func(config) (workload.Digest, error)
	q5        func(config) (workload.Digest, error)
}

func (p peer) run(wl string) func(config) (workload.Digest, error) {
	if wl == "q5" {
		return p.q5
	}
	return p.tumble
}

var peers = map[string]peer{
	"go-streams": {0, processingTime, func(c config) (workload.Digest, error) {
		d, _, err := gostreams.TumbleKeyed(tumble(c), c.window)
		return d, err
	}, nil},
	"go-streams-unkeyed": {1, processingTime, func(c config) (workload.Digest, error) {
		d, _, err := gostreams.TumbleUnkeyed(tumble(c), c.window)
		return d, err
	}, nil},
	"beam-prism": {2, eventTime, func(c config) (workload.Digest, error) {
		return beam.Tumble(context.Background(), tumble(c))
	}, func(c config) (workload.Digest, error) {
		return beam.Q5(context.Background(), q5(c))
	}},
	"benthos": {3, processingTime, func(c config) (workload.Digest, error) {
		d, _, err := benthos.Tumble(context.Background(), tumble(c), benthos.Options{Window: c.window})
		return d, err
	}, nil},
}

// q5 is Nexmark q5 over the first c.n events of Braid's Nexmark generator
// as BenchmarkNexmark configures it (seed 42, otherwise the defaults: 10,000
// events a second of event time, in order), so that both run on the same
// events.
func q5(c config) workload.Q5 {
	g := nexmark.NewGenerator(nexmark.Config{Seed: 42})
	return workload.Q5{N: c.n, Size: workload.Q5Size, Slide: workload.Q5Slide,
		Bid: func(i int64) (workload.Bid, bool) {
			e := g.Event(i)
			if e.Kind != nexmark.KindBid {
				return workload.Bid{}, false
			}
			return workload.Bid{Auction: e.Bid.Auction, Ts: e.Bid.DateTime * 1e6}, true
		}}
}
