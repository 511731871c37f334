package exactlyonce_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/testseed"
)

// Checkpoint ids after a fallback: a job that resumes from an older
// checkpoint, because the newest was damaged, goes on with ids above every
// id it gave out before, not above the one it resumed from. The file sink
// names its part files by id, so each part it stages or publishes after
// the restart has a name no file of the earlier run had, and no part
// file published before is overwritten.

// outFiles is what the sink's directory holds: each published part file
// with its bytes, and the names in .staging.
type outFiles struct {
	published map[string][]byte
	staged    []string
}

func readOut(t *testing.T, fs vfs.FS) outFiles {
	t.Helper()
	o := outFiles{published: map[string][]byte{}}
	names, err := fs.List(outDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "part-") {
			o.published[n] = readAll(t, fs, outDir+"/"+n)
		}
	}
	if o.staged, err = fs.List(outDir + "/.staging"); err != nil {
		t.Fatal(err)
	}
	return o
}

// partID is the checkpoint id a part file's name ends in.
func partID(t *testing.T, name string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(name[strings.LastIndexByte(name, '-')+1:], 10, 64)
	if err != nil {
		t.Fatalf("part file %s: no checkpoint id in its name", name)
	}
	return id
}

// restartLogged runs the job on fs with a debug log (it lists the
// checkpoints completed), paced so that it takes checkpoints on the way.
func restartLogged(t *testing.T, fs vfs.FS) *logBuf {
	t.Helper()
	log, logs := newLog(slog.LevelDebug)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := job(run{fs: fs, interval: 2 * time.Millisecond, rate: faultRate, log: log}).Execute(ctx); err != nil {
		t.Fatalf("the restarted job failed: %v\nlog:\n%s", err, logs.tail(3000))
	}
	return logs
}

// flipOwnFile flips a byte of a non-empty file of checkpoint dir.
func flipOwnFile(t *testing.T, fs vfs.FS, dir string, rng *rand.Rand) string {
	t.Helper()
	for _, name := range checkpointFiles(t, fs, dir) {
		if st, err := fs.Stat(dir + "/" + name); err == nil && st.Size() > 0 {
			damages[1].do(t, fs, dir+"/"+name, rng) // a byte flipped
			return dir + "/" + name
		}
	}
	t.Fatalf("checkpoint %s has no file to damage", dir)
	return ""
}

// checkNoReuse checks the restart after a fallback from checkpoint newest
// against the files before it: no checkpoint failed, every checkpoint it
// completed has an id above newest (and it completed some besides the
// final one), every part
// file published before is there with its bytes, and every part file
// published since has a name the sink's directory never held, with an id
// above newest (or FinalCheckpoint's).
func checkNoReuse(t *testing.T, before, after outFiles, logs *logBuf, newest int64) {
	t.Helper()
	ids := completedIDs(logs)
	if len(ids) < 2 {
		t.Fatalf("the restarted job completed checkpoints %v: too few for the test to mean much\nlog:\n%s", ids, logs.tail(3000))
	}
	if failed := logs.lines(`msg="braid: checkpoint failed"`); len(failed) > 0 {
		t.Errorf("the restarted job had checkpoints fail (ids it tried were used?): %q", failed[:min(len(failed), 3)])
	}
	for _, id := range ids {
		if id <= newest {
			t.Errorf("the restarted job completed checkpoint %d, an id the run before had used (up to %d): %v", id, newest, ids)
		}
	}
	for name, b := range before.published {
		if got, ok := after.published[name]; !ok {
			t.Errorf("part file %s, published before the restart, is gone", name)
		} else if !bytes.Equal(got, b) {
			t.Errorf("part file %s, published before the restart, was overwritten: %d bytes, %d before", name, len(got), len(b))
		}
	}
	n := 0
	for name := range after.published {
		if _, ok := before.published[name]; ok {
			continue
		}
		n++
		if slices.Contains(before.staged, name) {
			t.Errorf("part file %s, published after the restart, has the name of one the run before staged", name)
		}
		if id := partID(t, name); id <= newest {
			t.Errorf("part file %s, published after the restart, is named by checkpoint %d, an id the run before had used (up to %d)", name, id, newest)
		}
	}
	if n == 0 {
		t.Error("the restarted job published no part file")
	}
}

