// Package workload holds what every peer shares: the keyed tumbling count's
// generator (the same as benchmarks/core_test.go's gen in Braid's module) and
// the expected results, computed directly, that a peer's output is checked
// against.
//
// A peer's output is reduced to a Digest: how many results, the sum of their
// counts and an order-independent fingerprint of every (window, key, count)
// triple. Two outputs with the same digest hold the same results (up to a
// 64-bit hash collision), whatever order they arrived in.
package workload

import (
	"errors"
	"time"
)

// ErrNotRun marks a run a peer declines, such as more keys than it can hold:
// the command reports it as skipped, not as wrong.
var ErrNotRun = errors.New("peer does not run this size")

// Event is one generated element: a key and an event time in nanoseconds.
type Event struct {
	Key int64
	Ts  int64
}

// Tumble describes one keyed tumbling count: N events over Keys keys, event i
// with key (i*7919) % Keys and event time i*Step ns, counted per key in
// tumbling windows of Size ns.
type Tumble struct {
	N, Keys, Step, Size int64
}

// DefaultStep and DefaultSize are Braid's benchmark's: a million events per
// second of event time, one-second windows.
const (
	DefaultStep = int64(time.Microsecond)
	DefaultSize = int64(time.Second)
)

// At is event i. Keys and 7919 being coprime (7919 is prime), every run of
// Keys consecutive events holds every key once.
func (t Tumble) At(i int64) Event {
	return Event{Key: (i * 7919) % t.Keys, Ts: i * t.Step}
}

// Window is the start of the tumbling window holding event time ts (ts >= 0).
func (t Tumble) Window(ts int64) int64 { return ts - ts%t.Size }

// Digest sums up a set of results independently of their order.
type Digest struct {
	Results int64  // number of results
	Sum     int64  // sum of the counts
	Hash    uint64 // sum of mix(window, key, count) over the results
}

// Add counts one result: key's count in the window starting at window.
func (d *Digest) Add(window, key, count int64) {
	d.Results++
	d.Sum += count
	d.Hash += mix(uint64(window), uint64(key), uint64(count))
}

// Merge adds o's results to d.
func (d *Digest) Merge(o Digest) {
	d.Results += o.Results
	d.Sum += o.Sum
	d.Hash += o.Hash
}

// mix is a 64-bit finaliser (splitmix64's) over the three values, so that a
// result counted with the wrong window, key or count changes the sum.
func mix(a, b, c uint64) uint64 {
	x := a*0x9e3779b97f4a7c15 ^ b*0xc2b2ae3d27d4eb4f ^ c*0x165667b19e3779f9
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Expected is the digest of the event-time keyed tumbling count, computed
// with a plain loop and a map (Braid's benchmark's handLoop): events arrive
// in time order, so a window is complete when the next one starts.
func (t Tumble) Expected() Digest {
	var d Digest
	counts := make(map[int64]int64)
	cur := int64(-1)
	flush := func() {
		for k, c := range counts {
			d.Add(cur, k, c)
		}
		clear(counts)
	}
	for i := range t.N {
		e := t.At(i)
		if w := t.Window(e.Ts); w != cur {
			flush()
			cur = w
		}
		counts[e.Key]++
	}
	flush()
	return d
}

// ExpectedTotals is the digest of every key's count over the whole input,
// each added as a result in window 0. A peer that can only window by
// processing time (its windows depend on how fast it ran) is checked by
// adding up its counts per key over all windows: that must give this.
//
// It is computed without a loop over the events: each full run of Keys events
// holds every key once, and the last N%Keys events i = q*Keys+j have the keys
// (j*7919)%Keys.
func (t Tumble) ExpectedTotals() Digest {
	full, rest := t.N/t.Keys, t.N%t.Keys
	extra := make(map[int64]bool, rest)
	for j := range rest {
		extra[(j*7919)%t.Keys] = true
	}
	var d Digest
	for k := range t.Keys {
		c := full
		if extra[k] {
			c++
		}
		if c > 0 {
			d.Add(0, k, c)
		}
	}
	return d
}

// Totals adds up counts per key over windows, for a processing-time peer's
// check against ExpectedTotals.
type Totals map[int64]int64

// Digest is the totals' digest, each key's total a result in window 0.
func (m Totals) Digest() Digest {
	var d Digest
	for k, c := range m {
		d.Add(0, k, c)
	}
	return d
}
