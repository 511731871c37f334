package operators

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// CheckpointConfig turns on checkpoints: asynchronous barrier snapshots of
// every operator's state, in the manner of Flink. The coordinator injects
// barrier n at every source, which records its read position; barriers
// travel in band through the same links and gates as data and watermarks;
// a task aligns barrier n from all its senders (holding back what a sender
// sends after its barrier, without blocking the channel they share), then
// snapshots the state of its operators and forwards the barrier; checkpoint
// n is complete when every task has acknowledged it and its state is
// durable.
type CheckpointConfig struct {
	// Dir is the directory of the checkpoints: a Pebble database and one
	// directory per checkpoint kept (see state.Checkpoints).
	Dir string
	// FS is the filesystem every checkpoint file operation goes through;
	// nil means the real disk. Tests pass Pebble's crashable in-memory
	// filesystem or an error-injecting one.
	FS vfs.FS
	// Retain is how many complete checkpoints are kept; 0 means 2, so
	// that a damaged newest one has one to fall back to.
	Retain int
	// Fresh starts the job from empty state even when Dir holds a
	// checkpoint (which is kept until newer ones replace it).
	Fresh bool
	// Interval is the time between the start of one checkpoint and the
	// next. It must be positive.
	Interval time.Duration
	// Timeout abandons a checkpoint not complete after it; zero means 10
	// minutes, as Flink.
	Timeout time.Duration
	// MinPause is the least time between the end of one checkpoint and the
	// start of the next, so that a slow checkpoint leaves time to process.
	MinPause time.Duration
	// TolerableFailures is how many checkpoints in a row may fail (an I/O
	// error, a timeout) before the job fails with the cause; a negative
	// value tolerates any number. (Package stream's default is 3.)
	TolerableFailures int
	// DropUnmappedState lets a job resume from a checkpoint that holds
	// state of operators the job no longer has (removed, or renamed
	// without keeping their UID); that state is dropped, with a warning.
	// Without it, such a job refuses to start, naming those operators.
	DropUnmappedState bool

	// store keeps the checkpoints.
	store checkpointStore
}

// SourceDir is where a source subtask of a job with checkpoints may keep
// files of its own, through FS: a source that cannot replay from its
// origin (a socket) logs what it receives there, so that a restore can
// replay it. The runtime gives it to a SourceFactory in its context.
type SourceDir struct {
	FS  vfs.FS
	Dir string // under the checkpoint directory, one per source subtask
	// Fresh is true when the job starts afresh on purpose (StartFresh):
	// what earlier runs left in Dir is not to be replayed. It is false
	// for a job that finds no checkpoint to resume from (a first run, or
	// one after a crash before the first checkpoint completed): all the
	// directory holds is to be replayed then, since none of it reached
	// the output of a complete checkpoint.
	Fresh bool
	// Retain is how many complete checkpoints the store keeps (at least
	// 1): a restore resumes from the newest intact one of them, so a
	// source keeps what the positions of that many need (see
	// CommitListener).
	Retain int
}

type sourceDirKey struct{}

// SourceDirOf returns the directory a source subtask may keep files in,
// when the job takes checkpoints (ctx is the one its SourceFactory got).
func SourceDirOf(ctx context.Context) (SourceDir, bool) {
	d, ok := ctx.Value(sourceDirKey{}).(SourceDir)
	return d, ok
}

// retained is how many complete checkpoints the store keeps.
func (c *CheckpointConfig) retained() int {
	if c.Retain == 0 {
		return 2
	}
	return c.Retain
}

func (c *CheckpointConfig) fs() vfs.FS {
	if c.FS == nil {
		return vfs.Default
	}
	return c.FS
}

func (c *CheckpointConfig) sourceDir(uid string, subtask int) string {
	return filepath.Join(c.Dir, "sources", fmt.Sprintf("%s-%d", uid, subtask))
}

func (c *CheckpointConfig) validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("braid: checkpoint interval must be positive, got %v", c.Interval))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("braid: checkpoint timeout must not be negative, got %v", c.Timeout))
	}
	if c.MinPause < 0 {
		errs = append(errs, fmt.Errorf("braid: minimum pause between checkpoints must not be negative, got %v", c.MinPause))
	}
	if c.store == nil && c.Dir == "" {
		errs = append(errs, errors.New("braid: checkpointing needs a directory"))
	}
	if c.Retain < 0 {
		errs = append(errs, fmt.Errorf("braid: checkpoints to retain must not be negative, got %d", c.Retain))
	}
	return errors.Join(errs...)
}

