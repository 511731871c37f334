package benchmarks

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkSessionsQ11: Nexmark q11 (bids counted per bidder and 10 s
// session) over 10,000 active bidders at parallelism 1, dense (a million
// bids a second of event time, DefaultQ11) and sparse (4,000, SparseQ11),
// with monotonous and with slightly disordered timestamps (up to 100 ms
// late, the watermark bounded by as much), beside the hand-written loop.
// events/s is per wall second; events/cpu-s and cpu-ns/event per CPU second
// of the whole process (getrusage), which counts both of the job's tasks
// (the source and the window).
//
//	go test ./benchmarks -run '^$' -bench SessionsQ11 -count 5
func BenchmarkSessionsQ11(b *testing.B) {
	const n = 4_000_000
	for _, rate := range []string{"1M", "4k"} {
		for _, order := range []string{"monotonous", "disordered"} {
			q := DefaultQ11()
			if rate == "4k" {
				q = SparseQ11()
			}
			if order == "disordered" {
				q.Disorder = 100 * time.Millisecond
			}
			b.Run(fmt.Sprintf("bidders=10000/rate=%s/order=%s", rate, order), func(b *testing.B) {
				b.ReportAllocs()
				cpu := CPUTime()
				for b.Loop() {
					res, err := q.Run(context.Background(), n)
					if err != nil {
						b.Fatal(err)
					}
					if res.Bids != n {
						b.Fatalf("%d bids counted in %d sessions, want %d", res.Bids, res.Sessions, n)
					}
				}
				reportCPU(b, n, CPUTime()-cpu)
			})
		}
		b.Run(fmt.Sprintf("bidders=10000/rate=%s/handloop", rate), func(b *testing.B) {
			q := DefaultQ11()
			if rate == "4k" {
				q = SparseQ11()
			}
			cpu := CPUTime()
			for b.Loop() {
				q.HandLoop(n)
			}
			reportCPU(b, n, CPUTime()-cpu)
		})
	}
}

func reportCPU(b *testing.B, n int64, cpu time.Duration) {
	events := float64(n) * float64(b.N)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(events/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(cpu.Seconds()/events*1e9, "cpu-ns/event")
}

// The workload's Braid job and its hand-written loop agree on monotonous
// timestamps, and with disorder no bid is lost: the benchmark measures the
// right computation. The sparse workload does split bidders' sessions.
func TestQ11MatchesHandLoop(t *testing.T) {
	n := int64(400_000)
	if testing.Short() {
		n = 100_000
	}
	for _, q := range []Q11{DefaultQ11(), SparseQ11()} {
		want := q.HandLoop(n)
		got, err := q.Run(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || want.Bids != n {
			t.Fatalf("%+v: Braid %+v, hand loop %+v, %d bids", q, got, want, n)
		}
		q.Disorder = 100 * time.Millisecond
		got, err = q.Run(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if got.Bids != n {
			t.Fatalf("%+v: %+v, want all %d bids counted", q, got, n)
		}
	}
	q := SparseQ11()
	if bidders, got := n/q.ShiftEvery+q.Active, q.HandLoop(n).Sessions; got <= bidders {
		t.Fatalf("sparse: %d sessions of %d bidders: no bidder's bids were split", got, bidders)
	}
}
