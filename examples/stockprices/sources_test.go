package main

import (
	"math"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
)

// Event time never runs backwards, whatever the speedup.
func TestPacerNowSaturates(t *testing.T) {
	start := time.Date(2015, 2, 9, 9, 0, 0, 0, time.UTC)
	clock := stream.NewFakeClock(start)
	for _, speedup := range []float64{1, 1e6, 1e12, 1e300, math.MaxFloat64} {
		p := pacer{clock: clock, start: start, realStart: clock.Now(), speedup: speedup}
		last := p.now()
		for range 5 {
			clock.Advance(time.Second)
			if now := p.now(); now.Before(last) {
				t.Fatalf("speedup %g: event time went from %v back to %v", speedup, last, now)
			} else {
				last = now
			}
		}
	}
}
