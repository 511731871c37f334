package operators

import "math"

// DefaultBatchSize is how many records a batch holds when the job does not
// set it.
const DefaultBatchSize = 4096

// MaxWatermark is the watermark a finished input carries: every event-time
// window fires when it arrives, as at the end of a bounded input in Flink.
const MaxWatermark int64 = math.MaxInt64

// MinWatermark is the watermark before any has arrived.
const MinWatermark int64 = math.MinInt64

// A Batch is a run of records moving through the job. Values holds the
// elements; Times, when not nil, holds each element's event timestamp in
// nanoseconds (a stream without timestamps has nil Times).
//
// A batch handed to Input.Push belongs to the caller and is valid only
// during the call: an operator that keeps elements copies them. This lets
// every producer reuse its batches, so a steady job allocates nothing per
// batch.
type Batch[T any] struct {
	Values []T
	Times  []int64

	// keys, on a batch sent over a keyed edge, is a *keyBuf[K] holding
	// each value's key, computed by the sender (which needs it to route), so
	// the keyed operator that receives it need not call the key function
	// again.
	keys keysResetter
}

// Len is the number of records in the batch.
func (b *Batch[T]) Len() int { return len(b.Values) }

// reset empties the batch for reuse, keeping its capacity.
func (b *Batch[T]) reset() {
	b.Values = b.Values[:0]
	if b.Times != nil {
		b.Times = b.Times[:0]
	}
	if b.keys != nil {
		b.keys.resetKeys()
	}
}

// keysResetter handles a batch's keys without knowing their type.
type keysResetter interface {
	// resetKeys empties the keys, keeping their memory.
	resetKeys()
	// view returns keys [i, j), sharing their memory, in scratch when it
	// is a keyBuf of the same type (nil makes one).
	view(i, j int, scratch keysResetter) keysResetter
}

// keyBuf holds the keys of a keyed batch, parallel to its values.
type keyBuf[K any] struct{ k []K }

func (b *keyBuf[K]) resetKeys() { clear(b.k); b.k = b.k[:0] }

func (b *keyBuf[K]) view(i, j int, scratch keysResetter) keysResetter {
	v, ok := scratch.(*keyBuf[K])
	if !ok {
		v = &keyBuf[K]{}
	}
	v.k = b.k[i:j]
	return v
}

// keysOf returns the batch's keys when the sender computed them (one per
// value), or nil.
func keysOf[T any, K comparable](b *Batch[T]) []K {
	if kb, ok := b.keys.(*keyBuf[K]); ok && len(kb.k) == len(b.Values) {
		return kb.k
	}
	return nil
}

// An Input is the receiving side of an operator, or of the exchange that
// carries its output to other tasks. The runtime calls its methods from the
// operator's task goroutine only, in stream order: data batches and
// watermarks interleave exactly as they travel, and Finish comes last.
type Input[T any] interface {
	// Push processes a batch. b is valid only during the call.
	Push(b *Batch[T]) error
	// Watermark advances event time: no element with a timestamp at or
	// before wm is expected any more. Watermarks never go backwards.
	Watermark(wm int64) error
	// Idle reports that the input has become idle (true): it sends no data
	// and should not hold back the watermark downstream. Data or a
	// watermark make it active again.
	Idle(idle bool) error
	// Finish is called once, at the end of input, after a final
	// Watermark(MaxWatermark). An operator emits what it still holds and
	// finishes its output.
	Finish() error
}
