package operators

import (
	"math"
	"time"

	"github.com/google/btree"

	"github.com/braidstream/braid/state"
)

// TimeDomain says which clock a timer follows.
type TimeDomain uint8

const (
	// EventTime timers fire when the watermark reaches their time.
	EventTime TimeDomain = iota
	// ProcessingTime timers fire when the clock reaches their time.
	ProcessingTime
)

// TimerInfo is the timer a process function's OnTimer is called for.
type TimerInfo struct {
	At     time.Time
	Domain TimeDomain
}

// ProcessFunc is a process function on a keyed stream: OnElement for each
// element, OnTimer (may be nil) for each timer that fires. Both run on the
// operator's goroutine, one call at a time, with a context for the current
// key.
type ProcessFunc[K comparable, T, R any] struct {
	OnElement func(c *ProcessContext[K, R], v T)
	OnTimer   func(c *ProcessContext[K, R], t TimerInfo)
}

// ProcessContext is what a process function sees: the current key, the
// element's timestamp or the timer's time, event and processing time,
// timers for the current key, and the output.
//
// State is read and written through the states made at setup, with
// c.Key(): only the current key's state may be used, as in Flink.
type ProcessContext[K comparable, R any] struct {
	op  *processCore[K, R]
	key K
	ts  int64
}

// Key is the key of the element or timer being processed.
func (c *ProcessContext[K, R]) Key() K { return c.key }

// Timestamp is the element's event timestamp, or the firing timer's time,
// in UTC; false in processing time for elements.
func (c *ProcessContext[K, R]) Timestamp() (time.Time, bool) {
	if c.ts == math.MinInt64 {
		return time.Time{}, false
	}
	return time.Unix(0, c.ts).UTC(), true
}

// Watermark is the current event time (UTC): no element at or before it is
// expected any more.
func (c *ProcessContext[K, R]) Watermark() time.Time { return time.Unix(0, c.op.wm).UTC() }

// Now is the current processing time, from the job's clock.
func (c *ProcessContext[K, R]) Now() time.Time { return c.op.clock.Now() }

// Emit sends r downstream. In event time it carries the element's
// timestamp, or the event timer's time; an output of a processing-time
// timer carries the current watermark.
func (c *ProcessContext[K, R]) Emit(r R) {
	ts := c.ts
	if ts == math.MinInt64 {
		ts = c.op.wm
	}
	c.op.em.at(ts)
	c.op.em.emit(r)
}

// SetEventTimer asks for OnTimer when the watermark reaches t. A timer is
// per key and time: setting it twice fires it once. A time the watermark
// has passed fires with the next watermark.
func (c *ProcessContext[K, R]) SetEventTimer(t time.Time) {
	c.op.timers[EventTime].set(c.key, t.UnixNano())
}

// SetProcessingTimer asks for OnTimer when the clock reaches t.
func (c *ProcessContext[K, R]) SetProcessingTimer(t time.Time) {
	c.op.timers[ProcessingTime].set(c.key, t.UnixNano())
}

// DeleteEventTimer removes the current key's event timer at t, if any.
func (c *ProcessContext[K, R]) DeleteEventTimer(t time.Time) {
	c.op.timers[EventTime].delete(c.key, t.UnixNano())
}

// DeleteProcessingTimer removes the current key's processing timer at t.
func (c *ProcessContext[K, R]) DeleteProcessingTimer(t time.Time) {
	c.op.timers[ProcessingTime].delete(c.key, t.UnixNano())
}

type timerKey[K comparable] struct {
	key K
	at  int64
}

type timerItem[K comparable] struct {
	at  int64
	seq uint64
	key K
}

// timerQueue is a set of (key, time) timers in time order (ties by
// registration), each at most once.
type timerQueue[K comparable] struct {
	tree *btree.BTreeG[timerItem[K]]
	set_ map[timerKey[K]]uint64
	seq  uint64
}

func newTimerQueue[K comparable]() *timerQueue[K] {
	return &timerQueue[K]{
		tree: btree.NewG(32, func(a, b timerItem[K]) bool { return a.at < b.at || a.at == b.at && a.seq < b.seq }),
		set_: make(map[timerKey[K]]uint64),
	}
}

func (q *timerQueue[K]) set(k K, at int64) {
	if _, ok := q.set_[timerKey[K]{k, at}]; ok {
		return
	}
	q.seq++
	q.set_[timerKey[K]{k, at}] = q.seq
	q.tree.ReplaceOrInsert(timerItem[K]{at, q.seq, k})
}

func (q *timerQueue[K]) delete(k K, at int64) {
	if seq, ok := q.set_[timerKey[K]{k, at}]; ok {
		delete(q.set_, timerKey[K]{k, at})
		q.tree.Delete(timerItem[K]{at: at, seq: seq})
	}
}

