package operators

import (
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/internal/invariants"
	"github.com/braidstream/braid/internal/pace"
)

// Metrics are one operator subtask's counters. The runtime updates them per
// batch, so they cost nothing per record; read them while the job runs with
// Job.Metrics or after it with the same call.
type Metrics struct {
	Operator    string
	Subtask     int // 0-based
	Parallelism int
	RecordsIn   int64
	RecordsOut  int64
	// LateRecords counts elements that arrived after their windows'
	// allowed lateness (sent to the late side output when there is one).
	LateRecords int64
	// DeadLetters counts what the operator set aside instead of failing the
	// job: elements a user function rejected (MapErr), input a source could
	// not deliver (a line over the length limit), elements whose timestamp
	// event time cannot hold (WithTimestamps).
	DeadLetters int64
	// Busy is the time spent in this operator's own code, its chained
	// successors excluded. Blocked is the time spent waiting for room on a
	// full output channel: a large Blocked means a slower operator
	// downstream.
	Busy, Blocked time.Duration
}

type opMetrics struct {
	name        string
	subtask     int
	parallelism int
	in, out     atomic.Int64
	late, dead  atomic.Int64
	busy        atomic.Int64
	blocked     atomic.Int64
}

func (m *opMetrics) snapshot() Metrics {
	return Metrics{
		Operator: m.name, Subtask: m.subtask, Parallelism: m.parallelism,
		RecordsIn: m.in.Load(), RecordsOut: m.out.Load(),
		LateRecords: m.late.Load(), DeadLetters: m.dead.Load(),
		Busy: time.Duration(m.busy.Load()), Blocked: time.Duration(m.blocked.Load()),
	}
}

// monotonic nanoseconds since process start: cheap and never goes back.
var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }

// instrumented wraps an operator's Input: it counts records in, charges
// the time spent to the operator (less the time of whatever it calls
// downstream in the same task), and marks the operator as the one running,
// so a panic names it.
//
// It also paces the operator: a batch that the operator's cost so far says
// would take longer than pace.Budget is pushed in smaller runs, and between
// runs the task looks at cancellation and its buffer timeout. A slow user
// function (a map, a sink) then delays a cancelled job by about one
// element's time, not a batch's, and what the task has made still leaves
// within the buffer timeout. A fast operator gets whole batches.
type instrumented[T any] struct {
	t     *task
	m     *opMetrics
	next  Input[T]
	pacer pace.Pacer
	sub   Batch[T] // a run of a batch being split
}

func (w *instrumented[T]) enter() (prev *opMetrics, saved, start int64) {
	prev, saved = w.t.cur, w.t.child
	w.t.cur, w.t.child = w.m, 0
	return prev, saved, nanotime()
}

func (w *instrumented[T]) leave(prev *opMetrics, saved, start int64, err error) error {
	return w.leaveAt(prev, saved, start, nanotime(), err)
}

func (w *instrumented[T]) leaveAt(prev *opMetrics, saved, start, end int64, err error) error {
	if err != nil {
		if _, ok := err.(*OperatorError); !ok && err != errStopped {
			err = &OperatorError{Operator: w.m.name, Subtask: w.m.subtask, Parallelism: w.m.parallelism, Err: err}
		}
	}
	incl := end - start
	w.m.busy.Add(incl - w.t.child)
	w.t.child = saved + incl
	w.t.cur = prev
	return err
}

func (w *instrumented[T]) Push(b *Batch[T]) error {
	if invariants.Enabled {
		invariants.Check(b.Times == nil || len(b.Times) == len(b.Values),
			"operator %q got %d values with %d timestamps", w.m.name, len(b.Values), len(b.Times))
	}
	n := len(b.Values)
	w.m.in.Add(int64(n))
	if w.pacer.Whole(n) {
		return w.push(b, n)
	}
	for i := 0; i < n; {
		j := i + w.pacer.Run(n-i)
		run := b
		if i > 0 || j < n {
			run = w.slice(b, i, j)
		}
		if err := w.push(run, j-i); err != nil {
			return err
		}
		i = j
		if i < n {
			if err := w.t.between(); err != nil {
				return err
			}
		}
	}
	return nil
}

