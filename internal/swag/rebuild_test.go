package swag_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/braidstream/braid/internal/swag"
	"github.com/braidstream/braid/internal/testseed"
)

// rebuilt makes a new queue from what Entries and LastID say of q.
func rebuilt(q *swag.Queue[float64]) *swag.Queue[float64] {
	var ids []int64
	var vals []float64
	front := 0
	q.Entries(func(id int64, v float64, inFront bool) {
		if inFront {
			if front != len(ids) {
				panic("a front entry after a back one")
			}
			front++
		}
		ids, vals = append(ids, id), append(vals, v)
	})
	last, pushed := q.LastID()
	r := swag.New(func(a, b float64) float64 { return a + b })
	r.Rebuild(ids, vals, front, last, pushed)
	return r
}

// A rebuilt queue is the same queue: floating-point sums, which are
// associative only up to rounding, come out bit for bit equal to the
// original's, now and after the same operations on both; pushing an id at
// or below the last one panics in both. This is what checkpoints of
// sliding windows rely on: a window's sum after a restore is the sum
// without it.
func TestRebuildIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 3))
	sum := func(a, b float64) float64 { return a + b }
	for round := range 300 {
		q := swag.New(sum)
		id := int64(rng.IntN(100)) - 50
		var r *swag.Queue[float64]
		for step := range 200 {
			if rng.IntN(10) == 0 {
				r = rebuilt(q)
			}
			val := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(30)-15))
			ops := []*swag.Queue[float64]{q}
			if r != nil {
				ops = append(ops, r)
			}
			op := rng.IntN(10)
			if op < 5 {
				id += int64(1 + rng.IntN(3))
			}
			target := id - int64(rng.IntN(8))
			for _, x := range ops {
				switch {
				case op < 5:
					x.Push(id, val)
				case op < 7:
					x.PopBefore(target)
				case op < 8:
					if !x.Update(target, func(a float64) float64 { return a + val }) {
						x.Insert(target, val)
					}
				}
			}
			if r == nil {
				continue
			}
			a, okA := q.Aggregate()
			b, okB := r.Aggregate()
			if okA != okB || math.Float64bits(a) != math.Float64bits(b) || q.Len() != r.Len() {
				t.Fatalf("round %d step %d: rebuilt aggregate %v (%v, %d entries), original %v (%v, %d)", round, step, b, okB, r.Len(), a, okA, q.Len())
			}
			if ra, rb := must2(q.RangeAggregate(target, id)), must2(r.RangeAggregate(target, id)); math.Float64bits(ra) != math.Float64bits(rb) {
				t.Fatalf("round %d step %d: range aggregates %v and %v", round, step, rb, ra)
			}
		}
		if r != nil {
			last, _ := q.LastID()
			if !panics(func() { r.Push(last, 1) }) {
				t.Fatalf("round %d: the rebuilt queue took Push(%d), at its last id", round, last)
			}
		}
	}
}

func must2(v float64, _ bool) float64 { return v }

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}

func TestRebuildRefusesBadInput(t *testing.T) {
	q := swag.New(func(a, b int) int { return a + b })
	for name, f := range map[string]func(){
		"ids out of order": func() { q.Rebuild([]int64{2, 1}, []int{1, 1}, 0, 5, true) },
		"front too large":  func() { q.Rebuild([]int64{1}, []int{1}, 2, 5, true) },
		"id above last":    func() { q.Rebuild([]int64{1, 7}, []int{1, 1}, 1, 5, true) },
		"entries, no push": func() { q.Rebuild([]int64{1}, []int{1}, 0, 0, false) },
		"lengths differ":   func() { q.Rebuild([]int64{1}, nil, 0, 5, true) },
	} {
		if !panics(f) {
			t.Errorf("%s: Rebuild did not panic", name)
		}
	}
	q.Rebuild(nil, nil, 0, 0, false)
	q.Push(math.MinInt64, 3) // nothing pushed: any id goes
	if a, _ := q.Aggregate(); a != 3 {
		t.Fatalf("aggregate %d", a)
	}
}
