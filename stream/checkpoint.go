package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/operators"
)

// WithCheckpointing makes the job exactly-once: every interval it takes a
// checkpoint of every operator's state and every source's position, into a
// Pebble database in dir, by asynchronous barrier snapshots (as Flink's
// checkpoints); a job executed on a directory that holds a complete
// checkpoint resumes from the newest intact one, and a job that fails
// restarts from it under the restart strategy (WithRestartStrategy).
//
// Sources must be able to replay (FromSlice, FromSeq, Generate, TextFile,
// SocketText with Durable, or a ReplayableReader of one's own); a source
// that cannot (FromChannel, SocketText without Durable, a SourceReader that
// is not a ReplayableReader) makes Execute fail at once, naming it.
// Results reach a user's sink (ForEach, Print, WriteTo, ToChannel) at
// least once: after a restore, what followed the checkpoint is processed
// again. A two-phase sink (SinkTo; connectors/filesink) publishes each
// checkpoint's output only when it completes, for results exactly once.
//
// Checkpoint ids (which two-phase sinks get, and name their output by)
// strictly increase over the whole life of dir: a resumed or restarted job
// goes on above every id given out before, also when it resumes from an
// older checkpoint because newer ones were damaged or cut short, and
// whatever retention or a failure deleted (dir/ids-… records the greatest;
// do not delete it). A damaged checkpoint is skipped, with a warning
// naming the file and why, for the one before it; if a two-phase sink had
// already published the damaged one's output, what followed the older
// checkpoint is published again (under new ids): at least once across a
// damaged checkpoint, exactly once otherwise.
//
// A job resumed from a checkpoint may differ from the one that took it,
// within rules checked before anything runs:
//   - Operators other than sources may change parallelism (WithParallelism,
//     Stream.SetParallelism): keyed state moves with its key groups,
//     windows, timers and two-phase sinks' pending transactions with it.
//   - A source keeps its parallelism: each subtask's position is its own
//     and cannot be split anew.
//   - The number of key groups (WithMaxParallelism) stays the same.
//   - Operators are matched by id (Stream.Uid, Sink.Uid, or one derived
//     from names and inputs, see Stream.Uid); state the job has no
//     operator for is refused with ErrUnmappedState unless
//     DropUnmappedState, and a new operator starts empty.
//
// A break of these rules is an error naming the operator and the rule.
func WithCheckpointing(dir string, interval time.Duration, opts ...CheckpointOption) Option {
	return optionFunc(func(e *Env) {
		c := &operators.CheckpointConfig{Dir: dir, Interval: interval, TolerableFailures: 3}
		for _, o := range opts {
			o(c)
		}
		e.cfg.Checkpoint = c
	})
}

// A CheckpointOption tunes checkpoints.
type CheckpointOption func(*operators.CheckpointConfig)

// CheckpointTimeout abandons a checkpoint not complete after d. Default 10
// minutes.
func CheckpointTimeout(d time.Duration) CheckpointOption {
	return func(c *operators.CheckpointConfig) { c.Timeout = d }
}

// MinPauseBetweenCheckpoints leaves at least d between the end of one
// checkpoint and the start of the next. Default 0.
func MinPauseBetweenCheckpoints(d time.Duration) CheckpointOption {
	return func(c *operators.CheckpointConfig) { c.MinPause = d }
}

// RetainCheckpoints keeps the newest n complete checkpoints. Default 2, so
// that a damaged newest one has one to fall back to.
func RetainCheckpoints(n int) CheckpointOption {
	return func(c *operators.CheckpointConfig) { c.Retain = n }
}

// TolerableCheckpointFailures lets n checkpoints in a row fail (a full
// disk, a write error, a timeout) before the job fails with the cause; a
// failed checkpoint is logged and the next one is tried. Default 3; a
// negative n tolerates any number.
func TolerableCheckpointFailures(n int) CheckpointOption {
	return func(c *operators.CheckpointConfig) { c.TolerableFailures = max(n, -1) }
}

// StartFresh runs the job from empty state even when the directory holds a
// checkpoint.
func StartFresh() CheckpointOption { return func(c *operators.CheckpointConfig) { c.Fresh = true } }

