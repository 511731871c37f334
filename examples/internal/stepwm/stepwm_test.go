package stepwm

import (
	"slices"
	"testing"
	"time"
)

// out records what a generator emits.
type out struct {
	wms  []time.Time
	idle int
}

func (o *out) EmitWatermark(wm time.Time) { o.wms = append(o.wms, wm) }
func (o *out) MarkIdle()                  { o.idle++ }
func (o *out) MarkActive()                {}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// A watermark comes with the first event and with each event whose time,
// less the bound, reaches a new minute; it is that time less the bound,
// less 1 ns. Events out of order never move it back.
func TestStepsAndRestore(t *testing.T) {
	g := New[int](2*time.Second, time.Minute, 0)
	var o out
	for _, s := range []int{5, 30, 61, 50, 62, 125, 100, 179, 182} {
		g.OnEvent(0, at(s), &o)
	}
	want := []time.Time{at(3).Add(-1), at(60).Add(-1), at(123).Add(-1), at(180).Add(-1)}
	if !slices.Equal(o.wms, want) {
		t.Fatalf("watermarks %v, want %v", o.wms, want)
	}
	// From a checkpoint: the next watermark is where it would have been.
	b, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	h := New[int](2*time.Second, time.Minute, 0)
	if err := h.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	o = out{}
	h.OnEvent(0, at(200), &o) // the same minute as 182 - 2 s
	h.OnEvent(0, at(245), &o)
	if want := []time.Time{at(243).Add(-1)}; !slices.Equal(o.wms, want) {
		t.Fatalf("after restore: watermarks %v, want %v", o.wms, want)
	}
	// A checkpoint before any event restores a generator that emits at the first.
	e := New[int](0, time.Minute, 0)
	if b, _ := e.MarshalBinary(); len(b) != 0 {
		t.Fatalf("before any event: %q, want nothing", b)
	}
	if err := h.UnmarshalBinary(nil); err != nil {
		t.Fatal(err)
	}
	o = out{}
	h.OnEvent(0, at(0), &o)
	if len(o.wms) != 1 {
		t.Fatalf("after restoring nothing: %v, want a watermark at the first event", o.wms)
	}
	if err := h.UnmarshalBinary([]byte("x")); err == nil {
		t.Fatal("a corrupt position restored without error")
	}
}

// With idle, an input quiet for that long (by the default interval of
// 200ms) is marked idle once; an event starts the count again. Without,
// never.
func TestIdle(t *testing.T) {
	g := New[int](0, time.Minute, time.Second) // 5 periodic calls
	var o out
	for range 12 {
		g.OnPeriodicEmit(&o)
	}
	if o.idle != 1 {
		t.Fatalf("marked idle %d times in 12 quiet calls, want 1", o.idle)
	}
	g.OnEvent(0, at(0), &o)
	for range 4 {
		g.OnPeriodicEmit(&o)
	}
	if o.idle != 1 {
		t.Fatal("marked idle after 4 quiet calls following an event")
	}
	g.OnPeriodicEmit(&o)
	if o.idle != 2 {
		t.Fatal("not marked idle after 5 quiet calls following an event")
	}
	n := New[int](0, time.Minute, 0)
	for range 100 {
		n.OnPeriodicEmit(&o)
	}
	if o.idle != 2 {
		t.Fatal("marked idle without an idle time")
	}
}
