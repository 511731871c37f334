package window_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/window"
)

// TestWindowHalfOpen checks that windows are half-open, [start, end), with
// maxTimestamp = end-1, and that windows which merely touch intersect.
// Flink: TimeWindow.maxTimestamp, TimeWindow.intersects, TimeWindow.cover.
func TestWindowHalfOpen(t *testing.T) {
	w := window.Window{Start: 0, End: 10}
	if !w.Contains(0) || !w.Contains(9) || w.Contains(10) || w.Contains(-1) {
		t.Errorf("%v: Contains(0, 9, 10, -1) must be true, true, false, false", w)
	}
	if got := w.MaxTimestamp(); got != 9 {
		t.Errorf("%v.MaxTimestamp() = %d, want 9", w, got)
	}
	for _, c := range []struct {
		o    window.Window
		want bool
	}{
		{window.Window{Start: 10, End: 20}, true},  // touches at the end
		{window.Window{Start: -5, End: 0}, true},   // touches at the start
		{window.Window{Start: 11, End: 20}, false}, // one apart
		{window.Window{Start: -5, End: -1}, false},
		{window.Window{Start: 3, End: 4}, true}, // inside
	} {
		if got := w.Intersects(c.o); got != c.want {
			t.Errorf("%v.Intersects(%v) = %t, want %t", w, c.o, got, c.want)
		}
		if got := c.o.Intersects(w); got != c.want {
			t.Errorf("%v.Intersects(%v) = %t, want %t", c.o, w, got, c.want)
		}
	}
	if got, want := w.Cover(window.Window{Start: 15, End: 20}), (window.Window{Start: 0, End: 20}); got != want {
		t.Errorf("Cover = %v, want %v", got, want)
	}
	if got := w.String(); got != "[0,10)" {
		t.Errorf("String() = %q, want [0,10)", got)
	}
	day := window.Window{Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano(), End: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC).UnixNano()}
	if got, want := day.String(), "[2024-03-01T00:00:00Z,2024-03-02T00:00:00Z)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestStartOf checks window starts against Flink's
// TimeWindow.getWindowStartWithOffset: the start is the largest value <= ts
// congruent to offset modulo size, for negative timestamps and offsets too
// (rounding down, never toward zero).
func TestStartOf(t *testing.T) {
	for _, c := range []struct{ ts, offset, size, want int64 }{
		{ts: 0, offset: 0, size: 10, want: 0},
		{ts: 9, offset: 0, size: 10, want: 0},
		{ts: 10, offset: 0, size: 10, want: 10},
		{ts: -1, offset: 0, size: 10, want: -10}, // not 0: rounds down
		{ts: -10, offset: 0, size: 10, want: -10},
		{ts: -11, offset: 0, size: 10, want: -20},
		{ts: 2, offset: 3, size: 10, want: -7},
		{ts: 3, offset: 3, size: 10, want: 3},
		{ts: -8, offset: 3, size: 10, want: -17},
		{ts: 3, offset: -2, size: 10, want: -2}, // a negative offset, as in Flink's time-zone example
		{ts: -3, offset: -3, size: 10, want: -3},
		{ts: -4, offset: -3, size: 10, want: -13},
		{ts: 7, offset: 13, size: 10, want: 3}, // offsets count modulo size
		// A day window aligned to UTC+8 midnight (Flink: offset -8h).
		{ts: int64(30 * time.Hour), offset: int64(-8 * time.Hour), size: int64(24 * time.Hour), want: int64(16 * time.Hour)},
		// ts-offset overflows int64; the start is still exact.
		// (math.MaxInt64 ends in ...807 and math.MinInt64 in ...808.)
		{ts: math.MaxInt64, offset: -4, size: 10, want: math.MaxInt64 - 1},
		{ts: math.MinInt64 + 10, offset: 13, size: 10, want: math.MinInt64 + 1},
		// A start before math.MinInt64 saturates.
		{ts: math.MinInt64, offset: 0, size: 10, want: math.MinInt64},
	} {
		if got := window.StartOf(c.ts, c.offset, c.size); got != c.want {
			t.Errorf("StartOf(%d, %d, %d) = %d, want %d", c.ts, c.offset, c.size, got, c.want)
		}
	}
}

