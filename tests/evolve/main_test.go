// Package evolve_test checks, through the public API only, what a user
// relies on when a checkpointed job comes back different from how it
// stopped: at another parallelism (key groups move between subtasks),
// with operators added, removed or renamed, and after failures restarted
// inside the process. Each test compares the published output of the
// exactly-once file sink with that of one uninterrupted run, record for
// record.
package evolve_test

import (
	"flag"
	"testing"

	"go.uber.org/goleak"
)

// No goroutine outlives Execute, in any test of the package. -short halves
// the events of every job.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		nEvents = 3000
	}
	goleak.VerifyTestMain(m)
}
