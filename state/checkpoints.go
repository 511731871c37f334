package state

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/staging"
)

// ErrNoIntactCheckpoint marks the error Latest returns when the directory
// holds checkpoints with a completion record but every one of them is
// damaged; test for it with errors.Is.
var ErrNoIntactCheckpoint = errors.New("braid: checkpoint: no intact checkpoint")

// ErrCheckpointMaybeComplete marks a Commit error that came after the
// checkpoint's completion record was renamed into place, when the store
// could neither make the rename durable nor undo it: the checkpoint may
// exist on disk, complete and intact, and a restore after a crash may
// find it. Its state and meta are the ones given to it, so it is a
// consistent checkpoint, but the caller must not assume it is gone (a
// two-phase sink must not discard what it staged for it). Test for it
// with errors.Is.
var ErrCheckpointMaybeComplete = errors.New("braid: checkpoint: may be complete despite the error")

// CheckpointOptions configure a checkpoint store. The zero value works.
type CheckpointOptions struct {
	// FS is the filesystem every file operation of the store goes through,
	// its own and Pebble's. nil means vfs.Default, the real disk; tests pass
	// vfs.NewCrashableMem or an errorfs wrapper.
	FS vfs.FS
	// Retain is how many complete checkpoints are kept on disk. 0 means 2,
	// so that there is one to fall back to when the newest is damaged.
	Retain int
	// Logger receives what the store reports: checkpoints Latest skipped and
	// why (warn), files it could not delete (warn), Pebble's messages (debug,
	// its errors at warn). nil means slog.Default().
	Logger *slog.Logger

	// memTableSize, when not 0, is the live database's memtable size
	// (tests make it small so that Apply flushes).
	memTableSize uint64
	// noCompactions turns Pebble's automatic compactions off (tests that
	// need each checkpoint's files to be predictable).
	noCompactions bool
}

// Checkpoints is a durable store of checkpoints of keyed state, kept in a
// directory:
//
//	dir/LOCK                       held while a store has the directory open
//	dir/live/                      the live Pebble database
//	dir/chk-00000000000000000007/  checkpoint 7: a Pebble checkpoint
//	dir/chk-00000000000000000007/COMPLETE  its completion record
//	dir/ids-00000000000000000008   ids up to 8 have been given out (empty)
//
// The caller's working state stays in its own memory. At each checkpoint
// it hands the store the entries that changed since the last completed one
// (Begin, NewBatch, Apply, Commit). The live database always holds the last
// completed checkpoint plus what the current one applied; Commit flushes it
// and makes a Pebble checkpoint of it, whose unchanged table files are hard
// links to those of the previous checkpoint, so a checkpoint writes what
// changed (plus a few small metadata files), not the whole state.
//
// Durability. A checkpoint exists once its completion record is on disk:
// the record lists every file of the checkpoint with its size and CRC-32C
// checksum and carries a checksum of its own; it is written to a temporary
// file, synced, renamed into place and its directory synced. When Commit
// returns nil the checkpoint survives a crash at any later instant; a crash
// at any instant before leaves the previous checkpoint (or this one, if the
// record made it to disk), never a mix of the two and never a partial
// state. A checkpoint without a valid completion record does not exist.
//
// Use. Open the store; call Latest to get the newest intact checkpoint, then
// Resume from it (or Fresh to start empty); then checkpoint with Begin,
// Apply and Commit, ids above LastID. Only the newest Retain complete
// checkpoints are kept. A directory is used by one store at a time (LOCK).
//
// Ids. Over the whole life of the directory, across stores, crashes and
// restores, an id is given to Begin at most once: the greatest id begun
// is on disk before Begin returns, and LastID after Resume or Fresh is at
// least every id begun before, even when its checkpoint was damaged and
// skipped, deleted by Resume or by retention, failed, or cut short by a
// crash. (Deleting the ids-… file by hand gives that up: ids then
// continue above the checkpoints on disk.)
//
// Goroutines. Apply and NewBatch are safe for concurrent use; the other
// methods of Checkpoints and CheckpointWriter are meant for one coordinating
// goroutine, and are serialized with a mutex. The store starts no goroutine
// of its own, but its Pebble databases do; Close ends them.
type Checkpoints struct {
	dir     string
	liveDir string
	fs      vfs.FS
	retain  int
	log     *slog.Logger
	memSize uint64
	noComp  bool
	lock    io.Closer

	mu     sync.Mutex
	closed bool
	ready  bool   // Resume or Fresh has run
	maxID  uint64 // greatest id ever begun or on disk (see checkpoints_ids.go)
	// reserved is the id the reservation file names, durably; resName is
	// that file's current name ("" if there is none).
	reserved uint64
	resName  string
	// base is the checkpoint the live database equals at the next Begin
	// (nil: empty state). Its immutable files' checksums are reused.
	base   *record
	live   *liveDB // nil: rebuild from base at the next Begin
	writer *CheckpointWriter
}

