package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/invariants"
	"github.com/braidstream/braid/internal/testseed"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"go.uber.org/goleak"
)

// faults injects an error at the n-th write or sync operation (creating,
// linking, renaming, removing, writing, syncing a file) after it is armed,
// and, when persistent, at every one after that until disarmed: a disk
// that fills up.
type faults struct {
	mu         sync.Mutex
	armed      bool
	n          int // inject at the n-th matching operation; 0 never
	persistent bool
	err        error
	seen       int // matching operations since armed
	injected   int
	first      string // the operation first injected at
	skip       func(errorfs.Op) bool
}

func (f *faults) String() string { return "faults" }

func (f *faults) MaybeError(op errorfs.Op) error {
	switch op.Kind {
	case errorfs.OpCreate, errorfs.OpLink, errorfs.OpRemove, errorfs.OpRemoveAll, errorfs.OpRename,
		errorfs.OpReuseForWrite, errorfs.OpMkdirAll, errorfs.OpFileWrite, errorfs.OpFileWriteAt,
		errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo, errorfs.OpFileFlush:
	default:
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed || (f.skip != nil && f.skip(op)) {
		return nil
	}
	f.seen++
	if f.n == 0 || f.seen < f.n || (f.seen > f.n && !f.persistent) {
		return nil
	}
	f.injected++
	if f.first == "" {
		f.first = fmt.Sprintf("%v %s", op.Kind, op.Path)
	}
	return f.err
}

func (f *faults) arm(n int, persistent bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.n, f.persistent, f.err, f.seen, f.injected, f.first = true, n, persistent, err, 0, 0, ""
}

// disarm stops injecting and returns how many matching operations ran
// while armed, how many errors were injected, and where the first was.
func (f *faults) disarm() (seen, injected int, first string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	return f.seen, f.injected, f.first
}

var errDiskFull = &errorfsPathError{err: syscall.ENOSPC}

type errorfsPathError struct{ err error }

func (e *errorfsPathError) Error() string { return "injected: " + e.err.Error() }
func (e *errorfsPathError) Unwrap() error { return e.err }

// phase is where the faults are armed.
type phase int

const (
	inCommit  phase = iota // during Commit
	inApply                // during Apply, while Pebble flushes full memtables
	inRebuild              // during the Begin that rebuilds the live state after an Abort
	inFresh                // during Fresh, which creates a new live database
)

func (p phase) String() string {
	return [...]string{"Commit", "Apply", "rebuild", "Fresh"}[p]
}

// settleFlushes waits until the live database runs no flush, or has
// failed (Pebble retries a failed flush forever).
func settleFlushes(c *Checkpoints) {
	for quiet := 0; quiet < 3; {
		if c.live == nil || c.live.failure() != nil || c.live.db.Metrics().Flush.NumInProgress == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(time.Millisecond)
	}
}

// faultRun runs checkpoint 1, then checkpoint 3 with faults armed at the
// n-th write of phase p, then disarms them and checks: every error names
// checkpoint 3 (or the store) and says what failed; a failed checkpoint
// does not exist, and Latest restores the model; the store goes on with
// checkpoint 4, built on the last complete checkpoint (re-applying what 3
// had if 3 failed, or not, to see that nothing of it is left), and
// restores it, also after a restart.
// It returns how many operations ran while armed and whether an error
// reached the caller.
func faultRun(t *testing.T, rng *rand.Rand, p phase, n int, persistent bool, injErr error) (seen int, failed bool) {
	t.Helper()
	inj := &faults{skip: func(op errorfs.Op) bool {
		if p == inFresh {
			return false // Pebble's calls on the caller's goroutine
		}
		// Where Pebble itself cannot go on, on its own goroutines: a
		// failed sync of its directory when it moves a marker file (a
		// MANIFEST rotation) panics there, by design, and kills the
		// process (as a crash would: the store restores the last
		// complete checkpoint); and after a failed MANIFEST write, which
		// Pebble declares fatal, invariants builds panic on its next
		// consistency check. The store stops using such a database at
		// once; production builds carry no such checks.
		return (op.Kind == errorfs.OpFileSync && op.Path == "/cp/live") ||
			(invariants.Enabled && (strings.Contains(op.Path, "MANIFEST") || strings.Contains(op.Path, "/marker.")))
	}}
	fs := errorfs.Wrap(vfs.NewMem(), inj)
	logger, logs := newLog()
	c := mustOpen(t, fs, CheckpointOptions{Logger: logger, memTableSize: 64 << 10})
	defer c.Close()
	where := fmt.Sprintf("faults in %s at write %d (persistent %v)", p, n, persistent)
	fail := func(format string, args ...any) {
		t.Helper()
		s, i, first := inj.disarm()
		t.Fatalf("%s (%d writes seen, %d injected, first at %s): %s\nlog:\n%s", where, s, i, first, fmt.Sprintf(format, args...), logs)
	}
	if p == inFresh {
		inj.arm(n, persistent, injErr)
	}
	err := c.Fresh()
	if p == inFresh {
		seen, _, _ = inj.disarm()
		if err != nil {
			failed = true
			if !strings.HasPrefix(err.Error(), "braid: checkpoint store /cp: starting fresh") {
				fail("Fresh: %v", err)
			}
			// Fresh left no live state; Begin builds it.
		}
	} else if err != nil {
		fail("Fresh: %v", err)
	}
	ops1 := genOps(rng, 0, 500, 300)
	m1 := model{}
	m1.apply(ops1)
	checkpoint(t, c, 1, [][]op{ops1}, false)

	ops2 := [][]op{genOps(rng, 0, 500, 1200), genOps(rng, 1, 500, 1200)}
	if p == inRebuild {
		// An aborted checkpoint that applied changes: the next Begin
		// rebuilds the live state from checkpoint 1.
		w, err := c.Begin(2)
		if err != nil {
			fail("Begin: %v", err)
		}
		if err := applyParts(w, ops2, 50, false); err != nil {
			fail("Apply: %v", err)
		}
		w.Abort()
		inj.arm(n, persistent, injErr)
	}
	w, err := c.Begin(3)
	if p == inRebuild {
		seen, _, _ = inj.disarm()
	}
	committed := uint64(1)
	m := m1.clone()
	maybe := false
	if err != nil {
		if p != inRebuild {
			fail("Begin: %v", err)
		}
		failed = true
		// Begin rebuilds the live state, then records the id as used.
		if !strings.HasPrefix(err.Error(), "braid: checkpoint 3: restoring the live state from checkpoint 1") &&
			!strings.HasPrefix(err.Error(), "braid: checkpoint 3: reserving its id: ") {
			fail("Begin's error does not say what failed: %v", err)
		}
	} else {
		if p == inApply {
			inj.arm(n, persistent, injErr)
		}
		err := applyParts(w, ops2, 50, rng.IntN(2) == 0)
		if p == inApply {
			// The flushes Apply started run on Pebble's goroutines:
			// they are part of the phase.
			settleFlushes(c)
			seen, _, _ = inj.disarm()
		}
		if err != nil {
			failed = true
			if p != inApply {
				fail("Apply: %v", err)
			}
			if !strings.Contains(err.Error(), "braid: checkpoint 3: apply") {
				fail("Apply's error does not name the checkpoint: %v", err)
			}
			w.Abort()
		} else {
			if p == inCommit {
				inj.arm(n, persistent, injErr)
			}
			_, err := w.Commit(metaOf(3))
			if p == inCommit {
				seen, _, _ = inj.disarm()
			}
			switch {
			case err == nil:
				committed = 3
				m.apply(ops2[0])
				m.apply(ops2[1])
			case p == inApply || p == inCommit:
				failed = true
				if !strings.HasPrefix(err.Error(), "braid: checkpoint 3: ") {
					fail("Commit's error does not name the checkpoint: %v", err)
				}
				if errors.Is(err, ErrCheckpointMaybeComplete) {
					if !persistent {
						fail("Commit could not undo a failed checkpoint, with one fault: %v", err)
					}
					// The record made it; the disk filled up before it
					// could be made durable or removed. Checkpoint 3
					// exists, complete, until a crash decides.
					m3 := m.clone()
					m3.apply(ops2[0])
					m3.apply(ops2[1])
					expectLatest(t, c, 3, m3)
					maybe = true
				}
			default:
				fail("Commit: %v", err)
			}
		}
	}
	if !maybe {
		expectLatest(t, c, committed, m)
	}

	// The store goes on from checkpoint 1 or 3, whatever the failed
	// attempt applied: the caller applies what failed again, or (to see
	// that nothing of it is left) applies other changes only.
	ops4 := genOps(rng, 2, 500, 200)
	parts := [][]op{ops4}
	if committed == 1 && rng.IntN(2) == 0 {
		parts = append(parts, ops2...)
		m.apply(ops2[0])
		m.apply(ops2[1])
	}
	m.apply(ops4)
	w, err = c.Begin(4)
	if err != nil {
		fail("Begin after the faults: %v", err)
	}
	if err := applyParts(w, parts, 200, false); err != nil {
		fail("Apply after the faults: %v", err)
	}
	if _, err := w.Commit(metaOf(4)); err != nil {
		fail("Commit after the faults: %v", err)
	}
	expectLatest(t, c, 4, m)
	if err := c.Close(); err != nil {
		fail("Close: %v", err)
	}
	c = mustOpen(t, fs, CheckpointOptions{})
	expectLatest(t, c, 4, m)
	return seen, failed
}

// A write or sync error at any operation of Commit, of Apply (Pebble
// flushing a full memtable), of the rebuild of the live state or of Fresh
// (Pebble creating its MANIFEST, where it calls Fatalf): the call fails
// with an error naming the checkpoint, no partial checkpoint is ever
// restored, and the store goes on: the next checkpoint, re-applying what
// the failed one had, succeeds and restores exactly.
func TestCheckpointsWriteErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 6))
	for _, p := range []phase{inCommit, inApply, inRebuild, inFresh} {
		t.Run(p.String(), func(t *testing.T) {
			total, _ := faultRun(t, rng, p, 0, false, errorfs.ErrInjected)
			if total < 5 {
				t.Fatalf("only %d writes in %s", total, p)
			}
			step := 1
			if testing.Short() {
				step = max(1, total/8)
			}
			failures, runs := 0, 0
			for n := 1; n <= total; n += step {
				start := time.Now()
				_, failed := faultRun(t, rng, p, n, false, errorfs.ErrInjected)
				if d := time.Since(start); d > time.Second {
					t.Logf("slow: %s at write %d: %v", p, n, d)
				}
				runs++
				if failed {
					failures++
				}
			}
			t.Logf("%s: %d writes, %d faults injected, %d failed the call", p, total, runs, failures)
			// Most writes matter (some do not: deleting old files, a
			// hard link that falls back to a copy, Pebble's retries).
			if failures < runs/3 {
				t.Fatalf("only %d of %d faults failed the call", failures, runs)
			}
		})
	}
}

// A disk that fills up (ENOSPC from some operation on, for every write)
// during Commit or Apply, then is freed: the checkpoint fails, the store
// goes on once there is room.
func TestCheckpointsDiskFull(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 7))
	for _, p := range []phase{inCommit, inApply} {
		total, _ := faultRun(t, rng, p, 0, true, errDiskFull)
		for _, n := range []int{1, total / 3, total / 2, total - 1} {
			_, failed := faultRun(t, rng, p, max(n, 1), true, errDiskFull)
			// The last writes of either phase may be Pebble deleting
			// obsolete files in the background, which fail harmlessly;
			// a disk full from the first half of Commit fails it.
			if !failed && (n == 1 || (p == inCommit && n <= total/2)) {
				t.Fatalf("disk full from write %d of %d in %s: no error", n, total, p)
			}
		}
	}
}
