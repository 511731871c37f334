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
	// Workload is "tumble", "tumble-heavy" (the tumbling count behind a
	// CPU-heavy stage, see HeavyRounds), "stock", a Nexmark query ("q0"
	// ... "q12", over events made beforehand and read from memory) or
	// StreamingQ0.
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
	// Parallelism is Braid's parallelism (0 or 1: one subtask per
	// operator); the tumbling counts only.
	Parallelism int `json:"parallelism,omitempty"`
}

// Name is the spec's row label in the report, e.g. "tumble keys=10000
// braid checkpoint".
func (s Spec) Name() string {
	parts := []string{s.Workload}
	if s.Keys > 0 {
		parts = append(parts, fmt.Sprintf("keys=%d", s.Keys))
	}
	parts = append(parts, s.Impl)
	if s.Parallelism > 1 {
		parts = append(parts, fmt.Sprintf("p=%d", s.Parallelism))
	}
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

// Run runs spec once: Prepare, then the run it returns.
func Run(ctx context.Context, spec Spec) (Outcome, error) {
	run, err := Prepare(spec)
	if err != nil {
		return Outcome{}, err
	}
	return run(ctx)
}

// Prepare checks spec and makes what its run needs before the clock
// starts (the Nexmark queries' events, in memory), and returns the run.
// Checkpoint directories are made under os.TempDir by the run and removed
// after it.
func Prepare(spec Spec) (func(context.Context) (Outcome, error), error) {
	fail := func(format string, args ...any) (func(context.Context) (Outcome, error), error) {
		return nil, fmt.Errorf("braid: workloads: %s: %s", spec.Name(), fmt.Sprintf(format, args...))
	}
	if spec.N <= 0 {
		return fail("n must be positive")
	}
	if spec.Checkpoint && spec.Impl != "braid" {
		return fail("checkpoints apply to braid only")
	}
	tumble := spec.Workload == "tumble" || spec.Workload == "tumble-heavy"
	if spec.Parallelism > 1 && (spec.Impl != "braid" || !tumble) {
		return fail("parallelism applies to braid's tumbling counts only")
	}
	var body func(ctx context.Context, opts []stream.Option) (Outcome, error)
	switch {
	case tumble:
		if spec.Keys <= 0 {
			return fail("keys must be positive")
		}
		rounds := 0
		if spec.Workload == "tumble-heavy" {
			rounds = HeavyRounds
		}
		body = func(ctx context.Context, opts []stream.Option) (Outcome, error) {
			if spec.Impl == "baseline" {
				return Outcome{Outputs: TumbleHandLoop(spec.N, spec.Keys, rounds)}, nil
			}
			return TumbleBraid(ctx, spec.N, spec.Keys, rounds, max(spec.Parallelism, 1), opts...)
		}
	case spec.Workload == "stock":
		if spec.Impl != "braid" {
			return fail("stock has no baseline")
		}
		body = func(ctx context.Context, opts []stream.Option) (Outcome, error) {
			n, err := DeltaWarnings(ctx, spec.N, opts...)
			return Outcome{Outputs: n}, err
		}
	case spec.Workload == StreamingQ0:
		// q0 with its events made as the job runs: the generator's cost.
		g := nexmark.NewGenerator(nexmark.Config{Seed: NexmarkSeed})
		body = func(ctx context.Context, opts []stream.Option) (Outcome, error) {
			var r nexmark.Result
			var err error
			if spec.Impl == "baseline" {
				r, err = nexmark.BaselineWith("q0", g, spec.N)
			} else {
				r, err = nexmark.RunWith(ctx, "q0", g, spec.N, opts...)
			}
			return Outcome{Outputs: r.Outputs}, err
		}
	case slices.Contains(nexmark.Queries, spec.Workload):
		if spec.Impl == "baseline" && !slices.Contains(nexmark.Baselines, spec.Workload) {
			return fail("no baseline")
		}
		m := nexmark.NewGenerator(nexmark.Config{Seed: NexmarkSeed}).Take(spec.N)
		body = func(ctx context.Context, opts []stream.Option) (Outcome, error) {
			var r nexmark.Result
			var err error
			if spec.Impl == "baseline" {
				r, err = nexmark.BaselineEvents(spec.Workload, m)
			} else {
				r, err = nexmark.RunEvents(ctx, spec.Workload, m, opts...)
			}
			return Outcome{Outputs: r.Outputs, Latencies: r.Latencies}, err
		}
	default:
		return fail("unknown workload")
	}
	return func(ctx context.Context) (Outcome, error) {
		var opts []stream.Option
		if spec.Parallelism > 1 {
			opts = append(opts, stream.WithParallelism(spec.Parallelism))
		}
		if spec.Checkpoint {
			dir, err := os.MkdirTemp("", "braid-report-cp-")
			if err != nil {
				return Outcome{}, err
			}
			defer os.RemoveAll(dir)
			opts = append(opts, stream.WithCheckpointing(dir, time.Second))
		}
		return body(ctx, opts)
	}, nil
}

// NexmarkSeed is the seed of the Nexmark workloads' events.
const NexmarkSeed = 42

// StreamingQ0 is the workload of Nexmark q0 with its events made by the
// generator as the job (or the baseline's loop) runs, rather than read
// from memory as the other Nexmark workloads do: its difference from q0
// is the generator's cost.
const StreamingQ0 = "q0-generated"

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

// HeavyRounds is how many rounds of mixing the CPU-heavy stage of
// "tumble-heavy" spends on each event before the keyed exchange: a
// stateless stage that dominates the job's CPU (about 100 ns an event), so
// that more subtasks have work to share.
const HeavyRounds = 32

// heavy is the CPU-heavy stage: rounds of splitmix64 over the event's key,
// folded into a key of the same range (a deterministic function of the
// key, so the counts per key are a permutation of the plain count's).
// With rounds 0 it returns e as it is.
func heavy(e Event, keys int64, rounds int) Event {
	if rounds == 0 {
		return e
	}
	x := uint64(e.Key)
	for range rounds {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		x = z ^ z>>31
	}
	e.Key = int64(x % uint64(keys))
	return e
}

// TumbleHandLoop is the keyed tumbling count as a plain Go loop (a map of
// counts per key, emitted when the window changes), with rounds of the
// CPU-heavy stage on each event first (0: none); it returns the number of
// results.
func TumbleHandLoop(n, keys int64, rounds int) int64 {
	counts := make(map[int64]int64)
	var results int64
	cur := int64(-1)
	size := int64(TumbleSize)
	for i := range n {
		e := heavy(tumbleEvent(i, keys), keys, rounds)
		if w := e.Ts / size; w != cur {
			results += int64(len(counts))
			clear(counts)
			cur = w
		}
		counts[e.Key]++
	}
	return results + int64(len(counts))
}

// TumbleBraid is the keyed tumbling count in Braid, with rounds of the
// CPU-heavy stage (0: none) in a Map before the keyed exchange: it returns
// the number of results and, at parallelism 1, the sampled latencies
// (TumbleLatency). It checks that every event was counted once. par is
// the parallelism opts set (stream.WithParallelism; 1 without): above 1
// the sink runs in several subtasks and latencies are not sampled. The
// last window, closed by the end of input, is not sampled either.
func TumbleBraid(ctx context.Context, n, keys int64, rounds, par int, opts ...stream.Option) (Outcome, error) {
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
		WithTimestampsUnixNano(func(e Event) int64 { return e.Ts }, stream.MonotonousTimestamps())
	if rounds > 0 {
		src = stream.Map(src, func(e Event) Event { return heavy(e, keys, rounds) }).Name("heavy")
	}
	var results, counted atomic.Int64
	lat := make([]time.Duration, 0, 1024)
	var lastEnd int64 = math.MinInt64
	var seen int64
	stream.Count(stream.KeyBy(src, func(e Event) int64 { return e.Key }).Window(window.Tumbling(TumbleSize))).
		ForEach(func(r window.Result[int64, int64]) error {
			results.Add(1)
			counted.Add(r.Value)
			if par > 1 {
				return nil
			}
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
