package operators

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/braidstream/braid/window"
)

type winKey[K comparable] struct {
	key K
	win window.Window
}

// trigTimer is a timer set for a window, in one clock.
type trigTimer struct {
	d  TimeDomain
	at int64
}

type trigWindow[T any] struct {
	elems  []window.Stamped[T]
	st     window.TriggerState[T]
	timers []trigTimer // those set and not yet due: deleted with the window
	dirty  bool        // its window is in TriggerWindow.dirty
}

func trigWindowOf[T any](tw **trigWindow[T]) window.Window { return (*tw).st.Window }

// TriggerWindow is the general window operator: any trigger, evictors
// before and after the function, over global windows, tumbling and sliding
// time windows, and session windows. It buffers every element of every open
// window (as Flink's EvictingWindowOperator) and folds them when the window
// fires.
//
// As in Flink: a trigger's Fire runs the function over the window's
// elements (after evicting with the before-evictor; the after-evictor runs
// once the function has); Purge empties the window (its trigger state
// stays); an empty window does not fire. Time and session windows are
// dropped at their cleanup time (end-1 plus the allowed lateness in event
// time, end-1 in processing time), with their timers; an element whose
// every time window is past it, or whose session would be new and past it,
// is late. At the end of input the final watermark fires the event-time
// timers; processing-time timers left do not fire.
//
// Session windows merge (Flink's WindowOperator with a MergingWindowSet):
// the trigger must be a window.MergingTrigger, and a merge goes as that
// type's documentation says: the merged sessions' timers are deleted, the
// trigger's OnMerge folds their states into the merged window's and sets
// its timers, and the merged window holds their elements, oldest session
// first. The timers of a window are only those it needs: none outlive it or
// the merge that absorbs it.
type TriggerWindow[T any, K comparable, A, R any] struct {
	spec          WindowSpec[T, K, A, R]
	trigger       window.Trigger[T]
	merging       window.MergingTrigger[T] // session windows
	before, after window.Evictor[T]
	global        bool
	tw            window.TimeWindows
	gap           int64
	out           Input[R]
	em            *emitter[R]
	late          *emitter[T]
	bc            *BuildContext
	wins          map[winKey[K]]*trigWindow[T] // global and time windows
	sessions      map[K][]*trigWindow[T]       // session windows, by start
	timers        [2]*timerQueue[winKey[K]]    // event, processing
	wm            int64
	assigned      []window.Window
	pool          []*trigWindow[T]          // dropped windows, their memory kept
	lists         [][]*trigWindow[T]        // emptied session lists, their memory kept
	states        []*window.TriggerState[T] // scratch for OnMerge
	mergedState   window.TriggerState[T]    // scratch for OnMerge

	// Checkpoints: the windows changed since the last snapshot, removed
	// ones included; a window is listed once while trigWindow.dirty.
	track bool
	dirty []winKey[K]
	snap  *keyedSnap[K, trigRec[T]]
}

// NewTriggerWindow builds the operator for one subtask. On session windows
// trigger must be a window.MergingTrigger (stream refuses others when the
// job is built); NewTriggerWindow panics otherwise.
func NewTriggerWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], trigger window.Trigger[T],
	before, after window.Evictor[T], bc *BuildContext, out Input[R], late Input[T]) *TriggerWindow[T, K, A, R] {
	o := &TriggerWindow[T, K, A, R]{spec: spec, trigger: trigger, before: before, after: after, out: out,
		em: newEmitter(out, spec.EventTime), bc: bc, wins: make(map[winKey[K]]*trigWindow[T]),
		timers: [2]*timerQueue[winKey[K]]{newTimerQueue[winKey[K]](), newTimerQueue[winKey[K]]()}, wm: MinWatermark}
	switch a := spec.Assigner.(type) {
	case window.GlobalWindows:
		o.global = true
	case window.TimeWindows:
		o.tw = a
	case window.SessionWindows:
		m, ok := trigger.(window.MergingTrigger[T])
		if !ok {
			panic("braid: a trigger on session windows must be a window.MergingTrigger")
		}
		o.merging, o.gap, o.sessions = m, int64(a.Gap), make(map[K][]*trigWindow[T])
	}
	if late != nil {
		o.late = newEmitter(late, true)
	}
	bc.AddTimed(o)
	if bc.Checkpointing() {
		snap, err := newKeyedSnap[K, trigRec[T]](spec.Hash, bc.MaxParallelism)
		if err != nil {
			uncodable(bc, "window with a trigger", err)
			return o
		}
		o.snap, o.track = snap, true
		bc.AddSnapshotter(o)
	}
	return o
}

