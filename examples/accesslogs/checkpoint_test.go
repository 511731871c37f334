package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/braidstream/braid/internal/cmdtest"
	"github.com/braidstream/braid/internal/killtest"
	"github.com/braidstream/braid/internal/testseed"
)

// writeGenerated writes the generated log's first n lines into two
// generations, access.log.1 and access.log, and returns their glob.
func writeGenerated(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	gen := generate(5)
	var b strings.Builder
	for i := range n {
		b.WriteString(gen(int64(i)))
		b.WriteByte('\n')
		if i == n/2 {
			if err := os.WriteFile(filepath.Join(dir, "access.log.1"), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "access.log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "access.log*")
}

// A job killed with SIGKILL at random moments and run again with the same
// command until it ends publishes, with -checkpoint and -out, exactly the
// results of a run that was never interrupted, each once: over files,
// whose positions (file, offset) the checkpoints keep, and over the
// generator.
func TestCheckpointedRunSurvivesKills(t *testing.T) {
	t.Run("files", func(t *testing.T) {
		n := 200_000
		if testing.Short() {
			n = 60_000
		}
		survivesKills(t, writeGenerated(t, n))
	})
	// -parquet's files, read back, hold the -json results, each once.
	t.Run("parquet", func(t *testing.T) {
		if testing.Short() {
			t.Skip("the files' run covers the checkpoints with -short")
		}
		input := writeGenerated(t, 200_000)
		ref := runJob(t, flags(t, "-json", input))
		dir := t.TempDir()
		args := []string{"-checkpoint", filepath.Join(dir, "ck"), "-checkpoint-every", "20ms", "-parquet", filepath.Join(dir, "pq"),
			"-deadletters", filepath.Join(dir, "dead.txt"), input}
		rng := rand.New(rand.NewPCG(testseed.Seed(t), 3))
		kills, _ := killtest.Run(t, cmd.Env, args, rng, 3)
		if kills == 0 {
			t.Fatal("the job ended before the first kill: nothing was tested")
		}
		want := lines(ref.out)
		var got []string
		for kind, sub := range map[string]string{"host": "hosts", "path": "paths", "top": "top", "alert": "alerts", "clients": "clients"} {
			files, _ := filepath.Glob(filepath.Join(dir, "pq", sub, "part-*.parquet"))
			for _, f := range files {
				for _, row := range readParquet(t, f) {
					got = append(got, rowJSON(t, kind, row))
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("after %d kills, %d rows in Parquet, want the %d results of an uninterrupted run: %s", kills, len(got), len(want), firstDiff(got, want))
		}
		t.Logf("%d kills, %d rows", kills, len(got))
	})
	t.Run("generator", func(t *testing.T) {
		if testing.Short() {
			t.Skip("the files' run covers the checkpoints with -short")
		}
		survivesKills(t, "-n", "200000")
	})
}

func survivesKills(t *testing.T, input ...string) {
	ref := runJob(t, flags(t, input...)) // in process: its time is not limited
	want := lines(ref.out)
	slices.Sort(want)
	dir := t.TempDir()
	outDir := filepath.Join(dir, "out")
	args := append([]string{"-checkpoint", filepath.Join(dir, "ck"), "-checkpoint-every", "20ms", "-out", outDir,
		"-deadletters", filepath.Join(dir, "dead.txt")}, input...)
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	kills, stdout := killtest.Run(t, cmd.Env, args, rng, 3)
	if stdout != "" {
		t.Fatalf("with -out, stdout has %q", stdout)
	}
	if kills == 0 {
		t.Fatal("the job ended before the first kill: nothing was tested")
	}
	published, parts := cmdtest.ReadParts(t, outDir)
	got := lines(published)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("after %d kills, %d lines published, want the %d of an uninterrupted run: %s", kills, len(got), len(want), firstDiff(got, want))
	}
	// Dead letters are at least once: each of the uninterrupted run's is
	// there.
	b, err := os.ReadFile(filepath.Join(dir, "dead.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ref.dead {
		if !strings.Contains(string(b), d+"\n") {
			t.Fatalf("dead letter %q missing after the kills", d)
		}
	}
	t.Logf("%d kills, %d results, %d part files, %d dead letters (%s written)", kills, len(want), parts, len(ref.dead),
		strconv.Itoa(strings.Count(string(b), "\n")))
}

// A run with -checkpoint resumes only the job its checkpoints are of: the
// same FILE again is fine; other FILEs (here the glob the shell would have
// expanded) fail before reading anything, naming both and the way out.
func TestCheckpointOfOtherInputsIsRefused(t *testing.T) {
	input := writeGenerated(t, 2000)
	ck := filepath.Join(t.TempDir(), "ck")
	args := []string{"-checkpoint", ck, "-out", filepath.Join(t.TempDir(), "out"), input}
	if status, _, stderr := runMain(t, args...); status != 0 {
		t.Fatalf("first run: status %d, stderr %q", status, stderr)
	}
	if status, _, stderr := runMain(t, args...); status != 0 {
		t.Fatalf("the same run again: status %d, stderr %q", status, stderr)
	}
	expanded, _ := filepath.Glob(input)
	status, stdout, stderr := runMain(t, append(args[:4:4], expanded...)...)
	if status != 1 || stdout != "" || !strings.Contains(stderr, "the checkpoints in "+ck+" are of a run over FILE "+input) ||
		!strings.Contains(stderr, "remove "+ck) {
		t.Fatalf("other FILEs: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}
