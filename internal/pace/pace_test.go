package pace

import "testing"

func TestPacerSizesRunsToTheBudget(t *testing.T) {
	var p Pacer
	if n := p.Run(4096); n != 1 {
		t.Fatalf("first run %d, want 1: the cost is not known yet", n)
	}
	if p.Whole(10) {
		t.Fatal("Whole before anything was learned")
	}
	p.Learn(1, 50_000_000) // 50 ms an element
	if n := p.Run(4096); n != 1 {
		t.Fatalf("slow: run %d, want 1", n)
	}
	p.Learn(100, 100_000) // 1 µs an element: 1,000 fit in 1 ms
	if n := p.Run(4096); n != 200 {
		t.Fatalf("1µs an element after a run of 100: run %d, want 200 (twice what has been seen)", n)
	}
	p.Learn(800, 800_000)
	if n := p.Run(4096); n != 1000 {
		t.Fatalf("1µs an element: run %d, want 1000", n)
	}
	if !p.Whole(1000) || p.Whole(1001) {
		t.Fatal("Whole disagrees with the budget")
	}
	p.Learn(4096, 40_000) // 10 ns an element
	if n := p.Run(4096); n != 4096 {
		t.Fatalf("fast: run %d, want the whole batch", n)
	}
	if n := p.Run(0); n != 0 {
		t.Fatalf("nothing left: run %d", n)
	}
	p.Learn(0, 5) // a run of nothing teaches nothing
	if n := p.Run(4096); n != 4096 {
		t.Fatalf("after an empty run: %d", n)
	}
}

// A function cheap on one element and slow on the next (a reduce's first
// element per key costs nothing) must not be extrapolated from the cheap
// one: runs grow at most twofold, and a run that overran shrinks them.
func TestPacerDoesNotTrustOneCheapElement(t *testing.T) {
	var p Pacer
	p.Learn(1, 100) // 100 ns
	if n := p.Run(4096); n != 2 {
		t.Fatalf("after one cheap element: run %d, want 2", n)
	}
	if p.Whole(4096) {
		t.Fatal("a whole batch trusted after one cheap element")
	}
	p.Learn(2, 50_000_000) // one of them took 50 ms
	if n := p.Run(4096); n != 1 {
		t.Fatalf("after an overrun: run %d, want 1", n)
	}
	p.Learn(1, 100) // cheap again
	if n := p.Run(4096); n != 2 {
		t.Fatalf("after an overrun and a cheap element: run %d, want 2", n)
	}
	// A fast function ramps once and then runs whole batches, small
	// batches in between notwithstanding.
	var f Pacer
	for n := 1; n < 4096; n *= 2 {
		f.Learn(f.Run(4096), 10*int64(n))
	}
	f.Learn(10, 100)
	if !f.Whole(4096) {
		t.Fatal("a fast function is not run in whole batches after its ramp")
	}
}
