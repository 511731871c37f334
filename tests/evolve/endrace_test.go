package evolve_test

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

var endRace = flag.Bool("evolve.endrace", false,
	"make TestSourceEndDuringAlignment a soak: 200 runs instead of 20 (10 with -short)")

// endingReader is a source subtask that ends, of itself, at event end.
type endingReader struct {
	next, step, end int64
}

func (r *endingReader) Read(ctx context.Context, buf []ev) (int, error) {
	time.Sleep(100 * time.Microsecond)
	k := 0
	for k < min(len(buf), 10) && r.next < r.end {
		buf[k] = gen(r.next)
		r.next += r.step
		k++
	}
	if r.next >= r.end {
		return k, io.EOF
	}
	return k, nil
}

func (r *endingReader) Close() error              { return nil }
func (r *endingReader) Position() ([]byte, error) { return binary.AppendVarint(nil, r.next), nil }
func (r *endingReader) Seek(pos []byte) error     { return nil }

// A job whose source subtasks end at different times, with checkpoints
// every millisecond, ends. It used to hang now and then (in 1 to 3 runs of
// 100): when one source subtask ended while a checkpoint whose barrier
// another had sent was in flight, a task that took that barrier before
// the end gave up its alignment and forwarded nothing, while a sibling
// that took the end first aligned at once and forwarded the barrier; a
// task downstream of both (here the merge) then aligned on that barrier
// for ever. A sender's end now counts as its barrier.
func TestSourceEndDuringAlignment(t *testing.T) {
	stuck := 0
	runs := 20
	switch {
	case *endRace:
		runs = 200
	case testing.Short():
		runs = 10
	}
	for it := range runs {
		env := stream.NewEnv(stream.WithParallelism(5), stream.WithBatchSize(4), stream.WithLogger(slog.New(slog.DiscardHandler)),
			stream.WithCheckpointing("/ck", time.Millisecond, stream.CheckpointFS(vfs.NewMem())))
		src := stream.FromSource(env, "events", true, func(ctx context.Context, sub, par int) (stream.SourceReader[ev], error) {
			end := int64(3000)
			if sub == 0 {
				end = 200 + int64(it%20)*50
			}
			return &endingReader{next: int64(sub), step: int64(par), end: end}, nil
		}).SetParallelism(2).WithTimestamps(ev.time, stream.MonotonousTimestamps())
		ks := stream.KeyBy(src, key)
		var outs []*stream.Stream[string]
		for i := 1; i <= 10; i++ {
			outs = append(outs, results("w", stream.Sum(ks.Window(window.Tumbling(time.Duration(i)*100*time.Millisecond)), val)))
		}
		outs[0].Merge(outs[1:]...).ForEach(func(string) error { return nil })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a run takes well under a second; a hang is for ever
		err := env.Execute(ctx)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			stuck++
		case err != nil:
			t.Fatalf("run %d: %v", it, err)
		}
	}
	if stuck > 0 {
		t.Fatalf("%d of %d runs hung", stuck, runs)
	}
}
