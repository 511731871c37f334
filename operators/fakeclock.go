package operators

import (
	"sync"
	"time"
)

// FakeClock is a Clock that moves only when told to, for tests of
// processing-time behaviour. Its timers fire during Advance, in deadline
// order. It is safe for concurrent use.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]struct{}
}

// NewFakeClock returns a fake clock reading start.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, timers: make(map[*fakeTimer]struct{})}
}

// Now implements Clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t (which must not be before Now) and fires every
// timer that is due.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	now := c.now
	var due []*fakeTimer
	for ft := range c.timers {
		if !ft.when.After(now) {
			due = append(due, ft)
			delete(c.timers, ft)
		}
	}
	c.mu.Unlock()
	for _, ft := range due {
		select {
		case ft.c <- now:
		default: // a value is already waiting; timers coalesce
		}
	}
}

// Advance moves the clock forward by d and fires every timer that is due.
func (c *FakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Timers is the number of armed timers, so a test can wait until a task is
// idle and waiting on the clock before it advances it.
func (c *FakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NewTimer implements Clock.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	ft := &fakeTimer{clock: c, c: make(chan time.Time, 1)}
	ft.Reset(d)
	return ft
}

type fakeTimer struct {
	clock *FakeClock
	c     chan time.Time
	when  time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Reset(d time.Duration) {
	c := t.clock
	c.mu.Lock()
	select {
	case <-t.c: // drop a stale value, as time.Timer does since Go 1.23
	default:
	}
	t.when = c.now.Add(d)
	if d <= 0 {
		delete(c.timers, t)
		c.mu.Unlock()
		t.c <- c.now
		return
	}
	c.timers[t] = struct{}{}
	c.mu.Unlock()
}

func (t *fakeTimer) Stop() {
	c := t.clock
	c.mu.Lock()
	delete(c.timers, t)
	select {
	case <-t.c:
	default:
	}
	c.mu.Unlock()
}
