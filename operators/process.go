package operators

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/google/btree"

	"github.com/braidstream/braid/internal/errs"
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
// has passed fires with the next watermark. A time beyond what event time
// can hold (after 2262-04-11, before 1677-09-21) is taken as its end or
// its start: a timer in the year 3000 fires at the end of input.
func (c *ProcessContext[K, R]) SetEventTimer(t time.Time) {
	c.op.timers[EventTime].set(c.key, saturatedNano(t))
}

// SetProcessingTimer asks for OnTimer when the clock reaches t (times
// beyond int64 nanoseconds saturate, as for SetEventTimer).
func (c *ProcessContext[K, R]) SetProcessingTimer(t time.Time) {
	c.op.timers[ProcessingTime].set(c.key, saturatedNano(t))
}

// DeleteEventTimer removes the current key's event timer at t, if any.
func (c *ProcessContext[K, R]) DeleteEventTimer(t time.Time) {
	c.op.timers[EventTime].delete(c.key, saturatedNano(t))
}

// DeleteProcessingTimer removes the current key's processing timer at t.
func (c *ProcessContext[K, R]) DeleteProcessingTimer(t time.Time) {
	c.op.timers[ProcessingTime].delete(c.key, saturatedNano(t))
}

// saturatedNano is t in Unix nanoseconds, clamped to the int64 range
// instead of wrapping (time.Time.UnixNano wraps: year 2300 becomes 1715).
func saturatedNano(t time.Time) int64 {
	if ns, ok := unixNano(t); ok {
		return ns
	}
	if t.Unix() < 0 {
		return math.MinInt64
	}
	return math.MaxInt64
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
//
// With checkpoints, a timer's number carries a saved bit when the store
// holds the timer (as of the last snapshot); the timers set since the
// last snapshot are listed (added), and so are the saved ones deleted or
// fired (gone), a slice append each, no map write. A timer set and fired
// between two snapshots never reaches the store.
type timerQueue[K comparable] struct {
	tree  *btree.BTreeG[timerItem[K]]
	set_  map[timerKey[K]]uint64 // registration number, | timerSaved
	seq   uint64
	track bool
	added []timerKey[K] // set since the last snapshot (some since gone)
	gone  []timerKey[K] // saved, and deleted or fired since
}

// timerSaved marks, in set_, a timer the checkpoint store holds.
const timerSaved = 1 << 63

func newTimerQueue[K comparable]() *timerQueue[K] {
	return &timerQueue[K]{
		tree: btree.NewG(32, func(a, b timerItem[K]) bool { return a.at < b.at || a.at == b.at && a.seq < b.seq }),
		set_: make(map[timerKey[K]]uint64),
	}
}

func (q *timerQueue[K]) set(k K, at int64) {
	tk := timerKey[K]{k, at}
	if _, ok := q.set_[tk]; ok {
		return
	}
	q.seq++
	q.set_[tk] = q.seq
	q.tree.ReplaceOrInsert(timerItem[K]{at, q.seq, k})
	if q.track {
		q.added = append(q.added, tk)
	}
}

func (q *timerQueue[K]) delete(k K, at int64) {
	tk := timerKey[K]{k, at}
	if seq, ok := q.set_[tk]; ok {
		delete(q.set_, tk)
		q.tree.Delete(timerItem[K]{at: at, seq: seq &^ timerSaved})
		q.left(tk, seq)
	}
}

// left notes that a timer numbered seq left the queue.
func (q *timerQueue[K]) left(tk timerKey[K], seq uint64) {
	if seq&timerSaved != 0 {
		q.gone = append(q.gone, tk)
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
	tk := timerKey[K]{it.key, it.at}
	if q.track {
		q.left(tk, q.set_[tk])
	}
	delete(q.set_, tk)
	return it, true
}

// snapshot calls set for each timer the store must be given (all when
// full, else those set since the last snapshot and still there) and del
// for each it holds that has gone, and marks them saved.
func (q *timerQueue[K]) snapshot(full bool, set func(tk timerKey[K], seq uint64), del func(tk timerKey[K])) {
	if full {
		for tk, seq := range q.set_ {
			set(tk, seq&^timerSaved)
			q.set_[tk] = seq | timerSaved
		}
	} else {
		for _, tk := range q.gone {
			if _, ok := q.set_[tk]; !ok {
				del(tk) // a timer set again is in added, and rewritten
			}
		}
		for _, tk := range q.added {
			if seq, ok := q.set_[tk]; ok && seq&timerSaved == 0 {
				set(tk, seq)
				q.set_[tk] = seq | timerSaved
			}
		}
	}
	clear(q.added)
	clear(q.gone)
	q.added, q.gone = q.added[:0], q.gone[:0]
}

// restore puts back timers from a checkpoint, in their order there (by
// time, then registration), numbered after every number restored: the
// timers of several old subtasks may share numbers. They are saved: the
// store keeps their old numbers, in the same order, and lower than any
// number given since.
func (q *timerQueue[K]) restore(items []timerItem[K]) {
	slices.SortFunc(items, func(a, b timerItem[K]) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
	})
	for _, it := range items {
		q.seq = max(q.seq, it.seq)
	}
	for _, it := range items {
		tk := timerKey[K]{it.key, it.at}
		if _, ok := q.set_[tk]; ok {
			continue
		}
		q.seq++
		q.set_[tk] = q.seq | timerSaved
		q.tree.ReplaceOrInsert(timerItem[K]{it.at, q.seq, it.key})
	}
}

// processCore is what the process operators share: the output, the
// clock, event time, the timers, the keyed state, and the context handed
// to user code.
type processCore[K comparable, R any] struct {
	em      *emitter[R]
	clock   Clock
	wm      int64
	timers  [2]*timerQueue[K]
	ctx     ProcessContext[K, R]
	timerFn func(c *ProcessContext[K, R], t TimerInfo) // the user's OnTimer; may be nil
	store   *state.Store

	// For checkpoints.
	par  int
	maxP int
	hash state.Hasher[K]
	keyC state.Codec[K]
	buf  []byte
}

// init readies the core and makes the subtask's state store; with
// checkpoints it builds the key's hash and codec (an error names the
// key type) and tracks changed timers.
func (p *processCore[K, R]) init(bc *BuildContext, out Input[R], eventTime bool) error {
	*p = processCore[K, R]{em: newEmitter(out, eventTime), clock: bc.Clock, wm: MinWatermark,
		timers: [2]*timerQueue[K]{newTimerQueue[K](), newTimerQueue[K]()}, par: bc.Parallelism, maxP: bc.MaxParallelism}
	p.ctx.op = p
	opts := []state.StoreOption{state.WithClock(bc.Clock.Now)}
	if bc.Checkpointing() {
		opts = append(opts, state.WithCheckpoints())
		var err error
		if p.hash, err = state.NewHasher[K](); err != nil {
			return err
		}
		if p.keyC, err = state.KeyCodecFor[K](); err != nil {
			return errs.Wrapf(err, "braid: key type %v", reflect.TypeFor[K]())
		}
		for _, q := range p.timers {
			q.track = true
		}
	}
	p.store = state.NewStore(bc.MaxParallelism, opts...)
	return nil
}

// Snapshot layout of a process operator's keyed state: 's' then the
// store's key for state; 't', the domain, the time (big-endian, sign bit
// flipped) and the key for a timer, whose value is its registration number
// (uvarint). The watermark is operator state.
const (
	procStateTag = 's'
	procTimerTag = 't'
	procWMName   = "watermark"
)

// snapshot writes the store's changes (or all of it), the timers set,
// deleted or fired since the last snapshot (or all), and the watermark.
func (p *processCore[K, R]) snapshot(w *StateWriter) error {
	full := w.Full()
	err := p.store.Snapshot(full, func(kg int, key, val []byte) {
		p.buf = append(append(p.buf[:0], procStateTag), key...)
		w.Set(kg, p.buf, val)
	}, func(kg int, key []byte) {
		p.buf = append(append(p.buf[:0], procStateTag), key...)
		w.Delete(kg, p.buf)
	})
	if err != nil {
		return err
	}
	var val [binary.MaxVarintLen64]byte
	for d, q := range p.timers {
		key := func(tk timerKey[K]) int {
			p.buf = append(p.buf[:0], procTimerTag, byte(d))
			p.buf = binary.BigEndian.AppendUint64(p.buf, uint64(tk.at)^1<<63)
			p.buf = p.keyC.Append(p.buf, tk.key)
			return state.KeyGroup(p.hash(tk.key), p.maxP)
		}
		q.snapshot(full, func(tk timerKey[K], seq uint64) {
			kg := key(tk)
			w.Set(kg, p.buf, binary.AppendUvarint(val[:0], seq))
		}, func(tk timerKey[K]) {
			kg := key(tk)
			w.Delete(kg, p.buf)
		})
	}
	w.SetOperator(procWMName, binary.AppendVarint(val[:0], p.wm))
	return nil
}

// restore rebuilds the store, the timer queues (processing timers then
// fire as the clock reaches them, at once for those due while the job was
// down) and the watermark.
func (p *processCore[K, R]) restore(r *StateReader) error {
	var timers [2][]timerItem[K]
	err := r.Keyed(func(kg int, key, val []byte) error {
		if len(key) == 0 {
			return fmt.Errorf("%w: an empty key", state.ErrDecode)
		}
		switch key[0] {
		case procStateTag:
			return p.store.Restore(kg, key[1:], val)
		case procTimerTag:
			if len(key) < 10 || key[1] > byte(ProcessingTime) {
				return fmt.Errorf("%w: a timer's key is cut short", state.ErrDecode)
			}
			at := int64(binary.BigEndian.Uint64(key[2:]) ^ 1<<63)
			k, err := state.DecodeExact(p.keyC, key[10:])
			if err != nil {
				return errs.Wrapf(err, "braid: a timer's key")
			}
			if own := state.KeyGroup(p.hash(k), p.maxP); own != kg {
				return fmt.Errorf("%w: a timer of key group %d is stored under key group %d", state.ErrDecode, own, kg)
			}
			seq, n := binary.Uvarint(val)
			if n <= 0 || n != len(val) {
				return fmt.Errorf("%w: a timer's number", state.ErrDecode)
			}
			timers[key[1]] = append(timers[key[1]], timerItem[K]{at: at, seq: seq, key: k})
			return nil
		}
		return fmt.Errorf("%w: a key of unknown kind %q", state.ErrDecode, key[0])
	})
	if err != nil {
		return err
	}
	for d, items := range timers {
		p.timers[d].restore(items)
	}
	wms, err := restoreScalars(r, procWMName, p.par, 1)
	if err != nil {
		return err
	}
	if wms != nil {
		p.wm = wms[0]
	}
	return nil
}

// restoreScalars reads the n varints a subtask wrote under name: the
// subtask's own when the parallelism is the one that wrote them, else the
// least of every old subtask's, each (a watermark must not run ahead of
// any input). nil when none was written.
func restoreScalars(r *StateReader, name string, par, n int) ([]int64, error) {
	decode := func(b []byte) ([]int64, error) {
		out := make([]int64, n)
		for i := range out {
			v, k := binary.Varint(b)
			if k <= 0 {
				return nil, fmt.Errorf("%w: operator state %q", state.ErrDecode, name)
			}
			out[i], b = v, b[k:]
		}
		if len(b) != 0 {
			return nil, fmt.Errorf("%w: operator state %q has %d bytes too many", state.ErrDecode, name, len(b))
		}
		return out, nil
	}
	all, err := r.OperatorAll(name)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	if len(all) == par {
		own, ok, err := r.Operator(name)
		if err != nil {
			return nil, err
		}
		if ok {
			return decode(own)
		}
	}
	var least []int64
	for _, b := range all {
		v, err := decode(b)
		if err != nil {
			return nil, err
		}
		if least == nil {
			least = v
			continue
		}
		for i := range least {
			least[i] = min(least[i], v[i])
		}
	}
	return least, nil
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
//
// Checkpoints keep the store's states, the timers of both domains and the
// watermark; each writes the keys and timers changed since the last.
type KeyedProcess[T any, K comparable, R any] struct {
	processCore[K, R]
	key func(T) K
	fn  ProcessFunc[K, T, R]
	out Input[R]
}

// NewKeyedProcess builds the operator for one subtask: setup makes the
// function, and its state in the subtask's store, once per subtask. With
// checkpoints, a state (or key) type that cannot be encoded fails it.
func NewKeyedProcess[T any, K comparable, R any](key func(T) K, setup func(*state.Store) (ProcessFunc[K, T, R], error),
	bc *BuildContext, eventTime bool, out Input[R]) (*KeyedProcess[T, K, R], error) {
	p := &KeyedProcess[T, K, R]{key: key, out: out}
	if err := p.processCore.init(bc, out, eventTime); err != nil {
		return nil, err
	}
	fn, err := setup(p.store)
	if err != nil {
		return nil, err
	}
	p.fn, p.timerFn = fn, fn.OnTimer
	bc.AddTimed(p)
	bc.AddSnapshotter(p)
	return p, nil
}

// Snapshot implements Snapshotter.
func (p *KeyedProcess[T, K, R]) Snapshot(w *StateWriter) error { return p.snapshot(w) }

// Restore implements Snapshotter.
func (p *KeyedProcess[T, K, R]) Restore(r *StateReader) error { return p.restore(r) }

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