const (
	liveDirName   = "live"
	lockFileName  = "LOCK"
	chkPrefix     = "chk-"
	recordName    = "COMPLETE"
	recordTmpName = "COMPLETE.tmp"
	defaultRetain = 2
)

// OpenCheckpoints opens the checkpoint store in dir, creating dir if it is
// absent, and locks it. It reads no checkpoint: call Latest, then Resume
// or Fresh, before the first Begin.
func OpenCheckpoints(dir string, opts CheckpointOptions) (*Checkpoints, error) {
	if opts.Retain < 0 {
		return nil, fmt.Errorf("braid: checkpoint store %s: Retain is %d, must be 0 (meaning %d) or more", dir, opts.Retain, defaultRetain)
	}
	c := &Checkpoints{dir: dir, fs: opts.FS, retain: opts.Retain, log: opts.Logger,
		memSize: opts.memTableSize, noComp: opts.noCompactions}
	if c.fs == nil {
		c.fs = vfs.Default
	}
	if c.retain == 0 {
		c.retain = defaultRetain
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.memSize == 0 {
		c.memSize = defaultMemTableSize
	}
	c.liveDir = c.fs.PathJoin(dir, liveDirName)
	if err := staging.MkdirAllDurably(c.fs, dir); err != nil {
		return nil, fmt.Errorf("braid: checkpoint store %s: creating the directory: %w", dir, err)
	}
	lock, err := c.fs.Lock(c.fs.PathJoin(dir, lockFileName))
	if err != nil {
		return nil, fmt.Errorf("braid: checkpoint store %s: locking %s (is another store using it?): %w", dir, lockFileName, err)
	}
	c.lock = lock
	return c, nil
}

// Resume makes the live state equal to r's, so that the next Begin builds on
// r, and deletes every checkpoint newer than r.ID, complete or not. The
// live database is rebuilt from hard links to r's table files and copies
// of its other files; r's directory is never opened for writing, so its
// files keep the checksums its record holds. r must come from this store's
// Latest; it may be closed before or after Resume. The next Begin's id
// must be greater than LastID, which is not r.ID when newer checkpoints
// were begun (Latest skipped them, damaged or cut short): their ids stay
// used, recorded before they are deleted.
func (c *Checkpoints) Resume(r *Restored) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r == nil || r.c != c {
		return fmt.Errorf("braid: checkpoint store %s: Resume needs a checkpoint returned by this store's Latest", c.dir)
	}
	if err := c.usable(); err != nil {
		return err
	}
	entries, err := c.list()
	if err != nil {
		return err
	}
	c.discardLive()
	if err := c.continueIDs(entries, r.ID); err != nil {
		return err
	}
	for _, e := range entries {
		if e.id > r.ID {
			if err := c.remove(e.id); err != nil {
				return fmt.Errorf("braid: checkpoint %d: deleting it to resume from checkpoint %d: %w", e.id, r.ID, err)
			}
		}
	}
	c.base = r.rec
	c.ready = true
	if err := c.rebuild(); err != nil {
		return fmt.Errorf("braid: checkpoint %d: resuming: %w", r.ID, err)
	}
	return nil
}