func (q *timerQueue[K]) next() int64 {
	if it, ok := q.tree.Min(); ok {
		return it.at
	}
	return math.MaxInt64
}

// pop removes and returns the earliest timer at or before t.
func (q *timerQueue[K]) pop(t int64) (timerItem[K], bool) {
	it, ok := q.tree.Min()
	if !ok || it.at > t {
		return it, false
	}
	q.tree.DeleteMin()
	delete(q.set_, timerKey[K]{it.key, it.at})
	return it, true
}

// processCore is what the process operators share: the output, the
// clock, event time, the timers, and the context handed to user code.
type processCore[K comparable, R any] struct {
	em      *emitter[R]
	clock   Clock
	wm      int64
	timers  [2]*timerQueue[K]
	ctx     ProcessContext[K, R]
	timerFn func(c *ProcessContext[K, R], t TimerInfo) // the user's OnTimer; may be nil
}

func (p *processCore[K, R]) init(out Input[R], clock Clock, eventTime bool, timerFn func(*ProcessContext[K, R], TimerInfo)) {
	*p = processCore[K, R]{em: newEmitter(out, eventTime), clock: clock, wm: MinWatermark,
		timers: [2]*timerQueue[K]{newTimerQueue[K](), newTimerQueue[K]()}, timerFn: timerFn}
	p.ctx.op = p
}

// processBatch calls on for each element of b with the context set to its
// key and timestamp (the sender's keys when it sent them).
func processBatch[T any, K comparable, R any](p *processCore[K, R], b *Batch[T], key func(T) K, on func(*ProcessContext[K, R], T)) error {
	keys := keysOf[T, K](b)
	for i, v := range b.Values {
		if keys != nil {
			p.ctx.key = keys[i]
		} else {
			p.ctx.key = key(v)
		}
		p.ctx.ts = math.MinInt64
		if b.Times != nil {
			p.ctx.ts = b.Times[i]
		}
		on(&p.ctx, v)
	}
	return p.em.flush()
}

// fire calls timerFn for every timer of domain d due by upTo, in order.
func (p *processCore[K, R]) fire(d TimeDomain, upTo int64) error {
	for {
		it, ok := p.timers[d].pop(upTo)
		if !ok {
			break
		}
		p.ctx.key = it.key
		p.ctx.ts = math.MinInt64
		if d == EventTime {
			p.ctx.ts = it.at
		}
		if p.timerFn != nil {
			p.timerFn(&p.ctx, TimerInfo{At: time.Unix(0, it.at).UTC(), Domain: d})
		}
	}
	return p.em.flush()
}

// KeyedProcess runs a ProcessFunc on a keyed stream, with keyed state
// made at setup in the subtask's state.Store, and timers per key and time
// in each domain, fired in time order, each once. Event timers fire as the
// watermark passes them, before the watermark goes on; at the end of input
// the final watermark fires every event timer left. Processing timers left
// at the end do not fire, as in Flink.
type KeyedProcess[T any, K comparable, R any] struct {
	processCore[K, R]
	key   func(T) K
	fn    ProcessFunc[K, T, R]
	out   Input[R]
	store *state.Store
}

// NewKeyedProcess builds the operator for one subtask: setup makes the
// function, and its state in store, once per subtask.
func NewKeyedProcess[T any, K comparable, R any](key func(T) K, setup func(*state.Store) (ProcessFunc[K, T, R], error),
	bc *BuildContext, eventTime bool, out Input[R]) (*KeyedProcess[T, K, R], error) {
	bc.Unsupported("process function") // snapshots pending (issue 8)
	store := state.NewStore(bc.MaxParallelism)
	fn, err := setup(store)
	if err != nil {
		return nil, err
	}
	p := &KeyedProcess[T, K, R]{key: key, fn: fn, out: out, store: store}
	p.processCore.init(out, bc.Clock, eventTime, fn.OnTimer)
	bc.AddTimed(p)
	return p, nil
}

// Push implements Input.
func (p *KeyedProcess[T, K, R]) Push(b *Batch[T]) error {
	return processBatch(&p.processCore, b, p.key, p.fn.OnElement)
}

// Watermark implements Input.
func (p *KeyedProcess[T, K, R]) Watermark(wm int64) error {
	p.wm = wm
	if err := p.fire(EventTime, wm); err != nil {
		return err
	}
	return p.out.Watermark(wm)
}

// Idle implements Input.
func (p *KeyedProcess[T, K, R]) Idle(idle bool) error { return p.out.Idle(idle) }

// Finish implements Input.
func (p *KeyedProcess[T, K, R]) Finish() error {
	if err := p.em.flush(); err != nil {
		return err
	}
	return p.out.Finish()
}

func (p *KeyedProcess[T, K, R]) nextTimer() int64 { return p.timers[ProcessingTime].next() }

func (p *KeyedProcess[T, K, R]) onTimer(now int64) error { return p.fire(ProcessingTime, now) }
