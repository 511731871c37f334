// Package evsort holds the examples' event-time sorter: a process function
// that keeps each element until event time passes its timestamp, then
// emits the elements of that instant in an order of the caller's, so that
// a job's printed results are the same whatever its parallelism or the
// order in which its windows fired.
package evsort

import (
	"slices"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
)

// By returns the setup of a process function (for stream.Process over a
// stream keyed by a constant) that holds each element in keyed map state
// under its timestamp, sets an event timer at that timestamp, and when the
// timer fires emits the elements held for it sorted by cmp. Its state is
// named "pending lines" and joins checkpoints like any map state.
func By[L any](cmp func(a, b L) int) func(*state.Store) (stream.ProcessFunc[int, L, L], error) {
	return func(st *state.Store) (stream.ProcessFunc[int, L, L], error) {
		pending, err := state.NewMap[int, int64, []L](st, "pending lines")
		if err != nil {
			return stream.ProcessFunc[int, L, L]{}, err
		}
		return stream.ProcessFunc[int, L, L]{
			OnElement: func(c *stream.ProcessContext[int, L], l L) {
				at, _ := c.Timestamp()
				ls, _ := pending.Get(c.Key(), at.UnixNano())
				pending.Put(c.Key(), at.UnixNano(), append(ls, l))
				c.SetEventTimer(at)
			},
			OnTimer: func(c *stream.ProcessContext[int, L], t stream.TimerInfo) {
				ls, _ := pending.Get(c.Key(), t.At.UnixNano())
				pending.Delete(c.Key(), t.At.UnixNano())
				slices.SortFunc(ls, cmp)
				for _, l := range ls {
					c.Emit(l)
				}
			},
		}, nil
	}
}