// Fresh starts from empty state instead of resuming: the next Begin builds
// on nothing. Checkpoints already on disk stay until retention deletes
// them after the next completions, and Latest still returns the newest of
// them until then; new ids must be greater than LastID (every id begun
// before, or on disk).
func (c *Checkpoints) Fresh() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	entries, err := c.list()
	if err != nil {
		return err
	}
	c.discardLive()
	if err := c.continueIDs(entries, 0); err != nil {
		return err
	}
	c.base = nil
	c.ready = true
	if err := c.rebuild(); err != nil {
		return fmt.Errorf("braid: checkpoint store %s: starting fresh: %w", c.dir, err)
	}
	return nil
}

// usable reports why the coordinator methods cannot run, if they cannot.
// c.mu is held.
func (c *Checkpoints) usable() error {
	if c.closed {
		return fmt.Errorf("braid: checkpoint store %s: closed", c.dir)
	}
	if c.writer != nil {
		return fmt.Errorf("braid: checkpoint %d: still in progress (Commit or Abort it first)", c.writer.id)
	}
	return nil
}

// Begin starts checkpoint id, which must be greater than LastID (every id
// the directory has seen), and returns its writer, once id is recorded on
// disk as used (a Begin that fails to record it fails, and the id is not
// used). One checkpoint is written at a time: a second Begin
// before Commit or Abort fails. If the previous checkpoint was aborted or
// failed, or Pebble reported a failure of the live database since, Begin
// first rebuilds the live state from the last complete checkpoint's files
// (the failed one may have applied part of its entries); if that fails,
// Begin fails and the next Begin tries again.
func (c *Checkpoints) Begin(id uint64) (*CheckpointWriter, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return nil, err
	}
	if !c.ready {
		return nil, fmt.Errorf("braid: checkpoint %d: Begin before Resume or Fresh", id)
	}
	if id <= c.maxID {
		return nil, fmt.Errorf("braid: checkpoint %d: ids must increase, and %d was already seen", id, c.maxID)
	}
	if c.live != nil {
		if err := c.live.failure(); err != nil {
			c.log.Warn("braid: checkpoint: live state store failed; rebuilding it from the last complete checkpoint",
				"checkpoint", id, "dir", c.liveDir, "err", err)
			c.discardLive()
		}
	}
	if c.live == nil {
		if err := c.rebuild(); err != nil {
			return nil, fmt.Errorf("braid: checkpoint %d: restoring the live state from %s: %w", id, c.baseName(), err)
		}
	}
	if id > c.reserved {
		if err := c.reserve(id); err != nil {
			return nil, err
		}
	}
	c.maxID = id
	w := &CheckpointWriter{c: c, id: id, live: c.live, start: time.Now()}
	c.writer = w
	return w, nil
}

func (c *Checkpoints) baseName() string {
	if c.base == nil {
		return "empty state"
	}
	return fmt.Sprintf("checkpoint %d", c.base.id)
}