func (c CheckpointConfig) withDefaults() CheckpointConfig {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	return c
}

// A Snapshotter is the state of an operator subtask that checkpoints keep.
// The runtime calls Snapshot in the operator's task, at the barrier of
// each checkpoint, when every element before the barrier has been
// processed and none after it; the task processes nothing while it runs,
// so Snapshot should write what changed since the last snapshot (see
// StateWriter.Full) and not more. Restore is called once, before the task
// starts, when the job resumes from a checkpoint that holds the operator's
// state.
type Snapshotter interface {
	Snapshot(w *StateWriter) error
	Restore(r *StateReader) error
}

// Layout of state keys in the checkpoint store, so that one operator's key
// group is one range scan:
//
//	uvarint(len(uid)) uid 'k' kg:2 key     keyed state
//	uvarint(len(uid)) uid 'o' subtask:2 name  operator state of one subtask
const (
	keyedTag    = 'k'
	operatorTag = 'o'
)

func opPrefix(dst []byte, uid string, tag byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(uid)))
	dst = append(dst, uid...)
	return append(dst, tag)
}

func keyedKey(dst []byte, uid string, kg int, key []byte) []byte {
	dst = opPrefix(dst, uid, keyedTag)
	dst = binary.BigEndian.AppendUint16(dst, uint16(kg))
	return append(dst, key...)
}

func operatorKey(dst []byte, uid string, subtask int, name string) []byte {
	dst = opPrefix(dst, uid, operatorTag)
	dst = binary.BigEndian.AppendUint16(dst, uint16(subtask))
	return append(dst, name...)
}

// entryKind is what a snapshot entry does to the store.
type entryKind uint8

const (
	entrySet entryKind = iota
	entryDelete
	entryDeleteRange // key is the lower bound, val the upper (exclusive)
)

// entries are what one task's snapshot writes, in order, in one flat
// buffer: a snapshot of many small keys makes a few allocations, not one
// per key.
type entries struct {
	ops []entry
	buf []byte
}

type entry struct {
	kind           entryKind
	k0, k1, v0, v1 int32 // key and value in buf
}

func (e *entries) add(kind entryKind, key, val []byte) {
	k0 := int32(len(e.buf))
	e.buf = append(e.buf, key...)
	v0 := int32(len(e.buf))
	e.buf = append(e.buf, val...)
	e.ops = append(e.ops, entry{kind, k0, v0, v0, int32(len(e.buf))})
}

// each calls fn for every entry in order.
func (e *entries) each(fn func(kind entryKind, key, val []byte) error) error {
	for _, o := range e.ops {
		if err := fn(o.kind, e.buf[o.k0:o.k1], e.buf[o.v0:o.v1]); err != nil {
			return err
		}
	}
	return nil
}

func (e *entries) len() int { return len(e.ops) }

// A StateWriter takes one operator subtask's state at a checkpoint. Keys
// and values are bytes (encode them with state.CodecFor); the writer lays
// them out by operator, key group and key.
type StateWriter struct {
	id      int64
	full    bool
	uid     string
	subtask int
	kgLo    int
	kgHi    int
	scratch []byte
	e       *entries
}

// Checkpoint is the checkpoint's id.
func (w *StateWriter) Checkpoint() int64 { return w.id }

// Full reports whether the snapshot must write all of the operator's
// state: the store holds nothing of it from the last snapshot (the first
// checkpoint of a fresh run, or the last checkpoint failed). The runtime
// has then already deleted the subtask's old state in the store. When Full
// is false, the store holds the state as of the last snapshot, and writing
// what changed since (and deleting what was removed) is enough.
func (w *StateWriter) Full() bool { return w.full }

// KeyGroups is the half-open range of key groups the subtask owns.
func (w *StateWriter) KeyGroups() (lo, hi int) { return w.kgLo, w.kgHi }

// Set records key's value in key group kg.
func (w *StateWriter) Set(kg int, key, val []byte) {
	w.scratch = keyedKey(w.scratch[:0], w.uid, kg, key)
	w.e.add(entrySet, w.scratch, val)
}

// Delete records that key of key group kg has no state any more.
func (w *StateWriter) Delete(kg int, key []byte) {
	w.scratch = keyedKey(w.scratch[:0], w.uid, kg, key)
	w.e.add(entryDelete, w.scratch, nil)
}

