package exactlyonce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
)

// Damaged checkpoints: the job crashed just after one of its checkpoints
// completed (its sinks had staged, not yet published, what followed the
// one before), and then that newest checkpoint was damaged on disk. The
// restarted job must see it (checksums), log which file and why, fall
// back to the checkpoint before and end with the exact output; with every
// checkpoint damaged it must fail, saying so, and publish nothing.
//
// The crash matters: once a sink has published a checkpoint's output, a
// fallback to an older checkpoint processes what followed it again, and
// publishes it again.

// crashedAfterCheckpoint runs the job and returns a crash clone of its
// disk taken when a checkpoint's completion record is durable, before
// anything else happens: the first checkpoint after some output was
// published. It also returns the directories of the complete checkpoints
// in the clone, newest first (at least two).
func crashedAfterCheckpoint(t *testing.T) (*vfs.MemFS, []string) {
	t.Helper()
	mem := vfs.NewCrashableMem()
	var mu sync.Mutex
	renamed := map[string]bool{}
	var clone *vfs.MemFS
	var h *hookFS
	h = newHookFS(mem, func(op fsOp) {
		mu.Lock()
		defer mu.Unlock()
		if clone != nil || classify(op, renamed) != phaseRecorded {
			return
		}
		names, _ := mem.List(outDir)
		if slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "part-") }) {
			clone = h.clone(vfs.CrashCloneCfg{})
		}
	})
	if err := job(run{fs: h, interval: 2 * time.Millisecond, rate: faultRate}).Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if clone == nil {
		t.Fatal("no checkpoint completed after the first output was published")
	}
	names, err := clone.List(ckDir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	slices.Reverse(names)
	var complete []string
	for _, n := range names {
		if _, err := clone.Stat(ckDir + "/" + n + "/COMPLETE"); err == nil && strings.HasPrefix(n, "chk-") {
			complete = append(complete, ckDir+"/"+n)
		}
	}
	if len(complete) < 2 {
		t.Fatalf("%d complete checkpoints (%v), want 2 or more", len(complete), complete)
	}
	return clone, complete
}

// idOf is the id of a checkpoint directory, as the log shows it.
func idOf(dir string) string {
	return fmt.Sprint(checkpointOf(dir))
}

// checkpointFiles lists the files of a checkpoint directory but its
// completion record.
func checkpointFiles(t *testing.T, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return strings.HasPrefix(n, "COMPLETE") })
	slices.Sort(names)
	return names
}

