// Package workloads exposes the report's workloads as plain functions (test
// files cannot be imported): the keyed tumbling count in Braid and as a
// hand-written loop, the Nexmark queries and their baselines, and the stock
// workload (the delta warnings). Each function runs one workload once in the
// calling process; benchmarks/cmd/report calls one per child process and
// measures it.
package workloads

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/benchmarks/nexmark"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// A Spec names one run of one workload.
type Spec struct {
	// Workload is "tumble", "stock" or a Nexmark query ("q0" ... "q12").
	Workload string `json:"workload"`
	// Impl is "braid" or "baseline" (the hand-written loop).
	Impl string `json:"impl"`
	// N is the number of events.
	N int64 `json:"n"`
	// Keys is the tumbling count's number of keys (0 for the others).
	Keys int64 `json:"keys,omitempty"`
	// Checkpoint, for Braid, takes a checkpoint every second to a temporary
	// directory on disk.
	Checkpoint bool `json:"checkpoint,omitempty"`
}

// Name is the spec's row label in the report, e.g. "tumble keys=10000
// braid checkpoint".
func (s Spec) Name() string {
	parts := []string{s.Workload}
	if s.Keys > 0 {
		parts = append(parts, fmt.Sprintf("keys=%d", s.Keys))
	}
	parts = append(parts, s.Impl)
	if s.Checkpoint {
		parts = append(parts, "checkpoint")
	}
	return strings.Join(parts, " ")
}

// Outcome is what one run did: its results and, where the workload has
// windows closed by event time, the latency of each sampled result.
type Outcome struct {
	// Outputs is the number of results the job emitted.
	Outputs int64
	// Latencies are sampled latencies from window end to output (see
	// TumbleLatency), empty when the workload does not measure them.
	Latencies []time.Duration
}

// TumbleLatency says what the tumbling count's latency is.
const TumbleLatency = "wall time from the generation of the first event at or after a window's end " +
	"(the event whose timestamp moves the watermark past the end, since timestamps are monotonous) " +
	"to the window's result reaching the sink; sampled on every 64th result and the first of each window"

// Run runs spec once. Checkpoint directories are made under os.TempDir and
// removed after.
func Run(ctx context.Context, spec Spec) (Outcome, error) {
	var opts []stream.Option
	if spec.Checkpoint {
		if spec.Impl != "braid" {
			return Outcome{}, fmt.Errorf("braid: workloads: %s: checkpoints apply to braid only", spec.Name())
		}
		dir, err := os.MkdirTemp("", "braid-report-cp-")
		if err != nil {
			return Outcome{}, err
		}
		defer os.RemoveAll(dir)
		opts = append(opts, stream.WithCheckpointing(dir, time.Second))
	}
	if spec.N <= 0 {
		return Outcome{}, fmt.Errorf("braid: workloads: %s: n must be positive", spec.Name())
	}
	switch {
	case spec.Workload == "tumble":
		if spec.Keys <= 0 {
			return Outcome{}, fmt.Errorf("braid: workloads: tumble needs keys > 0")
		}
		if spec.Impl == "baseline" {
			return Outcome{Outputs: TumbleHandLoop(spec.N, spec.Keys)}, nil
		}
		return TumbleBraid(ctx, spec.N, spec.Keys, opts...)
	case spec.Workload == "stock":
		if spec.Impl != "braid" {
			return Outcome{}, fmt.Errorf("braid: workloads: stock has no baseline")
		}
		n, err := DeltaWarnings(ctx, spec.N, opts...)
		return Outcome{Outputs: n}, err
	case slices.Contains(nexmark.Queries, spec.Workload):
		g := nexmark.NewGenerator(nexmark.Config{Seed: 42})
		var r nexmark.Result
		var err error
		if spec.Impl == "baseline" {
			r, err = nexmark.BaselineWith(spec.Workload, g, spec.N)
		} else {
			r, err = nexmark.RunWith(ctx, spec.Workload, g, spec.N, opts...)
		}
		return Outcome{Outputs: r.Outputs}, err
	}
	return Outcome{}, fmt.Errorf("braid: workloads: unknown workload %q", spec.Workload)
}

// Event is the tumbling count's element: a key and an event time (ns).
type Event struct {
	Key int64
	Ts  int64
}

// TumbleStep is the event-time step between two events of the tumbling
// count (a million events per second of event time), TumbleSize its window.
const (
	TumbleStep = int64(time.Microsecond)
	TumbleSize = time.Second
)

// tumbleEvent is event i of the tumbling count: key (i*7919) % keys, as in
// benchmarks/core_test.go and benchmarks/peers/workload.
func tumbleEvent(i, keys int64) Event {
	return Event{Key: (i * 7919) % keys, Ts: i * TumbleStep}
}

// TumbleHandLoop is the keyed tumbling count as a plain Go loop (a map of
// counts per key, emitted when the window changes); it returns the number
// of results.
func TumbleHandLoop(n, keys int64) int64 {
	counts := make(map[int64]int64)
	var results int64
	cur := int64(-1)
	size := int64(TumbleSize)
	for i := range n {
		e := tumbleEvent(i, keys)
		if w := e.Ts / size; w != cur {
			results += int64(len(counts))
			clear(counts)
			cur = w
		}
		counts[e.Key]++
	}
	return results + int64(len(counts))
}

// TumbleBraid is the keyed tumbling count in Braid (parallelism 1 unless
// opts say otherwise): it returns the number of results and the sampled
// latencies (TumbleLatency). It checks that every event was counted once.
// Its sink keeps the samples unlocked: run it at parallelism 1 (the
// default). The last window, closed by the end of input, is not sampled.
func TumbleBraid(ctx context.Context, n, keys int64, opts ...stream.Option) (Outcome, error) {
	size := int64(TumbleSize)
	perWindow := size / TumbleStep
	windows := (n+perWindow-1)/perWindow + 1
	// closedAt[w] is when the first event of window w was generated (unix
	// ns): the moment window w-1's end entered the job.
	closedAt := make([]atomic.Int64, windows+1)
	gen := func(i int64) Event {
		if i%perWindow == 0 {
			closedAt[i/perWindow].Store(time.Now().UnixNano())
		}
		return tumbleEvent(i, keys)
	}
	env := stream.NewEnv(opts...)
	src := stream.Generate(env, gen, stream.Limit(n)).
		WithTimestamps(func(e Event) time.Time { return time.Unix(0, e.Ts) }, stream.MonotonousTimestamps())
	var results, counted atomic.Int64
	lat := make([]time.Duration, 0, 1024)
	var lastEnd int64 = math.MinInt64
	var seen int64
	stream.Count(stream.KeyBy(src, func(e Event) int64 { return e.Key }).Window(window.Tumbling(TumbleSize))).
		ForEach(func(r window.Result[int64, int64]) error {
			results.Add(1)
			counted.Add(r.Value)
			seen++
			end := r.Window.End
			if end == lastEnd && seen%64 != 0 {
				return nil
			}
			lastEnd = end
			w := end / size
			if w >= int64(len(closedAt)) {
				return nil
			}
			if t := closedAt[w].Load(); t != 0 {
				lat = append(lat, time.Duration(time.Now().UnixNano()-t))
			}
			return nil
		})
	if err := env.Execute(ctx); err != nil {
		return Outcome{}, fmt.Errorf("braid: workloads: tumble: %w", err)
	}
	if got := counted.Load(); got != n {
		return Outcome{}, fmt.Errorf("braid: workloads: tumble counted %d events, want %d", got, n)
	}
	return Outcome{Outputs: results.Load(), Latencies: lat}, nil
}
