package stream

import (
	"fmt"

	"github.com/braidstream/braid/operators"
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
