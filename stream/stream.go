package stream

import (
	"fmt"
	"time"

	"github.com/braidstream/braid/internal/errs"
	"github.com/braidstream/braid/operators"
	"github.com/braidstream/braid/state"
)

// A Stream is a typed stream of elements in a job. Methods that keep the
// element type are methods; transformations that change it are functions
// (Map, FlatMap, KeyBy), since Go methods cannot take type parameters.
type Stream[T any] struct {
	env  *Env
	node *operators.Node
	// eventTime reports whether elements carry event timestamps.
	eventTime bool
	// rejects reports whether the operator can set elements aside into a
	// dead-letter side output (its only side), made when DeadLetters asks.
	rejects bool
}

func newStream[T any](env *Env, n *operators.Node, eventTime bool) *Stream[T] {
	n.Timed = eventTime
	return &Stream[T]{env: env, node: n, eventTime: eventTime}
}

// Env is the environment the stream belongs to.
func (s *Stream[T]) Env() *Env { return s.env }

// Name names the operator that produces the stream, as shown in errors,
// logs and metrics.
func (s *Stream[T]) Name(name string) *Stream[T] { s.node.Name = name; return s }

// SetParallelism sets the number of subtasks of the operator that produces
// the stream; 0 means the job's (WithParallelism). Sources that cannot be
// split stay at 1.
func (s *Stream[T]) SetParallelism(n int) *Stream[T] { s.node.Parallelism = n; return s }

// Uid fixes the id under which checkpoints keep the state of the operator
// that produces the stream. Without one, the id derives from the
// operator's name and what feeds it, so adding or removing an unrelated
// operator keeps it, but renaming it or changing what feeds it does not.
// Operators that share a name and an input (two Sums over one window,
// two Filters of one stream) are told apart only by the order the program
// declares them in, and by their number: adding or removing one of them
// changes the ids of all of them (a restore then refuses their state with
// ErrUnmappedState rather than give it to the wrong one), and swapping
// two of them swaps their state. A job with checkpoints logs a warning
// for such operators with state. Give stateful operators a Uid (or
// distinct names) to keep their state across changes to the job. Uids
// must be unique in a job.
func (s *Stream[T]) Uid(uid string) *Stream[T] { s.node.UID = uid; return s }

// StartNewChain runs the operator that produces the stream at the head of
// a task of its own (a goroutine per subtask) instead of in the task of
// the operator before it, as Flink's startNewChain. Operators chain when
// nothing needs routing between them: a forward edge at equal parallelism,
// or a KeyBy between two operators of parallelism 1. Chained, an element
// goes from one to the next by a call, with no copy and no hand-off
// between goroutines: the least CPU per element. A new chain pipelines the
// two over two goroutines instead, which can shorten the wall time of a
// job whose machine has a core to spare, for more CPU in all. Results are
// the same. A side output (a window's Late, DeadLetters) stays in the
// task of the operator it comes from: start the chain at the operator
// after it.
func (s *Stream[T]) StartNewChain() *Stream[T] { s.node.NoChain = true; return s }

func edge(from *operators.Node) operators.Edge {
	return operators.Edge{From: from, Partition: operators.Forward()}
}