// push runs the operator on a batch of n records and learns its cost (time
// blocked on a full output excluded: that wait looks at cancellation
// itself).
func (w *instrumented[T]) push(b *Batch[T], n int) error {
	prev, saved, start := w.enter()
	blocked := w.t.blockedNs
	err := w.next.Push(b)
	end := nanotime()
	w.pacer.Learn(n, end-start-(w.t.blockedNs-blocked))
	return w.leaveAt(prev, saved, start, end, err)
}

// slice is records [i, j) of b, in w.sub, sharing b's memory.
func (w *instrumented[T]) slice(b *Batch[T], i, j int) *Batch[T] {
	w.sub.Values = b.Values[i:j]
	w.sub.Times = nil
	if b.Times != nil {
		w.sub.Times = b.Times[i:j]
	}
	w.sub.keys = nil
	if b.keys != nil {
		w.sub.keys = b.keys.view(i, j, w.sub.keys)
	}
	return &w.sub
}

func (w *instrumented[T]) Watermark(wm int64) error {
	prev, saved, start := w.enter()
	return w.leave(prev, saved, start, w.next.Watermark(wm))
}

func (w *instrumented[T]) Idle(idle bool) error { return w.next.Idle(idle) }

func (w *instrumented[T]) Finish() error {
	prev, saved, start := w.enter()
	return w.leave(prev, saved, start, w.next.Finish())
}

// counted sits on an operator's output and counts records out.
type counted[T any] struct {
	m    *opMetrics
	next Input[T]
}

func (c *counted[T]) Push(b *Batch[T]) error {
	c.m.out.Add(int64(len(b.Values)))
	return c.next.Push(b)
}
func (c *counted[T]) Watermark(wm int64) error { return c.next.Watermark(wm) }
func (c *counted[T]) Idle(idle bool) error     { return c.next.Idle(idle) }
func (c *counted[T]) Finish() error            { return c.next.Finish() }

// withSides is the output of an operator with side outputs (late
// elements, dead letters). Data goes to the main output only (the operator
// pushes to each side itself); watermarks, idleness and the end of input go
// to every side output too, so that each is a full stream that can be read
// through any partitioning, in another task or at another parallelism. A
// side output sees them in order with its data, because the operator emits
// to a side before it passes on the watermark that follows.
type withSides[T any] struct {
	Input[T]
	sides []watermarkInput
}

func (w *withSides[T]) Watermark(wm int64) error {
	for _, s := range w.sides {
		if err := s.Watermark(wm); err != nil {
			return err
		}
	}
	return w.Input.Watermark(wm)
}

func (w *withSides[T]) Idle(idle bool) error {
	for _, s := range w.sides {
		if err := s.Idle(idle); err != nil {
			return err
		}
	}
	return w.Input.Idle(idle)
}

func (w *withSides[T]) Finish() error {
	for _, s := range w.sides {
		if err := s.Finish(); err != nil {
			return err
		}
	}
	return w.Input.Finish()
}

// fanout pushes to several chained inputs in turn.
type fanout[T any] []Input[T]

func (f fanout[T]) Push(b *Batch[T]) error {
	for _, in := range f {
		if err := in.Push(b); err != nil {
			return err
		}
	}
	return nil
}

func (f fanout[T]) Watermark(wm int64) error {
	for _, in := range f {
		if err := in.Watermark(wm); err != nil {
			return err
		}
	}
	return nil
}

func (f fanout[T]) Idle(idle bool) error {
	for _, in := range f {
		if err := in.Idle(idle); err != nil {
			return err
		}
	}
	return nil
}

func (f fanout[T]) Finish() error {
	for _, in := range f {
		if err := in.Finish(); err != nil {
			return err
		}
	}
	return nil
}

// discard is the output of an operator nobody reads.
type discard[T any] struct{}

func (discard[T]) Push(*Batch[T]) error  { return nil }
func (discard[T]) Watermark(int64) error { return nil }
func (discard[T]) Idle(bool) error       { return nil }
func (discard[T]) Finish() error         { return nil }