// SetOperator records a piece of the subtask's own state (not keyed: a
// source's position, a sorter's buffer), by name.
func (w *StateWriter) SetOperator(name string, val []byte) {
	w.scratch = operatorKey(w.scratch[:0], w.uid, w.subtask, name)
	w.e.add(entrySet, w.scratch, val)
}

// DeleteOperator removes the subtask's state of that name.
func (w *StateWriter) DeleteOperator(name string) {
	w.scratch = operatorKey(w.scratch[:0], w.uid, w.subtask, name)
	w.e.add(entryDelete, w.scratch, nil)
}

// clear deletes everything of the operator subtask from the store: its
// key groups and its operator state.
func (w *StateWriter) clear() {
	lo := keyedKey(nil, w.uid, w.kgLo, nil)
	hi := keyedKey(nil, w.uid, w.kgHi, nil)
	w.e.add(entryDeleteRange, lo, hi)
	lo = operatorKey(nil, w.uid, w.subtask, "")
	hi = operatorKey(nil, w.uid, w.subtask+1, "")
	w.e.add(entryDeleteRange, lo, hi)
}

// A StateReader gives an operator subtask its state from the checkpoint
// the job resumes from: the key groups it owns at the job's parallelism,
// which need not be the parallelism that wrote them.
type StateReader struct {
	uid     string
	subtask int
	kgLo    int
	kgHi    int
	cp      restoredCheckpoint
	// oldPar is the operator's parallelism in the checkpoint: operator
	// state of subtasks beyond it is left over from an earlier rescale.
	oldPar int
}

// Checkpoint is the id of the checkpoint being restored.
func (r *StateReader) Checkpoint() int64 { return r.cp.id() }

// KeyGroups is the half-open range of key groups the subtask owns.
func (r *StateReader) KeyGroups() (lo, hi int) { return r.kgLo, r.kgHi }

// Keyed calls fn for every key of the subtask's key groups, in key group
// and key order. key and val are valid only during the call.
func (r *StateReader) Keyed(fn func(kg int, key, val []byte) error) error {
	lo := keyedKey(nil, r.uid, r.kgLo, nil)
	hi := keyedKey(nil, r.uid, r.kgHi, nil)
	n := len(lo) - 2
	return r.cp.scan(lo, hi, func(k, v []byte) error {
		kg := int(binary.BigEndian.Uint16(k[n:]))
		return fn(kg, k[n+2:], v)
	})
}

// Operator returns the subtask's state of that name, as SetOperator wrote
// it; ok is false when there is none. After a change of parallelism a
// subtask's own state is that of the old subtask with its number (none
// for a new one): an operator whose state is not keyed reads every old
// subtask's with OperatorAll and combines them (a watermark: the least).
func (r *StateReader) Operator(name string) (val []byte, ok bool, err error) {
	if r.oldPar > 0 && r.subtask >= r.oldPar {
		return nil, false, nil // a new subtask; what the store holds of its number is older
	}
	return r.cp.get(operatorKey(nil, r.uid, r.subtask, name))
}

// OperatorAll returns the state of that name of every subtask of the
// checkpoint's run that wrote one, in subtask order, whatever the
// parallelism then (state of subtasks an earlier rescale removed is not
// included).
func (r *StateReader) OperatorAll(name string) ([][]byte, error) {
	lo := opPrefix(nil, r.uid, operatorTag)
	hi := opPrefix(nil, r.uid, operatorTag+1)
	if r.oldPar > 0 {
		hi = operatorKey(nil, r.uid, r.oldPar, "")
	}
	var out [][]byte
	err := r.cp.scan(lo, hi, func(k, v []byte) error {
		if string(k[len(lo)+2:]) == name {
			out = append(out, bytes.Clone(v))
		}
		return nil
	})
	return out, err
}

// A checkpointStore keeps a job's checkpoints: the live state that each
// checkpoint's entries update, made durable and immutable at commit.
type checkpointStore interface {
	// latest is the newest intact complete checkpoint, or nil.
	latest() (restoredCheckpoint, error)
	// resume makes the store build the next checkpoints on cp.
	resume(cp restoredCheckpoint) error
	// fresh makes it build them on empty state, and returns the highest
	// checkpoint id on disk: new ids must lie above it.
	fresh() (last int64, err error)
	// begin starts checkpoint id (one at a time).
	begin(id int64) (checkpointTxn, error)
	close() error
}

