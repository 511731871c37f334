package workload

import "testing"

// bruteForce counts every (window, key) pair in a map keyed by both, the
// dumbest way there is, for Expected and ExpectedTotals to be checked
// against.
func bruteForce(t Tumble) (perWindow, totals Digest) {
	type wk struct{ w, k int64 }
	counts := map[wk]int64{}
	tot := Totals{}
	for i := range t.N {
		e := t.At(i)
		counts[wk{e.Ts / t.Size * t.Size, e.Key}]++
		tot[e.Key]++
	}
	for p, c := range counts {
		perWindow.Add(p.w, p.k, c)
	}
	return perWindow, tot.Digest()
}

func TestExpectedMatchesBruteForce(t *testing.T) {
	for _, tc := range []Tumble{
		{N: 10_000, Keys: 100, Step: 1000, Size: 1_000_000},   // windows of 1,000 events
		{N: 12_345, Keys: 1000, Step: 1000, Size: 1_000_000},  // a partial last window and key run
		{N: 999, Keys: 10_000, Step: 3, Size: 700},            // fewer events than keys
		{N: 50_001, Keys: 7, Step: 1000, Size: 1_000_000_000}, // one window
	} {
		wantWin, wantTot := bruteForce(tc)
		if got := tc.Expected(); got != wantWin {
			t.Errorf("%+v: Expected() = %+v, brute force %+v", tc, got, wantWin)
		}
		if got := tc.ExpectedTotals(); got != wantTot {
			t.Errorf("%+v: ExpectedTotals() = %+v, brute force %+v", tc, got, wantTot)
		}
		if wantWin.Sum != tc.N || wantTot.Sum != tc.N {
			t.Errorf("%+v: sums %d and %d, want N", tc, wantWin.Sum, wantTot.Sum)
		}
	}
}

// A digest must tell apart results that differ in one window, key or count,
// and must not depend on their order.
func TestDigestSeesOneChange(t *testing.T) {
	base := func() Digest {
		var d Digest
		d.Add(0, 1, 5)
		d.Add(0, 2, 3)
		d.Add(1000, 1, 4)
		return d
	}
	var reordered Digest
	reordered.Add(1000, 1, 4)
	reordered.Add(0, 2, 3)
	reordered.Add(0, 1, 5)
	if reordered != base() {
		t.Errorf("order changed the digest: %+v vs %+v", reordered, base())
	}
	for name, change := range map[string][3]int64{
		"window": {1000, 2, 3}, "key": {0, 3, 3}, "count": {0, 2, 2},
	} {
		var d Digest
		d.Add(0, 1, 5)
		d.Add(change[0], change[1], change[2])
		d.Add(1000, 1, 4)
		if d == base() {
			t.Errorf("a different %s gave the same digest", name)
		}
	}
	// Swapping counts between keys keeps the sum but not the hash.
	var swapped Digest
	swapped.Add(0, 1, 3)
	swapped.Add(0, 2, 5)
	swapped.Add(1000, 1, 4)
	if swapped == base() {
		t.Error("swapped counts gave the same digest")
	}
}

// Q5's expected results on a hand-made input: windows of 10 every 2 (in ns,
// for short), bids at the times given.
func TestQ5ExpectedByHand(t *testing.T) {
	bids := []Bid{{1, 1}, {2, 3}, {2, 4}, {1, 11}, {3, 11}, {3, 12}}
	q := Q5{N: int64(len(bids)), Size: 10, Slide: 2, Bid: func(i int64) (Bid, bool) { return bids[i], true }}
	var want Digest
	// [-8,2): 1 once. [-6,4): 1, 2 once each. [-4,6), [-2,8), [0,10): 2 twice.
	// [2,12): 2 twice, 3 once, 1 once -> 2. [4,14): 3 twice (2 at 4 once, 1 once).
	// [6,16), [8,18), [10,20): 3 twice. [12,22): 3 once.
	want.Add(-8, 1, 1)
	want.Add(-6, 1, 1)
	want.Add(-6, 2, 1)
	for _, w := range []int64{-4, -2, 0, 2} {
		want.Add(w, 2, 2)
	}
	for _, w := range []int64{4, 6, 8, 10} {
		want.Add(w, 3, 2)
	}
	want.Add(12, 3, 1)
	if got := q.Expected(); got != want {
		t.Errorf("Expected() = %+v, want %+v", got, want)
	}
}
