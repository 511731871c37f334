package operators

import (
	"fmt"
	"math"

	"github.com/braidstream/braid/internal/invariants"
	"github.com/braidstream/braid/window"
)

// session is one open session of a key: its window, its accumulator and
// the handle of its one timer.
type session[A any] struct {
	w   window.Window
	acc A
	h   int32
}

func sessionWindow[A any](s *session[A]) window.Window { return s.w }

// keySessions is one key's open sessions, sorted by start, no two of them
// intersecting (touching sessions merge): more, then last. The latest
// session is kept here, not behind a slice, so that an element extending
// it touches one place.
type keySessions[K comparable, A any] struct {
	key  K
	last session[A]
	more []session[A]
	// dirty: the key is in SessionWindow.dirty (changed since the last
	// snapshot).
	dirty bool
}

// SessionWindow is the keyed operator for session windows: per key, a
// sorted list of sessions, each with one accumulator. An element opens
// [ts, ts+gap) and merges with every session it overlaps or touches
// (window.MergeSession), their accumulators combined with Merge, older
// first.
//
// As in Flink's WindowOperator with merging windows: the element's window is
// merged first and then checked for lateness; a session fires when event
// time reaches its end-1, and again at once when an element within the
// allowed lateness joins it after that; it is dropped at end-1+lateness.
//
// Timers: each open session has exactly one timer, so memory follows the
// open sessions, not the elements. A session is due at its end-1 until it
// has fired, then at its cleanup time; its timer lies at or before that
// (and after the watermark). When an element extends a session, only the
// session moves: its timer stays, and when it comes due early it is moved
// to the session's due time (lazily: the queue would otherwise see one
// update per element; this way it sees about one per session and gap). A
// timer is moved at once only when a merge makes the session due earlier
// (after it fired, with allowed lateness). The timers of sessions absorbed
// by a merge are deleted, as Flink deletes the timers of merged windows.
// Sessions due at the same time are looked at in the order their timers
// were set.
//
// Cost per element: one map lookup for the key; an element that falls in
// the key's latest session (the common case in order) touches nothing
// else. A new session or a merge is O(log s + sessions merged) for s open
// sessions.
type SessionWindow[T any, K comparable, A, R any] struct {
	timeDriven[T, R]
	spec   WindowSpec[T, K, A, R]
	gap    int64
	bc     *BuildContext
	proc   procTime
	wm     int64
	index  map[K]int32 // key -> slot in slots
	slots  []keySessions[K, A]
	free   []int32 // slots of keys without sessions, their memory kept
	timers timerHeap
	all    []session[A] // scratch: a key's sessions in one slice

	// Checkpoints (see Snapshot): track is set when the job takes them;
	// dirty lists the keys changed since the last snapshot, each once
	// (keySessions.dirty), removed keys included.
	track bool
	dirty []K
	snap  *keyedSnap[K, []sessionRec[A]]
}

// NewSessionWindow builds the operator for one subtask.
func NewSessionWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], bc *BuildContext, out Input[R], late Input[T]) *SessionWindow[T, K, A, R] {
	o := &SessionWindow[T, K, A, R]{
		spec: spec, gap: int64(spec.Assigner.(window.SessionWindows).Gap),
		bc: bc, proc: procTime{bc.Clock}, wm: math.MinInt64,
		index: make(map[K]int32),
	}
	o.timeDriven = newTimeDriven(out, late, spec.EventTime, o.advance)
	if !spec.EventTime {
		o.wm = o.proc.now()
		bc.AddTimed(o)
	}
	if bc.Checkpointing() {
		snap, err := newKeyedSnap[K, []sessionRec[A]](spec.Hash, bc.MaxParallelism)
		if err != nil {
			uncodable(bc, "session window", err)
			return o
		}
		o.snap, o.track = snap, true
		bc.AddSnapshotter(o)
	}
	return o
}

