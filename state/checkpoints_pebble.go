package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"reflect"
	"runtime"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// How the store runs Pebble, and why:
//
//   - The live database runs without a WAL. It never has to survive a crash
//     by itself: after one, the store rebuilds it from the last complete
//     checkpoint. Commit flushes the memtable (Pebble syncs the new tables
//     and the MANIFEST edit), so the checkpoint's state is all in table
//     files and the WAL file Pebble's Checkpoint copies is empty. A WAL
//     would double the bytes Apply writes, and, unflushed, be copied whole
//     into every checkpoint.
//   - Each checkpoint holds a copy of the MANIFEST, which grows by an edit
//     per flush and compaction: a small MaxManifestFileSize makes Pebble
//     start a new one (a snapshot of the current files) before the copy
//     costs much.
//   - L0CompactionThreshold is 16, not Pebble's 4: Pebble compacts L0
//     once its sublevels reach half the threshold, 8 here instead of 2.
//     Each checkpoint flushes one small table into L0 whose keys spread
//     over the whole key space (the changed keys of every key group), a
//     sublevel of its own, and an L0 compaction rewrites the Lbase tables
//     those keys overlap, nearly the whole state, to fold in a few changed
//     keys. Folding in four times as many checkpoints at a time costs not
//     much more each: BenchmarkCheckpointIncremental10 (10 changes over
//     1,000,000 keys) writes 1.8 to 2.2 MB of compaction output per
//     checkpoint instead of 3 to 3.3 MB, BenchmarkCheckpointTumbling (a
//     pane of 10,000 keys replaced at each checkpoint) 15 KB instead of
//     58 KB. The live database is never read; a restore reads a
//     checkpoint's tables through at most 8 sublevels of L0.
//   - Writers never stall: the memtable queue and L0 limits are far above
//     what a checkpoint needs. A stalled Apply cannot be interrupted, and
//     with a disk that keeps failing it would wait for a flush that never
//     succeeds; memory for unflushed changes stays bounded by the size of
//     one checkpoint's changes.
//   - Pebble reports I/O failures three ways: as errors of the call, to the
//     EventListener (background flushes and compactions, which Pebble
//     retries), and through Logger.Fatalf (MANIFEST writes, commit-pipeline
//     failures), after which its in-memory state is not to be trusted. Any
//     of the three marks the live database failed: no checkpoint is taken
//     from it, and the next Begin rebuilds it. Fatalf panics when it runs
//     inside one of the store's calls into Pebble, and the panic is turned
//     into that call's error; on Pebble's own goroutines a panic would kill
//     the process, so there Fatalf records the failure and returns. Pebble
//     also panics outright when a directory sync fails while it moves a
//     marker file; inside the store's calls (Checkpoint does it) that is
//     recovered too. On Pebble's goroutines (a MANIFEST rotation during a
//     flush or compaction) nothing can catch it.

const (
	defaultMemTableSize = 16 << 20
	l0Compaction        = 16
	noStall             = 1 << 12
	maxManifestSize     = 64 << 10
)

// liveDB is the live Pebble database and what Pebble reported about it.
type liveDB struct {
	db   *pebble.DB
	dir  string
	mu   sync.Mutex
	err  error         // first failure Pebble reported
	wake chan struct{} // poked when err is set
}

func (l *liveDB) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// failure returns the first failure Pebble reported, if any.
func (l *liveDB) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// flush flushes the memtable and waits until its tables are installed, or
// until Pebble reports a failure (a flush that fails is retried by Pebble
// forever, so waiting for it alone could wait forever). A failure may
// also come once the flush is done: the caller checks failure() again.
func (l *liveDB) flush() error {
	var done <-chan struct{}
	if err := pebbleCall(func() (err error) {
		done, err = l.db.AsyncFlush()
		return err
	}); err != nil {
		l.fail(err)
		return err
	}
	for {
		select {
		case <-done:
			return nil
		case <-l.wake:
			if err := l.failure(); err != nil {
				return err
			}
		}
	}
}

func (l *liveDB) close() error {
	return pebbleCall(l.db.Close)
}

// tuneLive, when set (by benchmarks), adjusts the live database's options.
var tuneLive func(*pebble.Options)

// openLive opens the live database in c.liveDir, which holds a copy of the
// base checkpoint or nothing.
func (c *Checkpoints) openLive() (*liveDB, error) {
	l := &liveDB{dir: c.liveDir, wake: make(chan struct{}, 1)}
	opts := c.pebbleOptions(c.fs, c.liveDir, l.fail)
	opts.DisableWAL = true
	opts.MemTableSize = c.memSize
	opts.MemTableStopWritesThreshold = noStall
	opts.L0StopWritesThreshold = noStall
	opts.L0CompactionThreshold = l0Compaction
	opts.MaxManifestFileSize = maxManifestSize
	opts.DisableAutomaticCompactions = c.noComp
	if tuneLive != nil {
		tuneLive(opts)
	}
	if err := pebbleCall(func() (err error) {
		l.db, err = pebble.Open(c.liveDir, opts)
		return err
	}); err != nil {
		return nil, fmt.Errorf("opening the live state store %s: %w", c.liveDir, err)
	}
	return l, nil
}

