package operators

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// A TwoPhaseSink writes one sink subtask's results in transactions, one
// per checkpoint, and publishes each only when its checkpoint is complete:
// with replayable sources, results are then exactly once, whatever the
// instant of a crash. Braid calls its methods from the sink's task, one at
// a time:
//
//   - Write adds elements to the open transaction (opening one if none is).
//   - PreCommit, at checkpoint id's barrier, makes the open transaction
//     durable but not visible (a file synced under a staging name, a
//     database transaction prepared) and returns what identifies it; the
//     checkpoint records it. An empty transaction may return nil, which
//     is not recorded. The next Write opens a new transaction. At the end
//     of input id is FinalCheckpoint.
//   - Commit publishes a pre-committed transaction once a checkpoint that
//     recorded it is complete. It must be idempotent: after a crash,
//     transactions the restored checkpoint recorded are committed again,
//     and some may have been published already.
//   - Recover is called once, before any Write, when the job runs with
//     checkpoints. When it resumes from one, pending are the transactions
//     the checkpoint recorded, which the sink commits (as Commit); on a
//     fresh start pending is empty. Anything else the sink finds staged
//     by this subtask in an earlier run (the open transaction of a run
//     that crashed, transactions of checkpoints that never completed) it
//     discards. After a change of parallelism, subtask k also answers for
//     the old subtasks j >= parallelism with j mod parallelism = k: their
//     pending transactions are among k's, and their leftovers are k's to
//     discard.
//   - Abort discards the open transaction when the job stops without
//     finishing (cancelled, failed). Pre-committed transactions are not
//     aborted: a restore may still commit them.
//   - Close releases the sink's resources, once, at the end.
//
// Checkpoint ids strictly increase over the whole life of a checkpoint
// directory: PreCommit is never given an id it was given before, in this
// run or in any earlier one on the directory, even when a restore fell
// back past checkpoints (damaged, cut short by a crash) or they were
// deleted (retention, failure), so a sink may name its transactions by
// id. The one exception is FinalCheckpoint, which every run that reaches
// the end of input gets.
//
// A restore falls back past a damaged checkpoint to an older one; when the
// damaged one's transactions were committed already, what followed the
// older one is written again, in new transactions (its ids are new):
// exactly once holds for the checkpoints that stay intact, at least once
// across the damaged one.
//
// Without checkpoints, the whole output is one transaction, pre-committed
// and committed at the end of input.
type TwoPhaseSink[T any] interface {
	Write(vals []T) error
	PreCommit(id int64) (txn []byte, err error)
	Commit(txn []byte) error
	Recover(pending [][]byte) error
	Abort() error
	Close() error
}

// twoPhase is the operator of a TwoPhaseSink: its Input, Snapshotter and
// Committer.
type twoPhase[T any] struct {
	sink     TwoPhaseSink[T]
	cp       bool // checkpoints are on
	subtask  int
	par      int
	pending  []pendingTxn // pre-committed, not yet committed, oldest first
	finished bool
	// recovered is set once Recover was called: by Restore, or before
	// the first use on a fresh start with checkpoints.
	recovered bool
}

// recoverFresh calls Recover with no transactions on a fresh start with
// checkpoints, so the sink discards what earlier runs left staged.
func (o *twoPhase[T]) recoverFresh() error {
	if o.recovered || !o.cp {
		return nil
	}
	o.recovered = true
	if err := o.sink.Recover(nil); err != nil {
		return fmt.Errorf("starting afresh: %w", err)
	}
	return nil
}

type pendingTxn struct {
	id  int64
	txn []byte
}

// NewTwoPhase returns the operator of sink for one subtask, registered
// with the task for checkpoints.
func NewTwoPhase[T any](sink TwoPhaseSink[T], bc *BuildContext) Input[T] {
	o := &twoPhase[T]{sink: sink, cp: bc.Checkpointing(), subtask: bc.Subtask, par: bc.Parallelism}
	bc.AddSnapshotter(o)
	bc.AddCommitter(o)
	bc.AddCloser(o.close)
	return o
}

func (o *twoPhase[T]) Push(b *Batch[T]) error {
	if err := o.recoverFresh(); err != nil {
		return err
	}
	return o.sink.Write(b.Values)
}

func (o *twoPhase[T]) Watermark(int64) error { return nil }
func (o *twoPhase[T]) Idle(bool) error       { return nil }

// Finish ends the input. With checkpoints the final snapshot pre-commits
// what remains, and it is committed once the final checkpoint is durable;
// without, the output is published now.
func (o *twoPhase[T]) Finish() error {
	o.finished = true
	if o.cp {
		return nil
	}
	txn, err := o.sink.PreCommit(FinalCheckpoint)
	if err != nil || txn == nil {
		return err
	}
	return o.sink.Commit(txn)
}

func (o *twoPhase[T]) Snapshot(w *StateWriter) error {
	if err := o.recoverFresh(); err != nil {
		return err
	}
	txn, err := o.sink.PreCommit(w.Checkpoint())
	if err != nil {
		return fmt.Errorf("pre-committing for checkpoint %d: %w", w.Checkpoint(), err)
	}
	if txn != nil {
		o.pending = append(o.pending, pendingTxn{w.Checkpoint(), txn})
	}
	// The list is small (the transactions since the last complete
	// checkpoint): written whole every time.
	w.SetOperator("pending", encodePending(o.pending))
	return nil
}

// Committed publishes every transaction pre-committed up to checkpoint id.
func (o *twoPhase[T]) Committed(id int64) error {
	n := 0
	for n < len(o.pending) && o.pending[n].id <= id {
		if err := o.sink.Commit(o.pending[n].txn); err != nil {
			return fmt.Errorf("committing the output of checkpoint %d: %w", o.pending[n].id, err)
		}
		n++
	}
	o.pending = slices.Delete(o.pending, 0, n)
	return nil
}

// Restore commits what the checkpoint recorded as pre-committed: its
// checkpoint is complete. After a change of parallelism, subtask k takes
// the old subtasks j with j mod parallelism = k.
func (o *twoPhase[T]) Restore(r *StateReader) error {
	o.recovered = true
	all, err := r.OperatorAll("pending")
	if err != nil {
		return err
	}
	var txns [][]byte
	for j, b := range all {
		if j%o.par != o.subtask {
			continue
		}
		ps, err := decodePending(b)
		if err != nil {
			return err
		}
		for _, p := range ps {
			txns = append(txns, p.txn)
		}
	}
	return o.sink.Recover(txns)
}

// close ends the sink when the job ends: the open transaction is
// discarded unless the job finished.
func (o *twoPhase[T]) close(runErr error) error {
	var err error
	if !o.finished || runErr != nil {
		err = o.sink.Abort()
	}
	return errors.Join(err, o.sink.Close())
}

func encodePending(ps []pendingTxn) []byte {
	b := binary.AppendUvarint(nil, uint64(len(ps)))
	for _, p := range ps {
		b = binary.AppendVarint(b, p.id)
		b = binary.AppendUvarint(b, uint64(len(p.txn)))
		b = append(b, p.txn...)
	}
	return b
}

func decodePending(b []byte) ([]pendingTxn, error) {
	bad := errors.New("braid: a two-phase sink's pending transactions in the checkpoint are malformed")
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, bad
	}
	b = b[k:]
	ps := make([]pendingTxn, 0, n)
	for range n {
		id, k := binary.Varint(b)
		if k <= 0 {
			return nil, bad
		}
		b = b[k:]
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, bad
		}
		b = b[k:]
		ps = append(ps, pendingTxn{id, slices.Clone(b[:l])})
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, bad
	}
	return ps, nil
}