// touch notes that the key of ks changed since the last snapshot.
func (o *SessionWindow[T, K, A, R]) touch(ks *keySessions[K, A]) {
	if o.track && !ks.dirty {
		ks.dirty = true
		o.dirty = append(o.dirty, ks.key)
	}
}

// cleanupTime is when a session's state is dropped: end-1 plus the
// allowed lateness in event time, end-1 in processing time.
func (o *SessionWindow[T, K, A, R]) cleanupTime(w window.Window) int64 {
	if o.spec.EventTime {
		return window.CleanupTime(w, o.spec.Lateness)
	}
	return w.MaxTimestamp()
}

// due is when a session must next be looked at: its end-1 until event time
// reaches it (it fires then), its cleanup time after.
func (o *SessionWindow[T, K, A, R]) due(w window.Window) int64 {
	if mt := w.MaxTimestamp(); mt > o.wm {
		return mt
	}
	return o.cleanupTime(w)
}

// Push implements Input.
func (o *SessionWindow[T, K, A, R]) Push(b *Batch[T]) error {
	var now int64
	if !o.spec.EventTime {
		now = o.proc.now()
		if err := o.advance(now); err != nil {
			return err
		}
	}
	keys := keysOf[T, K](b)
	for i, v := range b.Values {
		t := now
		if o.spec.EventTime {
			t = b.Times[i]
		}
		var k K
		if keys != nil {
			k = keys[i]
		} else {
			k = o.spec.Key(v)
		}
		slot, ok := o.index[k]
		if ok {
			// The fast path: t falls in the key's latest session
			// [start, end], so [t, t+gap) touches it and no other (the one
			// before ends before start). The session grows to t+gap; its
			// timer, at or before its old end, stays.
			ks := &o.slots[slot]
			s := &ks.last
			if t >= s.w.Start && t <= s.w.End {
				o.touch(ks)
				fired := s.w.MaxTimestamp() <= o.wm // only with allowed lateness
				if end := addTime(t, o.gap); end > s.w.End {
					s.w.End = end
				}
				s.acc = o.spec.Agg.Add(s.acc, v)
				if fired {
					o.extendFired(ks.key, s)
				}
				continue
			}
		}
		o.add(v, t, k, slot, ok)
	}
	return o.flush()
}

// extendFired follows up an element joining a session that has fired (and
// waits for its cleanup): if the session still ends by the watermark, it
// fires again at once; if it now ends after, it is to fire when event time
// gets there, which may be before its timer.
func (o *SessionWindow[T, K, A, R]) extendFired(k K, s *session[A]) {
	if mt := s.w.MaxTimestamp(); mt <= o.wm {
		o.refire(k, s)
	} else if o.timers.at(s.h) > mt {
		o.timers.move(s.h, mt)
	}
}

// refire fires session s at once: an element within the allowed lateness
// joined it after it fired. It is next due at its cleanup time, later than
// its timer.
func (o *SessionWindow[T, K, A, R]) refire(k K, s *session[A]) {
	o.em.at(s.w.MaxTimestamp())
	o.spec.Fire(k, s.w, s.acc, o.em.emit)
}

