package exactlyonce_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/braidstream/braid/stream"
)

// I/O faults: a checkpoint whose writes or syncs fail (a full disk, an
// fsync error) is declared failed and logged with the cause, processing
// goes on, the next one is tried, and the output is still exact; more
// failures in a row than TolerableCheckpointFailures fail the job with the
// cause, and a restart once the disk is fine again completes it exactly.

// errDiskFull is what the faulty disk returns.
var errDiskFull = &injected{syscall.ENOSPC}

type injected struct{ err error }

func (e *injected) Error() string { return "injected: " + e.err.Error() }
func (e *injected) Unwrap() error { return e.err }

// faultyDisk injects errDiskFull into the operations fail selects, and
// counts them.
type faultyDisk struct {
	mu       sync.Mutex
	fail     func(op errorfs.Op) bool
	injected int
	first    string
}

func (d *faultyDisk) String() string { return "faulty disk" }

func (d *faultyDisk) MaybeError(op errorfs.Op) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail == nil || !d.fail(op) {
		return nil
	}
	d.injected++
	if d.first == "" {
		d.first = fmt.Sprintf("%v %s", op.Kind, op.Path)
	}
	return errDiskFull
}

func (d *faultyDisk) set(fail func(op errorfs.Op) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail = fail
}

func (d *faultyDisk) count() (int, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.injected, d.first
}

var chkPath = regexp.MustCompile(`^` + ckDir + `/chk-(\d{20})(/|$)`)

