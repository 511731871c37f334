package operators

import "time"

// A Clock tells processing time and makes timers. The runtime takes all
// processing time from it, so a test can drive processing-time windows with
// a fake clock instead of sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends on its channel once d has passed.
	NewTimer(d time.Duration) Timer
}

// A Timer is a one-shot timer made by a Clock, as time.Timer.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer to fire after d. As with time.Timer since Go
	// 1.23, no stale value is received after Reset or Stop.
	Reset(d time.Duration)
	Stop()
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer implements Clock.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time   { return s.t.C }
func (s sysTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s sysTimer) Stop()                 { s.t.Stop() }
