// Package benchmarks holds Braid's benchmark workloads: Nexmark-style
// generators and queries shared by the go test benchmarks beside them and
// the commands under cmd/ that run one workload as a whole process (so that
// its peak memory can be measured from outside).
package benchmarks

import (
	"context"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Bid is a Nexmark bid: who bid, when (event time, ns) and how much.
type Bid struct {
	Bidder int64
	Ts     int64
	Price  int64
}

// Q11 is a Nexmark q11-like workload: bids from a shifting population of
// Active bidders, counted per bidder and session (inactivity gap Gap).
//
// Bid i is at i*Step of event time, less a jitter in [0, Disorder) when
// Disorder > 0. Its bidder is drawn at random from the Active ids starting
// at i/ShiftEvery: the population moves on by one bidder every ShiftEvery
// bids, so bidders come, bid for a while, and leave, and the number of open
// sessions stays near Active whatever the number of bids.
type Q11 struct {
	Active     int64
	ShiftEvery int64
	Step       time.Duration
	Disorder   time.Duration
	Gap        time.Duration
}

// DefaultQ11 is the workload of BenchmarkSessionsQ11 and cmd/sessions:
// 10,000 active bidders and a million bids a second of event time (a bidder
// bids about every 10 ms), a bidder active for about 10 s, so that about
// 20,000 sessions are open at a time (the active bidders' and those of the
// bidders gone in the last 10 s), each of about 1,000 bids.
func DefaultQ11() Q11 {
	return Q11{Active: 10_000, ShiftEvery: 1000, Step: time.Microsecond, Gap: 10 * time.Second}
}

// SparseQ11 is DefaultQ11 at 4,000 bids a second of event time: a bidder
// bids about every 2.5 s, so about 2% of its gaps exceed the session gap and
// sessions are short (about 35 bids); a bidder is active for about 250 s.
func SparseQ11() Q11 {
	q := DefaultQ11()
	q.Step, q.ShiftEvery = 250*time.Microsecond, 100
	return q
}

// mix is splitmix64's finaliser: a well-spread pseudo-random function of i.
func mix(i int64) uint64 {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Bid returns bid i.
func (q Q11) Bid(i int64) Bid {
	r := mix(i)
	b := Bid{Bidder: i/q.ShiftEvery + int64(r%uint64(q.Active)), Ts: i * int64(q.Step), Price: int64(r>>40) % 10_000}
	if q.Disorder > 0 {
		b.Ts -= int64((r >> 20) % uint64(q.Disorder))
	}
	return b
}

// Result is what one run of the workload produced.
type Result struct {
	Sessions int64 // session results emitted
	Bids     int64 // bids counted in them (all n, when nothing is late)
}

// Run counts bids per bidder and session over n bids with Braid, at
// parallelism 1: Nexmark q11's
//
//	SELECT bidder, count(*) FROM bid GROUP BY bidder, SESSION(dateTime, 10s)
func (q Q11) Run(ctx context.Context, n int64) (Result, error) {
	env := stream.NewEnv(stream.WithParallelism(1))
	wm := stream.MonotonousTimestamps()
	if q.Disorder > 0 {
		wm = stream.BoundedOutOfOrderness(q.Disorder)
	}
	bids := stream.Generate(env, q.Bid, stream.Limit(n)).
		WithTimestampsUnixNano(func(b Bid) int64 { return b.Ts }, wm)
	ws := stream.KeyBy(bids, func(b Bid) int64 { return b.Bidder }).Window(window.Session(q.Gap))
	var sessions, counted atomic.Int64
	stream.Count(ws).ForEach(func(r window.Result[int64, int64]) error {
		sessions.Add(1)
		counted.Add(r.Value)
		return nil
	})
	err := env.Execute(ctx)
	return Result{Sessions: sessions.Load(), Bids: counted.Load()}, err
}

// HandLoop is the same count for monotonous timestamps (Disorder 0) as a
// plain Go loop: per bidder the last session's end and count, the session
// closed when a bid comes after its end (or at the end of input). It is the
// floor that Run is compared with; it never forgets a bidder.
func (q Q11) HandLoop(n int64) Result {
	type open struct{ end, count int64 }
	m := make(map[int64]open)
	var res Result
	for i := range n {
		b := q.Bid(i)
		s, ok := m[b.Bidder]
		if ok && b.Ts > s.end {
			res.Sessions++
			res.Bids += s.count
			s = open{}
		}
		s.end = b.Ts + int64(q.Gap)
		s.count++
		m[b.Bidder] = s
	}
	for _, s := range m {
		res.Sessions++
		res.Bids += s.count
	}
	return res
}

// CPUTime is the CPU time (user and system) this process has used.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
