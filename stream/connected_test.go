package stream_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// CoMap against its brute-force reference: every element of either input
// comes out exactly once, mapped by its own function.
func TestCoMapEveryElementOnce(t *testing.T) {
	for _, par := range []int{1, 3} {
		env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(5))
		nums := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(1000))
		words := stream.FromSlice(env, []string{"a", "bb", "ccc"})
		out := stream.Collect(stream.CoMap(stream.Connect(nums, words),
			func(n int64) string { return "n" + strconv.FormatInt(n, 10) },
			func(w string) string { return "w" + w }))
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := range 1000 {
			want = append(want, "n"+strconv.Itoa(i))
		}
		want = append(want, "wa", "wbb", "wccc")
		got := out.Items()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("parallelism %d: %d outputs, want %d", par, len(got), len(want))
		}
	}
}

// The connected operator's event time is the least of its two inputs':
// a window after it fires only when both have passed its end.
func TestCoFlatMapEventTime(t *testing.T) {
	type reading struct {
		At int64
		N  int
	}
	ts := func(r reading) time.Time { return time.Unix(r.At, 0) }
	env := stream.NewEnv(stream.WithBatchSize(1))
	fast := stream.FromSlice(env, []reading{{1, 1}, {5, 1}, {25, 1}}).WithTimestamps(ts, stream.MonotonousTimestamps())
	slow := stream.FromSlice(env, []reading{{2, 10}, {3, 10}, {15, 10}}).WithTimestamps(ts, stream.MonotonousTimestamps())
	both := stream.CoFlatMap(stream.Connect(fast, slow),
		func(r reading, emit func(int)) { emit(r.N) },
		func(r reading, emit func(int)) { emit(r.N); emit(r.N) }) // the second input counts twice
	sums := stream.Collect(stream.Sum(both.WindowAll(window.Tumbling(10*time.Second)), func(n int) int { return n }))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sums.Items() {
		got = append(got, fmt.Sprintf("%d:%d", r.Window.StartTime().Unix(), r.Value))
	}
	if want := []string{"0:42", "10:20", "20:1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestConnectRefusesMixedTime(t *testing.T) {
	env := stream.NewEnv()
	a := stream.FromSlice(env, []int{1}).WithTimestamps(func(int) time.Time { return time.Unix(0, 0) }, stream.MonotonousTimestamps())
	b := stream.FromSlice(env, []string{"x"})
	stream.CoMap(stream.Connect(a, b), strconv.Itoa, func(s string) string { return s }).Print()
	if err := env.Execute(context.Background()); err == nil {
		t.Fatal("connecting an event-time stream with a processing-time one must fail")
	}
}
