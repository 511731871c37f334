package state

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/staging"
)

// resumeLatest opens a store on fs, resumes from its newest intact
// checkpoint (which must be want) and returns the store.
func resumeLatest(t *testing.T, fs vfs.FS, want uint64) *Checkpoints {
	t.Helper()
	c := mustOpen(t, fs, CheckpointOptions{Retain: 3, noCompactions: true})
	t.Cleanup(func() { c.Close() })
	r, err := c.Latest()
	if err != nil || r == nil || r.ID != want {
		t.Fatalf("Latest: %v, %v; want checkpoint %d", r, err, want)
	}
	defer r.Close()
	if err := c.Resume(r); err != nil {
		t.Fatal(err)
	}
	return c
}

// checkNext checks that the store gives out no id up to used again:
// LastID is used, and Begin refuses used and accepts used+1.
func checkNext(t *testing.T, c *Checkpoints, used uint64) {
	t.Helper()
	if got := c.LastID(); got != used {
		t.Errorf("LastID is %d, want %d", got, used)
	}
	if w, err := c.Begin(used); err == nil {
		w.Abort()
		t.Fatalf("Begin(%d) accepted: that id was given out before", used)
	}
	checkpoint(t, c, used+1, [][]op{{{key: "after", val: fmt.Sprint(used + 1)}}}, false)
}

// damageManifest truncates a checkpoint's MANIFEST (a file of its own:
// its tables are hard links the older checkpoints share).
func damageManifest(t *testing.T, fs vfs.FS, rec *record) {
	t.Helper()
	for _, f := range rec.files {
		if strings.HasPrefix(f.name, "MANIFEST-") {
			truncate(t, fs, "/cp/"+chkDirName(rec.id)+"/"+f.name)
			return
		}
	}
	t.Fatalf("checkpoint %d has no MANIFEST", rec.id)
}

// TestCheckpointIDsNeverReused: whatever became of a checkpoint (damaged
// and skipped, deleted, aborted, cut short by a crash), its id is not
// given out again by any later store on the directory.
func TestCheckpointIDsNeverReused(t *testing.T) {
	t.Run("newest damaged", func(t *testing.T) {
		fs, _, recs := damageScenario(t)
		damageManifest(t, fs, recs[3])
		c := resumeLatest(t, fs, 2)
		checkNext(t, c, 3)
	})

	t.Run("two damaged in a row", func(t *testing.T) {
		fs, _, recs := damageScenario(t)
		damageManifest(t, fs, recs[3])
		c := resumeLatest(t, fs, 2)
		checkNext(t, c, 3) // checkpoint 4
		c.Close()
		flip(t, fs, "/cp/"+chkDirName(4)+"/"+recordName)
		c = resumeLatest(t, fs, 2)
		checkNext(t, c, 4)
	})

	t.Run("newest deleted by hand", func(t *testing.T) {
		fs, _, _ := damageScenario(t)
		if err := fs.RemoveAll("/cp/" + chkDirName(3)); err != nil {
			t.Fatal(err)
		}
		c := resumeLatest(t, fs, 2)
		checkNext(t, c, 3)
	})

	t.Run("aborted", func(t *testing.T) {
		fs, _, _ := damageScenario(t)
		c := resumeLatest(t, fs, 3)
		for id := uint64(4); id <= 5; id++ {
			w, err := c.Begin(id)
			if err != nil {
				t.Fatal(err)
			}
			w.Abort()
		}
		c.Close()
		c = resumeLatest(t, fs, 3)
		checkNext(t, c, 5)
	})

	// A Begin that returned has its id on disk: a crash at any instant
	// after (a clone keeping only what was synced) keeps it used.
	t.Run("crash after Begin", func(t *testing.T) {
		mem := vfs.NewCrashableMem()
		c := mustOpen(t, mem, CheckpointOptions{noCompactions: true})
		defer c.Close()
		if err := c.Fresh(); err != nil {
			t.Fatal(err)
		}
		checkpoint(t, c, 1, [][]op{{{key: "a", val: "1"}}}, false)
		for id := uint64(2); id <= 4; id++ {
			w, err := c.Begin(id)
			if err != nil {
				t.Fatal(err)
			}
			crashed := mem.CrashClone(vfs.CrashCloneCfg{})
			if err := applyParts(w, [][]op{{{key: "b", val: fmt.Sprint(id)}}}, 10, false); err != nil {
				t.Fatal(err)
			}
			if id%2 == 0 {
				w.Abort()
			} else if _, err := w.Commit(metaOf(id)); err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprint("begun ", id), func(t *testing.T) {
				last := uint64(1)
				if id == 4 {
					last = 3
				}
				checkNext(t, resumeLatest(t, crashed, last), id)
			})
		}
	})

	// A directory written before the reservation file existed (here: its
	// file deleted) has only the names of its checkpoints. Resuming past
	// a damaged one deletes it, so its id is recorded first: a crash
	// right after Resume keeps it used.
	t.Run("no reservation file", func(t *testing.T) {
		fs, _, recs := damageScenario(t)
		names, err := fs.List("/cp")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, name := range names {
			if _, ok := parseIDsName(name); ok {
				n++
				if err := fs.Remove("/cp/" + name); err != nil {
					t.Fatal(err)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d reservation files in %v, want 1", n, names)
		}
		damageManifest(t, fs, recs[3])
		mem := vfs.NewCrashableMem()
		if _, err := vfs.Clone(fs, mem, "/cp", "/cp", vfs.CloneSync); err != nil {
			t.Fatal(err)
		}
		if err := staging.SyncDir(mem, "/"); err != nil { // Clone syncs what it made, not the parent
			t.Fatal(err)
		}
		c := resumeLatest(t, mem, 2)
		if _, err := mem.Stat("/cp/" + chkDirName(3)); err == nil {
			t.Fatal("Resume left checkpoint 3")
		}
		crashed := mem.CrashClone(vfs.CrashCloneCfg{})
		c.Close()
		checkNext(t, resumeLatest(t, crashed, 2), 3)
	})
}
