package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// sideReader reads a side output the ways a user might: in the same task,
// through Rebalance, through a KeyBy, and at another parallelism. Each way must end with the job (end of input reaches
// the side output) and see every element.
type sideReader struct {
	name string
	read func(s *stream.Stream[int64]) *stream.Collector[int64]
}

var sideReaders = []sideReader{
	{"chained", func(s *stream.Stream[int64]) *stream.Collector[int64] { return stream.Collect(s) }},
	{"rebalance", func(s *stream.Stream[int64]) *stream.Collector[int64] { return stream.Collect(s.Rebalance()) }},
	{"parallelism 3", func(s *stream.Stream[int64]) *stream.Collector[int64] {
		return stream.Collect(stream.Map(s, func(v int64) int64 { return v }).SetParallelism(3))
	}},
	{"keyed", func(s *stream.Stream[int64]) *stream.Collector[int64] {
		// One count window of one element per key: every element comes out
		// once, after crossing a keyed exchange.
		counts := stream.Count(stream.KeyBy(s, func(v int64) int64 { return v }).Window(window.TumblingCount(1)))
		return stream.Collect(stream.Map(counts, func(r window.Result[int64, int64]) int64 { return r.Key }))
	}},
}

// lateInput builds a stream with late elements: 1..10000 s, then 3 s, 4 s,
// 5 s, late whatever the batch size (up to 4096): the watermark of an
// earlier batch has passed their windows. It runs at parallelism 1, so
// which elements are late does not depend on the layout.
func lateInput(env *stream.Env) *stream.Stream[int64] {
	vals := []int64{}
	for s := int64(1); s <= 10_000; s++ {
		vals = append(vals, s)
	}
	vals = append(vals, 3, 4, 5)
	return stream.FromSlice(env, vals).
		WithTimestamps(func(v int64) time.Time { return time.Unix(v, 0) }, stream.MonotonousTimestamps()).
		SetParallelism(1)
}

func TestSideOutputsEndWhateverTheLayout(t *testing.T) {
	type side struct {
		name string
		make func(env *stream.Env) *stream.Stream[int64]
		want []int64
	}
	sides := []side{
		{"window late elements", func(env *stream.Env) *stream.Stream[int64] {
			ws := stream.KeyBy(lateInput(env), func(int64) int { return 0 }).Window(window.Tumbling(2 * time.Second))
			stream.Count(ws)
			return ws.Late()
		}, []int64{3, 4, 5}},
		{"dead letters", func(env *stream.Env) *stream.Stream[int64] {
			nums := stream.FromSlice(env, []string{"1", "x2", "3", "x4", "x5", "6"})
			_, bad := stream.MapErr(nums, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
			return stream.Map(bad, func(d stream.DeadLetter[string]) int64 {
				v, _ := strconv.ParseInt(d.Value[1:], 10, 64)
				return v
			})
		}, []int64{2, 4, 5}},
		{"interval join late left", func(env *stream.Env) *stream.Stream[int64] {
			a := stream.KeyBy(lateInput(env), func(int64) int { return 0 })
			b := stream.KeyBy(lateInput(env), func(int64) int { return 0 })
			_, lateA, _ := stream.IntervalJoin(a, b, -time.Second, time.Second, func(x, y int64) int64 { return x + y })
			return lateA
		}, nil}, // lateness depends on how the two inputs interleave: only the end is checked
	}
	layouts := [][]stream.Option{
		{},
		{stream.WithParallelism(2)},
		{stream.WithParallelism(4), stream.WithBatchSize(1)},
		{stream.WithParallelism(2), stream.WithoutChaining()},
	}
	for _, sd := range sides {
		for _, rd := range sideReaders {
			for li, layout := range layouts {
				t.Run(fmt.Sprintf("%s/%s/layout%d", sd.name, rd.name, li), func(t *testing.T) {
					env := stream.NewEnv(layout...)
					got := rd.read(sd.make(env))
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					if err := env.Execute(ctx); err != nil {
						if errors.Is(err, context.DeadlineExceeded) {
							t.Fatal("Execute hung: the side output never ended")
						}
						t.Fatal(err)
					}
					items := got.Items()
					slices.Sort(items)
					if sd.want != nil && !slices.Equal(items, sd.want) {
						t.Fatalf("side output %v, want %v", items, sd.want)
					}
				})
			}
		}
	}
}

// A side output carries the watermarks of its operator: merged with another
// stream, it does not hold event time back, so a window downstream fires
// while the input is still open.
func TestSideOutputCarriesWatermarks(t *testing.T) {
	for _, layout := range [][]stream.Option{{}, {stream.WithParallelism(2), stream.WithoutChaining()}} {
		env := stream.NewEnv(layout...)
		in := make(chan int64, 16)
		src := stream.FromChannel(env, in).
			WithTimestamps(func(v int64) time.Time { return time.Unix(v, 0) }, stream.MonotonousTimestamps()).
			SetParallelism(1)
		ws := stream.KeyBy(src, func(int64) int { return 0 }).Window(window.Tumbling(time.Second))
		stream.Count(ws).Name("counts")
		both := ws.Late().Rebalance().Merge(src)
		out := make(chan window.Result[struct{}, int64], 16)
		stream.Count(both.WindowAll(window.Tumbling(10 * time.Second))).ToChannel(out)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errc := make(chan error, 1)
		go func() { errc <- env.Execute(ctx) }()
		// Each element is sent once the window operator has had the ones
		// before, so 3 comes after the watermark of 5 and is late for its
		// window.
		for i, v := range []int64{1, 2, 5, 3, 12} {
			in <- v
			for recordsIn(env, "counts") < int64(i+1) && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
		}
		select {
		case r := <-out:
			if r.Window.Start != 0 || r.Value != 5 {
				t.Errorf("first window %v, want [0s,10s) with 1, 2, 5, 3 and the late 3", r)
			}
		case <-ctx.Done():
			t.Fatal("the window did not fire before the end of input: the late side output held the watermark back")
		}
		close(in)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		cancel()
	}
}

// recordsIn sums an operator's records in over its subtasks.
func recordsIn(env *stream.Env, op string) int64 {
	var n int64
	for _, m := range env.Metrics() {
		if m.Operator == op {
			n += m.RecordsIn
		}
	}
	return n
}

// WithTimestamps runs in the subtasks of the operator before it, as
// Flink's timestamp assigner does: after a one-subtask source, at job
// parallelism 4, event time is that of the one source, not held back by
// three timestamp subtasks that never see an element.
func TestWithTimestampsKeepsItsInputsParallelism(t *testing.T) {
	env := stream.NewEnv(stream.WithParallelism(4))
	in := make(chan int64, 4)
	src := stream.FromChannel(env, in).
		WithTimestamps(func(v int64) time.Time { return time.Unix(v, 0) }, stream.MonotonousTimestamps())
	out := make(chan window.Result[struct{}, int64], 4)
	stream.Count(src.WindowAll(window.Tumbling(10 * time.Second))).ToChannel(out)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(ctx) }()
	in <- 1
	in <- 12
	select {
	case r := <-out:
		if r.Value != 1 {
			t.Fatalf("first window %v", r)
		}
	case <-ctx.Done():
		t.Fatal("the window did not fire while the input was open: event time was held back")
	}
	close(in)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for _, m := range env.Metrics() {
		if m.Operator == "timestamps" && m.Parallelism != 1 {
			t.Fatalf("timestamps at parallelism %d, want its source's 1", m.Parallelism)
		}
	}
}
