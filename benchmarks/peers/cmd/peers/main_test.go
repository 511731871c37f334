package main

import (
	"testing"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

// A run in this process, as a child does it, gives the digest the parent
// expects; a digest off by one count is caught.
func TestChildRunIsChecked(t *testing.T) {
	cfg := config{workload: "tumble", keys: 100, n: 50_000, window: 5e6}
	rec := runChild(cfg, "go-streams-unkeyed")
	if rec.Error != "" {
		t.Fatal(rec.Error)
	}
	if rec.Semantics != processingTime || rec.CPUS <= 0 || rec.PeakRSSBytes <= 0 || rec.AllocsPerEvent <= 0 {
		t.Errorf("record not filled in: %+v", rec)
	}
	want := expected(cfg, rec.Semantics)
	check(&rec, want)
	if !rec.Correct {
		t.Errorf("correct run flagged: %s", rec.Error)
	}
	off := *rec.Digest
	off.Merge(workload.Digest{Results: 0, Sum: 1, Hash: 1})
	bad := record{Digest: &off}
	if check(&bad, want); bad.Correct || bad.Error == "" {
		t.Errorf("wrong digest not flagged: %+v", bad)
	}
	none := record{}
	if check(&none, want); none.Correct {
		t.Error("missing digest not flagged")
	}
}

// q5's expected results from the Nexmark generator are not empty: the bids
// are found, and their windows have hot items.
func TestQ5ExpectedHasHotItems(t *testing.T) {
	d := expected(config{workload: "q5", n: 50_000}, eventTime)
	if d.Results < 2 || d.Sum <= 0 {
		t.Errorf("q5 over 50,000 Nexmark events: %+v", d)
	}
}