type checkpointTxn interface {
	apply(e *entries) error
	commit(meta []byte) (checkpointStats, error)
	abort() error
}

// checkpointStats is what a commit wrote.
type checkpointStats struct {
	bytes int64 // new bytes on disk
	files int
}

type restoredCheckpoint interface {
	id() int64
	meta() []byte
	get(key []byte) ([]byte, bool, error)
	scan(lo, hi []byte, fn func(k, v []byte) error) error
	close() error
}

// A Committer is an operator that acts when a checkpoint completes: a
// two-phase sink publishes what it staged for it. The runtime calls
// Committed in the operator's task, with the id of the newest complete
// checkpoint, some time after it completed (not once per checkpoint: ids
// may be skipped, and a committer publishes everything staged up to id);
// and once more, after the job's end, with the final checkpoint's id.
type Committer interface {
	Committed(id int64) error
}

// taskCP is a task's part in checkpoints.
type taskCP struct {
	coord *coordinator
	index int // the task's number, in acks
	// trigger takes barriers from the coordinator, for a source task whose
	// reader runs inline.
	trigger chan int64
	// sourceUID is the source's id, for a source task: its position is
	// state too.
	sourceUID string
	snaps     []snapAt
	// lastSnap is the id of the task's last snapshot, 0 before the first.
	lastSnap int64
	// restored is set when the job resumed from a checkpoint: the store
	// then holds the task's state as of it.
	restored bool

	committers []Committer
	notify     chan struct{}
	committed  int64
	// unsupported names the task's operators whose state checkpoints
	// cannot encode, and why.
	unsupported []string
}

// snapAt is a snapshotter and where its state lives.
type snapAt struct {
	s          Snapshotter
	uid        string
	subtask    int
	kgLo, kgHi int
	// par is the operator's parallelism; its last subtask removes the
	// operator state of subtasks a rescale to fewer left behind.
	par int
}

// checkpoint takes the task's snapshot for checkpoint id (at the aligned
// barrier, or finalCheckpoint at the task's end), forwards the barrier and
// acknowledges. pos is a source's position, from its reader.
func (t *task) checkpoint(id int64, pos any) error {
	cp := t.cp
	e := &entries{}
	full := cp.lastSnap == 0 && !cp.restored || cp.lastSnap > cp.coord.completed.Load()
	w := StateWriter{id: id, full: full, e: e}
	var snapErr error
	if cp.sourceUID != "" {
		w.uid, w.subtask, w.kgLo, w.kgHi = cp.sourceUID, t.subtask, 0, 0
		if full {
			w.clear()
		}
		switch p := pos.(type) {
		case []byte:
			w.SetOperator("position", p)
		case error:
			snapErr = p
		}
	}
	for i, s := range cp.snaps {
		if snapErr != nil {
			break
		}
		w.uid, w.subtask, w.kgLo, w.kgHi = s.uid, s.subtask, s.kgLo, s.kgHi
		// Several snapshotters may share an operator (a join's window and
		// its own marks): its old state is cleared once, before the first.
		first := i == 0 || cp.snaps[i-1].uid != s.uid || cp.snaps[i-1].subtask != s.subtask
		if full && first {
			w.clear()
		}
		if first && s.subtask == s.par-1 && (full || cp.lastSnap == 0 && cp.restored) {
			// After a restore at a lower parallelism, the old subtasks
			// above the last one have no owner: their operator state goes.
			w.e.add(entryDeleteRange, operatorKey(nil, s.uid, s.par, ""), opPrefix(nil, s.uid, operatorTag+1))
		}
		snapErr = s.s.Snapshot(&w)
	}
	if id != finalCheckpoint {
		cp.lastSnap = id
		if err := t.flushAll(); err != nil {
			return err
		}
		for _, f := range t.flushers {
			if err := f.barrier(id); err != nil {
				return t.wrap(err)
			}
		}
	}
	a := ack{task: cp.index, id: id, e: e}
	if snapErr != nil {
		a.e, a.err = nil, t.wrap(snapErr)
	}
	select {
	case cp.coord.acks <- a:
		return nil
	case <-t.done:
		return errStopped
	}
}

// commit tells the task's committers of the newest complete checkpoint.
func (t *task) commit() error {
	id := t.cp.coord.completed.Load()
	if id <= t.cp.committed {
		return nil
	}
	t.cp.committed = id
	for _, c := range t.cp.committers {
		if err := c.Committed(id); err != nil {
			return t.wrap(err)
		}
	}
	return nil
}
