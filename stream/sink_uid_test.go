package stream_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/stream"
)

// A two-phase sink's pending transactions are checkpointed under its id:
// with a Uid, a sink renamed between two runs keeps them, and the job's
// output is exactly once; without one, the renamed sink's state is refused
// by name rather than lost.
func TestSinkUidKeepsStateAcrossRename(t *testing.T) {
	const n = 100_000
	run := func(t *testing.T, sink *memTwoPhase, fs vfs.FS, name, uid string, stop bool) error {
		env := stream.NewEnv(stream.WithLogger(quiet()), stream.WithParallelism(2),
			stream.WithCheckpointing("/ck", 5*time.Millisecond, stream.CheckpointFS(fs)))
		// A second at this rate: time for checkpoints on a loaded machine.
		src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(n), stream.Rate(100_000))
		k := stream.Map(src, func(x int64) string { return strconv.FormatInt(x, 10) }).SinkTo(name, sink.open)
		if uid != "" {
			k.Uid(uid)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if stop {
			go func() {
				for ctx.Err() == nil && sink.committed.Load() < 2 {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
		}
		return env.Execute(ctx)
	}
	t.Run("uid", func(t *testing.T) {
		sink, fs := newMemTwoPhase(), vfs.NewMem()
		if err := run(t, sink, fs, "out", "results", true); !errors.Is(err, context.Canceled) {
			t.Fatalf("first run: %v, want it stopped", err)
		}
		if got := len(sink.all()); got == 0 || got >= n {
			t.Fatalf("the first run published %d of %d: the test needs a partial run", got, n)
		}
		if err := run(t, sink, fs, "renamed", "results", false); err != nil {
			t.Fatalf("second run, the sink renamed: %v", err)
		}
		got := sink.all()
		count := make(map[string]int, n)
		for _, s := range got {
			count[s]++
		}
		for i := range int64(n) {
			if c := count[strconv.FormatInt(i, 10)]; c != 1 {
				t.Fatalf("%d published %d times (of %d lines, want each of %d once)", i, c, len(got), n)
			}
		}
	})
	t.Run("no uid", func(t *testing.T) {
		sink, fs := newMemTwoPhase(), vfs.NewMem()
		if err := run(t, sink, fs, "out", "", true); !errors.Is(err, context.Canceled) {
			t.Fatalf("first run: %v, want it stopped", err)
		}
		err := run(t, sink, fs, "renamed", "", false)
		if !errors.Is(err, stream.ErrUnmappedState) || !strings.Contains(err.Error(), `"out"`) {
			t.Fatalf("second run, the sink renamed without a Uid: %v, want ErrUnmappedState naming \"out\"", err)
		}
	})
}
