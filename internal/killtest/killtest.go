// Package killtest runs a command (a test binary that re-executes itself
// as the command) again and again, killing it with SIGKILL at random
// moments, until it ends by itself: the loop of the examples' tests that
// a checkpointed job survives kills.
package killtest

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Run starts os.Args[0] with -test.run=^$ and env set to args (one a
// line), kills it with SIGKILL 100-300 ms after each start until it has
// killed it kills times, then lets it run to its end, which must be a
// success. It returns the kills done and the last run's stdout; it fails
// t if the command fails, or has not ended after 40 runs.
func Run(t *testing.T, env string, args []string, rng *rand.Rand, kills int) (killed int, stdout string) {
	t.Helper()
	r := Runs(t, env, args, rng, kills, "")
	return r.Killed, r.Stdout
}

// Result is what Runs saw.
type Result struct {
	Killed  int    // runs killed
	Resumed int    // runs whose stderr says they resumed from a checkpoint
	Stdout  string // the last run's
}

// Runs is Run, but when ckDir is not empty each kill comes 0-200 ms after
// the run has completed a checkpoint in ckDir (a chk-N directory with its
// COMPLETE record, newer than those there when the run started), so that
// on a slow machine the runs still resume from checkpoints; a run that has
// completed none after 20 s is killed anyway. The first kill comes within
// 0-20 ms of the first checkpoint, so that a job that ends soon after it
// on a fast machine is still killed once and resumed.
func Runs(t *testing.T, env string, args []string, rng *rand.Rand, kills int, ckDir string) Result {
	t.Helper()
	var r Result
	for run := 0; ; run++ {
		if run == 40 {
			t.Fatalf("not done after %d runs", run)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), env+"="+strings.Join(args, "\n"))
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		before := completed(ckDir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		k := &killer{proc: cmd.Process}
		if r.Killed < kills {
			delay := time.Duration(rng.IntN(200)) * time.Millisecond
			if r.Killed == 0 && ckDir != "" {
				delay /= 10
			}
			if ckDir == "" {
				time.AfterFunc(100*time.Millisecond+delay, k.kill)
			} else {
				k.afterCheckpoint(ckDir, before, time.Now().Add(20*time.Second), delay)
			}
		}
		err := cmd.Wait()
		signaled := k.exited()
		if strings.Contains(e.String(), "braid: resuming from checkpoint") {
			r.Resumed++
		}
		if signaled {
			if ee, ok := err.(*exec.ExitError); ok {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
					r.Killed++
					continue
				}
			}
		}
		if err != nil {
			t.Fatalf("run %d: %v, stderr %q", run, err, e.String())
		}
		r.Stdout = o.String()
		return r
	}
}

// A killer kills a process once, unless it has exited.
type killer struct {
	proc     *os.Process
	mu       sync.Mutex
	done     bool // the process was waited for
	signaled bool
}

func (k *killer) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.done && !k.signaled {
		k.signaled = k.proc.Signal(syscall.SIGKILL) == nil
	}
}

// afterCheckpoint kills the process delay after dir holds a complete
// checkpoint newer than before, or at deadline, polling with timers.
func (k *killer) afterCheckpoint(dir string, before int64, deadline time.Time, delay time.Duration) {
	k.mu.Lock()
	done := k.done
	k.mu.Unlock()
	switch {
	case done:
	case completed(dir) > before || time.Now().After(deadline):
		time.AfterFunc(delay, k.kill)
	default:
		time.AfterFunc(5*time.Millisecond, func() { k.afterCheckpoint(dir, before, deadline, delay) })
	}
}

// exited records that the process was waited for and says whether it was
// signaled.
func (k *killer) exited() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.done = true
	return k.signaled
}

// completed is the greatest id of a complete checkpoint in dir, or -1.
func completed(dir string) int64 {
	if dir == "" {
		return -1
	}
	done, _ := filepath.Glob(filepath.Join(dir, "chk-*", "COMPLETE"))
	best := int64(-1)
	for _, d := range done {
		id, err := strconv.ParseInt(strings.TrimPrefix(filepath.Base(filepath.Dir(d)), "chk-"), 10, 64)
		if err == nil {
			best = max(best, id)
		}
	}
	return best
}
