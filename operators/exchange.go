package operators

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/braidstream/braid/state"
)

// errStopped is returned by a blocked send when the job is stopping; the
// task then reports the job's cancellation cause instead.
var errStopped = errors.New("braid: job stopping")

// An exchange carries one sending subtask's output to the tasks of the
// next operator: it fills one batch per receiver and sends it when full, at
// a watermark, at the end, or when the task flushes (its input ran dry or
// the buffer timeout passed). It is the Input at the end of a chain.
type exchange[T any] struct {
	t         *task
	links     []*link[T]
	pending   []*Batch[T]
	batchSize int
	timed     bool
	rr        int // next receiver, for rebalancing
	rebalance bool
}

func newExchange[T any](t *task, links []*link[T], batchSize int, timed, rebalance bool) *exchange[T] {
	return &exchange[T]{t: t, links: links, pending: make([]*Batch[T], len(links)), batchSize: batchSize, timed: timed, rebalance: rebalance}
}

// acquire returns receiver i's batch being filled, waiting for a credit if
// it has none. The wait is charged as Blocked to the running operator.
func (x *exchange[T]) acquire(i int) (*Batch[T], error) {
	if b := x.pending[i]; b != nil {
		return b, nil
	}
	var b *Batch[T]
	select {
	case b = <-x.links[i].free:
	default:
		start := nanotime()
		select {
		case b = <-x.links[i].free:
		case <-x.t.done:
			return nil, errStopped
		}
		x.t.chargeBlocked(nanotime() - start)
	}
	x.pending[i] = b
	return b, nil
}

func (x *exchange[T]) send(i int) error {
	b := x.pending[i]
	x.pending[i] = nil
	return x.t.sendMsg(x.links[i].to, message{kind: msgData, ch: x.links[i].ch, batch: b})
}

