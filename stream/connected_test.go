package stream_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
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

type order struct {
	Cust  int
	Value int
	At    int64
}

type payment struct {
	Cust int
	At   int64
}

// CoProcess: both inputs share a key's state and timers. Each element sets
// one event timer at the same far time, so each key's timer fires once, at
// the end of input, and reports the key's totals over both inputs, which
// must equal the brute-force totals whatever the interleaving.
func TestCoProcessSharedStateAndTimers(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 10))
	var orders []order
	var payments []payment
	for i := range 500 {
		orders = append(orders, order{Cust: rng.IntN(20), Value: rng.IntN(100), At: int64(i)})
		if rng.IntN(2) == 0 {
			payments = append(payments, payment{Cust: rng.IntN(20), At: int64(i)})
		}
	}
	want := map[int][2]int{}
	for _, o := range orders {
		w := want[o.Cust]
		w[0] += o.Value
		want[o.Cust] = w
	}
	for _, p := range payments {
		w := want[p.Cust]
		w[1]++
		want[p.Cust] = w
	}
	var wantLines []string
	for k, w := range want {
		wantLines = append(wantLines, fmt.Sprintf("cust %d value %d payments %d", k, w[0], w[1]))
	}
	slices.Sort(wantLines)
	far := time.Unix(0, 1<<60)
	for _, par := range []int{1, 4} {
		env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(7))
		os := stream.FromSlice(env, orders).WithTimestamps(func(o order) time.Time { return time.Unix(0, o.At) }, stream.MonotonousTimestamps())
		ps := stream.FromSlice(env, payments).WithTimestamps(func(p payment) time.Time { return time.Unix(0, p.At) }, stream.MonotonousTimestamps())
		c := stream.ConnectKeyed(stream.KeyBy(os, func(o order) int { return o.Cust }), stream.KeyBy(ps, func(p payment) int { return p.Cust }))
		out := stream.Collect(stream.CoProcess(c, func(st *state.Store) (stream.CoProcessFunc[int, order, payment, string], error) {
			value, _ := state.NewValue[int, int](st, "value")
			paid, _ := state.NewValue[int, int](st, "payments")
			return stream.CoProcessFunc[int, order, payment, string]{
				OnA: func(ctx *stream.ProcessContext[int, string], o order) {
					v, _ := value.Get(ctx.Key())
					value.Set(ctx.Key(), v+o.Value)
					ctx.SetEventTimer(far)
				},
				OnB: func(ctx *stream.ProcessContext[int, string], p payment) {
					n, _ := paid.Get(ctx.Key())
					paid.Set(ctx.Key(), n+1)
					ctx.SetEventTimer(far)
				},
				OnTimer: func(ctx *stream.ProcessContext[int, string], ti stream.TimerInfo) {
					v, _ := value.Get(ctx.Key())
					n, _ := paid.Get(ctx.Key())
					ctx.Emit(fmt.Sprintf("cust %d value %d payments %d", ctx.Key(), v, n))
				},
			}, nil
		}))
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := out.Items()
		slices.Sort(got)
		if !slices.Equal(got, wantLines) {
			t.Fatalf("parallelism %d:\n%s", par, diff(wantLines, got))
		}
	}
}

// CoReduce: per key and side, the outputs are the running reductions of
// that side's elements in order.
func TestCoReduceRunningSums(t *testing.T) {
	env := stream.NewEnv(stream.WithParallelism(3))
	a := stream.FromSlice(env, []order{{1, 5, 0}, {2, 7, 0}, {1, 10, 0}, {1, 1, 0}})
	b := stream.FromSlice(env, []payment{{2, 0}, {2, 0}, {1, 0}})
	c := stream.ConnectKeyed(stream.KeyBy(a, func(o order) int { return o.Cust }), stream.KeyBy(b, func(p payment) int { return p.Cust }))
	out := stream.Collect(stream.CoReduce(c,
		func(x, y order) order { x.Value += y.Value; return x },
		func(x, y payment) payment { x.At++; return x },
		func(o order) string { return fmt.Sprintf("orders %d: %d", o.Cust, o.Value) },
		func(p payment) string { return fmt.Sprintf("payments %d: %d", p.Cust, p.At+1) }))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := out.Items()
	perKeySide := map[string][]string{}
	for _, line := range got {
		k, _, _ := strings.Cut(line, ":")
		perKeySide[k] = append(perKeySide[k], line)
	}
	want := map[string][]string{
		"orders 1":   {"orders 1: 5", "orders 1: 15", "orders 1: 16"},
		"orders 2":   {"orders 2: 7"},
		"payments 2": {"payments 2: 1", "payments 2: 2"},
		"payments 1": {"payments 1: 1"},
	}
	for k, w := range want {
		if !slices.Equal(perKeySide[k], w) {
			t.Fatalf("%s: %v, want %v", k, perKeySide[k], w)
		}
	}
}

// CoReduce on random inputs at parallelism 1 and 4: per key and side, the
// outputs are exactly the running sums of that side's elements, in order.
func TestCoReduceMatchesRunningSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 12))
	var os []order
	var ps []payment
	for range 300 {
		os = append(os, order{Cust: rng.IntN(7), Value: rng.IntN(50)})
		ps = append(ps, payment{Cust: rng.IntN(7), At: int64(rng.IntN(9))})
	}
	want := map[string][]string{}
	sumO, sumP := map[int]int{}, map[int]int64{}
	for _, o := range os {
		sumO[o.Cust] += o.Value
		k := fmt.Sprintf("o%d", o.Cust)
		want[k] = append(want[k], fmt.Sprintf("%s %d", k, sumO[o.Cust]))
	}
	for _, p := range ps {
		sumP[p.Cust] += p.At
		k := fmt.Sprintf("p%d", p.Cust)
		want[k] = append(want[k], fmt.Sprintf("%s %d", k, sumP[p.Cust]))
	}
	for _, par := range []int{1, 4} {
		env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(9))
		a := stream.KeyBy(stream.FromSlice(env, os), func(o order) int { return o.Cust })
		b := stream.KeyBy(stream.FromSlice(env, ps), func(p payment) int { return p.Cust })
		out := stream.Collect(stream.CoReduce(stream.ConnectKeyed(a, b),
			func(x, y order) order { x.Value += y.Value; return x },
			func(x, y payment) payment { x.At += y.At; return x },
			func(o order) string { return fmt.Sprintf("o%d %d", o.Cust, o.Value) },
			func(p payment) string { return fmt.Sprintf("p%d %d", p.Cust, p.At) }))
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, line := range out.Items() {
			k, _, _ := strings.Cut(line, " ")
			got[k] = append(got[k], line)
		}
		for k, w := range want {
			if !slices.Equal(got[k], w) {
				t.Fatalf("parallelism %d, %s: %v, want %v", par, k, got[k], w)
			}
		}
	}
}
