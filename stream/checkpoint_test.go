package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// seen records what a sink saw, safely across subtasks.
type seen struct {
	mu sync.Mutex
	n  map[int64]int
}

func (s *seen) add(v int64) error {
	s.mu.Lock()
	s.n[v]++
	s.mu.Unlock()
	return nil
}

func (s *seen) missing(limit int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for i := range limit {
		if s.n[i] == 0 {
			out = append(out, i)
		}
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// executeUntilCheckpoints runs env until dir holds n complete checkpoints,
// then cancels it, and returns Execute's error (context.Canceled when the
// job was stopped so; nil or another error when it ended first).
func executeUntilCheckpoints(env *stream.Env, fs vfs.FS, dir string, n int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil && completeCheckpoints(fs, dir) < n {
			time.Sleep(200 * time.Microsecond)
		}
		cancel()
	})
	err := env.Execute(ctx)
	cancel()
	wg.Wait()
	return err
}

// completeCheckpoints counts the checkpoints in dir with a completion
// record, as the store lays them out.
func completeCheckpoints(fs vfs.FS, dir string) int {
	names, _ := fs.List(dir)
	n := 0
	for _, name := range names {
		if !strings.HasPrefix(name, "chk-") {
			continue
		}
		if _, err := fs.Stat(fs.PathJoin(dir, name, "COMPLETE")); err == nil {
			n++
		}
	}
	return n
}

// A job stopped after some checkpoints resumes on the same directory from
// the sources' checkpointed positions, not from the start; a job that ran
// to its end is not run again.
func TestCheckpointedJobResumes(t *testing.T) {
	fs := vfs.NewMem()
	const n = 200_000
	out := &seen{n: map[int64]int{}}
	build := func(opts ...stream.Option) *stream.Env {
		opts = append(opts, stream.WithLogger(quiet()),
			stream.WithCheckpointing("/ck", 5*time.Millisecond, stream.CheckpointFS(fs)))
		env := stream.NewEnv(opts...)
		src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(n), stream.Rate(2_000_000))
		stream.Map(src, func(x int64) int64 { return x }).ForEach(out.add)
		return env
	}
	// Stop the first run once two checkpoints are complete on disk.
	err := executeUntilCheckpoints(build(), fs, "/ck", 2)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it stopped", err)
	}
	firstRun := len(out.n)
	if firstRun == 0 || firstRun >= n {
		t.Fatalf("first run saw %d elements; the test needs a partial run", firstRun)
	}
	if err := build().Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := out.missing(n); len(m) > 0 {
		t.Fatalf("%d elements never seen after the restart, e.g. %v", len(m), m[:min(5, len(m))])
	}
	dups := 0
	for _, c := range out.n {
		if c > 1 {
			dups++
		}
	}
	// At least once into ForEach: what followed the last checkpoint before
	// the stop is seen twice, but the second run did not start over.
	if dups >= firstRun {
		t.Fatalf("%d of the first run's %d elements seen again: the second run started from the beginning", dups, firstRun)
	}
	// The directory now holds the job's final checkpoint: nothing to do.
	before := len(out.n)
	if err := build().Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(out.n) != before {
		t.Fatalf("a finished job ran again")
	}
}

// Checkpoints need sources that can replay: a channel cannot, and Execute
// says so before reading anything.
func TestCheckpointsRefuseUnreplayableSources(t *testing.T) {
	env := stream.NewEnv(stream.WithLogger(quiet()),
		stream.WithCheckpointing("/ck", time.Second, stream.CheckpointFS(vfs.NewMem())))
	ch := make(chan int)
	stream.FromChannel(env, ch).ForEach(func(int) error { return nil })
	err := env.Execute(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot replay") || !strings.Contains(err.Error(), `"channel"`) {
		t.Fatalf("got %v, want an error naming the channel source that cannot replay", err)
	}
}

// A user function that panics restarts the job from its last checkpoint
// under the restart strategy; the job then completes.
func TestRestartAfterPanic(t *testing.T) {
	const n = 100_000
	out := &seen{n: map[int64]int{}}
	var panics atomic.Int64
	env := stream.NewEnv(stream.WithLogger(quiet()),
		stream.WithCheckpointing("/ck", 2*time.Millisecond, stream.CheckpointFS(vfs.NewMem())),
		stream.WithRestartStrategy(stream.FixedDelayRestart(5, time.Millisecond)))
	src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(n), stream.Rate(5_000_000))
	stream.Map(src, func(x int64) int64 {
		if x > 0 && x%30_000 == 0 && panics.Load() < x/30_000 {
			panics.Add(1)
			panic("planned")
		}
		return x
	}).ForEach(out.add)
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if panics.Load() != 3 {
		t.Fatalf("%d panics, want 3", panics.Load())
	}
	if m := out.missing(n); len(m) > 0 {
		t.Fatalf("%d elements lost across restarts, e.g. %v", len(m), m[:min(5, len(m))])
	}

	// Past the strategy's attempts, the job fails with the cause.
	env = stream.NewEnv(stream.WithLogger(quiet()),
		stream.WithCheckpointing("/ck2", 2*time.Millisecond, stream.CheckpointFS(vfs.NewMem())),
		stream.WithRestartStrategy(stream.FixedDelayRestart(2, 0)))
	src = stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(n))
	stream.Map(src, func(x int64) int64 {
		if x == 10 {
			panic("always")
		}
		return x
	}).ForEach(func(int64) error { return nil })
	err := env.Execute(context.Background())
	if !errors.Is(err, stream.ErrPanic) || !strings.Contains(err.Error(), "after 2 restarts") {
		t.Fatalf("got %v, want the panic after 2 restarts", err)
	}
}

// A window whose accumulator checkpoints cannot encode (a channel in it)
// makes a job with checkpoints fail before it reads anything, naming the
// window and what in the type is wrong.
func TestCheckpointsRefuseUnencodableState(t *testing.T) {
	type acc struct {
		n  int64
		ch chan int // checkpoints cannot encode a channel
	}
	var read atomic.Int64
	env := stream.NewEnv(stream.WithLogger(quiet()),
		stream.WithCheckpointing("/ck", time.Millisecond, stream.CheckpointFS(vfs.NewMem())))
	src := stream.Generate(env, func(i int64) int64 { read.Add(1); return i }, stream.Limit(1000))
	ws := stream.KeyBy(src, func(i int64) int64 { return i % 3 }).Window(window.Tumbling(time.Second))
	stream.Aggregate(ws, stream.AggregateFunc[int64, acc, int64]{
		Init:   func() acc { return acc{ch: make(chan int)} },
		Add:    func(a acc, _ int64) acc { return acc{n: a.n + 1} },
		Merge:  func(a, b acc) acc { return acc{n: a.n + b.n} },
		Result: func(a acc) int64 { return a.n },
	}).ForEach(func(window.Result[int64, int64]) error { return nil })
	err := env.Execute(context.Background())
	if !errors.Is(err, stream.ErrCheckpointUnsupported) || !strings.Contains(err.Error(), "tumbling 1s") ||
		!strings.Contains(err.Error(), ".ch is a channel") || strings.Count(err.Error(), "braid:") != 1 {
		t.Fatalf("got %v, want ErrCheckpointUnsupported naming the window and the channel, braid: once", err)
	}
	if read.Load() != 0 {
		t.Fatalf("%d elements read before the job was refused", read.Load())
	}
}
