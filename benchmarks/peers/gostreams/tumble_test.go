package gostreams

import (
	"errors"
	"testing"
	"time"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

// Both ways of writing the count in go-streams must count every event once
// under its key, over windows short enough that the run spans several of
// them. (The keyed flow runs five goroutines per key; the race detector
// allows 8,128, hence 500 keys.)
func TestTumbleCountsEveryEventOnce(t *testing.T) {
	tc := workload.Tumble{N: 40_000, Keys: 500, Step: workload.DefaultStep, Size: workload.DefaultSize}
	want := tc.ExpectedTotals()
	for name, run := range map[string]func(workload.Tumble, time.Duration) (workload.Digest, int64, error){
		"keyed": TumbleKeyed, "unkeyed": TumbleUnkeyed,
	} {
		got, results, err := run(tc, 5*time.Millisecond)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s: per-key totals %+v, want %+v", name, got, want)
		}
		if results < tc.Keys {
			t.Errorf("%s: %d results, want at least one per key (%d)", name, results, tc.Keys)
		}
		t.Logf("%s: %d results over all windows", name, results)
	}
}

func TestTumbleKeyedRefusesTooManyKeys(t *testing.T) {
	tc := workload.Tumble{N: 10, Keys: MaxKeyedKeys + 1, Step: 1, Size: 1}
	if _, _, err := TumbleKeyed(tc, time.Second); !errors.Is(err, workload.ErrNotRun) {
		t.Errorf("error %v for more keys than the peer runs, want workload.ErrNotRun", err)
	}
}
