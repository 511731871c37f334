package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	r := killtest.Runs(t, "AUDIT_ARGS", args, rng, 4, ck)
	if r.Stdout != "" {
		t.Fatalf("with -out, stdout has %q", r.Stdout)
	}
	kills, resumed := r.Killed, r.Resumed
	if kills == 0 || resumed == 0 {
		t.Fatalf("%d kills, %d runs resumed from a checkpoint: nothing was tested", kills, resumed)
	}
	var got strings.Builder
	parts, _ := filepath.Glob(filepath.Join(outDir, "part-*"))
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got.Write(b)
	}
	if got.String() != want {
		t.Fatalf("after %d kills the published findings differ from an uninterrupted run's:\n%s", kills, firstDiff(got.String(), want))
	}
	t.Logf("%d kills, %d runs resumed, %d findings, %d part files", kills, resumed, strings.Count(want, "\n"), len(parts))
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d: got %q, want %q (%d lines got, %d want)", i+1, a, b, len(g), len(w))
		}
	}
	return "equal"
}