// DropUnmappedState lets the job resume from a checkpoint holding state of
// operators it no longer has (removed, or renamed without keeping their
// Uid), dropping that state with a warning. Without it such a job refuses
// to start and names them.
func DropUnmappedState() CheckpointOption {
	return func(c *operators.CheckpointConfig) { c.DropUnmappedState = true }
}

// CheckpointFS makes every checkpoint file operation go through fs instead
// of the real disk: for tests, with Pebble's crashable in-memory
// filesystem (vfs.NewCrashableMem) or errorfs.
func CheckpointFS(fs vfs.FS) CheckpointOption {
	return func(c *operators.CheckpointConfig) { c.FS = fs }
}

// ErrCheckpointUnsupported marks the failure, before it runs, of a job with
// checkpoints whose operators hold state of a type checkpoints cannot
// encode (a window's elements or accumulator, or a key, with a channel or
// a function in it); the error names each operator and what cannot be
// encoded.
var ErrCheckpointUnsupported = operators.ErrCheckpointUnsupported

// ErrUnmappedState marks the failure of a job that resumes from a
// checkpoint holding state of operators it does not have.
var ErrUnmappedState = operators.ErrUnmappedState

// A RestartStrategy says whether, and after how long, a failed job with
// checkpoints restarts from its last checkpoint.
type RestartStrategy interface {
	// next is the wait before restart number n (1 for the first), or false
	// to give up.
	next(n int) (time.Duration, bool)
}

type fixedDelay struct {
	attempts int
	delay    time.Duration
}

func (f fixedDelay) next(n int) (time.Duration, bool) { return f.delay, n <= f.attempts }

// FixedDelayRestart restarts a failed job up to attempts times, waiting
// delay before each.
func FixedDelayRestart(attempts int, delay time.Duration) RestartStrategy {
	return fixedDelay{attempts, delay}
}

type backoff struct {
	initial, limit time.Duration
	attempts       int
}

func (b backoff) next(n int) (time.Duration, bool) {
	if n > b.attempts {
		return 0, false
	}
	d := b.initial
	for i := 1; i < n && d < b.limit; i++ {
		d *= 2
	}
	return min(d, b.limit), true
}

// ExponentialBackoffRestart restarts a failed job up to attempts times,
// waiting initial before the first and twice as long before each next, up
// to limit.
func ExponentialBackoffRestart(initial, limit time.Duration, attempts int) RestartStrategy {
	return backoff{initial, limit, attempts}
}

type noRestart struct{}

func (noRestart) next(int) (time.Duration, bool) { return 0, false }

// NoRestart fails the job at its first failure. The default.
func NoRestart() RestartStrategy { return noRestart{} }

// WithRestartStrategy sets what a job with checkpoints does when an
// operator fails (an error or a panic in a user function, a source's read
// error): restart from the last complete checkpoint, in the same process,
// as s says; each restart is logged. Without checkpoints, or for mistakes
// in the job itself, there is no restart.
func WithRestartStrategy(s RestartStrategy) Option {
	return optionFunc(func(e *Env) { e.restart = s })
}

// run executes the job, restarting it as the strategy allows.
func (e *Env) run(ctx context.Context) error {
	for n := 1; ; n++ {
		job := operators.NewJob(e.nodes, e.cfg)
		e.mu.Lock()
		e.job = job
		e.mu.Unlock()
		err := job.Run(ctx)
		if err == nil || ctx.Err() != nil || e.cfg.Checkpoint == nil || e.restart == nil {
			return err
		}
		if _, failed := errors.AsType[*operators.OperatorError](err); !failed {
			return err
		}
		wait, ok := e.restart.next(n)
		if !ok {
			return fmt.Errorf("braid: the job failed after %d restarts: %w", n-1, err)
		}
		e.logger().Warn("braid: job failed; restarting from the last checkpoint", "restart", n, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// SourceDir is where a source subtask of a job with checkpoints may keep
// files of its own; see operators.SourceDir.
type SourceDir = operators.SourceDir

// SourceDirOf returns the directory a source subtask may keep files in,
// from the context its SourceFactory got, when the job takes checkpoints.
func SourceDirOf(ctx context.Context) (SourceDir, bool) { return operators.SourceDirOf(ctx) }