// touch notes that window wk changed since the last snapshot.
func (o *TriggerWindow[T, K, A, R]) touch(wk winKey[K], tw *trigWindow[T]) {
	if o.track && !tw.dirty {
		tw.dirty = true
		o.dirty = append(o.dirty, wk)
	}
}

func (o *TriggerWindow[T, K, A, R]) now() int64 { return o.bc.Clock.Now().UnixNano() }

func (o *TriggerWindow[T, K, A, R]) cleanupTime(w window.Window) int64 {
	if o.spec.EventTime {
		return window.CleanupTime(w, o.spec.Lateness)
	}
	return w.MaxTimestamp()
}

// newWindow is an empty window w, from the pool when it can be.
func (o *TriggerWindow[T, K, A, R]) newWindow(w window.Window) *trigWindow[T] {
	if n := len(o.pool); n > 0 {
		tw := o.pool[n-1]
		o.pool = o.pool[:n-1]
		tw.st.Window = w
		return tw
	}
	return &trigWindow[T]{st: window.TriggerState[T]{Window: w}}
}

// release empties tw (its timers are gone) and keeps it for reuse.
func (o *TriggerWindow[T, K, A, R]) release(tw *trigWindow[T]) {
	clear(tw.elems)
	tw.elems, tw.timers, tw.st, tw.dirty = tw.elems[:0], tw.timers[:0], window.TriggerState[T]{}, false
	o.pool = append(o.pool, tw)
}

// Push implements Input.
func (o *TriggerWindow[T, K, A, R]) Push(b *Batch[T]) error {
	keys := keysOf[T, K](b)
	now := o.now()
	for i, v := range b.Values {
		ts := now
		if o.spec.EventTime {
			ts = b.Times[i]
		}
		var k K
		if keys != nil {
			k = keys[i]
		} else {
			k = o.spec.Key(v)
		}
		if o.merging != nil {
			o.addSession(k, v, ts, now)
			continue
		}
		o.assigned = o.assigned[:0]
		if o.global {
			o.assigned = append(o.assigned, window.Global().Window())
		} else {
			o.assigned = o.tw.Assign(ts, o.assigned)
		}
		added := false
		for _, w := range o.assigned {
			if !o.global && o.spec.EventTime && window.IsLate(w, o.spec.Lateness, o.wm) {
				continue
			}
			added = true
			wk := winKey[K]{k, w}
			tw := o.wins[wk]
			if tw == nil {
				tw = o.newWindow(w)
				o.wins[wk] = tw
				if !o.global {
					o.setTimer(wk, tw, o.domain(), o.cleanupTime(w))
				}
			}
			o.addElement(wk, tw, v, ts, now)
		}
		if !added {
			o.lateElement(v, ts)
		}
	}
	return o.flush()
}

func (o *TriggerWindow[T, K, A, R]) addElement(wk winKey[K], tw *trigWindow[T], v T, ts, now int64) {
	o.touch(wk, tw)
	tw.elems = append(tw.elems, window.Stamped[T]{Ts: ts, V: v})
	tw.st.Watermark, tw.st.Now = o.wm, now
	o.apply(wk, tw, o.trigger.OnElement(v, ts, &tw.st))
}

func (o *TriggerWindow[T, K, A, R]) lateElement(v T, ts int64) {
	o.bc.CountLate(1)
	if o.late != nil {
		o.late.at(ts)
		o.late.emit(v)
	}
}