// add is Push's general case: a new key, a new session, or a merge. It
// works on the key's sessions gathered into one slice.
func (o *SessionWindow[T, K, A, R]) add(v T, t int64, k K, slot int32, known bool) {
	ss := o.all[:0]
	if known {
		ss = append(append(ss, o.slots[slot].more...), o.slots[slot].last)
	}
	w := window.Window{Start: t, End: addTime(t, o.gap)}
	merged, lo, hi := window.MergeSessionFunc(ss, sessionWindow[A], w)
	if lo == hi && window.IsLate(merged, o.spec.Lateness, o.wm) {
		o.lateElement(o.bc, v, t)
		clear(ss)
		o.all = ss[:0]
		return
	}
	if !known {
		if n := len(o.free); n > 0 {
			slot, o.free = o.free[n-1], o.free[:n-1]
			o.slots[slot].key = k
		} else {
			slot = int32(len(o.slots))
			o.slots = append(o.slots, keySessions[K, A]{key: k})
		}
		o.index[k] = slot
	}
	var s *session[A]
	if lo == hi {
		ss = append(ss, session[A]{})
		copy(ss[lo+1:], ss[lo:])
		s = &ss[lo]
		*s = session[A]{w: merged, acc: o.spec.Agg.first(v)}
		if merged.MaxTimestamp() <= o.wm {
			o.refire(k, s)
		}
		s.h = o.timers.add(o.due(merged), slot)
	} else {
		s = &ss[lo]
		acc := s.acc
		for j := lo + 1; j < hi; j++ {
			acc = o.spec.Agg.Merge(acc, ss[j].acc)
			o.timers.remove(ss[j].h)
		}
		s.w, s.acc = merged, o.spec.Agg.Add(acc, v)
		if merged.MaxTimestamp() <= o.wm {
			o.refire(k, s)
		}
		// The session may now be due before its timer: when it had fired
		// and waited for its cleanup, and the merge made it wait to fire
		// again.
		if due := o.due(merged); o.timers.at(s.h) > due {
			o.timers.move(s.h, due)
		}
		if hi-lo > 1 {
			n := len(ss)
			ss = append(ss[:lo+1], ss[hi:]...)
			clear(ss[len(ss):n]) // the accumulators, for the collector
		}
	}
	ks := &o.slots[slot]
	o.touch(ks)
	n := len(ss) - 1
	ks.last = ss[n]
	if old := len(ks.more); old > n {
		clear(ks.more[n:old])
	}
	ks.more = append(ks.more[:0], ss[:n]...)
	clear(ss)
	o.all = ss[:0]
}

// advance moves event time to wm, firing sessions that end by then and
// dropping those past their lateness.
func (o *SessionWindow[T, K, A, R]) advance(wm int64) error {
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	for {
		tm, ok := o.timers.min()
		if !ok || tm.at > wm {
			break
		}
		ks := &o.slots[tm.slot]
		o.touch(ks)
		s, j := &ks.last, -1
		if s.h != tm.h {
			j = 0
			for j < len(ks.more) && ks.more[j].h != tm.h {
				j++
			}
			if invariants.Enabled && j == len(ks.more) { // (the arguments would allocate)
				invariants.Check(false, "timer at %d for no session of key %v", tm.at, ks.key)
			}
			s = &ks.more[j]
		}
		mt := s.w.MaxTimestamp()
		if tm.at < mt {
			// Extended since the timer was set: not due yet.
			o.timers.move(tm.h, mt)
			continue
		}
		if tm.at == mt {
			// Event time has just reached end-1 (timers lie after the
			// watermark they were set at, so it had not fired at mt).
			o.em.at(mt)
			o.spec.Fire(ks.key, s.w, s.acc, o.em.emit)
		}
		if cleanup := o.cleanupTime(s.w); cleanup > wm {
			o.timers.move(tm.h, cleanup)
			continue
		}
		o.timers.remove(tm.h)
		o.drop(tm.slot, j)
	}
	return o.em.err
}

// drop removes session j of slot's key (-1: the latest), and the key when
// it has no session left.
func (o *SessionWindow[T, K, A, R]) drop(slot int32, j int) {
	ks := &o.slots[slot]
	n := len(ks.more)
	switch {
	case j >= 0:
		copy(ks.more[j:], ks.more[j+1:])
	case n > 0:
		ks.last = ks.more[n-1]
	default:
		delete(o.index, ks.key)
		ks.key, ks.last, ks.dirty = *new(K), session[A]{}, false
		o.free = append(o.free, slot)
		return
	}
	ks.more[n-1] = session[A]{}
	ks.more = ks.more[:n-1]
}

func (o *SessionWindow[T, K, A, R]) nextTimer() int64 {
	if tm, ok := o.timers.min(); ok {
		return tm.at
	}
	return math.MaxInt64
}

