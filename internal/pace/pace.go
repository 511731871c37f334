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

// Check is how many elements a run of a source's user code takes between
// two looks at the clock inside the run: a function fast for a while and
// then slow (a generator that starts to wait for its pace) overruns its
// budget by at most Check of its slow elements, not by a whole batch of
// them, and a reading of the clock costs a fraction of a nanosecond an
// element.
const Check = 256

// A Pacer's zero value knows nothing yet: its first run is one element.
// It is not safe for concurrent use.
//
// A cost measured on a few elements says little about the next thousand:
// a function may be cheap on most elements and slow on some (a reduce that
// does nothing for a key's first element and sleeps for its second). So a
// run is at most twice the longest run that has kept within the budget
// (proven), and a run that overran the budget shrinks it to what the
// budget holds at the cost just seen: runs grow as TCP's slow start does,
// once, and stay whole for a function that is fast throughout.
type Pacer struct {
	perElem int64 // ns per element in the last run; 0 before the first
	proven  int   // the longest run so far that kept within the budget
}

// Run returns how many of the remaining elements the next run should take:
// at least 1, at most remaining.
func (p *Pacer) Run(remaining int) int {
	if p.perElem == 0 {
		return min(1, remaining)
	}
	n := min(Budget/p.perElem, 2*int64(max(p.proven, 1)))
	return max(min(int(n), remaining), min(1, remaining))
}

// Learn records that a run of n elements took ns nanoseconds.
func (p *Pacer) Learn(n int, ns int64) {
	if n <= 0 {
		return
	}
	p.perElem = max(1, ns/int64(n))
	if ns <= Budget {
		p.proven = max(p.proven, n)
	} else {
		p.proven = max(1, int(Budget/p.perElem))
	}
}

// Whole reports whether a batch of n elements is expected to fit in the
// budget, so that it can run without being split.
func (p *Pacer) Whole(n int) bool {
	return p.perElem > 0 && p.perElem*int64(n) <= Budget && n <= 2*p.proven
}

// epoch anchors Now.
var epoch = time.Now()

// Now is a monotonic clock in nanoseconds, cheap to read.
func Now() int64 { return int64(time.Since(epoch)) }
