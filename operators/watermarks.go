package operators

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// A WatermarkGenerator decides how event time advances for a stream, in
// the shape of Flink's: a hook per element, for punctuated watermarks (a
// marker element says "everything up to here has come"), and a periodic
// hook, for watermarks derived from what has been seen (bounded
// out-of-orderness). Both emit through the output they are given. One
// generator serves one subtask; its methods are called from that subtask's
// goroutine only.
//
// With checkpoints, the last watermark emitted is kept, and so is the
// generator's own state if it implements encoding.BinaryMarshaler and
// encoding.BinaryUnmarshaler: MarshalBinary at each checkpoint,
// UnmarshalBinary on a fresh generator before a restored job runs (with
// the state of the same subtask; a subtask a rescale added starts fresh).
// A generator whose watermarks depend on what it has seen before (the
// last mark it emitted, a count) needs this for a restored job to emit
// the watermarks of an uninterrupted run; without it, it starts afresh
// and watermarks catch up with the data.
type WatermarkGenerator[T any] interface {
	// OnEvent sees each element and its timestamp, in stream order. A
	// watermark it emits takes effect right after the element: the elements
	// before it go downstream first.
	OnEvent(v T, ts time.Time, out WatermarkOutput)
	// OnPeriodicEmit is called every watermark interval of processing time
	// (the Env's clock; WithWatermarkInterval), whether or not elements
	// came.
	OnPeriodicEmit(out WatermarkOutput)
}

// A WatermarkOutput takes a generator's watermarks and idleness.
type WatermarkOutput interface {
	// EmitWatermark says no element at or before wm is expected any more.
	// Watermarks never go back: one that does not advance is ignored. It
	// also marks the output active.
	EmitWatermark(wm time.Time)
	// MarkIdle says the input sends nothing for now, so it must not hold
	// back event time downstream. An element or a watermark ends it.
	MarkIdle()
	// MarkActive ends idleness without a watermark.
	MarkActive()
}

// DefaultWatermarkInterval is how often OnPeriodicEmit runs when the job
// does not set it, as Flink's autoWatermarkInterval.
const DefaultWatermarkInterval = 200 * time.Millisecond

// GeneratedWatermarks gives each element the timestamp ts returns (setting
// aside, as Timestamps does, those event time cannot hold) and leaves
// watermarks and idleness to a user's WatermarkGenerator. Watermarks from
// upstream are ignored, but for the final one.
type GeneratedWatermarks[T any] struct {
	stamper[T]
	out      Input[T]
	gen      WatermarkGenerator[T]
	clock    Clock
	interval int64
	next     int64 // processing time of the next periodic emit

	par    int      // parallelism, for a restore
	run    Batch[T] // the elements before a watermark, pushed first
	wm     int64    // last watermark passed on
	idle   bool
	emit   genOutput[T]
	err    error // of an emit inside a hook
	inPush bool
	from   int // inside Push: the first element not yet pushed
	at     int // inside Push: the element OnEvent is looking at
}

// NewGeneratedWatermarks returns the operator. interval is the period of
// OnPeriodicEmit (0 means DefaultWatermarkInterval); the caller registers
// the operator for processing-time callbacks (BuildContext.AddTimed).
func NewGeneratedWatermarks[T any](ts Timestamper[T], gen WatermarkGenerator[T], interval time.Duration, clock Clock,
	out Input[T], dead Input[DeadLetter[T]], countDead func(int64)) *GeneratedWatermarks[T] {
	if interval <= 0 {
		interval = DefaultWatermarkInterval
	}
	g := &GeneratedWatermarks[T]{stamper: stamper[T]{ts: ts, dead: dead, countDead: countDead},
		out: out, gen: gen, clock: clock, interval: int64(interval), wm: MinWatermark}
	g.emit.g = g
	g.next = clock.Now().UnixNano() + g.interval
	return g
}

// genOutput is the WatermarkOutput of a GeneratedWatermarks.
type genOutput[T any] struct{ g *GeneratedWatermarks[T] }

func (o *genOutput[T]) EmitWatermark(t time.Time) {
	g := o.g
	wm, ok := unixNano(t)
	if !ok {
		wm = math.MinInt64
		if t.After(maxEventTime) {
			wm = math.MaxInt64 - 1 // the final watermark comes with the end of input
		}
	}
	if g.err != nil || wm <= g.wm {
		return
	}
	if g.err = g.flushRun(); g.err != nil {
		return
	}
	g.wm = wm
	g.idle = false // a watermark makes the input active (the gate agrees)
	g.err = g.out.Watermark(wm)
}

