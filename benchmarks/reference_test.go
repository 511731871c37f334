package benchmarks

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type price struct {
	Sym   int64
	Ts    int64
	Price float64
}

// genPrices is a random walk per symbol, deterministic in i.
func genPrices(syms int64) func(i int64) price {
	return func(i int64) price {
		sym := i % syms
		step := float64((i*2654435761)%2001-1000) / 1000 // in [-1, 1]
		walk := 1000 + 40*math.Sin(float64(i/syms)/50) + 10*step
		return price{Sym: sym, Ts: i * int64(time.Microsecond), Price: walk}
	}
}

// BenchmarkDeltaWarnings: the stock-price job's warnings, per symbol a delta
// window firing when the price moved more than 5% (|old/new-1| > 0.05),
// counted per window with Apply.
func BenchmarkDeltaWarnings(b *testing.B) {
	const n, syms = 10_000_000, 100
	b.ReportAllocs()
	for b.Loop() {
		env := stream.NewEnv()
		prices := stream.Generate(env, genPrices(syms), stream.Limit(n))
		by := stream.KeyBy(prices, func(p price) int64 { return p.Sym })
		var warnings atomic.Int64 // ForEach may run in several subtasks at once
		stream.Apply(by.Window(window.Delta(0.05, func(old, new price) float64 { return math.Abs(old.Price/new.Price - 1) }, price{Price: 1000})),
			func(sym int64, w window.Window, elems []price, emit func(int64)) { emit(sym) }).
			ForEach(func(int64) error { warnings.Add(1); return nil })
		if err := env.Execute(context.Background()); err != nil {
			b.Fatal(err)
		}
		if warnings.Load() == 0 {
			b.Fatal("no warnings: the benchmark measures nothing")
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkWindowJoin: two keyed streams joined in 1s tumbling windows,
// 10,000 keys, about 2 elements per key and window on each side (so 4
// pairs); events/s counts the elements of both inputs.
func BenchmarkWindowJoin(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if runWindowJoin(b, joinN, 1) == 0 {
			b.Fatal("no pairs: the benchmark measures nothing")
		}
	}
	b.ReportMetric(float64(2*joinN)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIntervalJoin: two keyed streams, 10,000 keys, b joins a when
// b.ts is within [a.ts-100ms, a.ts+100ms]; about 2 elements per key a
// second on each side; events/s counts both inputs.
func BenchmarkIntervalJoin(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if runIntervalJoin(b, joinN, 1) == 0 {
			b.Fatal("no pairs: the benchmark measures nothing")
		}
	}
	b.ReportMetric(float64(2*joinN)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

const joinN, joinKeys = 4_000_000, 10_000 // events per side, keys

// Salt 1000 puts each key on the right 1,000 events (50ms) after it is on
// the left: about one partner each in the interval join.
const windowJoinSalt, intervalJoinSalt = 13, 1000

// joinEvent is element i of a join benchmark's side: joinKeys keys, about
// 2 elements per key a second on each side; the right side's key sequence
// is the left's shifted by its salt.
func joinEvent(salt, i int64) Event {
	step := int64(time.Second) / (2 * joinKeys)
	return Event{Key: (i*7919 + salt) % joinKeys, Ts: i * step, Price: i}
}

// joinSides makes the two keyed inputs of the join benchmarks, n events
// each, at parallelism par.
func joinSides(env *stream.Env, n, rightSalt int64) (l, r *stream.KeyedStream[int64, Event]) {
	key := func(e Event) int64 { return e.Key }
	side := func(salt int64) *stream.KeyedStream[int64, Event] {
		gen := func(i int64) Event { return joinEvent(salt, i) }
		return stream.KeyBy(stream.Generate(env, gen, stream.Limit(n)).WithTimestampsUnixNano(ts, stream.MonotonousTimestamps()), key)
	}
	return side(0), side(rightSalt)
}

// runWindowJoin runs the window join over n events a side and returns the
// number of pairs. The sink counts atomically: at parallelism 2, ForEach
// runs in both subtasks at once.
func runWindowJoin(tb testing.TB, n int64, par int) int64 {
	env := stream.NewEnv(stream.WithParallelism(par))
	l, r := joinSides(env, n, windowJoinSalt)
	var pairs atomic.Int64
	stream.Join(l, r, window.Tumbling(time.Second),
		func(a, b Event) int64 { return a.Price + b.Price }).ForEach(func(int64) error { pairs.Add(1); return nil })
	if err := env.Execute(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return pairs.Load()
}

// runIntervalJoin runs the interval join over n events a side and returns
// the number of pairs, counted as runWindowJoin does.
func runIntervalJoin(tb testing.TB, n int64, par int) int64 {
	env := stream.NewEnv(stream.WithParallelism(par))
	l, r := joinSides(env, n, intervalJoinSalt)
	var pairs atomic.Int64
	joined, _, _ := stream.IntervalJoin(l, r, -100*time.Millisecond, 100*time.Millisecond,
		func(a, b Event) int64 { return a.Price + b.Price })
	joined.ForEach(func(int64) error { pairs.Add(1); return nil })
	if err := env.Execute(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return pairs.Load()
}
