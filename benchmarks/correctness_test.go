package benchmarks

import (
	"fmt"
	"testing"
	"time"

	"github.com/braidstream/braid/window"
)

// The benchmarks' jobs compute what they claim, at parallelism 1 and 2
// (where the sinks run in two subtasks at once: run with -race), checked
// against plain loops on the same generated input. These run in CI as
//
//	go test -race -short ./benchmarks/...
//
// so each is a fraction of a second there; without -short, the inputs are
// four times larger.

// correctnessN is the events of each check: a few seconds of event time
// for every workload, so that many windows fire and close.
func correctnessN(base int64) int64 {
	if testing.Short() {
		return base
	}
	return 4 * base
}

// bruteWindows is the keyed window count (or max of Price) as a map from
// (key, window start) to the aggregate, every window of every event by the
// definition of tumbling and sliding windows: [start, start+size) for each
// start on the slide grid with start <= ts < start+size.
func bruteWindows(n, keys, step, size, slide int64, max bool) windowSum {
	type kw struct{ key, start int64 }
	agg := make(map[kw]int64)
	g := gen(keys, step)
	for i := range n {
		e := g(i) // ts >= 0: no negative start to round
		for s := e.Ts - e.Ts%slide; s > e.Ts-size; s -= slide {
			k := kw{e.Key, s}
			if max {
				if v, ok := agg[k]; !ok || e.Price > v {
					agg[k] = e.Price
				}
			} else {
				agg[k]++
			}
		}
	}
	var res windowSum
	for _, v := range agg {
		res.results++
		res.sum += v
	}
	return res
}

// TestWindowJobsMatchHandLoop: the keyed windows of
// BenchmarkKeyedTumblingCount, BenchmarkSlidingHour and
// BenchmarkScalingHeavyMap (scaled down: 100 keys, windows of seconds)
// emit one result per key and window with data, each the count or maximum
// of its events, as the brute-force loop and handLoop compute them.
func TestWindowJobsMatchHandLoop(t *testing.T) {
	n := correctnessN(100_000)
	const keys, step = 100, int64(100 * time.Microsecond) // 10 s of event time per 100,000 events
	sec := int64(time.Second)
	tumble := handLoop(n, keys, step, sec)
	for _, par := range []int{1, 2} {
		for _, c := range []struct {
			name        string
			a           window.Assigner
			size, slide int64
			max         bool
		}{
			{"tumbling/count", window.Tumbling(time.Second), sec, sec, false},
			{"tumbling/max", window.Tumbling(time.Second), sec, sec, true},
			{"sliding/count", window.Sliding(5*time.Second, time.Second), 5 * sec, sec, false},
			{"sliding/max", window.Sliding(5*time.Second, time.Second), 5 * sec, sec, true},
		} {
			t.Run(fmt.Sprintf("%s/parallelism=%d", c.name, par), func(t *testing.T) {
				want := bruteWindows(n, keys, step, c.size, c.slide, c.max)
				if got := runCount(t, n, keys, step, par, c.a, c.max); got != want {
					t.Fatalf("Braid %+v, brute force %+v", got, want)
				}
				if c.size == c.slide && want.results != tumble {
					t.Fatalf("brute force %d results, handLoop %d: the twins disagree", want.results, tumble)
				}
			})
		}
	}
}

// TestJoinsMatchHandLoop: the pairs of BenchmarkWindowJoin (each key's
// elements of the two sides in the same 1 s window) and
// BenchmarkIntervalJoin (b.ts - a.ts within [-100ms, 100ms], both bounds
// included), counted by plain loops over the same sides.
func TestJoinsMatchHandLoop(t *testing.T) {
	n := correctnessN(50_000) // 2.5 s of event time a side
	sec := int64(time.Second)
	lo, hi := int64(-100*time.Millisecond), int64(100*time.Millisecond)
	// Window join: per key and window, left elements times right ones.
	type kw struct{ key, w int64 }
	left, right := make(map[kw]int64), make(map[kw]int64)
	// Interval join: per key, the timestamps of each side, in order.
	lts, rts := make(map[int64][]int64), make(map[int64][]int64)
	for i := range n {
		a, b := joinEvent(0, i), joinEvent(windowJoinSalt, i)
		left[kw{a.Key, a.Ts / sec}]++
		right[kw{b.Key, b.Ts / sec}]++
		b = joinEvent(intervalJoinSalt, i)
		lts[a.Key] = append(lts[a.Key], a.Ts)
		rts[b.Key] = append(rts[b.Key], b.Ts)
	}
	var windowPairs, intervalPairs int64
	for k, c := range left {
		windowPairs += c * right[k]
	}
	for k, as := range lts {
		for _, ta := range as {
			for _, tb := range rts[k] {
				if d := tb - ta; lo <= d && d <= hi {
					intervalPairs++
				}
			}
		}
	}
	if windowPairs == 0 || intervalPairs == 0 {
		t.Fatalf("hand loops: %d window pairs, %d interval pairs: the check checks nothing", windowPairs, intervalPairs)
	}
	for _, par := range []int{1, 2} {
		t.Run(fmt.Sprintf("window/parallelism=%d", par), func(t *testing.T) {
			if got := runWindowJoin(t, n, par); got != windowPairs {
				t.Fatalf("Braid %d pairs, hand loop %d", got, windowPairs)
			}
		})
		t.Run(fmt.Sprintf("interval/parallelism=%d", par), func(t *testing.T) {
			if got := runIntervalJoin(t, n, par); got != intervalPairs {
				t.Fatalf("Braid %d pairs, hand loop %d", got, intervalPairs)
			}
		})
	}
}