func (o *genOutput[T]) MarkIdle() {
	g := o.g
	if g.err != nil || g.idle {
		return
	}
	if g.err = g.flushRun(); g.err != nil {
		return
	}
	g.idle = true
	g.err = g.out.Idle(true)
}

func (o *genOutput[T]) MarkActive() {
	g := o.g
	if g.err != nil || !g.idle {
		return
	}
	g.idle = false
	g.err = g.out.Idle(false)
}

// flushRun pushes, inside Push, the elements up to and including the one
// OnEvent is looking at, so that a watermark it emits comes after them.
func (g *GeneratedWatermarks[T]) flushRun() error {
	if !g.inPush || g.at < g.from {
		return nil
	}
	g.run.Values = g.buf.Values[g.from : g.at+1]
	g.run.Times = g.buf.Times[g.from : g.at+1]
	g.from = g.at + 1
	return g.out.Push(&g.run)
}

// Push implements Input.
func (g *GeneratedWatermarks[T]) Push(b *Batch[T]) error {
	if _, err := g.stamp(b); err != nil {
		return err
	}
	if g.idle && len(g.buf.Values) > 0 {
		g.idle = false
		if err := g.out.Idle(false); err != nil {
			return err
		}
	}
	g.inPush, g.from = true, 0
	for i, v := range g.buf.Values {
		g.at = i
		g.gen.OnEvent(v, time.Unix(0, g.buf.Times[i]).UTC(), &g.emit)
		if g.err != nil {
			g.inPush = false
			return g.err
		}
	}
	g.at = len(g.buf.Values) - 1
	err := g.flushRun()
	g.inPush = false
	return err
}

// Watermark implements Input: only the final watermark passes.
func (g *GeneratedWatermarks[T]) Watermark(wm int64) error {
	if wm == MaxWatermark && g.wm < MaxWatermark {
		g.wm = wm
		return g.out.Watermark(wm)
	}
	return nil
}

// Idle implements Input: the generator decides idleness.
func (g *GeneratedWatermarks[T]) Idle(bool) error { return nil }

// Finish implements Input.
func (g *GeneratedWatermarks[T]) Finish() error { return g.out.Finish() }

func (g *GeneratedWatermarks[T]) nextTimer() int64 { return g.next }

func (g *GeneratedWatermarks[T]) onTimer(now int64) error {
	if now < g.next {
		return nil
	}
	g.next = now + g.interval
	g.gen.OnPeriodicEmit(&g.emit)
	err := g.err
	g.err = nil
	return err
}

// Checkpoint registers the operator with bc's checkpoints (nothing
// without): its last watermark and the generator's state, when the
// generator can marshal it.
func (g *GeneratedWatermarks[T]) Checkpoint(bc *BuildContext) {
	g.par = bc.Parallelism
	bc.AddSnapshotter(g)
}

const (
	genWatermarkName = "watermark" // the last watermark passed on: a varint
	genStateName     = "generator" // the generator's MarshalBinary
)

// Snapshot implements Snapshotter.
func (g *GeneratedWatermarks[T]) Snapshot(w *StateWriter) error {
	var b [binary.MaxVarintLen64]byte
	w.SetOperator(genWatermarkName, binary.AppendVarint(b[:0], g.wm))
	if m, ok := g.gen.(encoding.BinaryMarshaler); ok {
		st, err := m.MarshalBinary()
		if err != nil {
			return fmt.Errorf("watermark generator %T: MarshalBinary: %w", g.gen, err)
		}
		w.SetOperator(genStateName, st)
	}
	return nil
}

// Restore implements Snapshotter: the subtask's own watermark (at another
// parallelism, the least of the old subtasks'), and its generator's state.
func (g *GeneratedWatermarks[T]) Restore(r *StateReader) error {
	v, err := restoreScalars(r, genWatermarkName, g.par, 1)
	if err != nil {
		return err
	}
	if v != nil {
		g.wm = v[0]
	}
	u, ok := g.gen.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil
	}
	st, ok, err := r.Operator(genStateName)
	if err != nil || !ok {
		return err
	}
	if err := u.UnmarshalBinary(st); err != nil {
		return fmt.Errorf("watermark generator %T: UnmarshalBinary: %w", g.gen, err)
	}
	return nil
}