// addSession adds an element to its key's sessions: into the session that
// holds its window, or into a new one, or into the merge of those it
// overlaps or touches.
func (o *TriggerWindow[T, K, A, R]) addSession(k K, v T, ts, now int64) {
	ss := o.sessions[k]
	merged, lo, hi := window.MergeSessionFunc(ss, trigWindowOf[T], window.Window{Start: ts, End: addTime(ts, o.gap)})
	var tw *trigWindow[T]
	switch {
	case lo == hi:
		if o.spec.EventTime && window.IsLate(merged, o.spec.Lateness, o.wm) {
			o.lateElement(v, ts)
			return
		}
		tw = o.newWindow(merged)
		if ss == nil {
			if n := len(o.lists); n > 0 {
				ss, o.lists = o.lists[n-1], o.lists[:n-1]
			}
		}
		o.sessions[k] = slices.Insert(ss, lo, tw)
		o.setTimer(winKey[K]{k, merged}, tw, o.domain(), o.cleanupTime(merged))
	case hi-lo == 1 && ss[lo].st.Window == merged:
		tw = ss[lo] // inside a session: no merge
	default:
		tw = o.merge(k, ss, lo, hi, merged, now)
	}
	o.addElement(winKey[K]{k, merged}, tw, v, ts, now)
}

// merge makes sessions ss[lo:hi] of key k one window, merged (see
// window.MergingTrigger for the steps), and returns it.
func (o *TriggerWindow[T, K, A, R]) merge(k K, ss []*trigWindow[T], lo, hi int, merged window.Window, now int64) *trigWindow[T] {
	o.states = o.states[:0]
	for _, m := range ss[lo:hi] {
		if o.track {
			o.dirty = append(o.dirty, winKey[K]{k, m.st.Window})
		}
		m.dirty = false // its window is listed; the merged one is not yet
		o.clearTimers(winKey[K]{k, m.st.Window}, m)
		o.states = append(o.states, &m.st)
	}
	st := &o.mergedState // (a local would escape to the heap through OnMerge)
	*st = window.TriggerState[T]{Window: merged, Watermark: o.wm, Now: now}
	o.merging.OnMerge(st, o.states)
	clear(o.states)
	tw := ss[lo]
	for _, m := range ss[lo+1 : hi] {
		tw.elems = append(tw.elems, m.elems...)
		o.release(m)
	}
	tw.st, *st = *st, window.TriggerState[T]{}
	o.sessions[k] = slices.Delete(ss, lo+1, hi)
	wk := winKey[K]{k, merged}
	o.setTimer(wk, tw, o.domain(), o.cleanupTime(merged))
	o.setAsked(wk, tw)
	return tw
}

// session is the window of wk among its key's sessions, or nil.
func (o *TriggerWindow[T, K, A, R]) session(wk winKey[K]) (*trigWindow[T], int) {
	ss := o.sessions[wk.key]
	i, ok := slices.BinarySearchFunc(ss, wk.win.Start, func(tw *trigWindow[T], start int64) int {
		switch s := tw.st.Window.Start; {
		case s < start:
			return -1
		case s > start:
			return 1
		}
		return 0
	})
	if !ok || ss[i].st.Window != wk.win {
		return nil, -1
	}
	return ss[i], i
}

func (o *TriggerWindow[T, K, A, R]) domain() TimeDomain {
	if o.spec.EventTime {
		return EventTime
	}
	return ProcessingTime
}

// setTimer sets a timer for window wk at at, once.
func (o *TriggerWindow[T, K, A, R]) setTimer(wk winKey[K], tw *trigWindow[T], d TimeDomain, at int64) {
	if slices.Contains(tw.timers, trigTimer{d, at}) {
		return
	}
	tw.timers = append(tw.timers, trigTimer{d, at})
	o.timers[d].set(wk, at)
}

