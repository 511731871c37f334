// Package pace sizes the runs of user code that the runtime makes between
// two looks at the job (is it cancelled? has the buffer timeout passed?).
//
// A Pacer learns the cost of one element from the last run and aims each
// run at a budget of time: a slow function (50 ms an element) runs one
// element at a time, so cancellation takes effect within about one
// element's time; a fast one runs whole batches, and pacing costs two clock
// reads per batch. Nothing here starts a goroutine or blocks.
package pace

import "time"

// Budget is how long a run of user code should take: short enough that a
// cancelled job stops and a partly filled batch leaves in good time, long
// enough that reading the clock costs nothing measurable.
const Budget = int64(time.Millisecond)

// A Pacer's zero value knows nothing yet: its first run is one element.
// It is not safe for concurrent use.
type Pacer struct {
	perElem int64 // ns per element in the last run; 0 before the first
}

// Run returns how many of the remaining elements the next run should take:
// at least 1, at most remaining.
func (p *Pacer) Run(remaining int) int {
	if p.perElem == 0 {
		return min(1, remaining)
	}
	if n := Budget / p.perElem; n < int64(remaining) {
		return max(1, int(n))
	}
	return remaining
}

// Learn records that a run of n elements took ns nanoseconds.
func (p *Pacer) Learn(n int, ns int64) {
	if n > 0 {
		p.perElem = max(1, ns/int64(n))
	}
}

// Whole reports whether a batch of n elements is expected to fit in the
// budget, so that it can run without being split.
func (p *Pacer) Whole(n int) bool { return p.perElem > 0 && p.perElem*int64(n) <= Budget }

// epoch anchors Now.
var epoch = time.Now()

// Now is a monotonic clock in nanoseconds, cheap to read.
func Now() int64 { return int64(time.Since(epoch)) }
