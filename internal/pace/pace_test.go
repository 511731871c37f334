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