// Push copies the batch into the receivers' batches: all of it to one
// receiver (forward), or to the next receiver in turn (rebalance).
func (x *exchange[T]) Push(b *Batch[T]) error {
	i := 0
	if x.rebalance {
		i = x.rr
		x.rr++
		if x.rr == len(x.links) {
			x.rr = 0
		}
	}
	vals, times := b.Values, b.Times
	for len(vals) > 0 {
		p, err := x.acquire(i)
		if err != nil {
			return err
		}
		n := min(len(vals), x.batchSize-len(p.Values))
		p.Values = append(p.Values, vals[:n]...)
		vals = vals[n:]
		if x.timed {
			p.Times = append(p.Times, times[:n]...)
			times = times[n:]
		}
		if len(p.Values) >= x.batchSize {
			if err := x.send(i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *exchange[T]) flush() error {
	for i, b := range x.pending {
		if b != nil && len(b.Values) > 0 {
			if err := x.send(i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *exchange[T]) broadcast(m message) error {
	if err := x.flush(); err != nil {
		return err
	}
	for _, l := range x.links {
		m.ch = l.ch
		if err := x.t.sendMsg(l.to, m); err != nil {
			return err
		}
	}
	return nil
}

func (x *exchange[T]) Watermark(wm int64) error {
	return x.broadcast(message{kind: msgWatermark, wm: wm})
}

func (x *exchange[T]) barrier(id int64) error {
	return x.broadcast(message{kind: msgBarrier, wm: id})
}

func (x *exchange[T]) Idle(idle bool) error {
	if !idle {
		return nil // data or a watermark will say so
	}
	return x.broadcast(message{kind: msgIdle})
}

func (x *exchange[T]) Finish() error {
	if err := x.broadcast(message{kind: msgEnd}); err != nil {
		return err
	}
	// Give back the batches still held, so nothing is left pending.
	for i, b := range x.pending {
		if b != nil {
			x.pending[i] = nil
			b.reset()
			x.links[i].free <- b
		}
	}
	return nil
}

// keyFn is a KeyBy's key function as the task before the keyed operator
// runs it (the keyed exchange, or the keyed chain at parallelism 1): a
// panic in it, or a NaN key, fails the job naming the KeyBy, not the
// operator before it.
type keyFn[T any, K comparable] struct {
	key  func(T) K
	task *task
	name string // "keyBy after <operator>", for errors
	nan  bool   // K can hold a NaN: check each key
}

func newKeyFn[T any, K comparable](key func(T) K, t *task, name string) keyFn[T, K] {
	return keyFn[T, K]{key: key, task: t, name: name, nan: state.HoldsFloats[K]()}
}

// fail is the error of the KeyBy itself.
func (f *keyFn[T, K]) fail(err error, stack []byte) error {
	return &OperatorError{Operator: f.name, Subtask: f.task.subtask, Parallelism: f.task.parallelism, Err: err, Stack: stack}
}

// recoverKey turns a panic in the key function into the KeyBy's error.
func (f *keyFn[T, K]) recoverKey(err *error) {
	if r := recover(); r != nil {
		*err = f.fail(panicError{r}, debug.Stack())
	}
}

// nanKey is the error for an element whose key is (or holds) NaN.
func (f *keyFn[T, K]) nanKey(v T) error {
	return f.fail(fmt.Errorf("%w: element %v", ErrNaNKey, v), nil)
}

// fill sets ks[i] to the key of vals[i] (ks is as long as vals), in a loop
// of calls through the function value with nothing else to keep across
// them, and returns the index of the first NaN key, or -1.
func (f *keyFn[T, K]) fill(ks []K, vals []T) int {
	key := f.key
	for i := range ks {
		ks[i] = key(vals[i])
	}
	if f.nan {
		for i, k := range ks {
			if k != k {
				return i
			}
		}
	}
	return -1
}

// keyedExchange sends each record to the receiver that owns its key's key
// group. It calls the KeyBy's key function, in the sending task.
type keyedExchange[T any, K comparable] struct {
	*exchange[T]
	keyFn[T, K]
	hash  state.Hasher[K]
	maxP  int
	owner []int32 // key group -> receiver
}

func newKeyedExchange[T any, K comparable](x *exchange[T], key func(T) K, hash state.Hasher[K], maxP int, name string) *keyedExchange[T, K] {
	owner := make([]int32, maxP)
	for kg := range owner {
		owner[kg] = int32(state.SubtaskOf(kg, maxP, len(x.links)))
	}
	return &keyedExchange[T, K]{exchange: x, keyFn: newKeyFn(key, x.t, name), hash: hash, maxP: maxP, owner: owner}
}

func (x *keyedExchange[T, K]) Push(b *Batch[T]) (err error) {
	defer x.recoverKey(&err)
	if len(x.links) == 1 {
		return x.pushOne(b)
	}
	for i := range b.Values {
		v := b.Values[i]
		k := x.key(v)
		if x.nan && k != k {
			return x.nanKey(v)
		}
		r := x.owner[state.KeyGroup(x.hash(k), x.maxP)]
		p := x.pending[r]
		if p == nil {
			var err error
			if p, err = x.acquireKeyed(int(r)); err != nil {
				return err
			}
		}
		p.Values = append(p.Values, v)
		kb := p.keys.(*keyBuf[K])
		kb.k = append(kb.k, k)
		if x.timed {
			p.Times = append(p.Times, b.Times[i])
		}
		if len(p.Values) >= x.batchSize {
			if err := x.send(int(r)); err != nil {
				return err
			}
		}
	}
	return nil
}

// acquireKeyed is acquire for a batch that carries keys.
func (x *keyedExchange[T, K]) acquireKeyed(i int) (*Batch[T], error) {
	p, err := x.acquire(i)
	if err != nil {
		return nil, err
	}
	if p.keys == nil {
		p.keys = &keyBuf[K]{} // grows with the batch
	}
	return p, nil
}

// pushOne is Push for a single receiver: no routing, but the keys are
// still computed here, on the sending side, to spare the receiver.
func (x *keyedExchange[T, K]) pushOne(b *Batch[T]) error {
	vals, times := b.Values, b.Times
	for len(vals) > 0 {
		p, err := x.acquireKeyed(0)
		if err != nil {
			return err
		}
		n := min(len(vals), x.batchSize-len(p.Values))
		p.Values = append(p.Values, vals[:n]...)
		// The keys go straight into place.
		kb := p.keys.(*keyBuf[K])
		from := len(kb.k)
		kb.k = slices.Grow(kb.k, n)[:from+n]
		if i := x.fill(kb.k[from:], vals[:n]); i >= 0 {
			clear(kb.k[from+i:])
			kb.k = kb.k[:from+i]
			p.Values = p.Values[:from+i]
			return x.nanKey(vals[i])
		}
		vals = vals[n:]
		if x.timed {
			p.Times = append(p.Times, times[:n]...)
			times = times[n:]
		}
		if len(p.Values) >= x.batchSize {
			if err := x.send(0); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyedChain is the keyed edge between two operators of parallelism 1
// chained into one task: there is nothing to route, so it only computes
// each record's key, as the keyed exchange would, and hands the batch on
// with its keys, sharing its values and times (no copy, no goroutine hop).
// A panic in the key function, or a NaN key, fails the job naming the
// KeyBy; a panic downstream names the operator it happened in.
type keyedChain[T any, K comparable] struct {
	keyFn[T, K]
	next Input[T]
	kb   keyBuf[K]
	b    Batch[T]
}

func newKeyedChain[T any, K comparable](next Input[T], t *task, key func(T) K, name string) *keyedChain[T, K] {
	c := &keyedChain[T, K]{keyFn: newKeyFn(key, t, name), next: next}
	c.b.keys = &c.kb
	return c
}

// keys fills c.kb with the keys of vals, or returns the KeyBy's error.
func (c *keyedChain[T, K]) keys(vals []T) (err error) {
	defer c.recoverKey(&err)
	c.kb.k = slices.Grow(c.kb.k[:0], len(vals))[:len(vals)]
	if i := c.fill(c.kb.k, vals); i >= 0 {
		return c.nanKey(vals[i])
	}
	return nil
}

// Push implements Input.
func (c *keyedChain[T, K]) Push(b *Batch[T]) error {
	err := c.keys(b.Values)
	if err == nil {
		c.b.Values, c.b.Times = b.Values, b.Times
		err = c.next.Push(&c.b)
		c.b.Values, c.b.Times = nil, nil // b's memory is the caller's
	}
	c.kb.resetKeys()
	return err
}

func (c *keyedChain[T, K]) Watermark(wm int64) error { return c.next.Watermark(wm) }
func (c *keyedChain[T, K]) Idle(idle bool) error     { return c.next.Idle(idle) }
func (c *keyedChain[T, K]) Finish() error            { return c.next.Finish() }
