package main

import (
	"context"

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
// exactly the keyed tumbling count's (window, key, count) results;
// processing-time peers give windows that depend on the run's speed, so only
// their per-key totals over all windows are checked.
type peer struct {
	order     int
	semantics string
	tumble    func(config) (workload.Digest, error)
}

var peers = map[string]peer{
	"go-streams": {0, processingTime, func(c config) (workload.Digest, error) {
		d, _, err := gostreams.TumbleKeyed(tumble(c), c.window)
		return d, err
	}},
	"go-streams-unkeyed": {1, processingTime, func(c config) (workload.Digest, error) {
		d, _, err := gostreams.TumbleUnkeyed(tumble(c), c.window)
		return d, err
	}},
	"beam-prism": {2, eventTime, func(c config) (workload.Digest, error) {
		return beam.Tumble(context.Background(), tumble(c))
	}},
	"benthos": {3, processingTime, func(c config) (workload.Digest, error) {
		d, _, err := benthos.Tumble(context.Background(), tumble(c), benthos.Options{Window: c.window})
		return d, err
	}},
}
