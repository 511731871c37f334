package state

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/goleak"
)

// damageScenario writes checkpoints 1, 2 and 3 on a fresh MemFS (whose
// Link makes real hard links: a linked file is one node under two names)
// and returns the filesystem, each checkpoint's state and record. Without
// compactions, each checkpoint adds one table file and links the older
// ones, the same in every run.
func damageScenario(t *testing.T) (*vfs.MemFS, map[uint64]model, map[uint64]*record) {
	t.Helper()
	fs := vfs.NewMem()
	c := mustOpen(t, fs, CheckpointOptions{Retain: 3, noCompactions: true})
	if err := c.Fresh(); err != nil {
		t.Fatal(err)
	}
	models := map[uint64]model{}
	recs := map[uint64]*record{}
	m := model{}
	for id := uint64(1); id <= 3; id++ {
		var ops []op
		for i := 0; i < 500; i++ {
			ops = append(ops, op{key: testKey(int(id), i), val: fmt.Sprintf("v%d.%d", id, i)})
		}
		if id > 1 {
			ops = append(ops, op{del: true, key: testKey(int(id)-1, 0), hi: testKey(int(id)-1, 100)})
		}
		checkpoint(t, c, id, [][]op{ops}, false)
		m.apply(ops)
		models[id] = m.clone()
		rec, err := c.readRecord(id)
		if err != nil {
			t.Fatal(err)
		}
		recs[id] = rec
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return fs, models, recs
}

func readFile(t *testing.T, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// truncate replaces the file at path by its first half (a new file: other
// hard links keep the old content).
func truncate(t *testing.T, fs vfs.FS, path string) {
	b := readFile(t, fs, path)
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b[:len(b)/2]); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// flip inverts a byte in the middle of the file at path, in place (every
// hard link sees it).
func flip(t *testing.T, fs vfs.FS, path string) {
	b := readFile(t, fs, path)
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(len(b) / 2)
	if _, err := f.WriteAt([]byte{b[off] ^ 0x5a}, off); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func fileKind(name string) string {
	switch {
	case strings.HasSuffix(name, ".sst"):
		return "table"
	case strings.HasPrefix(name, "MANIFEST-"):
		return "MANIFEST"
	case strings.HasPrefix(name, "OPTIONS-"):
		return "OPTIONS"
	case strings.HasSuffix(name, ".log"):
		return "WAL"
	case strings.HasPrefix(name, "marker."):
		return "marker"
	case name == recordName:
		return "completion record"
	}
	return "other"
}

// Each kind of file of the newest checkpoint (its own table, MANIFEST,
// OPTIONS, WAL copy, markers, completion record) truncated, altered or
// deleted: Latest falls back to the previous checkpoint, and the log says
// which file of which checkpoint was wrong. The state restored is exactly
// the previous checkpoint's, never a damaged one.
func TestCheckpointsDamageFallsBack(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	_, _, recs := damageScenario(t)
	names := []string{recordName}
	kinds := map[string]bool{}
	for _, f := range recs[3].files {
		if immutableFile(f.name) && recs[2].shares(f) {
			continue // shared with checkpoint 2: the test below
		}
		names = append(names, f.name)
		kinds[fileKind(f.name)] = true
	}
	for _, k := range []string{"table", "MANIFEST", "OPTIONS", "WAL", "marker"} {
		if !kinds[k] {
			t.Fatalf("checkpoint 3 has no %s file of its own: %v", k, recs[3].files)
		}
	}
	cases := 0
	for _, name := range names {
		for _, how := range []string{"truncate", "flip", "delete"} {
			size := int64(1)
			if f, ok := recs[3].byName[name]; ok {
				size = f.size
			}
			if size == 0 && how != "delete" {
				continue
			}
			cases++
			t.Run(fileKind(name)+"/"+name+"/"+how, func(t *testing.T) {
				fs, models, recs2 := damageScenario(t)
				if name != recordName && recs2[3].byName[name].size != recs[3].byName[name].size {
					t.Fatalf("the scenario is not the same twice: %v, then %v", recs[3].files, recs2[3].files)
				}
				path := "/cp/" + chkDirName(3) + "/" + name
				switch how {
				case "truncate":
					truncate(t, fs, path)
				case "flip":
					flip(t, fs, path)
				case "delete":
					if err := fs.Remove(path); err != nil {
						t.Fatal(err)
					}
				}
				logger, logs := newLog()
				c := mustOpen(t, fs, CheckpointOptions{Logger: logger})
				defer c.Close()
				expectLatest(t, c, 2, models[2])
				log := logs.String()
				want := name
				if name == recordName {
					want = "completion record"
				}
				if !strings.Contains(log, "checkpoint skipped") || !strings.Contains(log, "checkpoint=3") || !strings.Contains(log, want) {
					t.Fatalf("the log does not say why checkpoint 3 was skipped (%s): %s", want, log)
				}
				if strings.Contains(log, "checkpoint=2") {
					t.Fatalf("checkpoint 2 reported damaged: %s", log)
				}
			})
		}
	}
	if cases < 15 {
		t.Fatalf("only %d damage cases", cases)
	}
}

// A table file that several checkpoints share through hard links is
// damaged once for all of them: each is rejected, and Latest restores the
// newest one that does not hold it, or fails with ErrNoIntactCheckpoint
// when all do.
func TestCheckpointsDamageShared(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	_, _, recs := damageScenario(t)
	var sharedBy2, sharedByAll string
	for _, f := range recs[3].files {
		if !immutableFile(f.name) || !recs[2].shares(f) {
			continue
		}
		if recs[1].shares(f) {
			sharedByAll = f.name
		} else {
			sharedBy2 = f.name
		}
	}
	if sharedBy2 == "" || sharedByAll == "" {
		t.Fatalf("no table shared by checkpoints 2 and 3 only, or by all: %v %v %v", recs[1].files, recs[2].files, recs[3].files)
	}

	t.Run("shared by 2 and 3", func(t *testing.T) {
		fs, models, _ := damageScenario(t)
		flip(t, fs, "/cp/"+chkDirName(3)+"/"+sharedBy2)
		logger, logs := newLog()
		c := mustOpen(t, fs, CheckpointOptions{Logger: logger})
		defer c.Close()
		expectLatest(t, c, 1, models[1])
		for _, id := range []uint64{3, 2} {
			if !strings.Contains(logs.String(), fmt.Sprintf("checkpoint %d: file /cp/%s/%s is damaged", id, chkDirName(id), sharedBy2)) {
				t.Fatalf("the log does not say checkpoint %d's %s is damaged: %s", id, sharedBy2, logs)
			}
		}
	})

	t.Run("shared by all", func(t *testing.T) {
		fs, _, _ := damageScenario(t)
		flip(t, fs, "/cp/"+chkDirName(1)+"/"+sharedByAll)
		c := mustOpen(t, fs, CheckpointOptions{})
		defer c.Close()
		r, err := c.Latest()
		if r != nil || !errors.Is(err, ErrNoIntactCheckpoint) {
			t.Fatalf("Latest: %v, %v; want ErrNoIntactCheckpoint", r, err)
		}
		for id := uint64(1); id <= 3; id++ {
			if !strings.Contains(err.Error(), fmt.Sprintf("checkpoint %d: file", id)) {
				t.Fatalf("the error does not say why checkpoint %d was rejected: %v", id, err)
			}
		}
		// The caller may start over.
		if err := c.Fresh(); err != nil {
			t.Fatal(err)
		}
		checkpoint(t, c, 4, [][]op{{{key: "a", val: "b"}}}, false)
		expectLatest(t, c, 4, model{"a": "b"})
	})
}

// Other ways a checkpoint is wrong or only looks wrong.
func TestCheckpointsDamageOther(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	// A completion record copied from another checkpoint is rejected.
	t.Run("record of another checkpoint", func(t *testing.T) {
		fs, models, _ := damageScenario(t)
		rec := readFile(t, fs, "/cp/"+chkDirName(2)+"/"+recordName)
		f, _ := fs.Create("/cp/"+chkDirName(3)+"/"+recordName, vfs.WriteCategoryUnspecified)
		f.Write(rec)
		f.Close()
		logger, logs := newLog()
		c := mustOpen(t, fs, CheckpointOptions{Logger: logger})
		defer c.Close()
		expectLatest(t, c, 2, models[2])
		if !strings.Contains(logs.String(), "is checkpoint 2's") {
			t.Fatalf("log: %s", logs)
		}
	})

	// A stray file in a checkpoint's directory (here a WAL of garbage,
	// which Pebble would replay) is not part of it: the checkpoint holds
	// exactly what its record lists.
	t.Run("stray file", func(t *testing.T) {
		fs, models, _ := damageScenario(t)
		f, _ := fs.Create("/cp/"+chkDirName(3)+"/000999.log", vfs.WriteCategoryUnspecified)
		f.Write([]byte(strings.Repeat("garbage", 1000)))
		f.Close()
		c := mustOpen(t, fs, CheckpointOptions{})
		defer c.Close()
		expectLatest(t, c, 3, models[3])
	})

	// After a fallback, Resume deletes the damaged checkpoint and the
	// store goes on from the intact one, with ids above the damaged one's
	// (a two-phase sink may have published or staged output under it);
	// Latest left no file behind.
	t.Run("resume after fallback", func(t *testing.T) {
		fs, models, recs := damageScenario(t)
		for _, f := range recs[3].files {
			if strings.HasPrefix(f.name, "MANIFEST-") {
				truncate(t, fs, "/cp/"+chkDirName(3)+"/"+f.name)
			}
		}
		c := mustOpen(t, fs, CheckpointOptions{})
		defer c.Close()
		r, err := c.Latest()
		if err != nil || r == nil || r.ID != 2 {
			t.Fatalf("Latest: %v, %v", r, err)
		}
		names, _ := fs.List("/cp/" + chkDirName(2))
		if len(names) != len(recs[2].files)+1 {
			t.Fatalf("checkpoint 2 holds %v after Latest, want its %d files and record", names, len(recs[2].files))
		}
		if err := c.Resume(r); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if _, err := fs.Stat("/cp/" + chkDirName(3)); err == nil {
			t.Fatal("Resume from 2 left checkpoint 3")
		}
		if got := c.LastID(); got != 3 {
			t.Fatalf("LastID after resuming from 2 past damaged 3 is %d, want 3", got)
		}
		if w, err := c.Begin(3); err == nil {
			w.Abort()
			t.Fatal("Begin(3) after resuming past damaged checkpoint 3: its id is used again")
		}
		m := models[2].clone()
		ops := []op{{key: "x", val: "y"}, {del: true, key: testKey(2, 7)}}
		checkpoint(t, c, 4, [][]op{ops}, false)
		m.apply(ops)
		expectLatest(t, c, 4, m)

		// The next store on the directory: checkpoint 3's directory is
		// gone, and its id stays used.
		c.Close()
		c2 := mustOpen(t, fs, CheckpointOptions{})
		defer c2.Close()
		r, err = c2.Latest()
		if err != nil || r == nil || r.ID != 4 {
			t.Fatalf("Latest: %v, %v", r, err)
		}
		defer r.Close()
		if err := c2.Resume(r); err != nil {
			t.Fatal(err)
		}
		if got := c2.LastID(); got != 4 {
			t.Fatalf("LastID is %d, want 4", got)
		}
	})

	// Only checkpoints without a completion record: none ever completed.
	t.Run("only incomplete", func(t *testing.T) {
		fs, _, _ := damageScenario(t)
		for id := uint64(1); id <= 3; id++ {
			fs.Remove("/cp/" + chkDirName(id) + "/" + recordName)
		}
		logger, logs := newLog()
		c := mustOpen(t, fs, CheckpointOptions{Logger: logger})
		defer c.Close()
		if r, err := c.Latest(); r != nil || err != nil {
			t.Fatalf("Latest: %v, %v; want nil, nil", r, err)
		}
		if strings.Count(logs.String(), "no completion record") != 3 {
			t.Fatalf("log: %s", logs)
		}
	})
}
