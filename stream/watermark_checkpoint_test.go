package stream_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// everyNth emits, at every nth element, the largest timestamp seen so far:
// where its watermarks fall depends on how many elements it has seen, so
// a restored job emits those of an uninterrupted run only if the count is
// kept. It keeps it through MarshalBinary and UnmarshalBinary.
type everyNth struct {
	n, seen int64
	max     time.Time
}

func (g *everyNth) OnEvent(_ int64, ts time.Time, out stream.WatermarkOutput) {
	g.seen++
	if ts.After(g.max) {
		g.max = ts
	}
	if g.seen%g.n == 0 {
		out.EmitWatermark(g.max)
	}
}

func (g *everyNth) OnPeriodicEmit(stream.WatermarkOutput) {}

func (g *everyNth) MarshalBinary() ([]byte, error) {
	b := binary.AppendVarint(nil, g.seen)
	return binary.AppendVarint(b, g.max.UnixNano()), nil
}

func (g *everyNth) UnmarshalBinary(b []byte) error {
	seen, k := binary.Varint(b)
	mx, k2 := binary.Varint(b[max(k, 0):])
	if k <= 0 || k2 <= 0 {
		return errors.New("bad everyNth state")
	}
	g.seen, g.max = seen, time.Unix(0, mx)
	return nil
}

// A job whose late elements depend on where its generator's watermarks
// fell: stopped after some checkpoints and resumed, it publishes the
// window counts and late elements of an uninterrupted run.
func TestWatermarkGeneratorStateSurvivesRestore(t *testing.T) {
	const n = 60_000
	job := func(fs vfs.FS) *stream.Env {
		env := stream.NewEnv(stream.WithLogger(quiet()), stream.WithParallelism(2),
			stream.WithCheckpointing("/ck", 3*time.Millisecond, stream.CheckpointFS(fs)))
		// Element i at about 10 ms * i, up to 370 ms early or late.
		at := func(i int64) time.Time { return time.UnixMilli(10*i + (i*7919)%75*10 - 370) }
		src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(n), stream.Rate(2_000_000)).SetParallelism(1)
		ts := src.WithWatermarks(func(i int64) time.Time { return at(i) }, func() stream.WatermarkGenerator[int64] { return &everyNth{n: 37} })
		ws := stream.KeyBy(ts, func(i int64) int64 { return i % 5 }).Window(window.Tumbling(time.Second))
		counts := stream.Map(stream.Count(ws), func(r window.Result[int64, int64]) string {
			return fmt.Sprintf("count %d %d %d", r.Key, r.Window.Start, r.Value)
		})
		late := stream.Map(ws.Late(), func(i int64) string { return fmt.Sprintf("late %d", i) })
		filesink.Lines(counts.Merge(late), "/out", func(s string) string { return s })
		return env
	}
	read := func(fs vfs.FS) []string {
		names, err := fs.List("/out")
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, name := range names {
			if !strings.HasPrefix(name, "part-") {
				continue
			}
			f, err := fs.Open(fs.PathJoin("/out", name))
			if err != nil {
				t.Fatal(err)
			}
			for sc := bufio.NewScanner(f); sc.Scan(); {
				lines = append(lines, sc.Text())
			}
			f.Close()
		}
		slices.Sort(lines)
		return lines
	}
	ref := vfs.NewMem()
	if err := job(ref).Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := read(ref)
	lates := 0
	for _, l := range want {
		if strings.HasPrefix(l, "late") {
			lates++
		}
	}
	if lates == 0 || lates == n {
		t.Fatalf("%d late elements of %d: the job must have some, not all", lates, n)
	}
	for stopAt := range 3 {
		fs := vfs.NewMem()
		err := executeUntilCheckpoints(job(fs), fs, "/ck", 2+stopAt)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if err := job(fs).Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := read(fs); !slices.Equal(got, want) {
			t.Fatalf("stop %d: %d lines published, want the %d of an uninterrupted run (%d late)", stopAt, len(got), len(want), lates)
		}
	}
}
