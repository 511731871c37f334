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
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
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

// crashEvent is one generated event: a key, a value and an event time.
type crashEvent struct {
	Key, Val int64
	At       int64 // ms of event time
}

func (e crashEvent) time() time.Time { return time.UnixMilli(e.At) }

// crashJob is the job the child runs: deterministic in event time (one
// source subtask, timestamps in order, so nothing is late however the
// batches and watermarks fall), checkpointing every interval, with the
// stateful operators of a real job: keyed tumbling and sliding windows,
// a session window, a delta window, a process function with event timers,
// a window join and an interval join. Every result goes into the
// exactly-once file sink.
func crashJob(dir string, interval time.Duration, rate float64) *stream.Env {
	env := stream.NewEnv(stream.WithLogger(slog.New(slog.DiscardHandler)), stream.WithParallelism(2),
		stream.WithCheckpointing(filepath.Join(dir, "checkpoints"), interval))
	const n = 30_000
	gen := func(i int64) crashEvent {
		// Keys 0..6; event time 10 ms per event, with a pause of 3 s after
		// every 700 events so that sessions end.
		return crashEvent{Key: i % 7, Val: (i * 7919) % 101, At: i*10 + (i/700)*3000}
	}
	events := stream.Generate(env, gen, stream.Limit(n), stream.Rate(rate)).SetParallelism(1).
		WithTimestamps(crashEvent.time, stream.MonotonousTimestamps())
	key := func(e crashEvent) int64 { return e.Key }
	ks := stream.KeyBy(events, key)
	str := func(r window.Result[int64, int64]) string { return r.String() }

	tumbling := stream.Map(stream.Sum(ks.Window(window.Tumbling(time.Second)), func(e crashEvent) int64 { return e.Val }), str)
	sliding := stream.Map(stream.Count(ks.Window(window.Sliding(2*time.Second, 500*time.Millisecond))), str)
	sessions := stream.Map(stream.Sum(ks.Window(window.Session(time.Second)), func(e crashEvent) int64 { return e.Val }), str)
	delta := stream.Map(stream.Count(ks.Window(window.Delta(300, func(a, b crashEvent) float64 { return float64(b.At - a.At) }, crashEvent{}))), str)
	timers := stream.Process(ks, func(st *state.Store) (stream.ProcessFunc[int64, crashEvent, string], error) {
		// Sums per 2 s of event time, each emitted by an event timer at
		// the bucket's end (elements after it may already have arrived:
		// they go to their own bucket).
		sums, err := state.NewMap[int64, int64, int64](st, "sums")
		if err != nil {
			return stream.ProcessFunc[int64, crashEvent, string]{}, err
		}
		return stream.ProcessFunc[int64, crashEvent, string]{
			OnElement: func(c *stream.ProcessContext[int64, string], e crashEvent) {
				b := e.At / 2000
				v, _ := sums.Get(c.Key(), b)
				sums.Put(c.Key(), b, v+e.Val)
				c.SetEventTimer(time.UnixMilli((b + 1) * 2000))
			},
			OnTimer: func(c *stream.ProcessContext[int64, string], ti stream.TimerInfo) {
				b := ti.At.UnixMilli()/2000 - 1
				v, _ := sums.Get(c.Key(), b)
				sums.Delete(c.Key(), b)
				c.Emit(fmt.Sprintf("timer %d %d %d", c.Key(), ti.At.UnixMilli(), v))
			},
		}, nil
	})
	evens := stream.KeyBy(events.Filter(func(e crashEvent) bool { return e.Val%2 == 0 }), key)
	odds := stream.KeyBy(events.Filter(func(e crashEvent) bool { return e.Val%2 == 1 }), key)
	joined := stream.Join(evens, odds, window.Tumbling(500*time.Millisecond), func(a, b crashEvent) string {
		return fmt.Sprintf("join %d %d %d", a.Key, a.At, b.At)
	})
	within, _, _ := stream.IntervalJoin(evens, odds, -30*time.Millisecond, 30*time.Millisecond, func(a, b crashEvent) string {
		return fmt.Sprintf("interval %d %d %d", a.Key, a.At, b.At)
	})
	all := prefix("tumbling ", tumbling).Merge(prefix("sliding ", sliding), prefix("session ", sessions), prefix("delta ", delta), timers, joined, within)
	filesink.Lines(all, filepath.Join(dir, "out"), func(s string) string { return s })
	return env
}

func prefix(p string, s *stream.Stream[string]) *stream.Stream[string] {
	return stream.Map(s, func(v string) string { return p + v })
}

// TestCrashChild is the child's entry point; it does nothing in a normal
// run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if os.Getenv(crashChildEnv) != "1" || dir == "" {
		t.Skip("runs only as the crash test's child")
	}
	if err := crashJob(dir, 80*time.Millisecond, 12_000).Execute(context.Background()); err != nil {
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