// pebbleOptions returns the options the store's databases share. fail, if
// not nil, hears of every failure Pebble reports.
func (c *Checkpoints) pebbleOptions(fs vfs.FS, dir string, fail func(error)) *pebble.Options {
	logger := &pebbleLogger{log: c.log, dir: dir, fail: fail}
	o := &pebble.Options{
		FS:                 fs,
		Logger:             logger,
		FormatMajorVersion: pebble.FormatNewest,
		DisableTableStats:  true,
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) {
				c.log.Warn("braid: checkpoint: pebble background error", "dir", dir, "err", err)
				if fail != nil {
					fail(err)
				}
			},
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				err := fmt.Errorf("pebble: data corruption in %s: %w", info.Path, info.Details)
				c.log.Warn("braid: checkpoint: "+err.Error(), "dir", dir)
				if fail != nil {
					fail(err)
				}
			},
		},
	}
	// Pebble's default scheduler starts a goroutine that re-samples, every
	// 100ms, how many compactions may run; with one compaction at a time
	// (the default concurrency range, 1 to 1) it never finds more room.
	// Pebble 2.1.7 registers it before steps of Open that can fail and
	// does not stop it when they do, so each failed Open leaked that
	// goroutine. This one is the same scheduler without it.
	o.Experimental.CompactionScheduler = pebble.NewConcurrencyLimitSchedulerWithNoPeriodicGrantingForTest()
	return o
}

// pebbleFatal is the panic value of Fatalf inside pebbleCall.
type pebbleFatal struct{ err error }

// pebbleCall runs fn, a call into Pebble, and returns a Fatalf or a panic
// from inside it as fn's error. Pebble panics on some I/O errors it deems
// unrecoverable (a failed directory sync when it moves a marker file, as
// Checkpoint does); for the store they fail one checkpoint and the
// database they came from, not the process.
//
//go:noinline
func pebbleCall(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(pebbleFatal); ok {
				err = f.err
				return
			}
			if e, ok := r.(error); ok {
				err = fmt.Errorf("pebble panicked: %w", e)
			} else {
				err = fmt.Errorf("pebble panicked: %v", r)
			}
		}
	}()
	return fn()
}

var pebbleCallName = runtime.FuncForPC(reflect.ValueOf(pebbleCall).Pointer()).Name()

// insidePebbleCall reports whether the calling goroutine is inside
// pebbleCall, where a panic is recovered.
func insidePebbleCall() bool {
	pcs := make([]uintptr, 1024)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if f.Function == pebbleCallName {
			return true
		}
		if !more {
			return false
		}
	}
}

// pebbleLogger sends Pebble's messages to slog (informational ones at
// debug, errors at warn) and turns Fatalf into a failure of the database.
type pebbleLogger struct {
	log  *slog.Logger
	dir  string
	fail func(error)
}

func (p *pebbleLogger) Infof(format string, args ...any) {
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug("pebble: "+fmt.Sprintf(format, args...), "dir", p.dir)
	}
}

func (p *pebbleLogger) Errorf(format string, args ...any) {
	p.log.Warn("pebble: "+fmt.Sprintf(format, args...), "dir", p.dir)
}

func (p *pebbleLogger) Fatalf(format string, args ...any) {
	err := errors.New("pebble fatal error: " + fmt.Sprintf(format, args...))
	p.log.Error("braid: checkpoint: "+err.Error(), "dir", p.dir)
	if p.fail != nil {
		p.fail(err)
	}
	if insidePebbleCall() {
		panic(pebbleFatal{err})
	}
}

// errReadOnly is what a checkpoint's view refuses writes with.
var errReadOnly = errors.New("braid: checkpoint: a checkpoint directory is read-only")

// checkpointView is the filesystem through which Latest opens a checkpoint
// with Pebble: the checkpoint directory shows only the files its record
// lists (so Pebble reads exactly what was verified, and a stray file
// cannot add to the state), locking is a no-op (no LOCK file appears in
// the directory; several Restored may share it), and every write fails.
type checkpointView struct {
	vfs.FS
	dir   string
	files map[string]fileEntry
}

func (v *checkpointView) listed(name string) bool {
	if v.FS.PathDir(name) != v.dir {
		return true // outside the checkpoint: not ours to hide
	}
	_, ok := v.files[v.FS.PathBase(name)]
	return ok
}

func (v *checkpointView) notExist(op, name string) error {
	return &os.PathError{Op: op, Path: name, Err: iofs.ErrNotExist}
}

func (v *checkpointView) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	if !v.listed(name) {
		return nil, v.notExist("open", name)
	}
	return v.FS.Open(name, opts...)
}

func (v *checkpointView) Stat(name string) (vfs.FileInfo, error) {
	if !v.listed(name) {
		return nil, v.notExist("stat", name)
	}
	return v.FS.Stat(name)
}

func (v *checkpointView) List(dir string) ([]string, error) {
	names, err := v.FS.List(dir)
	if err != nil || v.FS.PathJoin(dir) != v.dir {
		return names, err
	}
	out := names[:0]
	for _, n := range names {
		if _, ok := v.files[n]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

func (v *checkpointView) Lock(string) (io.Closer, error) { return nopCloser{}, nil }

func (v *checkpointView) Create(string, vfs.DiskWriteCategory) (vfs.File, error) {
	return nil, errReadOnly
}
func (v *checkpointView) Link(string, string) error { return errReadOnly }
func (v *checkpointView) OpenReadWrite(string, vfs.DiskWriteCategory, ...vfs.OpenOption) (vfs.File, error) {
	return nil, errReadOnly
}
func (v *checkpointView) Remove(string) error         { return errReadOnly }
func (v *checkpointView) RemoveAll(string) error      { return errReadOnly }
func (v *checkpointView) Rename(string, string) error { return errReadOnly }
func (v *checkpointView) ReuseForWrite(string, string, vfs.DiskWriteCategory) (vfs.File, error) {
	return nil, errReadOnly
}
func (v *checkpointView) MkdirAll(string, os.FileMode) error { return errReadOnly }
func (v *checkpointView) Unwrap() vfs.FS                     { return v.FS }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
