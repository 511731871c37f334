package stream

import (
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/operators"
)

// A TwoPhaseSink writes a sink subtask's results in transactions, one per
// checkpoint, and publishes each when its checkpoint completes: with
// checkpoints and replayable sources, results are exactly once. See
// operators.TwoPhaseSink for the contract of each method; package
// connectors/filesink is one.
type TwoPhaseSink[T any] = operators.TwoPhaseSink[T]

// FinalCheckpoint is the checkpoint id a TwoPhaseSink's PreCommit gets at
// the end of input.
const FinalCheckpoint = operators.FinalCheckpoint

// SinkContext tells a TwoPhaseSink's factory where it runs.
type SinkContext struct {
	Subtask, Parallelism int
	// FS is the filesystem of the job's checkpoints (CheckpointFS), the
	// real disk by default: write files through it.
	FS vfs.FS
	// Checkpointing reports whether the job takes checkpoints.
	Checkpointing bool
}

// SinkTo writes the stream into a two-phase sink made by open for each
// subtask. An error from open fails the job before it runs.
func (s *Stream[T]) SinkTo(name string, open func(SinkContext) (TwoPhaseSink[T], error)) *Sink {
	n := operators.NewOpNode[struct{}](name, func(bc *operators.BuildContext, out any) ([]any, error) {
		sink, err := open(SinkContext{Subtask: bc.Subtask, Parallelism: bc.Parallelism, FS: bc.FS(), Checkpointing: bc.Checkpointing()})
		if err != nil {
			return nil, err
		}
		return []any{operators.NewTwoPhase(sink, bc)}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	s.env.add(n)
	return &Sink{n}
}
