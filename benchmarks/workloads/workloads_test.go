package workloads

import (
	"context"
	"testing"
)

// The Braid tumbling count and the hand loop emit the same number of
// results, every window's latency is sampled but the last one, and the
// latencies are positive.
func TestTumbleBraidMatchesHandLoop(t *testing.T) {
	for _, keys := range []int64{7, 5000} {
		const n = 2_200_000 // two full windows and a part
		out, err := TumbleBraid(context.Background(), n, keys, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := TumbleHandLoop(n, keys, 0); out.Outputs != want {
			t.Errorf("keys=%d: braid %d results, hand loop %d", keys, out.Outputs, want)
		}
		if len(out.Latencies) < 2 {
			t.Errorf("keys=%d: %d latency samples, want one per closed window at least", keys, len(out.Latencies))
		}
		for _, l := range out.Latencies {
			if l <= 0 {
				t.Errorf("keys=%d: latency %v", keys, l)
			}
		}
	}
}

// With the CPU-heavy stage, at parallelism 1, 2 and 4, Braid counts every
// event once (TumbleBraid checks) and emits the hand loop's number of
// results.
func TestTumbleHeavyMatchesHandLoop(t *testing.T) {
	const n, keys = 2_200_000, 5000
	want := TumbleHandLoop(n, keys, HeavyRounds)
	for _, par := range []int{1, 2, 4} {
		out, err := Run(context.Background(), Spec{Workload: "tumble-heavy", Impl: "braid", N: n, Keys: keys, Parallelism: par})
		if err != nil {
			t.Fatalf("p=%d: %v", par, err)
		}
		if out.Outputs != want {
			t.Errorf("p=%d: %d results, hand loop %d", par, out.Outputs, want)
		}
		if par > 1 && len(out.Latencies) > 0 {
			t.Errorf("p=%d: latencies sampled by a parallel sink", par)
		}
	}
	// The stage is a function of the key alone, so one key's events stay
	// together.
	for k := range int64(50) {
		a, b := heavy(Event{Key: k}, keys, HeavyRounds), heavy(Event{Key: k, Ts: 99}, keys, HeavyRounds)
		if a.Key != b.Key || a.Key < 0 || a.Key >= keys {
			t.Fatalf("heavy(%d) = %d and %d", k, a.Key, b.Key)
		}
	}
}

// Every spec the report runs is accepted by Run and produces results, with
// and without checkpoints.
func TestRunSpecs(t *testing.T) {
	specs := []Spec{
		{Workload: "tumble", Impl: "baseline", N: 100_000, Keys: 100},
		{Workload: "tumble", Impl: "braid", N: 100_000, Keys: 100, Checkpoint: true},
		{Workload: "tumble", Impl: "braid", N: 100_000, Keys: 100, Parallelism: 4},
		{Workload: "tumble-heavy", Impl: "baseline", N: 100_000, Keys: 100},
		{Workload: "stock", Impl: "braid", N: 200_000},
		{Workload: "q5", Impl: "braid", N: 100_000, Checkpoint: true},
		{Workload: "q5", Impl: "baseline", N: 100_000},
		{Workload: "q12", Impl: "braid", N: 100_000},
		{Workload: StreamingQ0, Impl: "braid", N: 100_000},
		{Workload: StreamingQ0, Impl: "baseline", N: 100_000},
	}
	for _, s := range specs {
		out, err := Run(context.Background(), s)
		if err != nil {
			t.Errorf("%s: %v", s.Name(), err)
			continue
		}
		if out.Outputs == 0 {
			t.Errorf("%s: no results", s.Name())
		}
	}
	for _, bad := range []Spec{{Workload: "stock", Impl: "baseline", N: 10}, {Workload: "q9", Impl: "braid", N: 10}, {Workload: "tumble", Impl: "braid", N: 10},
		{Workload: "q5", Impl: "braid", N: 10, Parallelism: 2}, {Workload: "q3", Impl: "baseline", N: 10}, {Workload: "tumble", Impl: "baseline", N: 10, Keys: 5, Parallelism: 2}} {
		if _, err := Run(context.Background(), bad); err == nil {
			t.Errorf("%s: no error", bad.Name())
		}
	}
}