// TestStartOfNaive compares StartOf with the definition worked out in
// arbitrary precision, on random arguments that include the ends of the
// int64 range.
func TestStartOfNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	for range iterations(100000) {
		ts, offset, size := randInt64(rng), randInt64(rng), randSize(rng)
		if got, want := window.StartOf(ts, offset, size), naiveStartOf(ts, offset, size); got != want {
			t.Fatalf("StartOf(%d, %d, %d) = %d, want %d", ts, offset, size, got, want)
		}
	}
}

// TestAssignNaive compares TimeWindows.Assign, on random valid assigners
// and timestamps, with the windows worked out in arbitrary precision from
// Flink's rule (SlidingEventTimeWindows.assignWindows): every start s with
// s ≡ offset (mod slide) and s <= ts < s+size, latest first, clipped to the
// int64 range.
func TestAssignNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	var got []window.Window
	for range iterations(100000) {
		size := randSize(rng)
		// At most 50 windows per element, so that the naive loop ends.
		slide := size / (1 + rng.Int64N(min(size, 50)))
		offset := rng.Int64N(slide) // (-slide, slide)
		if rng.IntN(2) == 0 {
			offset = -offset
		}
		a := window.TimeWindows{Size: time.Duration(size), Slide: time.Duration(slide), Offset: time.Duration(offset)}
		if err := a.Validate(); err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		ts := randInt64(rng)
		got = a.Assign(ts, got[:0])
		if want := naiveAssign(ts, offset, size, slide); !slices.Equal(got, want) {
			t.Fatalf("%+v.Assign(%d) = %v, want %v", a, ts, got, want)
		}
	}
}

// TestAssignAllocs checks that assigning an element allocates nothing once
// the caller's buffer is large enough (the hot path of a window operator).
func TestAssignAllocs(t *testing.T) {
	a := window.Sliding(time.Hour, time.Second)
	buf := make([]window.Window, 0, 3600)
	ts := int64(0)
	allocs := testing.AllocsPerRun(100, func() {
		buf = a.Assign(ts, buf[:0])
		ts += 997
	})
	if allocs != 0 || len(buf) != 3600 {
		t.Errorf("Assign: %v allocs, %d windows; want 0 allocs, 3600 windows", allocs, len(buf))
	}
}

// TestCleanupTime checks Flink's WindowOperator.cleanupTime: a window's
// state is kept until maxTimestamp + allowedLateness, and the sum saturates
// at Long.MAX_VALUE rather than overflowing into the past.
func TestCleanupTime(t *testing.T) {
	for _, c := range []struct {
		w        window.Window
		lateness int64
		want     int64
	}{
		{window.Window{Start: 0, End: 10}, 0, 9},
		{window.Window{Start: 0, End: 10}, 5, 14},
		{window.Window{Start: -20, End: -10}, 5, -6},
		{window.Window{Start: 0, End: math.MaxInt64}, 0, math.MaxInt64 - 1},
		{window.Window{Start: 0, End: math.MaxInt64}, 1, math.MaxInt64},
		{window.Window{Start: 0, End: math.MaxInt64}, 2, math.MaxInt64},                     // saturates
		{window.Window{Start: 0, End: math.MaxInt64 - 5}, math.MaxInt64, math.MaxInt64},     // saturates
		{window.Window{Start: math.MinInt64, End: math.MinInt64 + 10}, -100, math.MinInt64}, // a negative lateness saturates too
	} {
		if got := window.CleanupTime(c.w, c.lateness); got != c.want {
			t.Errorf("CleanupTime(%v, %d) = %d, want %d", c.w, c.lateness, got, c.want)
		}
	}
}

