package stream_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type side struct {
	ID  int
	Key int
	Ts  int64
}

func randomSide(rng *rand.Rand, n, keys int, idBase int) []side {
	out := make([]side, n)
	ts := int64(0)
	for i := range out {
		ts += int64(rng.IntN(3))
		out[i] = side{ID: idBase + i, Key: rng.IntN(keys), Ts: ts - int64(rng.IntN(5))}
	}
	return out
}

func sideStreams(env *stream.Env, as, bs []side) (*stream.KeyedStream[int, side], *stream.KeyedStream[int, side]) {
	ts := func(s side) time.Time { return time.Unix(0, s.Ts) }
	key := func(s side) int { return s.Key }
	// A bound above the disorder: no element is late, so the results do not
	// depend on how the two inputs interleave.
	sa := stream.FromSlice(env, as).WithTimestamps(ts, stream.BoundedOutOfOrderness(10))
	sb := stream.FromSlice(env, bs).WithTimestamps(ts, stream.BoundedOutOfOrderness(10))
	return stream.KeyBy(sa, key), stream.KeyBy(sb, key)
}

// Window join and co-group against the brute force, on random inputs with
// disorder, sliding windows, parallelism 1 and 4: the join gives every pair
// of an element of a and one of b with the same key in the same window,
// once per window they share, and no other pair; the co-group gives, per
// key and window with any element, exactly the elements of each side.
func TestJoinAndCoGroupMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 6))
	for i := range 12 {
		as := randomSide(rng, 50+rng.IntN(150), 1+rng.IntN(5), 0)
		bs := randomSide(rng, 50+rng.IntN(150), 1+rng.IntN(5), 10_000)
		slide := int64(1 + rng.IntN(8))
		assigner := window.Sliding(time.Duration(slide*int64(1+rng.IntN(3))), time.Duration(slide))

		var wantPairs []string
		groups := map[string][2][]int{}
		for _, a := range as {
			for _, w := range assigner.Assign(a.Ts, nil) {
				k := fmt.Sprintf("%d %v", a.Key, w)
				g := groups[k]
				g[0] = append(g[0], a.ID)
				groups[k] = g
				for _, b := range bs {
					if a.Key == b.Key && w.Contains(b.Ts) {
						wantPairs = append(wantPairs, fmt.Sprintf("%d %d", a.ID, b.ID))
					}
				}
			}
		}
		for _, b := range bs {
			for _, w := range assigner.Assign(b.Ts, nil) {
				k := fmt.Sprintf("%d %v", b.Key, w)
				g := groups[k]
				g[1] = append(g[1], b.ID)
				groups[k] = g
			}
		}
		var wantGroups []string
		for k, g := range groups {
			slices.Sort(g[0])
			slices.Sort(g[1])
			wantGroups = append(wantGroups, fmt.Sprintf("%s %v %v", k, g[0], g[1]))
		}
		slices.Sort(wantPairs)
		slices.Sort(wantGroups)

		for _, par := range []int{1, 4} {
			env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(16))
			ka, kb := sideStreams(env, as, bs)
			pairs := stream.Collect(stream.Join(ka, kb, assigner, func(a, b side) string { return fmt.Sprintf("%d %d", a.ID, b.ID) }))
			ka2, kb2 := sideStreams(env, as, bs)
			cogroups := stream.Collect(stream.CoGroup(ka2, kb2, assigner, func(k int, w window.Window, l, r []side, emit func(string)) {
				ids := func(ss []side) []int {
					out := []int{}
					for _, s := range ss {
						out = append(out, s.ID)
					}
					slices.Sort(out)
					return out
				}
				emit(fmt.Sprintf("%d %v %v %v", k, w, ids(l), ids(r)))
			}))
			if err := env.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := pairs.Items()
			slices.Sort(got)
			if d := diff(wantPairs, got); d != "" {
				t.Fatalf("join, case %d, %v, parallelism %d:\n%s", i, assigner, par, d)
			}
			gotGroups := cogroups.Items()
			slices.Sort(gotGroups)
			if d := diff(wantGroups, gotGroups); d != "" {
				t.Fatalf("cogroup, case %d, %v, parallelism %d:\n%s", i, assigner, par, d)
			}
		}
	}
}

// Interval join end to end against the brute force: with a watermark bound
// above the disorder nothing is late, so the pairs are every pair of one
// key with a.ts+lower <= b.ts <= a.ts+upper, at parallelism 1 and 4.
func TestIntervalJoinMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 9))
	for i := range 10 {
		as := randomSide(rng, 50+rng.IntN(200), 1+rng.IntN(6), 0)
		bs := randomSide(rng, 50+rng.IntN(200), 1+rng.IntN(6), 10_000)
		lower := int64(rng.IntN(15) - 10)
		upper := lower + int64(rng.IntN(12))
		var want []string
		for _, a := range as {
			for _, b := range bs {
				if a.Key == b.Key && b.Ts >= a.Ts+lower && b.Ts <= a.Ts+upper {
					want = append(want, fmt.Sprintf("%d %d %d", a.ID, b.ID, max(a.Ts, b.Ts)))
				}
			}
		}
		slices.Sort(want)
		for _, par := range []int{1, 4} {
			env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(8))
			ka, kb := sideStreams(env, as, bs)
			type pair struct{ a, b side }
			joined, lateA, lateB := stream.IntervalJoin(ka, kb, time.Duration(lower), time.Duration(upper), func(a, b side) pair { return pair{a, b} })
			withTs := stream.Process(stream.KeyBy(joined, func(p pair) int { return p.a.Key }),
				func(*state.Store) (stream.ProcessFunc[int, pair, string], error) {
					return stream.ProcessFunc[int, pair, string]{OnElement: func(c *stream.ProcessContext[int, string], p pair) {
						ts, _ := c.Timestamp()
						c.Emit(fmt.Sprintf("%d %d %d", p.a.ID, p.b.ID, ts.UnixNano()))
					}}, nil
				})
			got := stream.Collect(withTs)
			la, lb := stream.Collect(lateA), stream.Collect(lateB)
			if err := env.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			g := got.Items()
			slices.Sort(g)
			if d := diff(want, g); d != "" || len(la.Items())+len(lb.Items()) > 0 {
				t.Fatalf("case %d [%d,%d], parallelism %d (late %d+%d):\n%s", i, lower, upper, par, len(la.Items()), len(lb.Items()), d)
			}
		}
	}
}