// TestFallbackNeverReusesIDs: the job crashed just after its newest
// checkpoint completed (the sinks had staged, not published, the output
// since the one before), and that checkpoint's files were then damaged. The
// restart falls back to the checkpoint before and ends with the exact
// output, under names the earlier run never used.
func TestFallbackNeverReusesIDs(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	want := reference(t)
	base, complete := crashedAfterCheckpoint(t)
	newest := checkpointOf(complete[0])
	fs := base.CrashClone(vfs.CrashCloneCfg{})
	before := readOut(t, fs)
	path := flipOwnFile(t, fs, complete[0], rng)
	logs := restartLogged(t, fs)
	if len(logs.lines(`msg="braid: checkpoint skipped: not intact"`, "checkpoint="+idOf(complete[0]), path)) != 1 {
		t.Errorf("no warning that checkpoint %d was skipped because of %s\nlog:\n%s", newest, path, logs.tail(3000))
	}
	if len(logs.lines(`msg="braid: resuming from checkpoint"`, "checkpoint="+idOf(complete[1]))) != 1 {
		t.Fatalf("the job did not resume from checkpoint %s\nlog:\n%s", idOf(complete[1]), logs.tail(3000))
	}
	if err := checkOutput(fs, want, true); err != nil {
		t.Fatal(err)
	}
	checkNoReuse(t, before, readOut(t, fs), logs, newest)
}

// TestFallbackPastPublishedOutput: the newest checkpoint completed and a
// sink subtask published its output before the crash; then the
// checkpoint was damaged. The restart falls back to the checkpoint
// before, so what followed that one is processed and published again
// (the documented limit: a damaged checkpoint whose output is out cannot
// take it back). It is published under new names: nothing published
// before changes, and the output is the uninterrupted run's plus,
// exactly, the lines of the parts published for checkpoints after the
// one resumed from.
func TestFallbackPastPublishedOutput(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	want := reference(t)

	// A crash clone taken when a part file of the newest complete
	// checkpoint is published (its directory synced), the third
	// checkpoint or later (so that two complete ones are on disk).
	mem := vfs.NewCrashableMem()
	var mu sync.Mutex
	renamed := map[string]bool{}
	var recorded []int64
	var clone *vfs.MemFS
	var cloneID int64
	publishedID := int64(-1)
	var h *hookFS
	h = newHookFS(mem, func(op fsOp) {
		mu.Lock()
		defer mu.Unlock()
		if clone != nil {
			return
		}
		switch classify(op, renamed) {
		case phaseRecorded:
			recorded = append(recorded, checkpointOf(op.path))
		case phasePublished:
			publishedID = partID(t, op.to)
		case phaseStage:
			if op.kind == opSync && op.post && op.path == outDir && len(recorded) >= 3 && publishedID == recorded[len(recorded)-1] {
				clone, cloneID = h.clone(vfs.CrashCloneCfg{}), publishedID
			}
		}
	})
	if err := job(run{fs: h, interval: 2 * time.Millisecond, rate: faultRate}).Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if clone == nil {
		t.Fatalf("no part file of the newest checkpoint was published while it was the newest (checkpoints %v)", recorded)
	}
	newest := cloneID
	previous := int64(-1)
	names, err := clone.List(ckDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if id := checkpointOf(ckDir + "/" + n); id >= 0 && id < newest {
			if _, err := clone.Stat(ckDir + "/" + n + "/COMPLETE"); err == nil {
				previous = max(previous, id)
			}
		}
	}
	if previous < 0 {
		t.Fatalf("no complete checkpoint before %d in %v", newest, names)
	}

	fs := clone.CrashClone(vfs.CrashCloneCfg{})
	before := readOut(t, fs)
	var again []string // the lines published for checkpoints after previous
	for name, b := range before.published {
		if id := partID(t, name); id > previous && id != math.MaxInt64 {
			again = append(again, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
		}
	}
	if len(again) == 0 {
		t.Fatalf("no line published for checkpoint %d: %v", newest, before.published)
	}
	flipOwnFile(t, fs, fmt.Sprintf("%s/chk-%020d", ckDir, newest), rng)
	logs := restartLogged(t, fs)
	if len(logs.lines(`msg="braid: resuming from checkpoint"`, "checkpoint="+strconv.FormatInt(previous, 10))) != 1 {
		t.Fatalf("the job did not resume from checkpoint %d\nlog:\n%s", previous, logs.tail(3000))
	}
	got, err := published(fs, outDir)
	if err != nil {
		t.Fatal(err)
	}
	wantAgain := append(slices.Clone(want), again...)
	slices.Sort(wantAgain)
	if d := diff(got, wantAgain); d != "" {
		t.Errorf("output is not the uninterrupted run's plus the %d lines published for checkpoint %d: %s", len(again), newest, d)
	}
	checkNoReuse(t, before, readOut(t, fs), logs, newest)
}