// clearTimers deletes every timer set for window wk.
func (o *TriggerWindow[T, K, A, R]) clearTimers(wk winKey[K], tw *trigWindow[T]) {
	for _, t := range tw.timers {
		o.timers[t.d].delete(wk, t.at)
	}
	tw.timers = tw.timers[:0]
}

// setAsked sets the timers the trigger asked for in tw's state.
func (o *TriggerWindow[T, K, A, R]) setAsked(wk winKey[K], tw *trigWindow[T]) {
	if tw.st.HasEventTimer {
		o.setTimer(wk, tw, EventTime, tw.st.EventTimer)
		tw.st.EventTimer, tw.st.HasEventTimer = 0, false
	}
	if tw.st.HasProcessingTimer {
		o.setTimer(wk, tw, ProcessingTime, tw.st.ProcessingTimer)
		tw.st.ProcessingTimer, tw.st.HasProcessingTimer = 0, false
	}
}

// apply carries out a trigger's decision and the timers it asked for.
func (o *TriggerWindow[T, K, A, R]) apply(wk winKey[K], tw *trigWindow[T], r window.TriggerResult) {
	o.setAsked(wk, tw)
	if r.Fires() {
		o.evaluate(wk, tw)
	}
	if r.Purges() {
		clear(tw.elems)
		tw.elems = tw.elems[:0]
	}
}

// evaluate runs the function over the window's elements, between the
// evictors.
func (o *TriggerWindow[T, K, A, R]) evaluate(wk winKey[K], tw *trigWindow[T]) {
	if o.before != nil {
		evict(tw, o.before)
	}
	if len(tw.elems) == 0 {
		return
	}
	acc := o.spec.Agg.first(tw.elems[0].V)
	for _, e := range tw.elems[1:] {
		acc = o.spec.Agg.Add(acc, e.V)
	}
	ts := wk.win.MaxTimestamp()
	if o.global {
		ts = tw.elems[len(tw.elems)-1].Ts
	}
	o.em.at(ts)
	o.spec.Fire(wk.key, wk.win, acc, o.em.emit)
	if o.after != nil {
		evict(tw, o.after)
	}
}

// evict keeps what ev keeps of tw's elements, at the start of tw's buffer:
// an evictor that keeps the last n returns the end of the buffer, and
// appending there would soon reallocate.
func evict[T any](tw *trigWindow[T], ev window.Evictor[T]) {
	kept := ev(tw.elems)
	if len(kept) > cap(tw.elems) {
		tw.elems = kept
		return
	}
	n := len(tw.elems)
	tw.elems = tw.elems[:len(kept)]
	copy(tw.elems, kept)
	if n > len(kept) {
		clear(tw.elems[len(kept):n]) // the evicted, for the collector
	}
}

// fire runs the timers of domain d due by upTo.
func (o *TriggerWindow[T, K, A, R]) fire(d TimeDomain, upTo int64) error {
	now := o.now()
	for {
		it, ok := o.timers[d].pop(upTo)
		if !ok {
			break
		}
		var tw *trigWindow[T]
		i := -1
		if o.merging != nil {
			tw, i = o.session(it.key)
		} else {
			tw = o.wins[it.key]
		}
		if tw == nil {
			continue // (never: a window's timers go with it)
		}
		if j := slices.Index(tw.timers, trigTimer{d, it.at}); j >= 0 {
			tw.timers = slices.Delete(tw.timers, j, j+1)
		}
		o.touch(it.key, tw)
		tw.st.Watermark, tw.st.Now = o.wm, now
		o.apply(it.key, tw, o.trigger.OnTime(d == EventTime, it.at, &tw.st))
		if !o.global && d == o.domain() && it.at >= o.cleanupTime(it.key.win) {
			o.clearTimers(it.key, tw)
			if o.merging != nil {
				ss := slices.Delete(o.sessions[it.key.key], i, i+1)
				if len(ss) == 0 {
					delete(o.sessions, it.key.key)
					o.lists = append(o.lists, ss)
				} else {
					o.sessions[it.key.key] = ss
				}
			} else {
				delete(o.wins, it.key)
			}
			o.release(tw)
		}
	}
	return o.flush()
}

