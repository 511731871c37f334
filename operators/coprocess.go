package operators

import (
	"encoding/binary"

	"github.com/braidstream/braid/state"
)

// CoProcessFunc is a process function on two keyed streams with the same
// key: OnA and OnB for the elements of each, OnTimer (may be nil) for the
// timers either set. They share the subtask's keyed state and timers.
type CoProcessFunc[K comparable, A, B, R any] struct {
	OnA     func(c *ProcessContext[K, R], a A)
	OnB     func(c *ProcessContext[K, R], b B)
	OnTimer func(c *ProcessContext[K, R], t TimerInfo)
}

// KeyedCoProcess runs a CoProcessFunc: its event time is the least of its
// two inputs' (twoInputs); event timers fire as it passes them and at the
// end of input; processing timers follow the clock (and do not fire at the
// end, as in Flink).
//
// Checkpoints keep the shared store's states, the timers, and the
// watermarks of both inputs.
type KeyedCoProcess[A, B any, K comparable, R any] struct {
	twoInputs[R]
	processCore[K, R]
	keyA func(A) K
	keyB func(B) K
	fn   CoProcessFunc[K, A, B, R]
}

// NewKeyedCoProcess builds the operator for one subtask: setup makes the
// function, and its state in the subtask's store, once.
func NewKeyedCoProcess[A, B any, K comparable, R any](keyA func(A) K, keyB func(B) K,
	setup func(*state.Store) (CoProcessFunc[K, A, B, R], error), bc *BuildContext, eventTime bool, out Input[R]) (*KeyedCoProcess[A, B, K, R], error) {
	p := &KeyedCoProcess[A, B, K, R]{twoInputs: newTwoInputs(out), keyA: keyA, keyB: keyB}
	if err := p.processCore.init(bc, out, eventTime); err != nil {
		return nil, err
	}
	fn, err := setup(p.store)
	if err != nil {
		return nil, err
	}
	p.fn, p.timerFn = fn, fn.OnTimer
	p.onWatermark = func(wm int64) error {
		p.processCore.wm = wm
		return p.fire(EventTime, wm)
	}
	bc.AddTimed(p)
	bc.AddSnapshotter(p)
	return p, nil
}

// coInputsName is the operator state of the two inputs' watermarks and
// the combined one emitted.
const coInputsName = "input watermarks"

// Snapshot implements Snapshotter.
func (p *KeyedCoProcess[A, B, K, R]) Snapshot(w *StateWriter) error {
	if err := p.snapshot(w); err != nil {
		return err
	}
	var b [3 * binary.MaxVarintLen64]byte
	v := binary.AppendVarint(b[:0], p.twoInputs.wm[0])
	v = binary.AppendVarint(v, p.twoInputs.wm[1])
	w.SetOperator(coInputsName, binary.AppendVarint(v, p.emitted))
	return nil
}

// Restore implements Snapshotter.
func (p *KeyedCoProcess[A, B, K, R]) Restore(r *StateReader) error {
	if err := p.restore(r); err != nil {
		return err
	}
	wms, err := restoreScalars(r, coInputsName, p.par, 3)
	if err != nil || wms == nil {
		return err
	}
	p.twoInputs.wm[0], p.twoInputs.wm[1], p.emitted = wms[0], wms[1], wms[2]
	return nil
}

// Inputs returns the operator's two inputs, Input[A] and Input[B].
func (p *KeyedCoProcess[A, B, K, R]) Inputs() []any {
	final := func(i int) error { return p.finish(i, p.em.flush) }
	return []any{
		Input[A](side[A]{i: 0, push: func(b *Batch[A]) error { return processBatch(&p.processCore, b, p.keyA, p.fn.OnA) }, base: &p.twoInputs, final: final}),
		Input[B](side[B]{i: 1, push: func(b *Batch[B]) error { return processBatch(&p.processCore, b, p.keyB, p.fn.OnB) }, base: &p.twoInputs, final: final}),
	}
}

func (p *KeyedCoProcess[A, B, K, R]) nextTimer() int64 { return p.timers[ProcessingTime].next() }

func (p *KeyedCoProcess[A, B, K, R]) onTimer(now int64) error { return p.fire(ProcessingTime, now) }
