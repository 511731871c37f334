package main

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/braidstream/braid/internal/cmdtest"
	"github.com/braidstream/braid/internal/killtest"
	"github.com/braidstream/braid/internal/testseed"
)

// A job killed with SIGKILL at random moments and run again with the same
// command, until it ends, publishes with -checkpoint and -out exactly the
// findings of a run that was never interrupted, each once.
// Both with the generator and with files (the generated lines, written
// out), whose positions the checkpoints keep.
func TestCheckpointedRunSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the job several times: not with -short")
	}
	t.Run("generator", func(t *testing.T) { survivesKills(t, "-n", "60000") })
	t.Run("files", func(t *testing.T) { survivesKills(t, writeGenerated(t, 60000)...) })
}

func survivesKills(t *testing.T, input ...string) {
	dir := t.TempDir()
	status, want, stderr := runMain(t, append([]string{"-deadletters", filepath.Join(dir, "dead-uninterrupted.txt")}, input...)...)
	if status != 0 {
		t.Fatalf("uninterrupted run: status %d, stderr %q", status, stderr)
	}
	want = strings.TrimLeft(strings.Join(func() (ls []string) {
		for _, l := range strings.SplitAfter(want, "\n") {
			if !strings.HasPrefix(l, "#") {
				ls = append(ls, l)
			}
		}
		return ls
	}(), ""), "\n")
	ck, outDir := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
	args := append([]string{"-checkpoint", ck, "-checkpoint-every", "20ms", "-out", outDir, "-deadletters", filepath.Join(dir, "dead.txt")}, input...)
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	r := killtest.Runs(t, cmd.Env, args, rng, 4, ck)
	if r.Stdout != "" {
		t.Fatalf("with -out, stdout has %q", r.Stdout)
	}
	kills, resumed := r.Killed, r.Resumed
	if kills == 0 || resumed == 0 {
		t.Fatalf("%d kills, %d runs resumed from a checkpoint: nothing was tested", kills, resumed)
	}
	got, parts := cmdtest.ReadParts(t, outDir)
	if got != want {
		t.Fatalf("after %d kills the published findings differ from an uninterrupted run's:\n%s", kills, cmdtest.FirstDiff(got, want))
	}
	t.Logf("%d kills, %d runs resumed, %d findings, %d part files", kills, resumed, strings.Count(want, "\n"), parts)
	// Run again once it has ended (as a kill just after the end makes the
	// loop do): nothing to read, nothing to do, a success.
	if status, _, stderr := runMain(t, args...); status != 0 {
		t.Fatalf("a run after the end: status %d, stderr %q", status, stderr)
	}
}
