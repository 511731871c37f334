package benthos

import (
	"context"
	"testing"
	"time"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

// Every event counted once under its key, over windows short enough that the
// run spans several of them. The input is paced (2,000 events a second, a
// third of what Benthos took under the race detector on this loaded machine)
// so that each window is processed well within the next one: a pipeline more
// than a window behind the clock makes system_window drop whole windows, as
// its documentation says (10,000 a second here lost events under -race), and
// the timed runs, unpaced, report that.
func TestTumbleCountsEveryEventOnce(t *testing.T) {
	tc := workload.Tumble{N: 6_000, Keys: 100, Step: workload.DefaultStep, Size: workload.DefaultSize}
	got, results, err := Tumble(context.Background(), tc, Options{Window: time.Second, Batch: 100, Pace: 50 * time.Millisecond})
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
