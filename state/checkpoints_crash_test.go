package state

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/braidstream/braid/internal/invariants"
	"github.com/braidstream/braid/internal/testseed"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/goleak"
)

var crashPoints = flag.Int("crashpoints", 0, "crash points TestCheckpointsCrashClones checks (0: 1000, or 150 with -short or in race and invariants builds)")

// hookFS calls hook before every operation that changes a filesystem:
// creating, linking, renaming, removing, writing, syncing, closing.
type hookFS struct {
	vfs.FS
	hook func(op, path string)
}

type hookFile struct {
	vfs.File
	fs   *hookFS
	path string
}

func (h *hookFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	h.hook("create", name)
	f, err := h.FS.Create(name, cat)
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: name}, nil
}

func (h *hookFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	h.hook("open-rw", name)
	f, err := h.FS.OpenReadWrite(name, cat, opts...)
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: name}, nil
}

func (h *hookFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	h.hook("reuse", newname)
	f, err := h.FS.ReuseForWrite(oldname, newname, cat)
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: newname}, nil
}

func (h *hookFS) OpenDir(name string) (vfs.File, error) {
	f, err := h.FS.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: name}, nil
}

func (h *hookFS) Link(oldname, newname string) error {
	h.hook("link", newname)
	return h.FS.Link(oldname, newname)
}

func (h *hookFS) Remove(name string) error {
	h.hook("remove", name)
	return h.FS.Remove(name)
}

func (h *hookFS) RemoveAll(name string) error {
	h.hook("remove-all", name)
	return h.FS.RemoveAll(name)
}

func (h *hookFS) Rename(oldname, newname string) error {
	h.hook("rename", newname)
	return h.FS.Rename(oldname, newname)
}

func (h *hookFS) MkdirAll(dir string, perm os.FileMode) error {
	h.hook("mkdir", dir)
	return h.FS.MkdirAll(dir, perm)
}

func (f *hookFile) Write(p []byte) (int, error) {
	f.fs.hook("write", f.path)
	return f.File.Write(p)
}

func (f *hookFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.hook("write-at", f.path)
	return f.File.WriteAt(p, off)
}

func (f *hookFile) Sync() error {
	f.fs.hook("sync", f.path)
	return f.File.Sync()
}

func (f *hookFile) SyncData() error {
	f.fs.hook("sync-data", f.path)
	return f.File.SyncData()
}

func (f *hookFile) SyncTo(length int64) (bool, error) {
	f.fs.hook("sync-to", f.path)
	return f.File.SyncTo(length)
}

func (f *hookFile) Close() error {
	f.fs.hook("close", f.path)
	return f.File.Close()
}

// crash is a crash clone of the filesystem and what a restore from it
// may return: the last committed checkpoint, or, when the crash came while
// Commit of inCommit ran, that one too.
type crash struct {
	fs        *vfs.MemFS
	where     string
	committed uint64
	inCommit  uint64
}

// crashRecorder takes crash clones at random operations.
type crashRecorder struct {
	mem *vfs.MemFS

	mu        sync.Mutex
	rng       *rand.Rand
	percent   int // chance per operation, in hundredths of a percent
	committed uint64
	inCommit  uint64
	phase     string
	crashes   []crash
}

func (r *crashRecorder) hook(op, path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rng.IntN(10000) < r.percent {
		r.takeLocked(fmt.Sprintf("before %s %s (%s)", op, path, r.phase))
	}
}

func (r *crashRecorder) take(where string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.takeLocked(where)
}

func (r *crashRecorder) takeLocked(where string) {
	unsynced := 0
	switch r.rng.IntN(3) {
	case 1:
		unsynced = 1 + r.rng.IntN(99)
	case 2:
		unsynced = 100
	}
	fs := r.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: r.rng})
	r.crashes = append(r.crashes, crash{
		fs:        fs,
		where:     fmt.Sprintf("%s, keeping %d%% of unsynced data", where, unsynced),
		committed: r.committed,
		inCommit:  r.inCommit,
	})
}

func (r *crashRecorder) set(phase string, committed, inCommit uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phase, r.committed, r.inCommit = phase, committed, inCommit
}

// Crash anywhere: in Apply (while Pebble flushes), in Commit (while Pebble
// links, copies and syncs, while the completion record is written and
// renamed), while old checkpoints are deleted, while a restarted store
// resumes. A store opened on each crash clone restores exactly the last
// committed checkpoint, or the one being committed if the crash came
// before its Commit returned; never a mix, never garbage. It then resumes
// and checkpoints on, and restores that too.
func TestCheckpointsCrashClones(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 4))
	points := *crashPoints
	if points == 0 {
		points = 1000
		if testing.Short() || invariants.Enabled {
			points = 150
		}
	}
	var tally crashTally
	for run := 0; tally.points < points; run++ {
		crashRun(t, rand.New(rand.NewPCG(rng.Uint64(), uint64(run))), run, &tally)
	}
	t.Logf("%d crash points checked; %d during a Commit, of which %d restored the checkpoint being committed and %d the one before",
		tally.points, tally.inCommit, tally.newer, tally.inCommit-tally.newer)
	// The crash points must fall on both sides of the completion record.
	if points >= 500 && (tally.newer == 0 || tally.newer == tally.inCommit) {
		t.Fatalf("no crash during Commit restored the %s checkpoint", map[bool]string{true: "new", false: "previous"}[tally.newer == 0])
	}
}