// TestIsLate checks Flink's WindowOperator.isWindowLate: a window is late
// once cleanupTime(window) <= watermark, so with no allowed lateness the
// window [0,10) takes elements until the watermark reaches 9, its max
// timestamp, at which it fires (Flink docs, "Windows", section "Allowed
// Lateness": by default elements that arrive behind the watermark are
// dropped).
func TestIsLate(t *testing.T) {
	w := window.Window{Start: 0, End: 10}
	for _, c := range []struct {
		lateness, watermark int64
		want                bool
	}{
		{0, math.MinInt64, false},
		{0, 8, false},
		{0, 9, true},
		{0, 100, true},
		{5, 13, false},
		{5, 14, true},
	} {
		if got := window.IsLate(w, c.lateness, c.watermark); got != c.want {
			t.Errorf("IsLate(%v, lateness %d, watermark %d) = %t, want %t", w, c.lateness, c.watermark, got, c.want)
		}
	}
	// A window whose cleanup time saturated is late only at the final
	// watermark, math.MaxInt64 (Flink's Watermark.MAX_WATERMARK, sent at the
	// end of input), and then it is.
	far := window.Window{Start: math.MaxInt64 - 10, End: math.MaxInt64}
	if window.IsLate(far, 100, math.MaxInt64-1) || !window.IsLate(far, 100, math.MaxInt64) {
		t.Errorf("IsLate(%v, 100, ...): want late only at watermark math.MaxInt64", far)
	}
}

// TestValidate checks that a bad assigner is reported in plain sentences,
// one per problem, all of them at once (errors.Join), as raft's
// Config.validate does; and that good assigners pass.
func TestValidate(t *testing.T) {
	for _, c := range []struct {
		a    window.Assigner
		want []string // one sentence per problem; none when valid
	}{
		{window.Tumbling(10 * time.Second), nil},
		{window.Sliding(10*time.Second, 5*time.Second), nil},
		{window.Sliding(10*time.Second, 5*time.Second).WithOffset(4 * time.Second), nil},
		{window.Tumbling(24 * time.Hour).WithOffset(-8 * time.Hour), nil},
		{window.Session(time.Minute), nil},
		{window.TumblingCount(100), nil},
		{window.SlidingCount(100, 10), nil},

		{window.Tumbling(0), []string{
			"window size must be positive, got 0s",
			"window slide must be positive, got 0s",
		}},
		{window.Sliding(-time.Second, 5*time.Second).WithOffset(5 * time.Second), []string{
			"window size must be positive, got -1s",
			"window offset must lie strictly between -5s and 5s (the slide), got 5s",
		}},
		{window.Sliding(5*time.Second, 10*time.Second), []string{
			"window slide 10s is longer than its size 5s: elements between windows would belong to none",
		}},
		{window.Tumbling(time.Hour).WithOffset(-time.Hour), []string{
			"window offset must lie strictly between -1h0m0s and 1h0m0s (the slide), got -1h0m0s",
		}},
		{window.Sliding(24*time.Hour, time.Second), nil}, // 86,400 windows per element
		{window.Sliding(time.Hour, time.Nanosecond), []string{
			"window size 1h0m0s with slide 1ns puts every element in 3600000000000 windows, more than the limit of 100000: each element's windows all fire, so make the slide longer",
		}},
		{window.Sliding(100_001, 1), []string{
			"window size 100.001µs with slide 1ns puts every element in 100001 windows, more than the limit of 100000: each element's windows all fire, so make the slide longer",
		}},
		{window.Sliding(100_000, 1), nil},
		{window.Session(0), []string{"session gap must be positive, got 0s"}},
		{window.Session(-time.Second), []string{"session gap must be positive, got -1s"}},
		{window.SlidingCount(0, -1), []string{
			"count window size must be positive, got 0",
			"count window slide must be positive, got -1",
		}},
		{window.SlidingCount(5, 10), []string{"count window slide 10 is larger than its size 5"}},
	} {
		err := c.a.Validate()
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%v: Validate() = %q, want nil", c.a, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%v: Validate() = nil, want %q", c.a, c.want)
			continue
		}
		if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, c.want) {
			t.Errorf("%v: Validate() =\n%s\nwant\n%s", c.a, err, strings.Join(c.want, "\n"))
		}
		// Each problem is its own error in the tree, so callers can walk
		// them; each reads as a sentence of Go error style: no capital
		// first letter, no final period.
		n := 1
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			n = len(j.Unwrap())
		}
		if n != len(c.want) {
			t.Errorf("%v: Validate() joins %d errors, want %d", c.a, n, len(c.want))
		}
		for _, s := range c.want {
			if s[0] < 'a' || s[0] > 'z' || strings.HasSuffix(s, ".") {
				t.Errorf("%q does not read as a Go error sentence", s)
			}
		}
	}
}

