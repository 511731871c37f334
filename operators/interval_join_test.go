package operators

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/braidstream/braid/internal/testseed"
)

type ijEv struct {
	key, id int
	ts      int64
}

// What the interval join keeps is what its definition needs, no more: after
// each watermark wm, exactly the non-late a with a.ts+upper >= wm and b with
// b.ts-lower >= wm, each key's buffers sorted by time, and no key without
// elements, whatever the order of arrival (disorder, keys coming back after
// their buffers emptied). The pairs match the definition as well.
func TestIntervalJoinKeepsWhatTheIntervalNeeds(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 21))
	for round := range 300 {
		lower := int64(rng.IntN(21) - 10)
		upper := lower + int64(rng.IntN(15))
		out := &collect[string]{}
		key := func(e ijEv) int { return e.key }
		j := NewIntervalJoin(key, key, lower, upper, func(a, b ijEv) string { return fmt.Sprintf("%d-%d", a.id, b.id) },
			testContext(nil), Input[string](out), nil, nil)
		ins := j.Inputs()
		sides := [2]Input[ijEv]{ins[0].(Input[ijEv]), ins[1].(Input[ijEv])}
		var kept [2][]ijEv // non-late elements of each side
		var want []string
		wm := [2]int64{MinWatermark, MinWatermark}
		base := int64(0)
		for i := range 80 {
			if rng.IntN(3) == 0 {
				s := rng.IntN(2)
				wm[s] = max(wm[s], base-int64(rng.IntN(8)))
				must(t, sides[s].Watermark(wm[s]))
				checkKept(t, round, j, kept, lower, upper, min(wm[0], wm[1]))
				continue
			}
			base += int64(rng.IntN(3))
			s := rng.IntN(2)
			e := ijEv{key: rng.IntN(4), id: i, ts: base - int64(rng.IntN(10))}
			if e.ts >= min(wm[0], wm[1]) {
				kept[s] = append(kept[s], e)
				for _, o := range kept[1-s] {
					a, b := e, o
					if s == 1 {
						a, b = o, e
					}
					if a.key == b.key && b.ts >= a.ts+lower && b.ts <= a.ts+upper {
						want = append(want, fmt.Sprintf("%d-%d", a.id, b.id))
					}
				}
			}
			n := rng.IntN(3) + 1 // a batch of one to three copies, ids apart
			b := &Batch[ijEv]{}
			for c := range n {
				ec := e
				ec.id = e.id + 1000*c
				b.Values, b.Times = append(b.Values, ec), append(b.Times, e.ts)
				if c > 0 && e.ts >= min(wm[0], wm[1]) {
					kept[s] = append(kept[s], ec)
					for _, o := range kept[1-s] {
						a, bb := ec, o
						if s == 1 {
							a, bb = o, ec
						}
						if a.key == bb.key && bb.ts >= a.ts+lower && bb.ts <= a.ts+upper {
							want = append(want, fmt.Sprintf("%d-%d", a.id, bb.id))
						}
					}
				}
			}
			must(t, sides[s].Push(b))
		}
		got := slices.Clone(out.vals)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d [%d,%d]: pairs %v, want %v", round, lower, upper, got, want)
		}
	}
}

// checkKept compares the join's buffers with the elements of kept that a
// later element could still join at watermark wm.
func checkKept(t *testing.T, round int, j *IntervalJoin[ijEv, ijEv, int, string], kept [2][]ijEv, lower, upper, wm int64) {
	t.Helper()
	var want, got []int
	for _, a := range kept[0] {
		if a.ts+upper >= wm {
			want = append(want, a.id)
		}
	}
	for _, b := range kept[1] {
		if b.ts-lower >= wm {
			want = append(want, -b.id-1)
		}
	}
	for k, b := range j.bufs {
		if len(b.as) == 0 && len(b.bs) == 0 {
			t.Fatalf("round %d, watermark %d: key %d kept with nothing buffered", round, wm, k)
		}
		if !slices.IsSortedFunc(b.as, func(x, y stamped[ijEv]) int { return int(x.ts - y.ts) }) ||
			!slices.IsSortedFunc(b.bs, func(x, y stamped[ijEv]) int { return int(x.ts - y.ts) }) {
			t.Fatalf("round %d: key %d's buffers are not sorted by time", round, k)
		}
		for _, a := range b.as {
			got = append(got, a.v.id)
		}
		for _, x := range b.bs {
			got = append(got, -x.v.id-1)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("round %d [%d,%d], watermark %d: buffered %v, want %v (negative: the right side)", round, lower, upper, wm, got, want)
	}
}

// A key whose buffers emptied and that comes back reuses buffers: keys
// coming and going, as sessions of users do, cost no allocation once warm.
func TestIntervalJoinReusesBuffersOfKeysThatLeft(t *testing.T) {
	key := func(e ijEv) int { return e.key }
	var pairs int
	j := NewIntervalJoin(key, key, -5, 5, func(a, b ijEv) int { return 1 }, testContext(nil),
		Input[int](&Sink[int]{f: func(b *Batch[int]) error { pairs += len(b.Values); return nil }}), nil, nil)
	ins := j.Inputs()
	left, right := ins[0].(Input[ijEv]), ins[1].(Input[ijEv])
	const keys = 200
	ba, bb := &Batch[ijEv]{}, &Batch[ijEv]{}
	now, rounds := int64(0), 0
	round := func() {
		now += 100
		rounds++
		ba.Values, ba.Times, bb.Values, bb.Times = ba.Values[:0], ba.Times[:0], bb.Values[:0], bb.Times[:0]
		for k := range keys {
			ba.Values, ba.Times = append(ba.Values, ijEv{key: k}), append(ba.Times, now)
			bb.Values, bb.Times = append(bb.Values, ijEv{key: k}), append(bb.Times, now+1)
		}
		must(t, left.Push(ba))
		must(t, right.Push(bb))
		// Past every expiry: all keys leave.
		must(t, left.Watermark(now+50))
		must(t, right.Watermark(now+50))
	}
	for range 10 {
		round()
	}
	if len(j.bufs) != 0 {
		t.Fatalf("%d keys still buffered after the watermark passed all", len(j.bufs))
	}
	if n := testing.AllocsPerRun(50, round); n != 0 {
		t.Fatalf("%v allocations per round of %d keys coming back", n, keys)
	}
	if pairs != rounds*keys {
		t.Fatalf("%d pairs, want %d", pairs, rounds*keys)
	}
}

// The cleanup queue against a sorted list: pushes mostly in time order with
// some out of it, pops interleaved; every pop is the earliest entry.
func TestCleanupQueueMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 22))
	for round := range 200 {
		var q cleanupQueue[int]
		var ref []int64
		now := int64(0)
		for i := range 500 {
			if rng.IntN(3) == 0 && len(ref) > 0 {
				e := q.pop()
				if e.at != ref[0] {
					t.Fatalf("round %d, step %d: popped %d, want the earliest, %d", round, i, e.at, ref[0])
				}
				ref = ref[1:]
				continue
			}
			now += int64(rng.IntN(4))
			at := now
			if rng.IntN(4) == 0 {
				at -= int64(rng.IntN(20)) // out of order: to the heap
			}
			q.push(expiry[int]{at: at, p: i})
			j, _ := slices.BinarySearch(ref, at+1)
			ref = slices.Insert(ref, j, at)
			if q.len() != len(ref) || q.min() != ref[0] {
				t.Fatalf("round %d, step %d: len %d min %d, want %d and %d", round, i, q.len(), q.min(), len(ref), ref[0])
			}
		}
	}
}
