// Package beam runs the workloads in the Apache Beam Go SDK on the prism
// runner, in process: prism's job server starts inside this process and the
// SDK worker runs in loopback mode in it too, so the CPU and memory counted
// for a run are the runner's and the pipeline's.
//
// Beam windows by event time, so its results are checked exactly: every
// (window, key, count) of the keyed tumbling count.
//
// A program using this package must call beam.Init() early in main (or in
// TestMain), after flag.Parse, as every Beam program does.
package beam

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

func init() {
	register.DoFn2x0[int64, func(beam.EventTime, int64)](&genFn{})
	register.Emitter2[beam.EventTime, int64]()
	register.DoFn3x0[beam.Window, int64, int](&collectFn{})
}

// Shards is how many elements the source is split into: prism hands them to
// bundles, and each generates its range of events.
const Shards = 16

// genFn generates the events of one shard, [s*N/Shards, (s+1)*N/Shards), as
// keys stamped with their event times.
type genFn struct {
	N, Keys, Step int64
}

func (f *genFn) ProcessElement(shard int64, emit func(beam.EventTime, int64)) {
	t := workload.Tumble{N: f.N, Keys: f.Keys, Step: f.Step}
	for i := shard * f.N / Shards; i < (shard+1)*f.N/Shards; i++ {
		e := t.At(i)
		emit(mtime.FromTime(time.Unix(0, e.Ts)), e.Key)
	}
}

// collectFn adds each window's count to the digest of its run. The worker
// runs in this process (loopback), so the digest is a package variable,
// looked up by the run's id.
type collectFn struct {
	Run int64
}

func (f *collectFn) ProcessElement(w beam.Window, key int64, count int) {
	iw := w.(window.IntervalWindow)
	runs.Lock()
	runs.m[f.Run].Add(int64(iw.Start)*int64(time.Millisecond), key, int64(count))
	runs.Unlock()
}

var (
	runs = struct {
		sync.Mutex
		m map[int64]*workload.Digest
	}{m: map[int64]*workload.Digest{}}
	lastRun atomic.Int64
)

// Tumble is the keyed tumbling count as a Beam user writes it: the keys with
// their event times, WindowInto fixed windows of t.Size, stats.Count (a
// combine per key), and a ParDo receiving each window's count. It returns the
// digest of the results (see workload.Tumble.Expected). Event times are
// Beam's milliseconds, so t.Step*i must be whole milliseconds apart or fall
// in the same window either way (t.Size a multiple of a millisecond).
func Tumble(ctx context.Context, t workload.Tumble) (workload.Digest, error) {
	if t.Size%int64(time.Millisecond) != 0 {
		return workload.Digest{}, fmt.Errorf("beam: window size %v is not whole milliseconds", time.Duration(t.Size))
	}
	run := lastRun.Add(1)
	runs.Lock()
	runs.m[run] = &workload.Digest{}
	runs.Unlock()
	defer func() {
		runs.Lock()
		delete(runs.m, run)
		runs.Unlock()
	}()

	p, s := beam.NewPipelineWithRoot()
	shards := make([]int64, Shards)
	for i := range shards {
		shards[i] = int64(i)
	}
	keys := beam.ParDo(s, &genFn{N: t.N, Keys: t.Keys, Step: t.Step}, beam.CreateList(s, shards))
	windowed := beam.WindowInto(s, window.NewFixedWindows(time.Duration(t.Size)), keys)
	beam.ParDo0(s, &collectFn{Run: run}, stats.Count(s, windowed))
	if err := execute(ctx, p); err != nil {
		return workload.Digest{}, err
	}
	runs.Lock()
	defer runs.Unlock()
	return *runs.m[run], nil
}

// execute runs p on prism, in this process.
func execute(ctx context.Context, p *beam.Pipeline) error {
	if _, err := prism.Execute(ctx, p); err != nil {
		return fmt.Errorf("beam: prism: %w", err)
	}
	return nil
}
