package nexmark

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/stream"
)

// Memory is events made beforehand, and what a job reading them needs to
// know of them, found once before any clock starts: the input of the
// in-memory runs (RunEvents, BaselineEvents, FromEvents).
type Memory struct {
	// Events are the events, in the order a source reads them. They must
	// not change while a job reads them.
	Events []Event
	// MaxOutOfOrder is how far behind the latest event time before it an
	// event is, at most: the watermark's bound (zero for events in order).
	MaxOutOfOrder time.Duration
	// First and Last are the least and the greatest event time (ms since
	// the Unix epoch).
	First, Last int64
}

// NewMemory is evs and what it finds of them (one pass).
func NewMemory(evs []Event) *Memory {
	m := &Memory{Events: evs}
	var hi, late int64
	for i := range evs {
		t := evs[i].DateTime()
		if i == 0 {
			hi, m.First, m.Last = t, t, t
		}
		hi = max(hi, t)
		late = max(late, hi-t)
		m.First, m.Last = min(m.First, t), max(m.Last, t)
	}
	m.MaxOutOfOrder = time.Duration(late) * time.Millisecond
	return m
}

// Take returns g's events 0 to n-1 in memory, made on all cores, and
// collects garbage before it returns. It holds
// n * unsafe.Sizeof(Event{}) bytes (about 300 each; the strings are shared
// with the generator's tables).
func (g *Generator) Take(n int64) *Memory {
	evs := make([]Event, n)
	workers := int64(max(runtime.GOMAXPROCS(0), 1))
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := int64(0); lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				evs[i] = g.Event(i)
			}
		})
	}
	wg.Wait()
	m := NewMemory(evs)
	// Making them allocated the slice (its heap bits) and may have started
	// a collection; end it here, so that none runs into the timed job
	// (its write barriers would make each copy of an Event dearer).
	runtime.GC()
	return m
}

// memChunk is how many consecutive events a subtask of FromEvents reads
// before it skips those of the other subtasks.
const memChunk = 1024

// FromEvents is the stream of m's events, read from memory, in event time
// (each event's timestamp its DateTime, watermarks trailing the latest by
// m.MaxOutOfOrder, so that no event is late): Events' stream without
// the generator's cost. The source knows the events' times, so the stream
// needs no timestamp stage. At parallelism p, subtask j reads chunks j,
// j+p, ... of memChunk events each, copying them out a batch at a time.
func FromEvents(env *stream.Env, m *Memory) *stream.Stream[Event] {
	return fromEvents(env, m, nil)
}

func fromEvents(env *stream.Env, m *Memory, marks *readTimes) *stream.Stream[Event] {
	evs, bound := m.Events, m.MaxOutOfOrder
	return stream.FromEventTimeSource(env, "nexmark memory", true, func(ctx context.Context, subtask, parallelism int) (stream.SourceReader[Event], error) {
		r := &memReader{evs: evs, step: parallelism * memChunk, bound: int64(bound), wm: stream.MinWatermark, hi: -1 << 62, marks: marks}
		r.seek(subtask * memChunk)
		return r, nil
	}).Name("nexmark")
}

// memReader is a subtask of FromEvents.
type memReader struct {
	evs      []Event
	pos, end int // the next event and the end of its chunk
	step     int // events from one chunk of this subtask to its next
	bound    int64
	ts       []int64
	hi       int64 // the latest event time read, ms
	wm       int64
	marks    *readTimes // nil, or where reads of new event times are recorded
}

func (r *memReader) seek(pos int) {
	r.pos = min(pos, len(r.evs))
	r.end = min(r.pos-r.pos%memChunk+memChunk, len(r.evs))
}

func (r *memReader) Read(ctx context.Context, buf []Event) (int, error) {
	k := 0
	for k < len(buf) && r.pos < len(r.evs) {
		c := copy(buf[k:], r.evs[r.pos:r.end])
		k += c
		r.pos += c
		if r.pos == r.end {
			r.seek(r.pos + r.step - memChunk)
		}
	}
	r.ts = r.ts[:0]
	hi0 := r.hi
	for i := range buf[:k] {
		t := buf[i].DateTime()
		r.hi = max(r.hi, t)
		r.ts = append(r.ts, t*int64(time.Millisecond))
	}
	if k > 0 {
		r.wm = max(r.wm, r.hi*int64(time.Millisecond)-r.bound-1)
		if r.marks != nil && r.hi > hi0 {
			r.marks.mark(hi0+1, r.hi, time.Now().UnixNano())
		}
	}
	if r.pos >= len(r.evs) {
		return k, io.EOF
	}
	return k, ctx.Err()
}

func (r *memReader) Inline() bool              { return true }
func (r *memReader) Timestamps() []int64       { return r.ts }
func (r *memReader) Watermark() (int64, bool)  { return r.wm, false }
func (r *memReader) Close() error              { return nil }
func (r *memReader) Position() ([]byte, error) { return binary.AppendUvarint(nil, uint64(r.pos)), nil }

func (r *memReader) Seek(pos []byte) error {
	p, n := binary.Uvarint(pos)
	if n <= 0 || n != len(pos) || p > uint64(len(r.evs)) {
		return fmt.Errorf("braid: nexmark memory source: bad position %x", pos)
	}
	r.seek(int(p))
	return nil
}

// procReader is a memReader in processing time (for q12): it reads the
// same events but says nothing of their times.
type procReader struct{ r *memReader }

func (p procReader) Read(ctx context.Context, buf []Event) (int, error) { return p.r.Read(ctx, buf) }
func (p procReader) Inline() bool                                       { return true }
func (p procReader) Close() error                                       { return nil }
func (p procReader) Position() ([]byte, error)                          { return p.r.Position() }
func (p procReader) Seek(pos []byte) error                              { return p.r.Seek(pos) }

// SourceEvents is FromEvents in processing time (for q12), as Source is
// Events.
func SourceEvents(env *stream.Env, m *Memory) *stream.Stream[Event] {
	evs := m.Events
	return stream.FromSource(env, "nexmark memory", true, func(ctx context.Context, subtask, parallelism int) (stream.SourceReader[Event], error) {
		r := &memReader{evs: evs, step: parallelism * memChunk, wm: stream.MinWatermark, hi: -1 << 62}
		r.seek(subtask * memChunk)
		return procReader{r}, nil
	}).Name("nexmark")
}

// readTimes records, for each millisecond of event time from base, when
// the first event at or after it was read (Unix ns of wall time; 0 until
// then): the start of a window's latency. Sources write it, sinks read it,
// each entry an atomic word, so neither takes a lock.
type readTimes struct {
	base int64 // ms
	at   []atomic.Int64
}

func newReadTimes(first, last int64) *readTimes {
	return &readTimes{base: first, at: make([]atomic.Int64, max(last-first+1, 0))}
}

// mark records now for the milliseconds from to to, those not marked yet.
func (rt *readTimes) mark(from, to, now int64) {
	lo, hi := max(from-rt.base, 0), min(to-rt.base, int64(len(rt.at))-1)
	for i := lo; i <= hi; i++ {
		if rt.at[i].Load() == 0 {
			rt.at[i].Store(now)
		}
	}
}

// readAt is when the first event at or after end (Unix ns of event time)
// was read, or 0 when none was (a window closed by the end of input).
func (rt *readTimes) readAt(end int64) int64 {
	ms := end / int64(time.Millisecond)
	if ms*int64(time.Millisecond) < end {
		ms++
	}
	i := ms - rt.base
	if i < 0 || i >= int64(len(rt.at)) {
		return 0
	}
	return rt.at[i].Load()
}