func (o *TriggerWindow[T, K, A, R]) flush() error {
	if o.late != nil {
		if err := o.late.flush(); err != nil {
			return err
		}
	}
	return o.em.flush()
}

// Watermark implements Input.
func (o *TriggerWindow[T, K, A, R]) Watermark(wm int64) error {
	o.wm = wm
	if err := o.fire(EventTime, wm); err != nil {
		return err
	}
	return o.out.Watermark(wm)
}

// Idle implements Input.
func (o *TriggerWindow[T, K, A, R]) Idle(idle bool) error { return o.out.Idle(idle) }

// Finish implements Input.
func (o *TriggerWindow[T, K, A, R]) Finish() error {
	if err := o.flush(); err != nil {
		return err
	}
	return o.out.Finish()
}

func (o *TriggerWindow[T, K, A, R]) nextTimer() int64 { return o.timers[ProcessingTime].next() }

func (o *TriggerWindow[T, K, A, R]) onTimer(now int64) error { return o.fire(ProcessingTime, now) }

// timerCount and windowCount count the timers set and the windows open,
// for tests.
func (o *TriggerWindow[T, K, A, R]) timerCount() int {
	return o.timers[EventTime].tree.Len() + o.timers[ProcessingTime].tree.Len()
}

func (o *TriggerWindow[T, K, A, R]) windowCount() int {
	n := len(o.wins)
	for _, ss := range o.sessions {
		n += len(ss)
	}
	return n
}

// trigRec is a window as checkpoints keep it: its trigger state (whatever
// the trigger keeps there: counts, the last element, its next firing), its
// buffered elements, and its timers with the order they were set in.
type trigRec[T any] struct {
	St     window.TriggerState[T]
	Elems  []window.Stamped[T]
	Timers []trigTimerRec
}

type trigTimerRec struct {
	Domain uint8
	At     int64
	Seq    uint64
}

const trigTag = 't'

// windowSuffix is a window's bounds, after the key in its store key.
func windowSuffix(dst []byte, w window.Window) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(w.Start)^1<<63)
	return binary.BigEndian.AppendUint64(dst, uint64(w.End)^1<<63)
}

// Snapshot implements Snapshotter: one entry per window changed since the
// last snapshot (every window when w.Full), and event time as operator
// state. A trigger keeps its state in window.TriggerState, which is
// checkpointed with the window; a trigger object is the user's code and
// is not.
func (o *TriggerWindow[T, K, A, R]) Snapshot(w *StateWriter) error {
	if w.Full() {
		for wk, tw := range o.wins {
			o.snapshotWindow(w, wk, tw)
		}
		for k, ss := range o.sessions {
			for _, tw := range ss {
				o.snapshotWindow(w, winKey[K]{k, tw.st.Window}, tw)
			}
		}
	} else {
		for _, wk := range o.dirty {
			if tw := o.lookup(wk); tw != nil {
				o.snapshotWindow(w, wk, tw)
			} else {
				o.snap.del(w, trigTag, wk.key, windowSuffix(o.snap.scratchKey[:0], wk.win))
			}
		}
	}
	for _, wk := range o.dirty {
		if tw := o.lookup(wk); tw != nil {
			tw.dirty = false
		}
	}
	clear(o.dirty)
	o.dirty = o.dirty[:0]
	snapshotTime(w, "wm", o.wm)
	return nil
}

// lookup is window wk, or nil.
func (o *TriggerWindow[T, K, A, R]) lookup(wk winKey[K]) *trigWindow[T] {
	if o.merging != nil {
		tw, _ := o.session(wk)
		return tw
	}
	return o.wins[wk]
}