// Map returns the stream of f applied to each element. Timestamps are
// kept.
func Map[T, U any](s *Stream[T], f func(T) U) *Stream[U] {
	n := operators.NewOpNode[U]("map", func(bc *operators.BuildContext, out any) ([]any, error) {
		return []any{operators.NewMap(f, out.(operators.Input[U]))}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	return newStream[U](s.env, s.env.add(n), s.eventTime)
}

// FlatMap calls f for each element with a function that emits any number
// of outputs; each output takes its input's timestamp.
func FlatMap[T, U any](s *Stream[T], f func(v T, emit func(U))) *Stream[U] {
	n := operators.NewOpNode[U]("flatmap", func(bc *operators.BuildContext, out any) ([]any, error) {
		return []any{operators.NewFlatMap(f, out.(operators.Input[U]))}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	return newStream[U](s.env, s.env.add(n), s.eventTime)
}

// A DeadLetter is an element (or a piece of input) that was set aside
// instead of failing the job, with the reason: an element a user function
// rejected (MapErr), input a source could not turn into an element (a line
// over TextFile's length limit), an element whose timestamp event time
// cannot hold (WithTimestamps). Its String is "value: error".
//
// Its fields and methods: go doc github.com/braidstream/braid/operators.DeadLetter
type DeadLetter[T any] = operators.DeadLetter[T]

// DeadLetters returns what the operator that produces s set aside, each
// with its error, as a stream like any other (it ends with the job and
// carries its watermarks):
//   - for a source: input it could not deliver as elements, such as a line
//     over TextFile's or SocketText's length limit, or a line cut short by
//     a lost connection;
//   - for WithTimestamps and WithWatermarks: elements whose timestamp lies
//     outside 1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z (UTC), which
//     event time (int64 nanoseconds since 1970) cannot hold. They are never
//     put into a wrong window.
//
// They are counted in the operator's Metrics.DeadLetters whether or not
// they are read. MapErr returns its own dead letters; other operators set
// nothing aside, and asking them for dead letters is a build error.
func DeadLetters[T any](s *Stream[T]) *Stream[DeadLetter[T]] {
	if !s.rejects {
		s.env.fail(fmt.Errorf("braid: DeadLetters of %q: only sources and WithTimestamps set elements aside (MapErr returns its own dead letters)", s.node.Name))
		return newStream[DeadLetter[T]](s.env, s.node, false)
	}
	if len(s.node.Sides) == 0 {
		s.env.add(operators.NewSideNode[DeadLetter[T]]("dead letters of "+s.node.Name, s.node))
	}
	return newStream[DeadLetter[T]](s.env, s.node.Sides[0], false)
}

// MapErr returns the stream of f applied to each element, and the stream of
// the elements for which f returned an error (the dead letters), each with
// its error. A failing element never stops the job; it is counted in the
// operator's DeadLetters metric. Nothing need read the dead letters.
func MapErr[T, U any](s *Stream[T], f func(T) (U, error)) (*Stream[U], *Stream[DeadLetter[T]]) {
	n := operators.NewOpNode[U]("map", nil)
	side := operators.NewSideNode[DeadLetter[T]]("dead letters", n)
	n.SetBuild(func(bc *operators.BuildContext, out any) ([]any, error) {
		dl := bc.Side(0).(operators.Input[DeadLetter[T]])
		var buf operators.Batch[DeadLetter[T]]
		dead := func(v T, err error) error {
			buf.Values = append(buf.Values[:0], DeadLetter[T]{Value: v, Err: err})
			return dl.Push(&buf) // a batch of one: dead letters are the rare path
		}
		return []any{operators.NewMapErr(f, dead, bc.CountDeadLetters, out.(operators.Input[U]))}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	s.env.add(n)
	s.env.add(side)
	return newStream[U](s.env, n, s.eventTime), newStream[DeadLetter[T]](s.env, side, false)
}

// Filter returns the stream of the elements for which keep returns true.
func (s *Stream[T]) Filter(keep func(T) bool) *Stream[T] {
	n := operators.NewOpNode[T]("filter", func(bc *operators.BuildContext, out any) ([]any, error) {
		return []any{operators.NewFilter(keep, out.(operators.Input[T]))}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	return newStream[T](s.env, s.env.add(n), s.eventTime)
}

// Merge returns the union of s and others, which must all carry event
// timestamps or none. Order between the inputs is not defined; the
// watermark is the least of theirs.
func (s *Stream[T]) Merge(others ...*Stream[T]) *Stream[T] {
	n := operators.NewOpNode[T]("merge", func(bc *operators.BuildContext, out any) ([]any, error) {
		return []any{out}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	for _, o := range others {
		if o.env != s.env {
			s.env.fail(fmt.Errorf("braid: merge: stream %q belongs to another Env", o.node.Name))
		}
		if o.eventTime != s.eventTime {
			s.env.fail(fmt.Errorf("braid: merge: stream %q has event timestamps and %q has not (or the other way): give both WithTimestamps", s.node.Name, o.node.Name))
		}
		n.Inputs = append(n.Inputs, edge(o.node))
	}
	return newStream[T](s.env, s.env.add(n), s.eventTime)
}

// Rebalance spreads the stream's batches evenly over the next operator's
// subtasks.
func (s *Stream[T]) Rebalance() *Stream[T] {
	n := operators.NewOpNode[T]("rebalance", func(bc *operators.BuildContext, out any) ([]any, error) {
		return []any{out}, nil
	})
	n.Inputs = []operators.Edge{{From: s.node, Partition: operators.Rebalance()}}
	return newStream[T](s.env, s.env.add(n), s.eventTime)
}

// A WatermarkStrategy says how event time advances for a stream.
type WatermarkStrategy struct {
	bound, idle time.Duration
}

// BoundedOutOfOrderness expects elements to arrive at most d later than
// the latest timestamp seen: the watermark is that timestamp minus d
// (minus 1ns, as Flink's BoundedOutOfOrdernessWatermarks), and elements
// later than that, beyond a window's allowed lateness, are late.
func BoundedOutOfOrderness(d time.Duration) WatermarkStrategy { return WatermarkStrategy{bound: d} }

// MonotonousTimestamps is BoundedOutOfOrderness(0): for streams whose
// timestamps never go back.
func MonotonousTimestamps() WatermarkStrategy { return WatermarkStrategy{} }

// WithIdleness declares an input idle after d without elements, so that it
// does not hold back event time downstream (when one of several sources, or
// one partition, goes quiet). Zero, the default, never declares it idle.
func (w WatermarkStrategy) WithIdleness(d time.Duration) WatermarkStrategy { w.idle = d; return w }

// WithTimestamps switches the stream to event time: each element's
// timestamp is ts(element), and watermarks follow wm. It runs in the
// subtasks of the operator before it, chained to it.
//
// When watermarks come: after each batch that its task takes in (a
// source's read, up to the batch size; or a batch from another task), the
// largest timestamp seen so far minus the bound minus 1ns, if that has
// advanced. So a bounded input read in one batch makes no element late,
// and WithBatchSize(1) gives a watermark after every element. Watermarks
// from before it are replaced, but for the final one at the end of input.
// For a watermark per element or on a period of processing time, use
// WithWatermarks.
func (s *Stream[T]) WithTimestamps(ts func(T) time.Time, wm WatermarkStrategy) *Stream[T] {
	return s.withTimestamps("WithTimestamps", operators.Timestamper[T]{Time: ts}, wm)
}

// WithTimestampsUnixNano is WithTimestamps with each element's timestamp
// given as int64 nanoseconds since 1970 (what time.Time.UnixNano returns),
// for elements that hold their time so: the per-element path then makes
// no time.Time and converts none. Every int64 is an instant event time can
// hold, so no element is set aside for its timestamp.
func (s *Stream[T]) WithTimestampsUnixNano(ts func(T) int64, wm WatermarkStrategy) *Stream[T] {
	return s.withTimestamps("WithTimestampsUnixNano", operators.Timestamper[T]{UnixNano: ts}, wm)
}

func (s *Stream[T]) withTimestamps(method string, ts operators.Timestamper[T], wm WatermarkStrategy) *Stream[T] {
	if ts.Time == nil && ts.UnixNano == nil {
		s.env.fail(fmt.Errorf("braid: %s on %q: the timestamp function is nil", method, s.node.Name))
	}
	if wm.bound < 0 || wm.idle < 0 {
		s.env.fail(fmt.Errorf("braid: %s on %q: out-of-orderness and idleness must not be negative (got %v, %v)", method, s.node.Name, wm.bound, wm.idle))
	}
	clock := s.env.clock()
	n := operators.NewOpNode[T]("timestamps", nil)
	n.SetBuild(func(bc *operators.BuildContext, out any) ([]any, error) {
		var dead operators.Input[DeadLetter[T]]
		if len(n.Sides) > 0 {
			dead = bc.Side(0).(operators.Input[DeadLetter[T]])
		}
		op := operators.NewTimestamps(ts, int64(wm.bound), int64(wm.idle), clock, out.(operators.Input[T]), dead, bc.CountDeadLetters)
		op.Checkpoint(bc)
		if wm.idle > 0 {
			bc.AddTimed(op)
		}
		op.EmitAtBatchEnd()
		bc.AtBatchEnd(op.EndBatch)
		return []any{op}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	n.InheritParallelism = true
	st := newStream[T](s.env, s.env.add(n), true)
	st.rejects = true
	return st
}

// A WatermarkGenerator decides how event time advances for a stream, in
// the shape of Flink's: OnEvent sees every element and its timestamp and
// may emit a watermark at once (punctuated watermarks: a marker element
// says everything up to it has come), which takes effect right after that
// element; OnPeriodicEmit runs every watermark interval of processing time
// (WithWatermarkInterval, default 200ms, by the Env's clock) and may emit
// one from what was seen (periodic watermarks). Either may mark the input
// idle. Watermarks never go back: one that does not advance is ignored.
//
// With checkpoints, a generator whose watermarks depend on what it saw
// before implements encoding.BinaryMarshaler and BinaryUnmarshaler to
// have its state kept, so that a restored job emits the watermarks of an
// uninterrupted run.
//
// Its fields and methods: go doc github.com/braidstream/braid/operators.WatermarkGenerator
type WatermarkGenerator[T any] = operators.WatermarkGenerator[T]

// A WatermarkOutput takes a WatermarkGenerator's watermarks and idleness.
//
// Its fields and methods: go doc github.com/braidstream/braid/operators.WatermarkOutput
type WatermarkOutput = operators.WatermarkOutput

// WithWatermarks switches the stream to event time with timestamps from ts
// and watermarks from a generator of the user's: newGen makes one per
// subtask. Elements whose timestamp event time cannot hold go to the
// stream's DeadLetters, as with WithTimestamps. It runs in the subtasks of
// the operator before it.
func (s *Stream[T]) WithWatermarks(ts func(T) time.Time, newGen func() WatermarkGenerator[T]) *Stream[T] {
	if ts == nil {
		s.env.fail(fmt.Errorf("braid: WithWatermarks on %q: the timestamp function is nil", s.node.Name))
	}
	if newGen == nil {
		s.env.fail(fmt.Errorf("braid: WithWatermarks on %q: the generator constructor is nil", s.node.Name))
	}
	clock, interval := s.env.clock(), s.env.wmInterval
	n := operators.NewOpNode[T]("watermarks", nil)
	n.SetBuild(func(bc *operators.BuildContext, out any) ([]any, error) {
		var dead operators.Input[DeadLetter[T]]
		if len(n.Sides) > 0 {
			dead = bc.Side(0).(operators.Input[DeadLetter[T]])
		}
		op := operators.NewGeneratedWatermarks(operators.Timestamper[T]{Time: ts}, newGen(), interval, clock, out.(operators.Input[T]), dead, bc.CountDeadLetters)
		op.Checkpoint(bc)
		bc.AddTimed(op)
		return []any{op}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	n.InheritParallelism = true
	st := newStream[T](s.env, s.env.add(n), true)
	st.rejects = true
	return st
}

// A KeyedStream is a stream partitioned by key: every element with the
// same key goes to the same subtask of the next operator, through the key
// groups that make state rescalable.
type KeyedStream[K comparable, T any] struct {
	s    *Stream[T]
	key  func(T) K
	hash state.Hasher[K]
}

// KeyBy partitions s by key(element). Keys are compared with ==; K may be
// a string, integer, float, boolean, or an array or struct of them (its hash
// must be the same in every run, so pointers and interfaces are refused).
//
// A float key that is NaN (or a key holding one) fails the job with an
// error marked ErrNaNKey that names the KeyBy and the element: NaN is not
// equal to itself, so its elements would never share a window or state.
// Map NaN to a value of its own first if it can occur. -0 and +0 are the
// same key. A panic in key fails the job naming the KeyBy too
// (errors.Is(err, ErrPanic)).
func KeyBy[T any, K comparable](s *Stream[T], key func(T) K) *KeyedStream[K, T] {
	h, err := state.NewHasher[K]()
	if err != nil {
		s.env.fail(errs.Wrapf(err, "braid: KeyBy after %q", s.node.Name))
	}
	return &KeyedStream[K, T]{s: s, key: key, hash: h}
}

func (k *KeyedStream[K, T]) edge() operators.Edge {
	return operators.Edge{From: k.s.node, Partition: operators.KeyBy(k.key, k.hash)}
}
