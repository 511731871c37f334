package stream

import (
	"fmt"

	"github.com/braidstream/braid/operators"
	"github.com/braidstream/braid/state"
)

// ConnectedStreams are two streams, possibly of different types, that one
// operator reads together: CoMap, CoFlatMap. Its event time is the least of
// the two inputs' (an idle input does not count), and it ends when both
// have.
type ConnectedStreams[A, B any] struct {
	a *Stream[A]
	b *Stream[B]
}

// Connect joins a and b into one two-input operator's inputs. Both must
// carry event timestamps, or neither.
func Connect[A, B any](a *Stream[A], b *Stream[B]) *ConnectedStreams[A, B] {
	if a.env != b.env {
		a.env.fail(fmt.Errorf("braid: connect: stream %q belongs to another Env", b.node.Name))
	}
	if a.eventTime != b.eventTime {
		a.env.fail(fmt.Errorf("braid: connect: stream %q has event timestamps and %q has not (or the other way): give both WithTimestamps", a.node.Name, b.node.Name))
	}
	return &ConnectedStreams[A, B]{a: a, b: b}
}

func (c *ConnectedStreams[A, B]) node(n *operators.Node) *operators.Node {
	n.Inputs = []operators.Edge{
		{From: c.a.node, Input: 0, Partition: operators.Forward()},
		{From: c.b.node, Input: 1, Partition: operators.Forward()},
	}
	return c.a.env.add(n)
}

// CoMap maps the elements of the first stream with fa and those of the
// second with fb into one stream. Timestamps are kept.
func CoMap[A, B, R any](c *ConnectedStreams[A, B], fa func(A) R, fb func(B) R) *Stream[R] {
	return coFlatMap(c, "comap", func(a A, emit func(R)) { emit(fa(a)) }, func(b B, emit func(R)) { emit(fb(b)) })
}

// CoFlatMap calls fa for the elements of the first stream and fb for those
// of the second, each with a function that emits any number of outputs
// into one stream; outputs take their input's timestamp.
func CoFlatMap[A, B, R any](c *ConnectedStreams[A, B], fa func(A, func(R)), fb func(B, func(R))) *Stream[R] {
	return coFlatMap(c, "coflatmap", fa, fb)
}

func coFlatMap[A, B, R any](c *ConnectedStreams[A, B], name string, fa func(A, func(R)), fb func(B, func(R))) *Stream[R] {
	n := c.node(operators.NewOpNode[R](name, func(bc *operators.BuildContext, out any) ([]any, error) {
		return operators.NewCoMap(fa, fb, out.(operators.Input[R])).Inputs(), nil
	}))
	return newStream[R](c.a.env, n, c.a.eventTime)
}

// KeyedConnectedStreams are two keyed streams with the same key type read
// by one operator, element of either side going to the subtask that owns
// its key, so that the two share keyed state and timers per key.
type KeyedConnectedStreams[K comparable, A, B any] struct {
	a *KeyedStream[K, A]
	b *KeyedStream[K, B]
}

// ConnectKeyed connects two keyed streams for CoProcess or CoReduce. Both
// must carry event timestamps, or neither.
func ConnectKeyed[K comparable, A, B any](a *KeyedStream[K, A], b *KeyedStream[K, B]) *KeyedConnectedStreams[K, A, B] {
	Connect(a.s, b.s) // the same checks
	return &KeyedConnectedStreams[K, A, B]{a: a, b: b}
}

// CoProcessFunc is a process function on two keyed streams (see CoProcess).
//
// Its fields and methods: go doc github.com/braidstream/braid/operators.CoProcessFunc
type CoProcessFunc[K comparable, A, B, R any] = operators.CoProcessFunc[K, A, B, R]

// CoProcess runs a process function on two keyed streams: OnA and OnB for
// the elements of each, OnTimer for timers, all sharing the keyed state
// setup makes in the subtask's store (see Process). Its event time is the
// least of the two inputs'.
func CoProcess[K comparable, A, B, R any](c *KeyedConnectedStreams[K, A, B], setup func(st *state.Store) (CoProcessFunc[K, A, B, R], error)) *Stream[R] {
	env, eventTime := c.a.s.env, c.a.s.eventTime
	keyA, keyB := c.a.key, c.b.key
	n := operators.NewOpNode[R]("coprocess", func(bc *operators.BuildContext, out any) ([]any, error) {
		op, err := operators.NewKeyedCoProcess(keyA, keyB, setup, bc, eventTime, out.(operators.Input[R]))
		if err != nil {
			return nil, err
		}
		return op.Inputs(), nil
	})
	n.Inputs = []operators.Edge{c.a.edge(), c.b.edge()}
	n.Inputs[1].Input = 1
	return newStream[R](env, env.add(n), eventTime)
}

// CoReduce keeps, per key, a rolling reduce of each stream (reduceA over
// the first's elements, reduceB over the second's) and emits, for every
// element, the new reduced value of its side mapped to the output type (as
// Flink 0.9's CoReduceFunction: reduce1, reduce2, map1, map2).
func CoReduce[K comparable, A, B, R any](c *KeyedConnectedStreams[K, A, B], reduceA func(A, A) A, reduceB func(B, B) B,
	mapA func(A) R, mapB func(B) R) *Stream[R] {
	return CoProcess(c, func(st *state.Store) (CoProcessFunc[K, A, B, R], error) {
		ra, err := state.NewValue[K, A](st, "coreduce left")
		if err != nil {
			return CoProcessFunc[K, A, B, R]{}, err
		}
		rb, err := state.NewValue[K, B](st, "coreduce right")
		if err != nil {
			return CoProcessFunc[K, A, B, R]{}, err
		}
		return CoProcessFunc[K, A, B, R]{
			OnA: func(ctx *ProcessContext[K, R], a A) {
				if prev, ok := ra.Get(ctx.Key()); ok {
					a = reduceA(prev, a)
				}
				ra.Set(ctx.Key(), a)
				ctx.Emit(mapA(a))
			},
			OnB: func(ctx *ProcessContext[K, R], b B) {
				if prev, ok := rb.Get(ctx.Key()); ok {
					b = reduceB(prev, b)
				}
				rb.Set(ctx.Key(), b)
				ctx.Emit(mapB(b))
			},
		}, nil
	}).Name("coreduce")
}
