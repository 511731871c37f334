package operators

import (
	"math"

	"github.com/google/btree"

	"github.com/braidstream/braid/window"
)

type session[A any] struct {
	w   window.Window
	acc A
	seq uint64 // the session's live timer; others for it are stale
}

func sessionWindow[A any](s *session[A]) window.Window { return s.w }

// sessionTimer asks to look at a key's session ending at end when event
// time reaches end-1 (to fire it) or its cleanup time (to drop it).
type sessionTimer[K comparable] struct {
	at  int64
	seq uint64 // ties broken by arrival, for a deterministic order
	key K
	end int64
}

// SessionWindow is the keyed operator for session windows: per key, a
// sorted list of sessions, each with one accumulator. An element opens
// [ts, ts+gap) and merges with every session it overlaps or touches
// (window.MergeSession), their accumulators combined with Merge, older
// first. Timers sit in a B-tree ordered by time; a timer made stale by a
// merge is skipped when it comes due.
//
// As in Flink's WindowOperator with merging windows: the element's window is
// merged first and then checked for lateness; a session fires when event
// time reaches its end-1, and again at once when an element within the
// allowed lateness joins it after that; it is dropped at end-1+lateness.
type SessionWindow[T any, K comparable, A, R any] struct {
	timeDriven[T, R]
	spec   WindowSpec[T, K, A, R]
	gap    int64
	bc     *BuildContext
	proc   procTime
	wm     int64
	keys   map[K][]session[A]
	timers *btree.BTreeG[sessionTimer[K]]
	seq    uint64
}

// NewSessionWindow builds the operator for one subtask.
func NewSessionWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], bc *BuildContext, out Input[R], late Input[T]) *SessionWindow[T, K, A, R] {
	o := &SessionWindow[T, K, A, R]{
		spec: spec, gap: int64(spec.Assigner.(window.SessionWindows).Gap),
		bc: bc, proc: procTime{bc.Clock}, wm: math.MinInt64,
		keys: make(map[K][]session[A]),
		timers: btree.NewG(32, func(a, b sessionTimer[K]) bool {
			return a.at < b.at || a.at == b.at && a.seq < b.seq
		}),
	}
	o.timeDriven = newTimeDriven(out, late, spec.EventTime, o.advance)
	if !spec.EventTime {
		o.wm = o.proc.now()
		bc.AddTimed(o)
	}
	return o
}

func (o *SessionWindow[T, K, A, R]) addTimer(at int64, k K, end int64) uint64 {
	o.seq++
	o.timers.ReplaceOrInsert(sessionTimer[K]{at: at, seq: o.seq, key: k, end: end})
	return o.seq
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
	for i, v := range b.Values {
		t := now
		if o.spec.EventTime {
			t = b.Times[i]
		}
		o.add(v, t)
	}
	return o.flush()
}

func (o *SessionWindow[T, K, A, R]) add(v T, t int64) {
	k := o.spec.Key(v)
	ss := o.keys[k]
	w := window.Window{Start: t, End: addTime(t, o.gap)}
	merged, lo, hi := window.MergeSessionFunc(ss, sessionWindow[A], w)
	if lo == hi && window.IsLate(merged, o.spec.Lateness, o.wm) {
		o.lateElement(o.bc, v, t)
		return
	}
	var acc A
	if lo == hi {
		acc = o.spec.Agg.first(v)
		ss = append(ss, session[A]{})
		copy(ss[lo+1:], ss[lo:])
	} else {
		acc = ss[lo].acc
		for j := lo + 1; j < hi; j++ {
			acc = o.spec.Agg.Merge(acc, ss[j].acc)
		}
		acc = o.spec.Agg.Add(acc, v)
		if hi-lo > 1 {
			ss = append(ss[:lo+1], ss[hi:]...)
		}
	}
	var seq uint64
	if merged.MaxTimestamp() <= o.wm {
		// Joined a session that has fired: fire it again now (the element
		// is within the allowed lateness, or it would be late).
		o.em.at(merged.MaxTimestamp())
		o.spec.Fire(k, merged, acc, o.em.emit)
		seq = o.addTimer(window.CleanupTime(merged, o.spec.Lateness), k, merged.End)
	} else {
		seq = o.addTimer(merged.MaxTimestamp(), k, merged.End)
	}
	ss[lo] = session[A]{merged, acc, seq}
	o.keys[k] = ss
}

// advance moves event time to wm, firing sessions that end by then and
// dropping those past their lateness.
func (o *SessionWindow[T, K, A, R]) advance(wm int64) error {
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	for {
		tm, ok := o.timers.Min()
		if !ok || tm.at > wm {
			break
		}
		o.timers.DeleteMin()
		ss := o.keys[tm.key]
		j := -1
		for i := range ss {
			if ss[i].seq == tm.seq {
				j = i
				break
			}
		}
		if j < 0 {
			continue // merged away, or superseded by a later timer
		}
		s := ss[j]
		if tm.at == s.w.MaxTimestamp() {
			o.em.at(s.w.MaxTimestamp())
			o.spec.Fire(tm.key, s.w, s.acc, o.em.emit)
		}
		if cleanup := window.CleanupTime(s.w, o.spec.Lateness); cleanup <= wm || !o.spec.EventTime {
			ss = append(ss[:j], ss[j+1:]...)
			if len(ss) == 0 {
				delete(o.keys, tm.key)
			} else {
				o.keys[tm.key] = ss
			}
		} else {
			ss[j].seq = o.addTimer(cleanup, tm.key, s.w.End)
		}
	}
	return o.em.err
}

func (o *SessionWindow[T, K, A, R]) nextTimer() int64 {
	if tm, ok := o.timers.Min(); ok {
		return tm.at
	}
	return math.MaxInt64
}
