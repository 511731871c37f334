// Package stepwm holds the examples' watermark generator: bounded
// out-of-orderness, as stream.BoundedOutOfOrderness, but with watermarks
// as events come rather than after each batch, and only when event time
// reaches a new multiple of a step.
//
// Watermarks per event make which events are late depend on the order of
// the lines only, not on how they were batched, nor on where a resumed
// run's batches begin. Holding them to one per step keeps a sparse log
// from being cut into batches of one line: a watermark per event would
// end the batch at every line. Windows that end on multiples of the step
// close exactly as with a watermark per event; others (sliding windows of
// a smaller slide, sessions) up to a step of event time later, which
// delays their results and changes none of them. Since its watermarks are
// never ahead of those of a watermark per event, no event is late that
// would not be late with those.
package stepwm

import (
	"strconv"
	"time"

	"github.com/braidstream/braid/stream"
)

// defaultInterval is the Env's default watermark interval: how often
// OnPeriodicEmit is called unless stream.WithWatermarkInterval says
// otherwise.
const defaultInterval = 200 * time.Millisecond

// New returns the generator of one input: watermarks at the latest
// timestamp so far minus bound, emitted when that reaches a new multiple
// of step (counted from year 1, a whole number of minutes before 1970,
// where windows are aligned). With idle > 0 (following files), an input
// without an event for that long (by the default watermark interval) is
// marked idle, so that it does not hold event time back for the others.
func New[T any](bound, step, idle time.Duration) *Gen[T] {
	g := &Gen[T]{bound: bound, step: step}
	if idle > 0 {
		g.idle = max(1, int(idle/defaultInterval))
	}
	return g
}

// Gen is the generator New returns, a stream.WatermarkGenerator whose
// position joins checkpoints (MarshalBinary).
type Gen[T any] struct {
	bound, step time.Duration
	idle, quiet int   // periodic calls: before an input is idle, since its last event
	mark        int64 // the last multiple of step reached, in Unix ns
	seen        bool
}

// OnEvent emits a watermark when ts minus the bound reaches a new step.
func (g *Gen[T]) OnEvent(_ T, ts time.Time, out stream.WatermarkOutput) {
	g.quiet = 0
	wm := ts.Add(-g.bound)
	if m := wm.Truncate(g.step).UnixNano(); !g.seen || m > g.mark {
		g.mark, g.seen = m, true
		out.EmitWatermark(wm.Add(-time.Nanosecond))
	}
}

// OnPeriodicEmit marks the input idle once it has been quiet long enough.
func (g *Gen[T]) OnPeriodicEmit(out stream.WatermarkOutput) {
	if g.idle == 0 {
		return
	}
	if g.quiet++; g.quiet == g.idle {
		out.MarkIdle()
	}
}

// MarshalBinary keeps, in checkpoints, the last step reached: where the
// next watermark comes depends on it.
func (g *Gen[T]) MarshalBinary() ([]byte, error) {
	if !g.seen {
		return nil, nil
	}
	return strconv.AppendInt(nil, g.mark, 10), nil
}

// UnmarshalBinary restores what MarshalBinary kept.
func (g *Gen[T]) UnmarshalBinary(b []byte) (err error) {
	if g.seen = len(b) > 0; !g.seen {
		g.mark = 0
		return nil
	}
	g.mark, err = strconv.ParseInt(string(b), 10, 64)
	return err
}
