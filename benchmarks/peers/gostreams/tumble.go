// Package gostreams runs the workloads in github.com/reugn/go-streams, the way
// its documentation shows.
//
// go-streams windows by processing time only, as far as a replay is
// concerned: TumblingWindow has no event time at all, and SlidingWindow's
// event-time mode advances its windows on a wall-clock ticker, so a replay
// faster (or slower) than real time drops events or leaves them unflushed.
// The comparison is therefore with processing-time windows, and the check is
// what such a run can promise: every event counted once, under its own key,
// whatever window it fell into.
package gostreams

import (
	"fmt"
	"time"

	"github.com/braidstream/braid/benchmarks/peers/workload"
	"github.com/reugn/go-streams"
	"github.com/reugn/go-streams/extension"
	"github.com/reugn/go-streams/flow"
)

// MaxKeyedKeys bounds TumbleKeyed: flow.NewKeyed starts a window and a map,
// each with their goroutines (five in all), per key, so a million keys would
// need gigabytes of goroutine stacks on this machine.
const MaxKeyedKeys = 100_000

// keyCount is one window's count for one key.
type keyCount struct{ key, count int64 }

// TumbleKeyed is the keyed count as go-streams' flow.NewKeyed documents it:
// the stream split by key, each key's sub-stream through its own
// TumblingWindow of the given (processing-time) size and a Map from the
// window's elements to their count. It returns the per-key totals over all
// windows (see workload.Tumble.ExpectedTotals) and the number of windows
// emitted.
func TumbleKeyed(t workload.Tumble, window time.Duration) (workload.Digest, int64, error) {
	if t.Keys > MaxKeyedKeys {
		return workload.Digest{}, 0, fmt.Errorf("go-streams keyed: %d keys is more than the %d this peer runs (five goroutines per key): %w", t.Keys, MaxKeyedKeys, workload.ErrNotRun)
	}
	keyed := flow.NewKeyed(func(e workload.Event) int64 { return e.Key },
		func() streams.Flow { return flow.NewTumblingWindow[workload.Event](window) },
		func() streams.Flow {
			return flow.NewMap(func(w []workload.Event) keyCount {
				return keyCount{w[0].Key, int64(len(w))}
			}, 1)
		})
	return run(t, keyed, func(v any, tot workload.Totals) int64 {
		kc := v.(keyCount)
		tot[kc.key] += kc.count
		return 1
	})
}

// TumbleUnkeyed is the other way a go-streams user would write it, and the
// one that scales to a million keys: one TumblingWindow over the whole
// stream, and a Map that counts the window's elements per key in a Go map.
// go-streams then only batches by time; the keyed counting is the user's.
func TumbleUnkeyed(t workload.Tumble, window time.Duration) (workload.Digest, int64, error) {
	win := flow.NewTumblingWindow[workload.Event](window)
	count := flow.NewMap(func(w []workload.Event) map[int64]int64 {
		m := make(map[int64]int64)
		for _, e := range w {
			m[e.Key]++
		}
		return m
	}, 1)
	win.Via(count)
	return run(t, pipe{win, count}, func(v any, tot workload.Totals) int64 {
		m := v.(map[int64]int64)
		for k, c := range m {
			tot[k] += c
		}
		return int64(len(m))
	})
}

// pipe is a Flow made of a first and a last stage already connected.
type pipe struct{ first, last streams.Flow }

func (p pipe) In() chan<- any                  { return p.first.In() }
func (p pipe) Out() <-chan any                 { return p.last.Out() }
func (p pipe) Via(f streams.Flow) streams.Flow { return p.last.Via(f) }
func (p pipe) To(s streams.Sink)               { p.last.To(s) }

// run feeds the t's events through f from a channel source, and adds up what
// comes out into per-key totals with add, which returns how many results
// (window, key) the value held.
func run(t workload.Tumble, f streams.Flow, add func(any, workload.Totals) int64) (workload.Digest, int64, error) {
	in := make(chan any, 1024)
	out := make(chan any, 1024)
	go extension.NewChanSource(in).Via(f).To(extension.NewChanSink(out))
	go func() {
		for i := range t.N {
			in <- t.At(i)
		}
		close(in)
	}()
	tot := workload.Totals{}
	var results int64
	for v := range out {
		results += add(v, tot)
	}
	return tot.Digest(), results, nil
}
