package benthos

import (
	"context"
	"testing"
	"time"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

// Every event counted once under its key, over windows short enough that the
// run spans several of them. The input is paced (10,000 events a second) to
// stay below what Benthos takes under the race detector on a loaded machine:
// saturated, system_window drops whole windows, as its documentation says,
// and the timed runs report that.
func TestTumbleCountsEveryEventOnce(t *testing.T) {
	tc := workload.Tumble{N: 30_000, Keys: 1000, Step: workload.DefaultStep, Size: workload.DefaultSize}
	got, results, err := Tumble(context.Background(), tc, Options{Window: 300 * time.Millisecond, Batch: 250, Pace: 25 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if want := tc.ExpectedTotals(); got != want {
		t.Errorf("per-key totals %+v, want %+v", got, want)
	}
	if results < tc.Keys {
		t.Errorf("%d results, want at least one per key (%d)", results, tc.Keys)
	}
	t.Logf("%d results over all windows", results)
}
