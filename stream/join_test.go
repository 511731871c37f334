package stream_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
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
