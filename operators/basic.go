package operators

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// forward passes watermarks, idleness and the end of input on unchanged.
type forward[U any] struct{ out Input[U] }

func (f forward[U]) Watermark(wm int64) error { return f.out.Watermark(wm) }
func (f forward[U]) Idle(idle bool) error     { return f.out.Idle(idle) }
func (f forward[U]) Finish() error            { return f.out.Finish() }

// Map applies f to every element; timestamps are kept.
type Map[T, U any] struct {
	forward[U]
	f   func(T) U
	buf Batch[U]
}

// NewMap returns a map operator writing to out.
func NewMap[T, U any](f func(T) U, out Input[U]) *Map[T, U] {
	return &Map[T, U]{forward: forward[U]{out}, f: f}
}

// Push implements Input.
func (m *Map[T, U]) Push(b *Batch[T]) error {
	// By index into a slice of the batch's length: ranging by value, then
	// appending, copies each element once more (an Event of 300 bytes in
	// Nexmark: a tenth of q0's CPU).
	n := len(b.Values)
	vals := slices.Grow(m.buf.Values[:0], n)[:n]
	for i := range vals {
		vals[i] = m.f(b.Values[i])
	}
	m.buf.Values, m.buf.Times = vals, b.Times
	return m.out.Push(&m.buf)
}

// Filter keeps the elements for which keep returns true.
type Filter[T any] struct {
	forward[T]
	keep func(T) bool
	buf  Batch[T]
}

// NewFilter returns a filter operator writing to out.
func NewFilter[T any](keep func(T) bool, out Input[T]) *Filter[T] {
	return &Filter[T]{forward: forward[T]{out}, keep: keep}
}

// Push implements Input.
func (f *Filter[T]) Push(b *Batch[T]) error {
	vals, times := f.buf.Values[:0], f.buf.Times[:0]
	for i, v := range b.Values {
		if f.keep(v) {
			vals = append(vals, v)
			if b.Times != nil {
				times = append(times, b.Times[i])
			}
		}
	}
	f.buf.Values = vals
	f.buf.Times = nil
	if b.Times != nil {
		f.buf.Times = times
	}
	if len(vals) == 0 {
		return nil
	}
	return f.out.Push(&f.buf)
}

// FlatMap calls f for every element with a function that emits outputs;
// every output takes its input's timestamp.
type FlatMap[T, U any] struct {
	forward[U]
	f     func(T, func(U))
	emit  func(U)
	buf   Batch[U]
	ts    int64
	timed bool
}

// NewFlatMap returns a flat-map operator writing to out.
func NewFlatMap[T, U any](f func(T, func(U)), out Input[U]) *FlatMap[T, U] {
	fm := &FlatMap[T, U]{forward: forward[U]{out}, f: f}
	fm.emit = func(u U) {
		fm.buf.Values = append(fm.buf.Values, u)
		if fm.timed {
			fm.buf.Times = append(fm.buf.Times, fm.ts)
		}
	}
	return fm
}

// Push implements Input.
func (fm *FlatMap[T, U]) Push(b *Batch[T]) error {
	fm.buf.Values, fm.buf.Times = fm.buf.Values[:0], fm.buf.Times[:0]
	fm.timed = b.Times != nil
	for i, v := range b.Values {
		if fm.timed {
			fm.ts = b.Times[i]
		}
		fm.f(v, fm.emit)
	}
	if !fm.timed {
		fm.buf.Times = nil
	}
	if len(fm.buf.Values) == 0 {
		return nil
	}
	return fm.out.Push(&fm.buf)
}

// MapErr applies f to every element; an element for which f fails goes,
// with its error, to the dead letters (when dead is not nil) and is
// counted, and the job goes on.
type MapErr[T, U any] struct {
	forward[U]
	f     func(T) (U, error)
	dead  func(T, error) error
	count func(int64)
	buf   Batch[U]
}

// NewMapErr returns a fallible map operator writing to out.
// dead, when not nil, takes each rejected element and its error; an error
// it returns (from the dead letters' consumer) fails the job.
func NewMapErr[T, U any](f func(T) (U, error), dead func(T, error) error, count func(int64), out Input[U]) *MapErr[T, U] {
	return &MapErr[T, U]{forward: forward[U]{out}, f: f, dead: dead, count: count}
}

// Push implements Input.
func (m *MapErr[T, U]) Push(b *Batch[T]) error {
	vals, times := m.buf.Values[:0], m.buf.Times[:0]
	var failed int64
	for i, v := range b.Values {
		u, err := m.f(v)
		if err != nil {
			failed++
			if m.dead != nil {
				if err := m.dead(v, err); err != nil {
					return err
				}
			}
			continue
		}
		vals = append(vals, u)
		if b.Times != nil {
			times = append(times, b.Times[i])
		}
	}
	if failed > 0 {
		m.count(failed)
	}
	m.buf.Values, m.buf.Times = vals, nil
	if b.Times != nil {
		m.buf.Times = times
	}
	if len(vals) == 0 {
		return nil
	}
	return m.out.Push(&m.buf)
}