// liveTimers and openSessions count the timers and the open sessions, for
// tests: they are equal.
func (o *SessionWindow[T, K, A, R]) liveTimers() int { return len(o.timers.heap) }

func (o *SessionWindow[T, K, A, R]) openSessions() int {
	n := len(o.index) // each key's latest
	for i := range o.slots {
		n += len(o.slots[i].more)
	}
	return n
}

// sessionTimer is a timer of the session with handle h of the key in slot.
type sessionTimer struct {
	at   int64
	seq  uint64 // the order timers were set in, to break ties
	h    int32
	slot int32
}

func (a *sessionTimer) before(b *sessionTimer) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// timerHeap is a queue of session timers in time order (ties in the order
// they were set), a 4-ary min-heap: adding a timer later than most, as
// session timers are, costs O(1), taking the first O(log n), and moving or
// removing one O(log n). Each timer is named by a handle that stays valid
// until it is removed; pos maps handles to places in the heap.
//
// The design's timer queues are B-trees (process timers, TriggerWindow);
// here a timer is set per new session and moved about once per session
// and gap, so the heap's cheaper steps show (see BenchmarkSessionsQ11).
type timerHeap struct {
	heap []sessionTimer
	pos  []int32 // handle -> index in heap; -1 when free
	free []int32
	seq  uint64
}

// add sets a timer at at for the session in slot and returns its handle.
func (q *timerHeap) add(at int64, slot int32) int32 {
	var h int32
	if n := len(q.free); n > 0 {
		h, q.free = q.free[n-1], q.free[:n-1]
	} else {
		h = int32(len(q.pos))
		q.pos = append(q.pos, -1)
	}
	q.seq++
	i := len(q.heap)
	q.heap = append(q.heap, sessionTimer{at: at, seq: q.seq, h: h, slot: slot})
	q.pos[h] = int32(i)
	q.up(i)
	return h
}

// insert sets a timer as add does, but with the order seq it was set in
// (a restore): timers set after it come after it.
func (q *timerHeap) insert(at int64, seq uint64, slot int32) int32 {
	h := int32(len(q.pos))
	q.pos = append(q.pos, -1)
	q.seq = max(q.seq, seq)
	i := len(q.heap)
	q.heap = append(q.heap, sessionTimer{at: at, seq: seq, h: h, slot: slot})
	q.pos[h] = int32(i)
	q.up(i)
	return h
}

// at is the time of timer h.
func (q *timerHeap) at(h int32) int64 { return q.heap[q.pos[h]].at }

// min is the first timer.
func (q *timerHeap) min() (sessionTimer, bool) {
	if len(q.heap) == 0 {
		return sessionTimer{}, false
	}
	return q.heap[0], true
}

// move sets timer h to at, as if set anew.
func (q *timerHeap) move(h int32, at int64) {
	i := int(q.pos[h])
	q.seq++
	old := q.heap[i].at
	q.heap[i].at, q.heap[i].seq = at, q.seq
	if at < old {
		q.up(i)
	} else {
		q.down(i)
	}
}

// remove deletes timer h; its handle may be given out again.
func (q *timerHeap) remove(h int32) {
	i := int(q.pos[h])
	n := len(q.heap) - 1
	if invariants.Enabled && !(i >= 0 && i <= n && q.heap[i].h == h) {
		invariants.Check(false, "session timer %d is not in the queue", h)
	}
	q.pos[h] = -1
	q.free = append(q.free, h)
	if i != n {
		q.heap[i] = q.heap[n]
		q.pos[q.heap[i].h] = int32(i)
	}
	q.heap = q.heap[:n]
	if i != n {
		q.up(i)
		q.down(i)
	}
}

func (q *timerHeap) up(i int) {
	t := q.heap[i]
	for i > 0 {
		p := (i - 1) / 4
		if !t.before(&q.heap[p]) {
			break
		}
		q.heap[i] = q.heap[p]
		q.pos[q.heap[i].h] = int32(i)
		i = p
	}
	q.heap[i] = t
	q.pos[t.h] = int32(i)
}

