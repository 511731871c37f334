package stream_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type tick struct {
	ID    int
	Sym   string
	Price float64
}

// relChange is the stock-price job's delta: |old/new - 1|.
func relChange(old, new tick) float64 { return math.Abs(old.Price/new.Price - 1) }

// deltaTwin applies the delta policy rule by rule: per key a trigger point
// (initially initial); an element whose delta from it exceeds the threshold
// fires the elements since the last trigger (if any) and becomes the
// trigger point and the first element of the next window; at the end every
// open window is emitted.
func deltaTwin(ticks []tick, threshold float64, initial tick) []string {
	point := map[string]tick{}
	open := map[string][]int{}
	start := map[string]int{}
	var order []string
	var out []string
	emit := func(sym string) {
		if ids := open[sym]; len(ids) > 0 {
			out = append(out, fmt.Sprintf("%s [%d,%d) %v", sym, start[sym], start[sym]+len(ids), ids))
			start[sym] += len(ids)
			open[sym] = nil
		}
	}
	for _, tk := range ticks {
		p, ok := point[tk.Sym]
		if !ok {
			p = initial
			order = append(order, tk.Sym)
		}
		if relChange(p, tk) > threshold {
			emit(tk.Sym)
			p = tk
		}
		point[tk.Sym] = p
		open[tk.Sym] = append(open[tk.Sym], tk.ID)
	}
	for _, sym := range order {
		emit(sym)
	}
	slices.Sort(out)
	return out
}

func TestDeltaWindowsMatchTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 5))
	syms := []string{"SPX", "FTSE", "DJI", "BUX"}
	for i := range 40 {
		n := 1 + rng.IntN(400)
		ticks := make([]tick, n)
		price := map[string]float64{}
		for j := range ticks {
			s := syms[rng.IntN(len(syms))]
			if price[s] == 0 {
				price[s] = 1000
			}
			price[s] = max(1, price[s]+rng.NormFloat64()*20)
			ticks[j] = tick{ID: j, Sym: s, Price: price[s]}
		}
		threshold := []float64{0, 0.01, 0.05, 0.2}[rng.IntN(4)]
		initial := tick{Price: 1000}
		want := deltaTwin(ticks, threshold, initial)
		for _, par := range []int{1, 4} {
			env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(1+rng.IntN(50)))
			by := stream.KeyBy(stream.FromSlice(env, ticks), func(tk tick) string { return tk.Sym })
			out := stream.Collect(stream.Apply(by.Window(window.Delta(threshold, relChange, initial)),
				func(sym string, w window.Window, elems []tick, emit func(string)) {
					ids := make([]int, len(elems))
					for k, e := range elems {
						ids[k] = e.ID
					}
					emit(fmt.Sprintf("%s %v %v", sym, w, ids))
				}))
			if err := env.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := out.Items()
			slices.Sort(got)
			if d := diff(want, got); d != "" {
				t.Fatalf("case %d, parallelism %d, threshold %g, %d ticks:\n%s", i, par, threshold, n, d)
			}
		}
	}
}

// Incremental functions work on delta windows too: the mean price of each
// run between warnings.
func TestDeltaWindowsIncremental(t *testing.T) {
	env := stream.NewEnv()
	ticks := []tick{{0, "S", 1000}, {1, "S", 1010}, {2, "S", 1100}, {3, "S", 1090}, {4, "S", 1200}}
	ws := stream.KeyBy(stream.FromSlice(env, ticks), func(tk tick) string { return tk.Sym }).
		Window(window.Delta(0.05, relChange, tick{Price: 1000}))
	means := stream.Collect(stream.Mean(ws, func(tk tick) float64 { return tk.Price }))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range means.Items() {
		got = append(got, fmt.Sprintf("%v %g", r.Window, r.Value))
	}
	// 1100 is more than 5% from 1000: fires [1000 1010]; 1200 is more than
	// 5% from 1100: fires [1100 1090]; [1200] at the end.
	if want := []string{"[0,2) 1005", "[2,4) 1095", "[4,5) 1200"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