// Close aborts the checkpoint in progress, if any, closes the live
// database (ending Pebble's goroutines) and unlocks the directory.
// Restored checkpoints stay open until their own Close. Close is
// idempotent.
func (c *Checkpoints) Close() error {
	var w *CheckpointWriter
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	w = c.writer
	c.mu.Unlock()
	if w != nil {
		w.finish() // waits for Applies in flight
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.writer = nil
	err := c.discardLive()
	if c.lock != nil {
		if lerr := c.lock.Close(); lerr != nil && err == nil {
			err = fmt.Errorf("braid: checkpoint store %s: unlocking: %w", c.dir, lerr)
		}
		c.lock = nil
	}
	return err
}

// CheckpointWriter writes one checkpoint: batches of changed entries
// (Apply), then Commit or Abort.
type CheckpointWriter struct {
	c     *Checkpoints
	id    uint64
	live  *liveDB
	start time.Time

	mu      sync.RWMutex // Apply holds it shared; Commit, Abort and Close exclusively
	done    bool
	entries atomic.Int64
	applied atomic.Bool
}

// ID returns the checkpoint's id.
func (w *CheckpointWriter) ID() uint64 { return w.id }

// StateBatch is a batch of changes to the state: sets, deletes and range
// deletes of opaque byte keys, applied in order. Set, Delete and DeleteRange
// copy their arguments. A batch is not safe for concurrent use (make one per
// goroutine); after Apply it is empty and may be reused with the same writer.
type StateBatch struct {
	w   *CheckpointWriter
	b   *pebble.Batch
	err error
}

// NewBatch returns an empty batch for this checkpoint. It is safe to call
// from many goroutines.
func (w *CheckpointWriter) NewBatch() *StateBatch {
	return &StateBatch{w: w, b: w.live.db.NewBatch()}
}

// Set sets key to val.
func (b *StateBatch) Set(key, val []byte) { b.note(b.b.Set(key, val, nil)) }

// Delete deletes key.
func (b *StateBatch) Delete(key []byte) { b.note(b.b.Delete(key, nil)) }

// DeleteRange deletes every key in [lo, hi).
func (b *StateBatch) DeleteRange(lo, hi []byte) { b.note(b.b.DeleteRange(lo, hi, nil)) }

// Len returns the number of changes in the batch.
func (b *StateBatch) Len() int { return int(b.b.Count()) }

func (b *StateBatch) note(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

// Apply applies b's changes to the live state of this checkpoint and
// empties b. It is safe for concurrent use with other Applies (each with
// its own batch); every Apply must return before Commit or Abort is
// called. Nothing is durable until Commit returns nil, so Apply does not
// sync. An Apply error dooms the checkpoint: Abort it.
func (w *CheckpointWriter) Apply(b *StateBatch) error {
	if b.w != w {
		return fmt.Errorf("braid: checkpoint %d: Apply of a batch made by another checkpoint's writer", w.id)
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.done {
		return fmt.Errorf("braid: checkpoint %d: Apply after Commit or Abort", w.id)
	}
	if b.err != nil {
		err := b.err
		b.err = nil
		b.b.Reset()
		return fmt.Errorf("braid: checkpoint %d: apply: %w", w.id, err)
	}
	n := b.b.Count()
	if n == 0 {
		return nil
	}
	if err := w.live.failure(); err != nil {
		return fmt.Errorf("braid: checkpoint %d: apply: the live state store in %s failed: %w", w.id, w.live.dir, err)
	}
	w.applied.Store(true)
	if err := pebbleCall(func() error { return w.live.db.Apply(b.b, pebble.NoSync) }); err != nil {
		w.live.fail(err)
		return fmt.Errorf("braid: checkpoint %d: apply to %s: %w", w.id, w.live.dir, err)
	}
	w.entries.Add(int64(n))
	b.b.Reset()
	return nil
}

// CheckpointStats describe a committed checkpoint.
type CheckpointStats struct {
	ID       uint64
	Duration time.Duration // from Begin to the end of Commit
	// BytesWritten counts the bytes of the checkpoint's files that the
	// previous checkpoint did not share: new table files (from this
	// checkpoint's flush and from compactions since), Pebble's copied
	// metadata files and the completion record. Table files linked from the
	// previous checkpoint are excluded.
	BytesWritten int64
	Files        int // files of the checkpoint, the completion record included
	Entries      int // changes applied (sets, deletes and range deletes)
}

// Commit makes the checkpoint durable, recording meta (the caller's bytes,
// such as source positions) in its completion record, and returns when it
// is: a crash at any instant after Commit returns nil restores this
// checkpoint (unless it is damaged later, or a newer one completes); at any
// instant before, it restores this checkpoint or the previous one. Every
// Apply must have returned.
//
// On an error the checkpoint does not exist (unless the error is marked
// ErrCheckpointMaybeComplete) and the store stays usable: the live state
// is rebuilt from the last complete checkpoint at the next Begin, which
// must re-apply what this one had. After a successful Commit, complete
// checkpoints beyond the newest Retain and incomplete ones are deleted
// (failures to delete are logged, not returned).
func (w *CheckpointWriter) Commit(meta []byte) (CheckpointStats, error) {
	if !w.finish() {
		return CheckpointStats{ID: w.id}, fmt.Errorf("braid: checkpoint %d: Commit after Commit or Abort", w.id)
	}
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writer != w {
		return CheckpointStats{ID: w.id}, fmt.Errorf("braid: checkpoint %d: the store was closed", w.id)
	}
	c.writer = nil
	stats, renamed, err := c.commit(w, meta)
	if err != nil {
		c.discardLive()
		if rerr := c.remove(w.id); rerr != nil {
			c.log.Warn("braid: checkpoint: cannot delete a failed checkpoint",
				"checkpoint", w.id, "dir", c.chkDir(w.id), "err", rerr)
			if renamed {
				err = fmt.Errorf("%w; deleting its completion record failed too (%w): %w", err, rerr, ErrCheckpointMaybeComplete)
			}
		}
		return CheckpointStats{ID: w.id}, err
	}
	c.prune(w.id)
	return stats, nil
}

// Abort abandons the checkpoint: it does not exist, and the next Begin
// builds on the last complete one. Every Apply must have returned (Abort
// waits for those in flight). Abort after Commit or Abort does nothing.
func (w *CheckpointWriter) Abort() error {
	if !w.finish() {
		return nil
	}
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writer != w {
		return nil
	}
	c.writer = nil
	if w.applied.Load() {
		c.discardLive()
	}
	return nil
}

// finish marks the writer done once Applies in flight have returned; it
// reports whether this call did it.
func (w *CheckpointWriter) finish() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return false
	}
	w.done = true
	return true
}

// commit does Commit's work with c.mu held. renamed reports whether the
// completion record was renamed into place, even if an error followed.
func (c *Checkpoints) commit(w *CheckpointWriter, meta []byte) (_ CheckpointStats, renamed bool, _ error) {
	live := w.live
	id := w.id
	if err := live.flush(); err != nil {
		return CheckpointStats{}, false, fmt.Errorf("braid: checkpoint %d: flushing %s: %w", id, live.dir, err)
	}
	dir := c.chkDir(id)
	if _, err := c.fs.Stat(dir); err == nil {
		// Ids are never reused, so this can only be the remains of an
		// attempt a store made before the directory had a reservation
		// file; it has no valid record or Begin would refuse id.
		if err := c.fs.RemoveAll(dir); err != nil {
			return CheckpointStats{}, false, fmt.Errorf("braid: checkpoint %d: removing the leftover %s: %w", id, dir, err)
		}
	}
	if err := pebbleCall(func() error { return live.db.Checkpoint(dir) }); err != nil {
		live.fail(err)
		return CheckpointStats{}, false, fmt.Errorf("braid: checkpoint %d: writing %s: %w", id, dir, err)
	}
	// Any failure Pebble reported since Begin (in Apply's flushes, this
	// checkpoint's flush, compactions) fails the checkpoint.
	if err := live.failure(); err != nil {
		return CheckpointStats{}, false, fmt.Errorf("braid: checkpoint %d: the live state store in %s failed: %w", id, live.dir, err)
	}
	rec, err := c.describe(id, meta, dir)
	if err != nil {
		return CheckpointStats{}, false, err
	}
	recSize, renamed, err := c.writeRecord(rec, dir)
	if err != nil {
		return CheckpointStats{}, renamed, err
	}
	stats := CheckpointStats{
		ID:           id,
		BytesWritten: recSize,
		Files:        len(rec.files) + 1,
		Entries:      int(w.entries.Load()),
	}
	for _, f := range rec.files {
		if !c.base.shares(f) {
			stats.BytesWritten += f.size
		}
	}
	c.base = rec
	stats.Duration = time.Since(w.start)
	return stats, true, nil
}

// rebuild makes a new live database equal to c.base: hard links to its
// immutable files, copies of the rest (Pebble rewrites those). c.mu is
// held and c.live is nil.
func (c *Checkpoints) rebuild() error {
	if err := c.fs.RemoveAll(c.liveDir); err != nil {
		return fmt.Errorf("removing %s: %w", c.liveDir, err)
	}
	if err := c.fs.MkdirAll(c.liveDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", c.liveDir, err)
	}
	if c.base != nil {
		src := c.chkDir(c.base.id)
		for _, f := range c.base.files {
			if f.size == 0 && strings.HasSuffix(f.name, ".log") {
				// The WAL of a database that runs without one: empty.
				// Pebble would replay it and flush the empty memtable
				// inside Open, which waits for that flush; a flush that
				// fails is retried forever, and Open never returns.
				continue
			}
			from, to := c.fs.PathJoin(src, f.name), c.fs.PathJoin(c.liveDir, f.name)
			var err error
			if immutableFile(f.name) {
				err = vfs.LinkOrCopy(c.fs, from, to)
			} else {
				err = copyFile(c.fs, from, to)
			}
			if err != nil {
				return fmt.Errorf("file %s: %w", from, err)
			}
		}
	}
	live, err := c.openLive()
	if err != nil {
		return err
	}
	c.live = live
	return nil
}

// discardLive closes the live database, if open; the next Begin rebuilds
// it. A close error is logged and returned. c.mu is held.
func (c *Checkpoints) discardLive() error {
	if c.live == nil {
		return nil
	}
	l := c.live
	c.live = nil
	if err := l.close(); err != nil {
		c.log.Warn("braid: checkpoint: closing the live state store", "dir", l.dir, "err", err)
		return fmt.Errorf("braid: checkpoint store %s: closing %s: %w", c.dir, l.dir, err)
	}
	return nil
}

// chkDir returns the directory of checkpoint id; names sort by id.
func (c *Checkpoints) chkDir(id uint64) string {
	return c.fs.PathJoin(c.dir, chkDirName(id))
}

func chkDirName(id uint64) string { return fmt.Sprintf("%s%020d", chkPrefix, id) }

// parseChkDirName returns the id of a checkpoint directory's name.
func parseChkDirName(name string) (uint64, bool) {
	if len(name) != len(chkPrefix)+20 || name[:len(chkPrefix)] != chkPrefix {
		return 0, false
	}
	var id uint64
	for _, ch := range name[len(chkPrefix):] {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if id > (^uint64(0)-d)/10 {
			return 0, false
		}
		id = id*10 + d
	}
	return id, true
}

// chkEntry is a checkpoint directory on disk.
type chkEntry struct {
	id       uint64
	complete bool // has a completion record file (not yet verified)
}

// list returns the checkpoint directories, newest first.
func (c *Checkpoints) list() ([]chkEntry, error) {
	names, err := c.fs.List(c.dir)
	if err != nil {
		return nil, fmt.Errorf("braid: checkpoint store %s: listing: %w", c.dir, err)
	}
	var out []chkEntry
	for _, n := range names {
		id, ok := parseChkDirName(n)
		if !ok {
			continue
		}
		_, err := c.fs.Stat(c.fs.PathJoin(c.dir, n, recordName))
		out = append(out, chkEntry{id: id, complete: err == nil})
	}
	slices.SortFunc(out, func(a, b chkEntry) int {
		switch {
		case a.id > b.id:
			return -1
		case a.id < b.id:
			return 1
		}
		return 0
	})
	return out, nil
}

// prune deletes, after checkpoint newest completed, the complete
// checkpoints beyond the newest Retain and every incomplete one. Failures
// are logged: the new checkpoint is durable whatever happens here.
func (c *Checkpoints) prune(newest uint64) {
	entries, err := c.list()
	if err != nil {
		c.log.Warn("braid: checkpoint: cannot list checkpoints to delete old ones", "checkpoint", newest, "err", err)
		return
	}
	kept := 0
	for _, e := range entries {
		if e.id == newest || (e.complete && kept < c.retain) {
			kept++
			continue
		}
		if err := c.remove(e.id); err != nil {
			c.log.Warn("braid: checkpoint: cannot delete an old checkpoint", "checkpoint", e.id, "dir", c.chkDir(e.id), "err", err)
		}
	}
}

// remove deletes checkpoint id: first its completion record (synced, so
// that a crash midway leaves an incomplete checkpoint, never a complete
// one with missing files), then the directory.
func (c *Checkpoints) remove(id uint64) error {
	dir := c.chkDir(id)
	if err := c.fs.Remove(c.fs.PathJoin(dir, recordName)); err == nil {
		if err := staging.SyncDir(c.fs, dir); err != nil {
			return err
		}
	} else if !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	return c.fs.RemoveAll(dir)
}