// Timestamps gives each element the event timestamp ts returns and emits
// watermarks for bounded out-of-orderness: after each batch (of the task's
// input, see EmitAtBatchEnd), the largest
// timestamp seen minus the bound minus 1 (as Flink's
// BoundedOutOfOrdernessWatermarks), when that has advanced. Watermarks from
// upstream are ignored, but for the final one.
//
// An element whose timestamp event time cannot hold (before 1677-09-21 or
// after 2262-04-11: int64 nanoseconds since 1970) never enters a window: it
// is counted as a dead letter and sent, with an error marked
// ErrTimestampRange, to dead when that is not nil.
//
// With an idle timeout, an input that delivers nothing for that long is
// declared idle, so it does not hold back the watermark of the operators
// downstream; its next element makes it active again.
//
// Checkpoints keep the largest timestamp seen and the last watermark
// emitted (see Checkpoint); idleness starts afresh after a restore.
type Timestamps[T any] struct {
	stamper[T]
	out         Input[T]
	bound       int64
	maxTs       int64
	lastWm      int64
	clock       Clock
	idleTimeout int64
	lastData    int64
	idle        bool
	atBatchEnd  bool
	par         int // the subtasks', for restore
}

// NewTimestamps returns the operator. idleTimeout 0 disables idleness.
// dead, when not nil, receives the elements whose timestamp is out of
// range; countDead counts them.
func NewTimestamps[T any](ts Timestamper[T], bound int64, idleTimeout int64, clock Clock, out Input[T],
	dead Input[DeadLetter[T]], countDead func(int64)) *Timestamps[T] {
	return &Timestamps[T]{stamper: stamper[T]{ts: ts, dead: dead, countDead: countDead},
		out: out, bound: bound, maxTs: math.MinInt64, lastWm: MinWatermark,
		clock: clock, idleTimeout: idleTimeout, lastData: clock.Now().UnixNano()}
}

// Event time's range: the instants int64 nanoseconds since 1970 can hold.
var (
	minEventTime = time.Unix(0, math.MinInt64).UTC()
	maxEventTime = time.Unix(0, math.MaxInt64).UTC()
)

// unixNano is t.UnixNano, and whether t lies in event time's range (where
// UnixNano is defined).
func unixNano(t time.Time) (int64, bool) {
	const minSec, maxSec = -9223372037, 9223372036 // seconds of MinInt64 and MaxInt64 ns
	sec, ns := t.Unix(), int64(t.Nanosecond())
	switch {
	case sec > minSec && sec < maxSec:
		return sec*1e9 + ns, true
	case sec == minSec && ns >= 145224192:
		return (sec+1)*1e9 + ns - 1e9, true // sec*1e9 alone would overflow
	case sec == maxSec && ns <= 854775807:
		return sec*1e9 + ns, true
	}
	return 0, false
}

// Push implements Input.
func (a *Timestamps[T]) Push(b *Batch[T]) error {
	maxTs, err := a.stamp(b)
	if err != nil {
		return err
	}
	a.maxTs = max(a.maxTs, maxTs)
	if a.idleTimeout > 0 {
		a.lastData = a.clock.Now().UnixNano()
		if a.idle {
			a.idle = false
			if err := a.out.Idle(false); err != nil {
				return err
			}
		}
	}
	if len(a.buf.Values) > 0 {
		if err := a.out.Push(&a.buf); err != nil {
			return err
		}
	}
	if a.atBatchEnd {
		return nil // the task calls EndBatch
	}
	return a.EndBatch()
}

// EndBatch emits the watermark of what has arrived, when it has advanced.
// Registered with BuildContext.AtBatchEnd, it runs once per input batch of
// the task; otherwise Push calls it after every batch.
func (a *Timestamps[T]) EndBatch() error {
	maxTs := a.maxTs
	if maxTs == math.MinInt64 {
		return nil
	}
	wm := maxTs - a.bound - 1
	if maxTs < math.MinInt64+a.bound+1 {
		wm = math.MinInt64
	}
	if wm > a.lastWm {
		a.lastWm = wm
		return a.out.Watermark(wm)
	}
	return nil
}

// EmitAtBatchEnd makes the operator leave watermarks to EndBatch, which the
// caller registers with BuildContext.AtBatchEnd.
func (a *Timestamps[T]) EmitAtBatchEnd() { a.atBatchEnd = true }

// Checkpoint registers the operator's watermark state with bc's
// checkpoints (nothing without).
func (a *Timestamps[T]) Checkpoint(bc *BuildContext) {
	a.par = bc.Parallelism
	bc.AddSnapshotter(a)
}

const timestampsName = "timestamps" // maxTs, lastWm: varints

// Snapshot implements Snapshotter: the largest timestamp seen and the last
// watermark emitted, as operator state.
func (a *Timestamps[T]) Snapshot(w *StateWriter) error {
	var b [2 * binary.MaxVarintLen64]byte
	v := binary.AppendVarint(b[:0], a.maxTs)
	w.SetOperator(timestampsName, binary.AppendVarint(v, a.lastWm))
	return nil
}

