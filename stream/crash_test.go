package stream_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
)

// The crash test: a child process (this test binary, re-executed) runs a
// checkpointed job into the exactly-once file sink; the parent kills it
// with SIGKILL at random moments, restarts it, and at the end compares the
// published output, record for record, with that of a run without
// failures.

var crashSoak = flag.Int("crash.kills", 0, "kills for the crash soak (0: the default suite's 20)")

const (
	crashChildEnv = "BRAID_CRASH_CHILD"
	crashDirEnv   = "BRAID_CRASH_DIR"
)

// crashJob is the job the child runs: deterministic, a few seconds long
// at its rate, checkpointing every 50-200 ms.
func crashJob(dir string, interval time.Duration, rate float64) *stream.Env {
	env := stream.NewEnv(stream.WithLogger(slog.New(slog.DiscardHandler)), stream.WithParallelism(2),
		stream.WithCheckpointing(filepath.Join(dir, "checkpoints"), interval))
	const n = 40_000
	src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(n), stream.Rate(rate)).SetParallelism(1)
	doubled := stream.Map(src.Rebalance(), func(x int64) string { return fmt.Sprintf("%d %d", x, 2*x) })
	filesink.Lines(doubled, filepath.Join(dir, "out"), func(s string) string { return s })
	return env
}

// TestCrashChild is the child's entry point; it does nothing in a normal
// run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if os.Getenv(crashChildEnv) != "1" || dir == "" {
		t.Skip("runs only as the crash test's child")
	}
	if err := crashJob(dir, 80*time.Millisecond, 15_000).Execute(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func readPublished(t *testing.T, dir string) []string {
	t.Helper()
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range names {
		if !strings.HasPrefix(e.Name(), "part-") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
	}
	slices.Sort(lines)
	return lines
}

func TestCrashKillRestart(t *testing.T) {
	kills := 20
	if *crashSoak > 0 {
		kills = *crashSoak
	}
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	// The reference: one uninterrupted run, in process, as fast as it goes.
	ref := t.TempDir()
	if err := crashJob(ref, 80*time.Millisecond, 1e9).Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := readPublished(t, filepath.Join(ref, "out"))

	dir := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	killed := 0
	for killed < kills {
		cmd := start()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		wait := time.Duration(20+rng.IntN(250)) * time.Millisecond
		select {
		case err := <-done:
			// Finished before the kill: start over in a fresh directory so
			// that every kill counts against an unfinished job.
			if err != nil {
				t.Fatalf("child failed: %v", err)
			}
			t.Logf("the job finished after %d kills; going on with a fresh run", killed)
			if got := readPublished(t, filepath.Join(dir, "out")); !slices.Equal(got, want) {
				t.Fatalf("after %d kills: %d lines published, want %d (first differences: %v)", killed, len(got), len(want), firstDiff(got, want))
			}
			dir = t.TempDir()
			continue
		case <-time.After(wait):
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		killed++
	}
	// Let it finish.
	cmd := start()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child after %d kills: %v", killed, err)
	}
	got := readPublished(t, filepath.Join(dir, "out"))
	if !slices.Equal(got, want) {
		t.Fatalf("after %d kills: %d lines published, want %d (first differences: %v)", killed, len(got), len(want), firstDiff(got, want))
	}
	t.Logf("%d kills survived; %d records, none lost or repeated", killed, len(got))
}

// firstDiff describes where two sorted line lists part.
func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("line %d: got %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d vs %d)", len(got), len(want))
}
