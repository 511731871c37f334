package stream

import (
	"github.com/braidstream/braid/operators"
	"github.com/braidstream/braid/state"
)

// ProcessFunc is a process function on a keyed stream (see Process).
//
// Its fields and methods: go doc github.com/braidstream/braid/operators.ProcessFunc
type ProcessFunc[K comparable, T, R any] = operators.ProcessFunc[K, T, R]

// ProcessContext is what a process function sees for the current element
// or timer.
//
// Its fields and methods: go doc github.com/braidstream/braid/operators.ProcessContext
type ProcessContext[K comparable, R any] = operators.ProcessContext[K, R]

// TimerInfo is the timer OnTimer is called for.
//
// Its fields and methods: go doc github.com/braidstream/braid/operators.TimerInfo
type TimerInfo = operators.TimerInfo

// The time domains of timers.
const (
	EventTime      = operators.EventTime
	ProcessingTime = operators.ProcessingTime
)

// Process runs a process function on a keyed stream: the general tool when
// no built-in operator fits. setup is called once per subtask, with the
// subtask's state store, to make the keyed state the function uses
// (state.NewValue, NewList, NewMap) and return the function; its error
// fails the job before it starts.
//
// OnElement is called for each element; OnTimer for each timer set with
// the context (per key and time, each firing once, in time order). Event
// timers fire as the watermark passes them; at the end of input every
// event timer left fires; processing-time timers left then do not (as in
// Flink).
func Process[K comparable, T, R any](ks *KeyedStream[K, T], setup func(st *state.Store) (ProcessFunc[K, T, R], error)) *Stream[R] {
	s := ks.s
	eventTime := s.eventTime
	n := operators.NewOpNode[R]("process", func(bc *operators.BuildContext, out any) ([]any, error) {
		op, err := operators.NewKeyedProcess(ks.key, setup, bc, eventTime, out.(operators.Input[R]))
		if err != nil {
			return nil, err
		}
		return []any{op}, nil
	})
	n.Inputs = []operators.Edge{ks.edge()}
	return newStream[R](s.env, s.env.add(n), eventTime)
}