type crashTally struct{ points, inCommit, newer int }

func crashRun(t *testing.T, rng *rand.Rand, run int, tally *crashTally) {
	mem := vfs.NewCrashableMem()
	rec := &crashRecorder{mem: mem, rng: rand.New(rand.NewPCG(rng.Uint64(), 5)), percent: 150}
	fs := &hookFS{FS: mem, hook: rec.hook}
	opts := CheckpointOptions{Retain: 1 + rng.IntN(3), memTableSize: 64 << 10}
	c := mustOpen(t, fs, opts)
	if err := c.Fresh(); err != nil {
		t.Fatal(err)
	}
	models := map[uint64]model{0: {}}
	var committed uint64
	cur := model{}
	const keys = 400
	for id := uint64(1); id <= 6; id++ {
		rec.set(fmt.Sprintf("run %d, Begin %d", run, id), committed, 0)
		w, err := c.Begin(id)
		if err != nil {
			t.Fatal(err)
		}
		parts := [][]op{genOps(rng, 0, keys, 50+rng.IntN(800)), genOps(rng, 1, keys, 50+rng.IntN(800))}
		rec.set(fmt.Sprintf("run %d, Apply %d", run, id), committed, 0)
		if err := applyParts(w, parts, 1+rng.IntN(400), rng.IntN(2) == 0); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(6) == 0 {
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		rec.take(fmt.Sprintf("run %d, before Commit %d", run, id))
		rec.set(fmt.Sprintf("run %d, Commit %d", run, id), committed, id)
		if _, err := w.Commit(metaOf(id)); err != nil {
			t.Fatal(err)
		}
		committed = id
		cur.apply(parts[0])
		cur.apply(parts[1])
		models[id] = cur.clone()
		rec.set(fmt.Sprintf("run %d, after Commit %d", run, id), committed, 0)
		rec.take(fmt.Sprintf("run %d, after Commit %d", run, id))
		if rng.IntN(4) == 0 {
			// Restart and resume.
			rec.set(fmt.Sprintf("run %d, restart after %d", run, id), committed, 0)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			c = mustOpen(t, fs, opts)
			r, err := c.Latest()
			if err != nil || r == nil || r.ID != committed {
				t.Fatalf("run %d: Latest after a clean restart: %v, %v; want checkpoint %d", run, r, err, committed)
			}
			if err := c.Resume(r); err != nil {
				t.Fatal(err)
			}
			r.Close()
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, cr := range rec.crashes {
		id := checkCrash(t, rng, cr, models)
		tally.points++
		if cr.inCommit != 0 {
			tally.inCommit++
			if id == cr.inCommit {
				tally.newer++
			}
		}
	}
}

// checkCrash checks a crash clone and returns the id it restored.
func checkCrash(t *testing.T, rng *rand.Rand, cr crash, models map[uint64]model) uint64 {
	t.Helper()
	logger, logs := newLog()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("crash %s: %s\nthe store's log:\n%s", cr.where, fmt.Sprintf(format, args...), logs)
	}
	c, err := OpenCheckpoints("/cp", CheckpointOptions{FS: cr.fs, Logger: logger, memTableSize: 64 << 10})
	if err != nil {
		fail("open: %v", err)
	}
	defer c.Close()
	r, err := c.Latest()
	if err != nil {
		fail("Latest: %v", err)
	}
	var id uint64
	if r != nil {
		id = r.ID
	}
	if id != cr.committed && (cr.inCommit == 0 || id != cr.inCommit) {
		fail("restored checkpoint %d; want %d (or %d, being committed)", id, cr.committed, cr.inCommit)
	}
	want := models[id].clone()
	if d := diff(readAll(t, r), want); d != "" {
		fail("checkpoint %d restored wrong: %s", id, d)
	}
	if r != nil {
		if string(r.Meta) != string(metaOf(id)) {
			fail("checkpoint %d: meta %q", id, r.Meta)
		}
		err = c.Resume(r)
		r.Close()
	} else {
		err = c.Fresh()
	}
	if err != nil {
		fail("resuming: %v", err)
	}
	next := uint64(100)
	w, err := c.Begin(next)
	if err != nil {
		fail("Begin: %v", err)
	}
	ops := genOps(rng, 0, 400, 100)
	if err := applyParts(w, [][]op{ops}, 100, false); err != nil {
		fail("Apply: %v", err)
	}
	if _, err := w.Commit(metaOf(next)); err != nil {
		fail("Commit: %v", err)
	}
	want.apply(ops)
	r, err = c.Latest()
	if err != nil || r == nil || r.ID != next {
		fail("Latest after resuming and committing %d: %v, %v", next, r, err)
	}
	defer r.Close()
	if d := diff(readAll(t, r), want); d != "" {
		fail("checkpoint %d after resuming from %d: %s", next, id, d)
	}
	return id
}
