package operators

import (
	"context"
	"fmt"
)

// A SourceReader produces the elements of one subtask of a source. The
// runtime calls it from a goroutine of its own and never from two at once.
//
// Read fills buf with up to len(buf) elements and returns how many it wrote.
// It blocks until at least one element is ready, the input ends, or ctx is
// done; a reader that has some elements but would block for more returns
// those at once, so that a slow stream still flows (a ReplayableReader may
// also return 0 elements and no error, see there). At the end of a bounded
// input it returns io.EOF (with n possibly > 0 on that call). When ctx is done
// it returns promptly with ctx's error. Any other error fails the job; the
// runtime names the source and subtask in it, so the reader need not.
//
// Close releases the reader's resources (files, connections). The runtime
// calls it exactly once, after the last Read, whether the input ended or not.
type SourceReader[T any] interface {
	Read(ctx context.Context, buf []T) (n int, err error)
	Close() error
}

// A SourceFactory opens the reader of one subtask out of parallelism.
// Sources that cannot be split (a socket, a channel) are given parallelism 1.
type SourceFactory[T any] func(ctx context.Context, subtask, parallelism int) (SourceReader[T], error)

// An InlineReader is a SourceReader whose Read never waits (a generator
// without a rate, a slice): the runtime calls it from the source's task
// itself, saving a goroutine and a hand-off per batch.
type InlineReader interface {
	// Inline reports whether Read never waits.
	Inline() bool
}

// A DeadLetter is an element, or a piece of input, that could not be
// processed, with the reason: a user function's error, a line over a
// source's length limit, an element whose timestamp cannot be represented.
type DeadLetter[T any] struct {
	Value T
	Err   error
}

// String formats the dead letter as "value: error".
func (d DeadLetter[T]) String() string { return fmt.Sprintf("%v: %v", d.Value, d.Err) }

// A RejectingReader is a SourceReader that sets aside input it cannot
// deliver as elements (a line over the length limit, a record cut short)
// instead of failing the job. After every Read, from the goroutine that
// called Read, the runtime calls Rejected, which appends to dst what was set
// aside since the last call and returns the extended slice. The runtime
// counts them (Metrics.DeadLetters) and sends them to the source's dead
// letters, in order with its data and before its end of input; the error of
// each should say where the input was (file and line, byte offset, peer).
type RejectingReader[T any] interface {
	Rejected(dst []DeadLetter[T]) []DeadLetter[T]
}

// An EventTimeReader is a SourceReader that knows event time itself: each
// element's timestamp, and how far event time has come (a Kafka partition's
// record times, a log with its own markers). A stream from such a source
// (stream.FromEventTimeSource) is in event time without WithTimestamps.
//
// After every Read, from the goroutine that called Read, the runtime calls
// Timestamps and then Watermark. A reader that has nothing to deliver for a
// while should still return from Read now and then (n may be 0), so that a
// change of its watermark or idleness is seen.
type EventTimeReader interface {
	// Timestamps returns the event timestamps, in Unix nanoseconds, of the
	// elements the last Read returned, in order; it is the reader's and is
	// read before the next Read.
	Timestamps() []int64
	// Watermark returns the source's watermark (no element at or before it
	// will follow; MinWatermark while there is none) and whether the source
	// is idle (it sends nothing for now and must not hold event time back
	// downstream). A watermark that does not advance is ignored.
	Watermark() (wm int64, idle bool)
}

// A ReplayableReader is a SourceReader that can say where it is and go
// back there in a later run: what a source needs for exactly-once results
// with checkpoints. The runtime calls Position, from the goroutine that
// calls Read and between two Reads, when a checkpoint's barrier leaves the
// source: the position must be just after the last element Read returned.
// When the job resumes from that checkpoint, the runtime opens the reader
// of the same subtask (at the same parallelism) and calls Seek with the
// position before the first Read.
//
// A barrier can leave the source only between two Reads, so a Read that
// waits for input holds every checkpoint back, up to its timeout. A
// reader that may wait long (a followed file, a network connection)
// returns 0 elements and no error after a short wait with nothing to
// deliver, about 50 ms; the runtime then calls Read again.
type ReplayableReader interface {
	Position() ([]byte, error)
	Seek(pos []byte) error
}

// A CommitListener is a ReplayableReader told when checkpoints complete,
// so that it can let go of what no restore will need again: a log of
// received input can delete its old segments; a reader of a broker can
// commit its offsets there.
//
// The runtime calls Committed from the goroutine that calls Read, between
// two Reads, some time after a checkpoint completed, with the position
// (as Position gave it) that the newest complete checkpoint recorded for
// this reader. Not every checkpoint is told (a newer one may complete
// first), and positions are told in the order they were given. A restore
// resumes from the newest intact one of the complete checkpoints the
// store keeps (SourceDir.Retain of them, 2 by default), so a reader may
// let go of what comes before the oldest of the last Retain positions it
// was told, not of what comes before the newest. An error from Committed
// fails the job, as one from Read does.
type CommitListener interface {
	Committed(pos []byte) error
}
