package stream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// A keyed count stopped after some checkpoints, each of which saw every
// key's count grow, resumes from the last with exact counts: the counts a
// checkpoint writes are those the window holds then, not those of the
// first checkpoint that saved the key (incremental checkpoints write the
// keys changed since the last one; the count adds without calling Add, and
// must still mark them). Both runs go through the keyed exchange at
// parallelism 1 and 2.
func TestCountResumesExactly(t *testing.T) {
	const n, keys = 200_000, 100
	for _, par := range []int{1, 2} {
		fs := vfs.NewMem()
		var mu sync.Mutex
		got := map[int64]int64{}
		build := func() *stream.Env {
			env := stream.NewEnv(stream.WithParallelism(par), stream.WithLogger(quiet()),
				stream.WithCheckpointing("/ck", 5*time.Millisecond, stream.CheckpointFS(fs)))
			src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(n), stream.Rate(100_000)).
				WithTimestamps(func(i int64) time.Time { return time.Unix(0, i*int64(time.Microsecond)) }, stream.MonotonousTimestamps())
			// One window holds every element: it fires at the end of input.
			ws := stream.KeyBy(src, func(i int64) int64 { return i % keys }).Window(window.Tumbling(time.Hour))
			stream.Count(ws).ForEach(func(r window.Result[int64, int64]) error {
				mu.Lock()
				got[r.Key] += r.Value
				mu.Unlock()
				return nil
			})
			return env
		}
		err := executeUntilCheckpoints(build(), fs, "/ck", 2)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("parallelism %d, first run: %v, want it stopped", par, err)
		}
		clear(got) // what the stopped run emitted, if anything, does not count
		if err := build().Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(got) != keys {
			t.Fatalf("parallelism %d: %d keys counted after the restart, want %d", par, len(got), keys)
		}
		for k, c := range got {
			if c != n/keys {
				t.Fatalf("parallelism %d: key %d counted %d after the restart, want %d", par, k, c, n/keys)
			}
		}
	}
}