// TestAssignerString checks the descriptions used in operator names.
func TestAssignerString(t *testing.T) {
	for _, c := range []struct {
		a    window.Assigner
		want string
	}{
		{window.Tumbling(10 * time.Second), "tumbling 10s"},
		{window.Sliding(10*time.Second, 5*time.Second), "sliding 10s/5s"},
		{window.Tumbling(24 * time.Hour).WithOffset(-8 * time.Hour), "tumbling 24h0m0s offset -8h0m0s"},
		{window.Session(time.Minute), "session 1m0s"},
		{window.TumblingCount(100), "tumbling count 100"},
		{window.SlidingCount(100, 10), "sliding count 100/10"},
	} {
		if got := c.a.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

// randInt64 returns a random int64, often small, sometimes near either end
// of the range.
func randInt64(rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0:
		return rng.Int64N(200) - 100
	case 1:
		return math.MaxInt64 - rng.Int64N(100)
	case 2:
		return math.MinInt64 + rng.Int64N(100)
	default:
		return int64(rng.Uint64())
	}
}

// randSize returns a random positive size, usually small.
func randSize(rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0:
		return math.MaxInt64 - rng.Int64N(100)
	case 1:
		return 1 + rng.Int64N(math.MaxInt64-1)
	default:
		return 1 + rng.Int64N(20)
	}
}

var (
	bigMin = big.NewInt(math.MinInt64)
	bigMax = big.NewInt(math.MaxInt64)
)

// naiveStartOf is ts - ((ts-offset) mod size), in arbitrary precision, then
// clipped to the int64 range.
func naiveStartOf(ts, offset, size int64) int64 {
	r := new(big.Int).Sub(big.NewInt(ts), big.NewInt(offset))
	r.Mod(r, big.NewInt(size)) // Euclidean: 0 <= r < size
	s := new(big.Int).Sub(big.NewInt(ts), r)
	return clip(s)
}

func naiveAssign(ts, offset, size, slide int64) []window.Window {
	r := new(big.Int).Sub(big.NewInt(ts), big.NewInt(offset))
	r.Mod(r, big.NewInt(slide))
	start := new(big.Int).Sub(big.NewInt(ts), r)
	lowest := new(big.Int).Sub(big.NewInt(ts), big.NewInt(size)) // exclusive
	var ws []window.Window
	for ; start.Cmp(lowest) > 0; start.Sub(start, big.NewInt(slide)) {
		end := new(big.Int).Add(start, big.NewInt(size))
		ws = append(ws, window.Window{Start: clip(start), End: clip(end)})
	}
	return ws
}

func clip(x *big.Int) int64 {
	switch {
	case x.Cmp(bigMin) < 0:
		return math.MinInt64
	case x.Cmp(bigMax) > 0:
		return math.MaxInt64
	}
	return x.Int64()
}

// iterations returns n, or a tenth of it under -short.
func iterations(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}