// checkpointOf returns the id of the checkpoint directory path is in, or
// -1.
func checkpointOf(path string) int64 {
	m := chkPath.FindStringSubmatch(path)
	if m == nil {
		return -1
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func isWrite(k errorfs.OpKind) bool { return k == errorfs.OpFileWrite || k == errorfs.OpFileWriteAt }
func isSync(k errorfs.OpKind) bool {
	return k == errorfs.OpFileSync || k == errorfs.OpFileSyncData || k == errorfs.OpFileSyncTo
}

// completedIDs lists, from a debug log, the checkpoints that completed,
// the final one included.
func completedIDs(logs *logBuf) []int64 {
	var ids []int64
	re := regexp.MustCompile(`checkpoint=(\d+)`)
	for _, l := range logs.lines(`checkpoint complete"`) {
		if m := re.FindStringSubmatch(l); m != nil {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			ids = append(ids, id)
		}
	}
	return ids
}

// failedIDs lists, from the log, the checkpoints logged as failed; each
// such line must carry the injected cause.
func failedIDs(t *testing.T, logs *logBuf) []int64 {
	t.Helper()
	var ids []int64
	re := regexp.MustCompile(`checkpoint=(\d+)`)
	for _, l := range logs.lines(`msg="braid: checkpoint failed"`) {
		if !strings.Contains(l, "no space left on device") {
			t.Errorf("a failed checkpoint logged without its cause: %s", l)
		}
		if m := re.FindStringSubmatch(l); m != nil {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			ids = append(ids, id)
		}
	}
	return ids
}

// faultRate paces the source of the fault tests: a run lasts a third of
// a second, long enough for checkpoints after the faulty ones even on a
// loaded machine under the race detector (where a checkpoint can take
// tens of milliseconds).
const faultRate = 3_000

func TestFaultsFailCheckpointsThatRecover(t *testing.T) {
	want := reference(t)
	for _, tc := range []struct {
		name string
		// fail selects the operations that fail (from checkpoint 2 on: a
		// job reaches it, if only with its final checkpoint, which is
		// retried as the tolerable failures allow).
		fail func(op errorfs.Op) bool
	}{
		{"write errors in checkpoints 2 to 4", func(op errorfs.Op) bool {
			id := checkpointOf(op.Path)
			return isWrite(op.Kind) && id >= 2 && id <= 4
		}},
		{"sync errors in checkpoints 2 to 4", func(op errorfs.Op) bool {
			id := checkpointOf(op.Path)
			return isSync(op.Kind) && id >= 2 && id <= 4
		}},
		{"completion record errors in checkpoints 2 and 3", func(op errorfs.Op) bool {
			id := checkpointOf(op.Path)
			return strings.HasSuffix(op.Path, "/COMPLETE.tmp") && (isWrite(op.Kind) || isSync(op.Kind)) && id >= 2 && id <= 3
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk := &faultyDisk{fail: tc.fail}
			mem := vfs.NewMem()
			log, logs := newLog(slog.LevelDebug)
			err := job(run{fs: errorfs.Wrap(mem, disk), interval: 2 * time.Millisecond, rate: faultRate, log: log}).Execute(context.Background())
			n, first := disk.count()
			if err != nil {
				t.Fatalf("%d errors injected (the first at %s): the job failed: %v\nlog:\n%s", n, first, err, logs.tail(4000))
			}
			if n == 0 {
				t.Fatal("no error injected: the job did not reach the faulty checkpoints")
			}
			failed := failedIDs(t, logs)
			done := completedIDs(logs)
			if len(failed) == 0 {
				t.Fatalf("%d errors injected (the first at %s), no checkpoint logged as failed\nlog:\n%s", n, first, logs.tail(4000))
			}
			for _, id := range failed {
				if slices.Contains(done, id) {
					t.Errorf("checkpoint %d logged both failed and complete", id)
				}
			}
			if len(done) == 0 || done[len(done)-1] <= slices.Max(failed) {
				t.Errorf("no checkpoint completed after the failed ones (%v); completed: %v", failed, done)
			}
			if err := checkOutput(mem, want, true); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d errors injected (the first at %s); checkpoints failed %v, then %d completed up to %d", n, first, failed, len(done), done[len(done)-1])
		})
	}
}

func TestFaultsBeyondToleranceFailTheJob(t *testing.T) {
	want := reference(t)
	for _, tc := range []struct {
		name string
		kind func(errorfs.OpKind) bool
	}{{"writes", isWrite}, {"syncs", isSync}} {
		t.Run(tc.name, func(t *testing.T) {
			// From checkpoint 2 on, the checkpoints' writes (or syncs)
			// fail, for good: the third failure in a row is one too many.
			disk := &faultyDisk{fail: func(op errorfs.Op) bool { return tc.kind(op.Kind) && checkpointOf(op.Path) >= 2 }}
			mem := vfs.NewMem()
			fs := errorfs.Wrap(mem, disk)
			log, logs := newLog(slog.LevelDebug)
			err := job(run{fs: fs, interval: 2 * time.Millisecond, rate: faultRate, log: log,
				opts: []stream.CheckpointOption{stream.TolerableCheckpointFailures(2)}}).Execute(context.Background())
			if err == nil {
				t.Fatalf("the job ended well with every checkpoint from 2 on failing\nlog:\n%s", logs.tail(4000))
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("the job's error does not wrap the cause (ENOSPC): %v", err)
			}
			if !strings.Contains(err.Error(), "3 checkpoints failed in a row (tolerable: 2)") {
				t.Errorf("the job's error does not say that too many checkpoints failed: %v", err)
			}
			if failed := failedIDs(t, logs); len(failed) != 3 {
				t.Errorf("%d checkpoints logged as failed (%v), want 3", len(failed), failed)
			}
			// Nothing it published is wrong: a part of the output, no line
			// twice.
			got, perr := published(mem, outDir)
			if perr != nil {
				t.Fatal(perr)
			}
			if d := diff(got, want); strings.Contains(d, "extra") && !strings.Contains(d, "0 extra") {
				t.Fatalf("a job that failed published what the uninterrupted run does not: %s", d)
			}

			// The disk is fine again: a restart resumes from the last
			// complete checkpoint and ends with the exact output.
			disk.set(nil)
			log, logs = newLog(slog.LevelInfo)
			if err := job(run{fs: fs, interval: 2 * time.Millisecond, log: log}).Execute(context.Background()); err != nil {
				t.Fatalf("restart: %v", err)
			}
			if len(logs.lines("braid: resuming from checkpoint", "checkpoint=1")) != 1 {
				t.Errorf("the restart did not resume from checkpoint 1, the last complete:\n%s", logs.tail(2000))
			}
			if err := checkOutput(mem, want, true); err != nil {
				t.Fatal(err)
			}
			t.Logf("failed with: %v", err)
		})
	}
}

// Flushes of the live state database fail for a while (its table files'
// writes): Pebble reports the failure in the background; the checkpoint
// it belonged to fails, the store rebuilds the live state from the last
// complete checkpoint, and the job goes on exactly.
func TestFaultsInTheLiveDatabase(t *testing.T) {
	want := reference(t)
	disk := &faultyDisk{}
	var mu sync.Mutex
	armed, budget := false, 3
	disk.set(func(op errorfs.Op) bool {
		mu.Lock()
		defer mu.Unlock()
		if op.Kind == errorfs.OpRename && checkpointOf(op.Path) == 1 && strings.HasSuffix(op.Path, "/COMPLETE.tmp") {
			armed = true // checkpoint 1 is complete
			return false
		}
		if !armed || budget == 0 || !strings.HasPrefix(op.Path, ckDir+"/live/") || !strings.HasSuffix(op.Path, ".sst") ||
			!(isWrite(op.Kind) || isSync(op.Kind)) {
			return false
		}
		budget--
		return true
	})
	mem := vfs.NewMem()
	log, logs := newLog(slog.LevelDebug)
	err := job(run{fs: errorfs.Wrap(mem, disk), interval: 2 * time.Millisecond, rate: faultRate, log: log}).Execute(context.Background())
	n, first := disk.count()
	if err != nil {
		t.Fatalf("%d errors injected (the first at %s): the job failed: %v\nlog:\n%s", n, first, err, logs.tail(4000))
	}
	if n == 0 {
		t.Fatal("no error injected")
	}
	// A failed flush fails its checkpoint; a failed compaction between
	// checkpoints makes the next Begin rebuild the live state first. Each
	// is logged with the cause.
	failed := failedIDs(t, logs)
	rebuilt := logs.lines("live state store failed; rebuilding it", "no space left on device")
	if len(failed) == 0 && len(rebuilt) == 0 {
		t.Fatalf("%d errors injected (the first at %s), neither a failed checkpoint nor a rebuild logged\nlog:\n%s", n, first, logs.tail(4000))
	}
	done := completedIDs(logs)
	if len(failed) > 0 && (len(done) == 0 || done[len(done)-1] <= slices.Max(failed)) {
		t.Errorf("no checkpoint completed after the failed ones (%v); completed: %v", failed, done)
	}
	if err := checkOutput(mem, want, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d errors injected (the first at %s); checkpoints failed %v, live state rebuilt %d times, %d checkpoints completed",
		n, first, failed, len(rebuilt), len(done))
}

// The sink's own staged files fail to sync for a while: the pre-commit
// fails, so does its checkpoint, and the lines of that file are lost to
// the running job, so the sink fails it rather than let a later checkpoint
// complete without them. Under a restart strategy the job restarts from
// its last complete checkpoint; without, it fails with the cause and a
// restart completes it. Either way the output is exact.
func TestFaultsInTheSinkPreCommit(t *testing.T) {
	want := reference(t)
	for _, restart := range []bool{true, false} {
		t.Run(fmt.Sprintf("restart strategy %v", restart), func(t *testing.T) {
			disk := &faultyDisk{}
			var mu sync.Mutex
			armed, budget := false, 2
			disk.set(func(op errorfs.Op) bool {
				mu.Lock()
				defer mu.Unlock()
				if op.Kind == errorfs.OpRename && checkpointOf(op.Path) == 1 && strings.HasSuffix(op.Path, "/COMPLETE.tmp") {
					armed = true
					return false
				}
				if !armed || budget == 0 || !strings.HasPrefix(op.Path, outDir+"/.staging/open-") || !isSync(op.Kind) {
					return false
				}
				budget--
				return true
			})
			mem := vfs.NewMem()
			fs := errorfs.Wrap(mem, disk)
			log, logs := newLog(slog.LevelInfo)
			r := run{fs: fs, interval: 2 * time.Millisecond, rate: faultRate, log: log}
			if restart {
				r.restart = stream.FixedDelayRestart(3, time.Millisecond)
			}
			err := job(r).Execute(context.Background())
			n, first := disk.count()
			if n == 0 {
				t.Fatal("no error injected")
			}
			// The checkpoint's failure is logged unless the sink's next
			// write fails the job first; the job's error, or its restart,
			// says why.
			failed := failedIDs(t, logs)
			if restart {
				if err != nil {
					t.Fatalf("the job failed under a restart strategy: %v\nlog:\n%s", err, logs.tail(4000))
				}
				if len(logs.lines("restarting from the last checkpoint", "no space left on device")) == 0 {
					t.Errorf("no restart logged with the cause\nlog:\n%s", logs.tail(4000))
				}
			} else {
				if err == nil || !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("the job lost the lines of a failed pre-commit and ended with %v, want a failure with the cause", err)
				}
				disk.set(nil) // the disk is fine again
				log, logs = newLog(slog.LevelInfo)
				if err := job(run{fs: fs, interval: 2 * time.Millisecond, log: log}).Execute(context.Background()); err != nil {
					t.Fatalf("restart: %v", err)
				}
				if len(logs.lines("braid: resuming from checkpoint")) != 1 {
					t.Errorf("the restart did not resume from a checkpoint:\n%s", logs.tail(2000))
				}
			}
			if err := checkOutput(mem, want, true); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d errors injected (the first at %s); checkpoints failed %v; the job's error: %v", n, first, failed, err)
		})
	}
}

// A disk that never recovers, with any number of failures tolerated: the
// job retries its final checkpoint again and again, and stops, its
// goroutines with it, when its context is done.
func TestFaultsToleratedForeverStopWithTheContext(t *testing.T) {
	disk := &faultyDisk{fail: func(op errorfs.Op) bool { return isWrite(op.Kind) && checkpointOf(op.Path) >= 1 }}
	log, logs := newLog(slog.LevelInfo)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// No rate: the input ends at once, and the final checkpoint is
		// what fails.
		done <- job(run{fs: errorfs.Wrap(vfs.NewMem(), disk), interval: 2 * time.Millisecond, log: log,
			opts: []stream.CheckpointOption{stream.TolerableCheckpointFailures(-1)}}).Execute(ctx)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the job ended with %v, want the context's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Execute did not return 9 s after its context was done\nlog:\n%s", logs.tail(2000))
	}
	if n := len(logs.lines(`msg="braid: checkpoint failed"`, "final checkpoint", "no space left on device")); n < 2 {
		t.Errorf("%d failures of the final checkpoint logged, want it retried", n)
	}
}