func (q *timerHeap) down(i int) {
	t := q.heap[i]
	n := len(q.heap)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for d := c + 1; d < min(c+4, n); d++ {
			if q.heap[d].before(&q.heap[m]) {
				m = d
			}
		}
		if !q.heap[m].before(&t) {
			break
		}
		q.heap[i] = q.heap[m]
		q.pos[q.heap[i].h] = int32(i)
		i = m
	}
	q.heap[i] = t
	q.pos[t.h] = int32(i)
}

// sessionRec is one session as checkpoints keep it: its window, its
// accumulator, and its timer with the order it was set in (so that
// sessions due at the same time fire in the same order after a restore).
type sessionRec[A any] struct {
	Start, End int64
	Acc        A
	At         int64
	Seq        uint64
}

// sessionTag tags a key's sessions in the checkpoint.
const sessionTag = 's'

// Snapshot implements Snapshotter: one entry per key, its sessions, for
// the keys changed since the last snapshot (all of them when w.Full), and
// event time (processing time reached) as operator state.
func (o *SessionWindow[T, K, A, R]) Snapshot(w *StateWriter) error {
	if w.Full() {
		for k, slot := range o.index {
			o.snapshotKey(w, k, slot)
		}
	} else {
		for _, k := range o.dirty {
			if slot, ok := o.index[k]; ok {
				o.snapshotKey(w, k, slot)
			} else {
				o.snap.del(w, sessionTag, k, nil)
			}
		}
	}
	for _, k := range o.dirty {
		if slot, ok := o.index[k]; ok {
			o.slots[slot].dirty = false
		}
	}
	clear(o.dirty)
	o.dirty = o.dirty[:0]
	snapshotTime(w, "wm", o.wm)
	return nil
}

func (o *SessionWindow[T, K, A, R]) snapshotKey(w *StateWriter, k K, slot int32) {
	ks := &o.slots[slot]
	recs := o.snap.scratch[:0]
	rec := func(s *session[A]) {
		tm := &o.timers.heap[o.timers.pos[s.h]]
		recs = append(recs, sessionRec[A]{Start: s.w.Start, End: s.w.End, Acc: s.acc, At: tm.at, Seq: tm.seq})
	}
	for i := range ks.more {
		rec(&ks.more[i])
	}
	rec(&ks.last)
	o.snap.set(w, sessionTag, k, nil, recs)
	clear(recs)
	o.snap.scratch = recs[:0]
}

// Restore implements Snapshotter: it rebuilds the sessions of the key
// groups the subtask owns, and their timers, as they were set.
func (o *SessionWindow[T, K, A, R]) Restore(r *StateReader) error {
	if wm, ok, err := restoreTime(r, "wm"); err != nil {
		return err
	} else if ok {
		o.wm = wm
	}
	return r.Keyed(func(kg int, key, val []byte) error {
		tag, k, _, recs, err := o.snap.decode(kg, key, val)
		if err != nil {
			return err
		}
		if tag != sessionTag || len(recs) == 0 {
			return fmt.Errorf("braid: session window: a state entry of tag %q with %d sessions", tag, len(recs))
		}
		if _, dup := o.index[k]; dup {
			return fmt.Errorf("braid: session window: key %v restored twice", k)
		}
		slot := int32(len(o.slots))
		o.index[k] = slot
		ss := make([]session[A], len(recs))
		for i, rc := range recs {
			ss[i] = session[A]{w: window.Window{Start: rc.Start, End: rc.End}, acc: rc.Acc,
				h: o.timers.insert(rc.At, rc.Seq, slot)}
		}
		n := len(ss) - 1
		o.slots = append(o.slots, keySessions[K, A]{key: k, last: ss[n], more: ss[:n:n]})
		return nil
	})
}
