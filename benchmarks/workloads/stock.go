package workloads

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// StockSymbols is the number of symbols of the stock workload.
const StockSymbols = 100

// Price is one tick of the stock workload: a symbol, an event time (ns) and
// a price.
type Price struct {
	Sym   int64
	Ts    int64
	Price float64
}

// stockPrice is tick i: a random walk per symbol, deterministic in i (the
// generator of benchmarks/reference_test.go's BenchmarkDeltaWarnings).
func stockPrice(i int64) Price {
	sym := i % StockSymbols
	step := float64((i*2654435761)%2001-1000) / 1000 // in [-1, 1]
	walk := 1000 + 40*math.Sin(float64(i/StockSymbols)/50) + 10*step
	return Price{Sym: sym, Ts: i * int64(time.Microsecond), Price: walk}
}

// DeltaWarnings is the stock workload (the reference job's delta warnings
// at full speed, BenchmarkDeltaWarnings' job): per symbol a delta window
// that fires when the price moved more than 5%, each firing one warning. It
// returns the number of warnings, and an error if there were none.
func DeltaWarnings(ctx context.Context, n int64, opts ...stream.Option) (int64, error) {
	env := stream.NewEnv(opts...)
	prices := stream.Generate(env, stockPrice, stream.Limit(n))
	by := stream.KeyBy(prices, func(p Price) int64 { return p.Sym })
	var warnings atomic.Int64 // ForEach may run in several subtasks at once
	delta := window.Delta(0.05, func(old, new Price) float64 { return math.Abs(old.Price/new.Price - 1) }, Price{Price: 1000})
	stream.Apply(by.Window(delta),
		func(sym int64, w window.Window, elems []Price, emit func(int64)) { emit(sym) }).
		ForEach(func(int64) error { warnings.Add(1); return nil })
	if err := env.Execute(ctx); err != nil {
		return 0, fmt.Errorf("braid: workloads: stock: %w", err)
	}
	if warnings.Load() == 0 {
		return 0, fmt.Errorf("braid: workloads: stock: no warnings")
	}
	return warnings.Load(), nil
}
