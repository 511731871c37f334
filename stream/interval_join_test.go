package stream_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
)

// intervalPairs runs IntervalJoin of as and bs (no element late) and
// returns the pairs as "aID bID" sorted, or Execute's error.
func intervalPairs(t *testing.T, par int, as, bs []side, lower, upper time.Duration, opts ...stream.IntervalJoinOption) ([]string, error) {
	t.Helper()
	env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(8))
	ka, kb := sideStreams(env, as, bs)
	joined, lateA, lateB := stream.IntervalJoin(ka, kb, lower, upper,
		func(a, b side) string { return fmt.Sprintf("%d %d", a.ID, b.ID) }, opts...)
	got, la, lb := stream.Collect(joined), stream.Collect(lateA), stream.Collect(lateB)
	if err := env.Execute(context.Background()); err != nil {
		return nil, err
	}
	if n := len(la.Items()) + len(lb.Items()); n > 0 {
		t.Fatalf("%d late elements with a watermark bound above the disorder", n)
	}
	g := got.Items()
	slices.Sort(g)
	return g, nil
}

// Flink's IntervalJoined.lowerBoundExclusive/upperBoundExclusive: with a
// bound exclusive, b joins a only when b.ts > a.ts+lower (or < a.ts+upper).
// One a at 10 and a b at every time from 10+lower-1 to 10+upper+1: the
// pairs are exactly the b inside the interval with each edge included or
// not, for negative, zero-width and positive intervals.
func TestIntervalJoinExclusiveBoundsAtTheEdges(t *testing.T) {
	type bounds struct{ lower, upper int64 }
	for _, bd := range []bounds{{-3, 2}, {-5, -1}, {0, 0}, {-2, -2}, {1, 4}, {0, 1}, {-1, 0}} {
		for _, excl := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			as := []side{{ID: 1, Key: 0, Ts: 10}}
			var bs []side
			var want []string
			for ts := 10 + bd.lower - 1; ts <= 10+bd.upper+1; ts++ {
				b := side{ID: 100 + int(ts), Key: 0, Ts: ts}
				bs = append(bs, b)
				in := ts >= 10+bd.lower && ts <= 10+bd.upper &&
					!(excl[0] && ts == 10+bd.lower) && !(excl[1] && ts == 10+bd.upper)
				if in {
					want = append(want, fmt.Sprintf("1 %d", b.ID))
				}
			}
			var opts []stream.IntervalJoinOption
			if excl[0] {
				opts = append(opts, stream.LowerBoundExclusive())
			}
			if excl[1] {
				opts = append(opts, stream.UpperBoundExclusive())
			}
			name := fmt.Sprintf("[%d,%d] exclusive %v", bd.lower, bd.upper, excl)
			got, err := intervalPairs(t, 1, as, bs, time.Duration(bd.lower), time.Duration(bd.upper), opts...)
			if len(want) == 0 {
				// Nothing fits: the interval is refused, not run empty.
				if err == nil || !strings.Contains(err.Error(), "holds no nanosecond") {
					t.Fatalf("%s: want the empty interval refused, got pairs %v, error %v", name, got, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: pairs %v, want %v", name, got, want)
			}
		}
	}
}

// An exclusive bound at the end of the int64 range does not wrap around
// into a huge interval: it leaves nothing, and is refused.
func TestIntervalJoinExclusiveBoundsDoNotOverflow(t *testing.T) {
	as, bs := []side{{ID: 1, Ts: 0}}, []side{{ID: 2, Ts: 0}}
	for _, c := range []struct {
		lower, upper time.Duration
		opt          stream.IntervalJoinOption
	}{
		{math.MaxInt64, math.MaxInt64, stream.LowerBoundExclusive()},
		{math.MinInt64, math.MinInt64, stream.UpperBoundExclusive()},
	} {
		if got, err := intervalPairs(t, 1, as, bs, c.lower, c.upper, c.opt); err == nil {
			t.Fatalf("[%d,%d] with an exclusive bound: ran and joined %v, want refused", c.lower, c.upper, got)
		}
	}
}

// Exclusive bounds against the brute force, on random inputs whose
// timestamps often fall exactly on a bound (steps of 0 to 2ns, disorder
// up to 4ns, bounds within ±10ns), at parallelism 1 and 4.
func TestIntervalJoinExclusiveBoundsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 11))
	for i := range 12 {
		as := randomSide(rng, 30+rng.IntN(120), 1+rng.IntN(4), 0)
		bs := randomSide(rng, 30+rng.IntN(120), 1+rng.IntN(4), 10_000)
		lower := int64(rng.IntN(21) - 10)
		upper := lower + int64(rng.IntN(6))
		lx, ux := rng.IntN(2) == 1, rng.IntN(2) == 1
		if lx && ux && upper-lower < 2 {
			// (d, d] and (d, d+1) hold no nanosecond (refusal has its own
			// test): make it (d, d+1], which holds only d+1.
			upper, ux = lower+1, false
		} else if (lx || ux) && lower == upper {
			upper++
		}
		var want []string
		for _, a := range as {
			for _, b := range bs {
				lo, hi := a.Ts+lower, a.Ts+upper
				if a.Key == b.Key && (b.Ts > lo || !lx && b.Ts == lo) && (b.Ts < hi || !ux && b.Ts == hi) {
					want = append(want, fmt.Sprintf("%d %d", a.ID, b.ID))
				}
			}
		}
		slices.Sort(want)
		var opts []stream.IntervalJoinOption
		if lx {
			opts = append(opts, stream.LowerBoundExclusive())
		}
		if ux {
			opts = append(opts, stream.UpperBoundExclusive())
		}
		for _, par := range []int{1, 4} {
			got, err := intervalPairs(t, par, as, bs, time.Duration(lower), time.Duration(upper), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(want, got); d != "" {
				t.Fatalf("case %d [%d,%d] exclusive lower %v upper %v, parallelism %d:\n%s", i, lower, upper, lx, ux, par, d)
			}
		}
	}
}