func readAll(t *testing.T, fs vfs.FS, path string) []byte {
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

// rewrite replaces path with a new file holding b, synced. (A new file:
// a hard link to the old one, in another checkpoint, keeps its bytes.)
func rewrite(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	if err := fs.Remove(path); err != nil {
		t.Fatal(err)
	}
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// A damage is a way to damage a file; truncating or flipping a byte
// needs a file that is not empty.
type damage struct {
	name string
	do   func(t *testing.T, fs vfs.FS, path string, rng *rand.Rand)
}

var damages = []damage{
	{"truncated", func(t *testing.T, fs vfs.FS, path string, rng *rand.Rand) {
		b := readAll(t, fs, path)
		rewrite(t, fs, path, b[:rng.IntN(len(b))])
	}},
	{"a byte flipped", func(t *testing.T, fs vfs.FS, path string, rng *rand.Rand) {
		b := readAll(t, fs, path)
		f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		off := rng.IntN(len(b))
		if _, err := f.WriteAt([]byte{b[off] ^ byte(1+rng.IntN(255))}, int64(off)); err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(f.Sync(), f.Close()); err != nil {
			t.Fatal(err)
		}
	}},
	{"missing", func(t *testing.T, fs vfs.FS, path string, rng *rand.Rand) {
		if err := fs.Remove(path); err != nil {
			t.Fatal(err)
		}
	}},
}

// restart runs the job on fs and returns its log and error.
func restart(fs vfs.FS) (*logBuf, error) {
	log, logs := newLog(slog.LevelInfo)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return logs, job(run{fs: fs, interval: 2 * time.Millisecond, log: log}).Execute(ctx)
}

// checkFallback restarts the job on fs, where the newest checkpoint is
// damaged (why names what the log must say about it), and checks that it
// fell back to the one before and ended exactly.
func checkFallback(t *testing.T, fs vfs.FS, newest, previous, why string, want []string) {
	t.Helper()
	logs, err := restart(fs)
	if err != nil {
		t.Fatalf("the job failed: %v\nlog:\n%s", err, logs.tail(3000))
	}
	if len(logs.lines(`msg="braid: checkpoint skipped: not intact"`, "checkpoint="+idOf(newest), why)) != 1 {
		t.Errorf("no warning that checkpoint %s was skipped because of %q\nlog:\n%s", idOf(newest), why, logs.tail(3000))
	}
	if len(logs.lines(`msg="braid: resuming from checkpoint"`, "checkpoint="+idOf(previous))) != 1 {
		t.Errorf("the job did not resume from checkpoint %s\nlog:\n%s", idOf(previous), logs.tail(3000))
	}
	if err := checkOutput(fs, want, true); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedCheckpointFallsBack(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	want := reference(t)
	base, complete := crashedAfterCheckpoint(t)
	newest, previous := complete[0], complete[1]
	t.Logf("complete checkpoints: %v", complete)

	// The control: undamaged, the job resumes from the newest.
	fs := base.CrashClone(vfs.CrashCloneCfg{})
	logs, err := restart(fs)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.lines(`msg="braid: resuming from checkpoint"`, "checkpoint="+idOf(newest))) != 1 {
		t.Fatalf("undamaged, the job did not resume from checkpoint %s:\n%s", idOf(newest), logs.tail(3000))
	}
	if err := checkOutput(fs, want, true); err != nil {
		t.Fatal(err)
	}

	// Each file of the newest checkpoint, each way. (The crash clone
	// holds a table file the checkpoints share, a hard link on disk, as
	// two copies: damaging one leaves the other whole.)
	// An empty file (the WAL, Pebble's marker files) can only be missing.
	n := 0
	for _, name := range checkpointFiles(t, base, newest) {
		path := newest + "/" + name
		st, err := base.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range damages {
			if st.Size() == 0 && d.name != "missing" {
				continue
			}
			n++
			t.Run(name+" "+d.name, func(t *testing.T) {
				fs := base.CrashClone(vfs.CrashCloneCfg{})
				d.do(t, fs, path, rng)
				checkFallback(t, fs, newest, previous, path, want)
			})
		}
	}
	if n < 10 {
		t.Errorf("only %d ways to damage checkpoint %s tried", n, idOf(newest))
	}

	// Its completion record: gone (a crash cut the checkpoint short),
	// truncated, a byte flipped.
	t.Run("no completion record", func(t *testing.T) {
		fs := base.CrashClone(vfs.CrashCloneCfg{})
		if err := fs.Remove(newest + "/COMPLETE"); err != nil {
			t.Fatal(err)
		}
		checkFallback(t, fs, newest, previous, "no completion record", want)
	})
	for _, d := range damages[:2] {
		t.Run("completion record "+d.name, func(t *testing.T) {
			fs := base.CrashClone(vfs.CrashCloneCfg{})
			d.do(t, fs, newest+"/COMPLETE", rng)
			checkFallback(t, fs, newest, previous, "completion record", want)
		})
	}
}

func TestEveryCheckpointDamagedFails(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	base, complete := crashedAfterCheckpoint(t)
	before, err := published(base, outDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 {
		t.Fatal("nothing published before the crash")
	}
	fileOf := func(dir, prefix string) string {
		for _, name := range checkpointFiles(t, base, dir) {
			if strings.HasPrefix(name, prefix) {
				return dir + "/" + name
			}
		}
		t.Fatalf("no %s file in %s", prefix, dir)
		return ""
	}
	for _, tc := range []struct {
		name   string
		damage func(fs vfs.FS)
	}{
		{"a table file of each, a byte flipped", func(fs vfs.FS) {
			// A table file with the same name in two checkpoints is one
			// file on disk, hard-linked, and the clone holds a copy in
			// each: damage the copies alike.
			flipped := map[string][]byte{}
			for _, dir := range complete {
				path := fileOf(dir, "0") // Pebble's numbered files: tables and the empty WAL
				for _, name := range checkpointFiles(t, fs, dir) {
					if strings.HasSuffix(name, ".sst") {
						path = dir + "/" + name
						break
					}
				}
				name := path[strings.LastIndexByte(path, '/')+1:]
				b, ok := flipped[name]
				if !ok {
					b = readAll(t, fs, path)
					b[rng.IntN(len(b))] ^= 0x10
					flipped[name] = b
				}
				rewrite(t, fs, path, b)
			}
		}},
		{"each MANIFEST truncated", func(fs vfs.FS) {
			for _, dir := range complete {
				damages[0].do(t, fs, fileOf(dir, "MANIFEST"), rng)
			}
		}},
		{"the newest record damaged, the others gone", func(fs vfs.FS) {
			damages[1].do(t, fs, complete[0]+"/COMPLETE", rng)
			for _, dir := range complete[1:] {
				if err := fs.Remove(dir + "/COMPLETE"); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := base.CrashClone(vfs.CrashCloneCfg{})
			tc.damage(fs)
			staged := checkpointFiles(t, fs, outDir+"/.staging")
			logs, runErr := restart(fs)
			if !errors.Is(runErr, state.ErrNoIntactCheckpoint) {
				t.Fatalf("the job ended with %v, want an error marked state.ErrNoIntactCheckpoint\nlog:\n%s", runErr, logs.tail(3000))
			}
			if !strings.Contains(runErr.Error(), "checkpoint "+idOf(complete[0])) {
				t.Errorf("the error does not say why checkpoint %s was rejected: %v", idOf(complete[0]), runErr)
			}
			if got := len(logs.lines(`msg="braid: checkpoint skipped: not intact"`)); got < len(complete) {
				t.Errorf("%d warnings, want one for each of the %d checkpoints\nlog:\n%s", got, len(complete), logs.tail(3000))
			}
			// Nothing restored, so nothing published or discarded.
			after, err := published(fs, outDir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(after, before) {
				t.Errorf("the failed job changed the published output: %s", diff(after, before))
			}
			if s := checkpointFiles(t, fs, outDir+"/.staging"); !slices.Equal(s, staged) {
				t.Errorf("the failed job changed .staging: %v, was %v", s, staged)
			}
			t.Logf("the job failed with: %.300s", runErr)
		})
	}

	// Every record gone: no checkpoint ever completed, as far as the
	// directory tells, and the job starts fresh (state.Checkpoints.Latest
	// returns none). The file sink restores nothing either, so what it
	// published before stays and the whole output follows it.
	t.Run("every record gone", func(t *testing.T) {
		fs := base.CrashClone(vfs.CrashCloneCfg{})
		for _, dir := range complete {
			if err := fs.Remove(dir + "/COMPLETE"); err != nil {
				t.Fatal(err)
			}
		}
		logs, err := restart(fs)
		if err != nil {
			t.Fatalf("the job failed: %v\nlog:\n%s", err, logs.tail(3000))
		}
		if len(logs.lines(`msg="braid: checkpoint skipped: not intact"`, "no completion record")) < len(complete) ||
			len(logs.lines("resuming from checkpoint")) != 0 {
			t.Errorf("want the checkpoints skipped and a fresh start\nlog:\n%s", logs.tail(3000))
		}
		got, err := published(fs, outDir)
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(before), reference(t)...)
		slices.Sort(want)
		if d := diff(got, want); d != "" {
			t.Errorf("want what was published before plus a whole run: %s", d)
		}
		t.Logf("%d lines were published before; %d after the fresh run", len(before), len(got))
	})
}
