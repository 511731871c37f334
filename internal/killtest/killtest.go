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
	"strings"
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
	for run := 0; ; run++ {
		if run == 40 {
			t.Fatalf("not done after %d runs", run)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), env+"="+strings.Join(args, "\n"))
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var kill *time.Timer
		if killed < kills {
			kill = time.AfterFunc(time.Duration(100+rng.IntN(200))*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		}
		err := cmd.Wait()
		if kill != nil && !kill.Stop() {
			if ee, ok := err.(*exec.ExitError); ok {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
					killed++
					continue
				}
			}
		}
		if err != nil {
			t.Fatalf("run %d: %v, stderr %q", run, err, e.String())
		}
		return killed, o.String()
	}
}