// Restore implements Snapshotter: the subtask's own state, or, at another
// parallelism, the least of every old subtask's (so that no element is
// made late by another subtask's progress).
func (a *Timestamps[T]) Restore(r *StateReader) error {
	v, err := restoreScalars(r, timestampsName, a.par, 2)
	if err != nil || v == nil {
		return err
	}
	a.maxTs, a.lastWm = v[0], v[1]
	return nil
}

// A Timestamper gives an element its event timestamp: Time, or, when it is
// nil, UnixNano, the timestamp as int64 nanoseconds since 1970 (as
// time.Time.UnixNano), which spares the per-element path a time.Time and
// its conversion, and is always in event time's range.
type Timestamper[T any] struct {
	Time     func(T) time.Time
	UnixNano func(T) int64
}

// stamper gives elements their event timestamps, and sets aside those
// whose timestamp event time cannot hold.
type stamper[T any] struct {
	ts        Timestamper[T]
	buf       Batch[T] // the last batch stamped
	dead      Input[DeadLetter[T]]
	countDead func(int64)
	deadBuf   Batch[DeadLetter[T]]
}

// stamp fills s.buf with b's elements and their timestamps, less those out
// of range, which go to the dead letters. It returns the largest timestamp
// it kept (math.MinInt64 for none).
func (s *stamper[T]) stamp(b *Batch[T]) (maxTs int64, err error) {
	vals, ts := b.Values, s.ts.Time
	times := slices.Grow(s.buf.Times[:0], len(vals))[:len(vals)]
	maxTs = math.MinInt64
	s.buf.Values, s.buf.Times = vals, times
	if ts == nil {
		nanos := s.ts.UnixNano
		for i := range vals {
			t := nanos(vals[i])
			times[i] = t
			maxTs = max(maxTs, t)
		}
		return maxTs, nil
	}
	good := true
	for i := range vals {
		t, ok := unixNano(ts(vals[i]))
		good = good && ok
		times[i] = t
		maxTs = max(maxTs, t)
	}
	if good {
		return maxTs, nil
	}
	err = s.setAside(b)
	maxTs = math.MinInt64
	for _, t := range s.buf.Times {
		maxTs = max(maxTs, t)
	}
	return maxTs, err
}

// setAside is the rare path of a batch holding elements whose timestamps
// are out of range: it sends them to the dead letters and leaves the others
// in s.buf (a copy: b belongs to the caller).
func (s *stamper[T]) setAside(b *Batch[T]) error {
	vals, times := s.buf.Values[:0:0], s.buf.Times[:0]
	s.deadBuf.Values = s.deadBuf.Values[:0]
	for _, v := range b.Values {
		t := s.ts.Time(v)
		ns, ok := unixNano(t)
		if ok {
			vals = append(vals, v)
			times = append(times, ns)
			continue
		}
		err := fmt.Errorf("%w: %v is outside [%v, %v]", ErrTimestampRange, t,
			minEventTime.Format(time.RFC3339Nano), maxEventTime.Format(time.RFC3339Nano))
		s.deadBuf.Values = append(s.deadBuf.Values, DeadLetter[T]{Value: v, Err: err})
	}
	s.buf.Values, s.buf.Times = vals, times
	if s.countDead != nil {
		s.countDead(int64(len(s.deadBuf.Values)))
	}
	if s.dead == nil {
		return nil
	}
	return s.dead.Push(&s.deadBuf)
}

// Watermark implements Input: only the final watermark passes.
func (a *Timestamps[T]) Watermark(wm int64) error {
	if wm == MaxWatermark && a.lastWm < MaxWatermark {
		a.lastWm = wm
		return a.out.Watermark(wm)
	}
	return nil
}

// Idle implements Input.
func (a *Timestamps[T]) Idle(idle bool) error { return a.out.Idle(idle) }

// Finish implements Input.
func (a *Timestamps[T]) Finish() error { return a.out.Finish() }

func (a *Timestamps[T]) nextTimer() int64 {
	if a.idleTimeout <= 0 || a.idle {
		return math.MaxInt64
	}
	return a.lastData + a.idleTimeout
}

func (a *Timestamps[T]) onTimer(now int64) error {
	if a.idle || now < a.lastData+a.idleTimeout {
		return nil
	}
	a.idle = true
	return a.out.Idle(true)
}

// Sink calls f for every element, in the task of its subtask.
type Sink[T any] struct {
	f      func(b *Batch[T]) error
	finish func() error
}

// NewSink returns a sink that hands each batch to f and calls finish, if
// not nil, at the end of input.
func NewSink[T any](f func(b *Batch[T]) error, finish func() error) *Sink[T] {
	return &Sink[T]{f: f, finish: finish}
}

// Push implements Input.
func (s *Sink[T]) Push(b *Batch[T]) error { return s.f(b) }

// Watermark implements Input.
func (s *Sink[T]) Watermark(int64) error { return nil }

// Idle implements Input.
func (s *Sink[T]) Idle(bool) error { return nil }

// Finish implements Input.
func (s *Sink[T]) Finish() error {
	if s.finish != nil {
		return s.finish()
	}
	return nil
}