func (o *TriggerWindow[T, K, A, R]) snapshotWindow(w *StateWriter, wk winKey[K], tw *trigWindow[T]) {
	r := &o.snap.scratch
	r.St, r.Elems, r.Timers = tw.st, tw.elems, r.Timers[:0]
	for _, t := range tw.timers {
		seq := o.timers[t.d].set_[timerKey[winKey[K]]{wk, t.at}]
		r.Timers = append(r.Timers, trigTimerRec{Domain: uint8(t.d), At: t.at, Seq: seq})
	}
	o.snap.scratchKey = windowSuffix(o.snap.scratchKey[:0], wk.win)
	o.snap.set(w, trigTag, wk.key, o.snap.scratchKey, *r)
	r.St, r.Elems = window.TriggerState[T]{}, nil
}

// Restore implements Snapshotter: it rebuilds the windows of the key
// groups the subtask owns, and their timers in both clocks, in the order
// they were set.
func (o *TriggerWindow[T, K, A, R]) Restore(r *StateReader) error {
	if wm, ok, err := restoreTime(r, "wm"); err != nil {
		return err
	} else if ok {
		o.wm = wm
	}
	var timers [2][]restoredTimer[K, T]
	err := r.Keyed(func(kg int, key, val []byte) error {
		tag, k, suffix, rec, err := o.snap.decode(kg, key, val)
		if err != nil {
			return err
		}
		wk := winKey[K]{k, rec.St.Window}
		if tag != trigTag || string(suffix) != string(windowSuffix(nil, wk.win)) {
			return fmt.Errorf("braid: window with a trigger: a bad state entry for key %v", k)
		}
		tw := &trigWindow[T]{elems: rec.Elems, st: rec.St}
		if o.merging != nil {
			o.sessions[k] = append(o.sessions[k], tw)
		} else {
			if o.wins[wk] != nil {
				return fmt.Errorf("braid: window with a trigger: window %v of key %v restored twice", wk.win, k)
			}
			o.wins[wk] = tw
		}
		for _, t := range rec.Timers {
			if t.Domain > uint8(ProcessingTime) {
				return fmt.Errorf("braid: window with a trigger: a timer in clock %d", t.Domain)
			}
			d := TimeDomain(t.Domain)
			tw.timers = append(tw.timers, trigTimer{d, t.At})
			timers[d] = append(timers[d], restoredTimer[K, T]{wk, t.At, t.Seq, tw})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k, ss := range o.sessions {
		slices.SortFunc(ss, func(a, b *trigWindow[T]) int { return cmp.Compare(a.st.Window.Start, b.st.Window.Start) })
		for i := 1; i < len(ss); i++ {
			if ss[i].st.Window.Start < ss[i-1].st.Window.End {
				return fmt.Errorf("braid: window with a trigger: sessions %v and %v of key %v overlap", ss[i-1].st.Window, ss[i].st.Window, k)
			}
		}
	}
	for d, ts := range timers {
		o.restoreTimers(o.timers[d], ts)
	}
	return nil
}

type restoredTimer[K comparable, T any] struct {
	wk  winKey[K]
	at  int64
	seq uint64
	tw  *trigWindow[T]
}

// restoreTimers sets the timers of q with the numbers they had when set,
// so that timers due at the same time come in the order they were set,
// and timers set later after them. Timers of several old subtasks (after
// a change of parallelism) may share a number: they are numbered anew, in
// the same order, and their windows are written whole by the next
// snapshot, so that the store does not mix the old numbers and the new.
func (o *TriggerWindow[T, K, A, R]) restoreTimers(q *timerQueue[winKey[K]], ts []restoredTimer[K, T]) {
	slices.SortFunc(ts, func(a, b restoredTimer[K, T]) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
	})
	renumber := false
	for i := range ts {
		q.seq = max(q.seq, ts[i].seq)
		if i > 0 && ts[i].at == ts[i-1].at && ts[i].seq == ts[i-1].seq {
			renumber = true
		}
	}
	for _, t := range ts {
		seq := t.seq
		if renumber {
			q.seq++
			seq = q.seq
			o.touch(t.wk, t.tw)
		}
		q.set_[timerKey[winKey[K]]{t.wk, t.at}] = seq
		q.tree.ReplaceOrInsert(timerItem[winKey[K]]{t.at, seq, t.wk})
	}
}
