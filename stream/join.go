package stream

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/braidstream/braid/internal/errs"
	"github.com/braidstream/braid/operators"
	"github.com/braidstream/braid/window"
)

// Window joins and co-groups are, as in Flink, a window over the union of
// both streams: each element is tagged with its side and keyed by its
// stream's key, and one window operator holds both sides per key and
// window. The window operator is the keyed stream's (operators.TimeWindow,
// operators.SessionWindow), so lateness, late elements and the end of
// input follow its rules (see WindowedStream), with one addition for Join:
// each pair comes out once per window, never again when the window fires
// again (see JoinWithLateness).

// tagged is an element of either side of a join, on the way to the window
// that groups both sides by key. mark serves Join (see joinWindow and
// joinSession): in time windows with allowed lateness, the order in which
// the window's subtask took the element; in sessions, the last firing
// that saw it.
type tagged[A, B any] struct {
	isB  bool
	a    A
	b    B
	mark uint64
}

// coState is one window subtask's bookkeeping for a join or co-group, and
// buffers reused from one firing to the next.
//
// With checkpoints, seq and firings are state: the marks they give sit in
// the window operator's checkpointed elements, and a restored subtask must
// go on giving marks above all of those (a late element's mark must be the
// greatest of its window's, a firing's must differ from every earlier
// one's), or a re-firing would emit old pairs again and miss new ones.
// Both are subtask counters, not per key, so they are operator state; a
// restore takes the greatest of every old subtask's, which is above every
// mark in the windows the subtask takes over, whatever the parallelism
// was.
type coState[A, B any] struct {
	seq     uint64 // elements taken (time windows with lateness)
	inPush  bool   // in the window operator's Push: a firing is a late one
	firings uint64 // firings so far (sessions)
	as      []A
	bs      []B
	ia, ib  []int
	// saved is seq and firings as last snapshot, valid when wrote.
	saved [2]uint64
	wrote bool
}

// coMarks names the operator state of a join's mark counters.
const coMarks = "join marks"

// Snapshot writes the counters when they changed since the last snapshot.
func (st *coState[A, B]) Snapshot(w *operators.StateWriter) error {
	now := [2]uint64{st.seq, st.firings}
	if w.Full() || !st.wrote || now != st.saved {
		w.SetOperator(coMarks, binary.AppendUvarint(binary.AppendUvarint(nil, now[0]), now[1]))
		st.saved, st.wrote = now, true
	}
	return nil
}

// Restore takes the greatest counters of every old subtask.
func (st *coState[A, B]) Restore(r *operators.StateReader) error {
	all, err := r.OperatorAll(coMarks)
	if err != nil {
		return err
	}
	for _, v := range all {
		seq, n := binary.Uvarint(v)
		if n <= 0 {
			return fmt.Errorf("braid: join: its marks in the checkpoint do not decode (%x)", v)
		}
		firings, m := binary.Uvarint(v[n:])
		if m <= 0 || n+m != len(v) {
			return fmt.Errorf("braid: join: its marks in the checkpoint do not decode (%x)", v)
		}
		st.seq, st.firings = max(st.seq, seq), max(st.firings, firings)
	}
	st.wrote = false // the store need not hold this subtask's own
	return nil
}

// coInput is the input of a time window with allowed lateness: it notes
// when the window operator is in Push, where it fires a window only again,
// for an element that joins it late.
type coInput[A, B any] struct {
	operators.Input[tagged[A, B]]
	st *coState[A, B]
}

func (c coInput[A, B]) Push(b *operators.Batch[tagged[A, B]]) error {
	c.st.inPush = true
	err := c.Input.Push(b)
	c.st.inPush = false
	return err
}

// lateSplit sends the window's late elements to the late output of their
// side.
type lateSplit[A, B any] struct {
	a  operators.Input[A]
	b  operators.Input[B]
	ba operators.Batch[A]
	bb operators.Batch[B]
}

func (l *lateSplit[A, B]) Push(b *operators.Batch[tagged[A, B]]) error {
	l.ba.Values, l.ba.Times = l.ba.Values[:0], l.ba.Times[:0]
	l.bb.Values, l.bb.Times = l.bb.Values[:0], l.bb.Times[:0]
	for i, t := range b.Values {
		var ts int64
		if b.Times != nil {
			ts = b.Times[i]
		}
		if t.isB {
			l.bb.Values, l.bb.Times = append(l.bb.Values, t.b), append(l.bb.Times, ts)
		} else {
			l.ba.Values, l.ba.Times = append(l.ba.Values, t.a), append(l.ba.Times, ts)
		}
	}
	var err error
	if len(l.ba.Values) > 0 {
		err = l.a.Push(&l.ba)
	}
	if len(l.bb.Values) > 0 && err == nil {
		err = l.b.Push(&l.bb)
	}
	clear(l.ba.Values)
	clear(l.bb.Values)
	return err
}

// Watermarks, idleness and the end of input reach the late outputs from
// the runtime, with the window's main output (the window operator passes
// only data to its late output).
func (l *lateSplit[A, B]) Watermark(int64) error { return nil }
func (l *lateSplit[A, B]) Idle(bool) error       { return nil }
func (l *lateSplit[A, B]) Finish() error         { return nil }

// coFire is what a join or co-group does when a window fires, given the
// subtask's state and whether the windows are sessions.
type coFire[K comparable, A, B, R any] func(st *coState[A, B], sessions bool, key K, w window.Window, elems []tagged[A, B], emit func(R))

// coWindow builds the window operator of a join or co-group over a and b:
// it returns its output and the late elements of each side.
func coWindow[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner window.Assigner, lateness time.Duration,
	name string, fire coFire[K, A, B, R]) (*Stream[R], *Stream[A], *Stream[B]) {
	env := a.s.env
	_, sessions := assigner.(window.SessionWindows)
	if _, ok := assigner.(window.TimeWindows); !ok && !sessions {
		env.fail(fmt.Errorf("braid: %s needs time or session windows, not %v", name, assigner))
	} else if err := assigner.Validate(); err != nil {
		env.fail(errs.Wrapf(err, "braid: %s of %q and %q", name, a.s.node.Name, b.s.node.Name))
	}
	eventTime := a.s.eventTime
	switch {
	case b.s.env != env:
		env.fail(fmt.Errorf("braid: %s: stream %q belongs to another Env", name, b.s.node.Name))
	case a.s.eventTime != b.s.eventTime:
		env.fail(fmt.Errorf("braid: %s of %q and %q: one has event timestamps and the other not: give both WithTimestamps, or neither", name, a.s.node.Name, b.s.node.Name))
	case lateness < 0:
		env.fail(fmt.Errorf("braid: %s: allowed lateness must not be negative, got %v", name, lateness))
	case lateness > 0 && !eventTime:
		env.fail(fmt.Errorf("braid: %s of %q and %q: allowed lateness needs event timestamps (WithTimestamps)", name, a.s.node.Name, b.s.node.Name))
	}
	// The tags run where their inputs do, chained: the elements cross one
	// task boundary, the keyed exchange into the window.
	ta := Map(a.s, func(v A) tagged[A, B] { return tagged[A, B]{a: v} }).Name(name + " left")
	tb := Map(b.s, func(v B) tagged[A, B] { return tagged[A, B]{isB: true, b: v} }).Name(name + " right")
	// The tags run in their inputs' subtasks, chained to them.
	ta.node.InheritParallelism, tb.node.InheritParallelism = true, true
	keyA, keyB := a.key, b.key
	key := func(t tagged[A, B]) K {
		if t.isB {
			return keyB(t.b)
		}
		return keyA(t.a)
	}
	hash := a.hash
	n := operators.NewOpNode[R](name+" "+assigner.String(), nil)
	lateA := operators.NewSideNode[A]("late left of "+n.Name, n)
	lateB := operators.NewSideNode[B]("late right of "+n.Name, n)
	// Time windows without allowed lateness never fire a window twice:
	// only with lateness do elements need their order.
	ordered := !sessions && lateness > 0
	n.SetBuild(func(bc *operators.BuildContext, out any) ([]any, error) {
		st := &coState[A, B]{}
		if ordered || sessions {
			// Registered before the window operator: see coState.
			bc.AddSnapshotter(st)
		}
		agg := operators.Agg[tagged[A, B], []tagged[A, B]]{
			First:  func(v tagged[A, B]) []tagged[A, B] { return []tagged[A, B]{v} },
			Add:    func(acc []tagged[A, B], v tagged[A, B]) []tagged[A, B] { return append(acc, v) },
			Merge:  func(older, newer []tagged[A, B]) []tagged[A, B] { return append(older, newer...) },
			Gather: func(dst, src []tagged[A, B]) []tagged[A, B] { return append(dst, src...) },
			Empty:  func(acc []tagged[A, B]) []tagged[A, B] { return acc[:0] },
		}
		if ordered {
			agg.First = func(v tagged[A, B]) []tagged[A, B] {
				st.seq++
				v.mark = st.seq
				return []tagged[A, B]{v}
			}
			agg.Add = func(acc []tagged[A, B], v tagged[A, B]) []tagged[A, B] {
				st.seq++
				v.mark = st.seq
				return append(acc, v)
			}
		}
		spec := operators.WindowSpec[tagged[A, B], K, []tagged[A, B], R]{
			Key: key, Hash: hash, Assigner: assigner, EventTime: eventTime, Lateness: int64(lateness), Agg: agg,
			Fire: func(k K, w window.Window, elems []tagged[A, B], emit func(R)) { fire(st, sessions, k, w, elems, emit) },
		}
		o := out.(operators.Input[R])
		late := &lateSplit[A, B]{a: bc.Side(0).(operators.Input[A]), b: bc.Side(1).(operators.Input[B])}
		if sessions {
			return []any{operators.NewSessionWindow(spec, bc, o, late)}, nil
		}
		op := operators.NewTimeWindow(spec, bc, o, late)
		if ordered {
			return []any{coInput[A, B]{op, st}}, nil
		}
		return []any{op}, nil
	})
	// Both sides go into the window's one input: a union, keyed. The
	// window's subtasks take each side from its subtasks directly, in the
	// order and with the watermarks they send.
	n.Inputs = []operators.Edge{
		{From: ta.node, Partition: operators.KeyBy(key, hash)},
		{From: tb.node, Partition: operators.KeyBy(key, hash)},
	}
	env.add(n)
	env.add(lateA)
	env.add(lateB)
	// Results of time windows carry the window's max timestamp.
	return newStream[R](env, n, eventTime), newStream[A](env, lateA, eventTime), newStream[B](env, lateB, eventTime)
}

// split puts the window's elements of each side in the state's buffers.
func (st *coState[A, B]) split(elems []tagged[A, B]) {
	for i := range elems {
		if elems[i].isB {
			st.bs = append(st.bs, elems[i].b)
		} else {
			st.as = append(st.as, elems[i].a)
		}
	}
}

func (st *coState[A, B]) release() {
	clear(st.as)
	clear(st.bs)
	st.as, st.bs = st.as[:0], st.bs[:0]
}

// CoGroup groups two keyed streams by key and window and calls f once per
// key and window with the elements of each side (one side may be empty:
// the tool for outer joins). The slices are valid only during the call.
// Windows fire as a WindowedStream's (see there): the results of time
// windows carry the window's max timestamp; an element behind the
// watermark is late. Both streams must carry event timestamps, or neither.
// CoGroupWithLateness adds allowed lateness and the late elements.
func CoGroup[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner window.Assigner,
	f func(key K, w window.Window, as []A, bs []B, emit func(R))) *Stream[R] {
	out, _, _ := CoGroupWithLateness(a, b, assigner, 0, f)
	return out
}

// CoGroupWithLateness is CoGroup with allowed lateness, as Flink's
// coGroup(..).window(..).allowedLateness(lateness), and the late elements
// of each side as streams, as IntervalJoin gives them. In event time a
// window is kept for lateness after it fires: an element behind the
// watermark that belongs to a window within its lateness joins it, and
// the window fires again at once, f seeing all of its elements (as in
// Flink, and as Apply: f tells firings apart by what it is given). An
// element is late when each of its windows has max timestamp + lateness at
// or before the watermark (for sessions, its session as merged): it is
// counted (Metrics.LateRecords) and goes,
// with its timestamp, to lateA or lateB, which nothing need read. Lateness 0 is
// CoGroup; a positive lateness needs event timestamps, a negative one is
// refused.
func CoGroupWithLateness[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner window.Assigner, lateness time.Duration,
	f func(key K, w window.Window, as []A, bs []B, emit func(R))) (grouped *Stream[R], lateA *Stream[A], lateB *Stream[B]) {
	return coWindow(a, b, assigner, lateness, "cogroup", func(st *coState[A, B], _ bool, k K, w window.Window, elems []tagged[A, B], emit func(R)) {
		st.split(elems)
		f(k, w, st.as, st.bs, emit)
		st.release()
	})
}

// Join is the inner window join of two keyed streams: for each key and
// window, f of every pair of an element of a and an element of b in it,
// as Flink's a.join(b).where(..).equalTo(..).window(..): each pair once
// per window the two share. Keys without elements on both sides give
// nothing. See CoGroup for outer joins, JoinWithLateness for allowed
// lateness and the late elements.
func Join[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner window.Assigner, f func(A, B) R) *Stream[R] {
	out, _, _ := JoinWithLateness(a, b, assigner, 0, f)
	return out
}

// JoinWithLateness is Join with allowed lateness, as Flink's
// join(..).window(..).allowedLateness(lateness), and the late elements of
// each side as streams, as IntervalJoin gives them. In event time a window
// is kept for lateness after it fires: an element behind the watermark
// that belongs to a window within its lateness joins it, and the window
// fires again at once with the pairs that element makes, and only those.
// Flink emits the whole window's join again on such a firing, repeating
// every pair already out; Braid emits each pair exactly once per window
// the two share, so what comes out of a window is the pairs of the
// elements it took, whenever each arrived (and a session that fired and
// then grows by an element within its lateness gives only the pairs it
// gains). Each pair carries the window's max timestamp. An element is late
// when each of its windows has max timestamp + lateness at or before the
// watermark (a window skips it while another still takes it; for sessions,
// its session as merged, as in WindowedStream): it joins
// nothing, is counted (Metrics.LateRecords) and goes, with its timestamp,
// to lateA or lateB, which nothing need read. Lateness 0 is Join; a
// positive lateness needs event timestamps, a negative one is refused.
func JoinWithLateness[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner window.Assigner, lateness time.Duration,
	f func(A, B) R) (joined *Stream[R], lateA *Stream[A], lateB *Stream[B]) {
	return coWindow(a, b, assigner, lateness, "join", func(st *coState[A, B], sessions bool, _ K, _ window.Window, elems []tagged[A, B], emit func(R)) {
		if sessions {
			joinSession(st, elems, f, emit)
		} else {
			joinWindow(st, elems, f, emit)
		}
	})
}

// joinWindow emits a time window's new pairs. A time window fires once
// when the watermark reaches its max timestamp, then again at once (in the
// operator's Push) for each element that joins it later, within its
// lateness, right after taking it: so a firing in Push is for the element
// taken last (the greatest mark), and its pairs are the new ones; any
// other firing is the first, and every pair is new.
func joinWindow[A, B, R any](st *coState[A, B], elems []tagged[A, B], f func(A, B) R, emit func(R)) {
	if st.inPush {
		last := 0
		for i := range elems {
			if elems[i].mark > elems[last].mark {
				last = i
			}
		}
		x := &elems[last]
		for i := range elems {
			switch o := &elems[i]; {
			case o.isB == x.isB:
			case x.isB:
				emit(f(o.a, x.b))
			default:
				emit(f(x.a, o.b))
			}
		}
		return
	}
	st.split(elems)
	for _, x := range st.as {
		for _, y := range st.bs {
			emit(f(x, y))
		}
	}
	st.release()
}

// joinSession emits a session's new pairs. Sessions change as they merge,
// so the elements carry the mark of the last firing that saw them (the
// session operator keeps the list it fires, so marks made here stay): a
// pair is out when both have the same mark. After the firing, all pairs
// of the session are out, and all elements get its mark.
func joinSession[A, B, R any](st *coState[A, B], elems []tagged[A, B], f func(A, B) R, emit func(R)) {
	for i := range elems {
		if elems[i].isB {
			st.ib = append(st.ib, i)
		} else {
			st.ia = append(st.ia, i)
		}
	}
	for _, i := range st.ia {
		x := &elems[i]
		for _, j := range st.ib {
			if y := &elems[j]; x.mark == 0 || x.mark != y.mark {
				emit(f(x.a, y.b))
			}
		}
	}
	st.ia, st.ib = st.ia[:0], st.ib[:0]
	st.firings++
	for i := range elems {
		elems[i].mark = st.firings
	}
}

// An IntervalJoinOption refines IntervalJoin: LowerBoundExclusive,
// UpperBoundExclusive.
type IntervalJoinOption interface{ applyInterval(*intervalConfig) }

type intervalConfig struct {
	lowerExclusive, upperExclusive bool
}

type intervalOpt func(*intervalConfig)

func (f intervalOpt) applyInterval(c *intervalConfig) { f(c) }

// LowerBoundExclusive excludes the lower bound: b joins a only when
// b.ts > a.ts+lower (Flink's lowerBoundExclusive()).
func LowerBoundExclusive() IntervalJoinOption {
	return intervalOpt(func(c *intervalConfig) { c.lowerExclusive = true })
}

// UpperBoundExclusive excludes the upper bound: b joins a only when
// b.ts < a.ts+upper (Flink's upperBoundExclusive()).
func UpperBoundExclusive() IntervalJoinOption {
	return intervalOpt(func(c *intervalConfig) { c.upperExclusive = true })
}

// IntervalJoin joins two keyed streams on event time, as Flink's
// intervalJoin: a of the first stream and b of the second with the same
// key make the pair f(a, b) when a.ts+lower <= b.ts <= a.ts+upper (both
// bounds included unless LowerBoundExclusive or UpperBoundExclusive is
// given; lower may be negative, and lower == upper joins exact offsets).
// Timestamps are whole nanoseconds, so an exclusive bound is the inclusive
// one moved 1ns inwards, as in Flink (in milliseconds there): an interval
// that holds no nanosecond, such as [d, d) or (0, 1ns), is refused when
// the job is built rather than joining nothing. The pair carries the later
// of the two timestamps. Each side is kept per key until the watermark
// passes the last time a partner could arrive, so memory follows the
// interval, not the stream. An element earlier than the watermark is late:
// it joins nothing, is counted, and goes to lateA or lateB (which nothing
// need read). Both streams must carry event timestamps.
func IntervalJoin[K comparable, A, B, R any](a *KeyedStream[K, A], b *KeyedStream[K, B], lower, upper time.Duration,
	f func(A, B) R, opts ...IntervalJoinOption) (joined *Stream[R], lateA *Stream[A], lateB *Stream[B]) {
	env := a.s.env
	var cfg intervalConfig
	for _, o := range opts {
		o.applyInterval(&cfg)
	}
	opening, closing := "[", "]"
	if cfg.lowerExclusive {
		opening = "("
	}
	if cfg.upperExclusive {
		closing = ")"
	}
	interval := fmt.Sprintf("%s%v,%v%s", opening, lower, upper, closing)
	if !a.s.eventTime || !b.s.eventTime {
		env.fail(fmt.Errorf("braid: interval join of %q and %q: both need event timestamps (WithTimestamps)", a.s.node.Name, b.s.node.Name))
	}
	// The inclusive bounds in nanoseconds, without overflow: an exclusive
	// lower bound at the largest duration (or upper at the least) leaves
	// nothing.
	lo, hi := int64(lower), int64(upper)
	empty := false
	if cfg.lowerExclusive {
		empty = empty || lo == math.MaxInt64
		lo++
	}
	if cfg.upperExclusive {
		empty = empty || hi == math.MinInt64
		hi--
	}
	switch {
	case lower > upper:
		env.fail(fmt.Errorf("braid: interval join: lower bound %v is after upper bound %v", lower, upper))
	case empty || lo > hi:
		env.fail(fmt.Errorf("braid: interval join: the interval %s holds no nanosecond, so it would join nothing", interval))
	}
	n := operators.NewOpNode[R]("interval join "+interval, nil)
	sideA := operators.NewSideNode[A]("late left of "+n.Name, n)
	sideB := operators.NewSideNode[B]("late right of "+n.Name, n)
	sideA.Timed, sideB.Timed = true, true
	keyA, keyB := a.key, b.key
	n.SetBuild(func(bc *operators.BuildContext, out any) ([]any, error) {
		j, err := operators.BuildIntervalJoin(keyA, keyB, lo, hi, f, bc, out.(operators.Input[R]),
			bc.Side(0).(operators.Input[A]), bc.Side(1).(operators.Input[B]))
		if err != nil {
			return nil, err
		}
		return j.Inputs(), nil
	})
	n.Inputs = []operators.Edge{a.edge(), b.edge()}
	n.Inputs[1].Input = 1
	env.add(n)
	env.add(sideA)
	env.add(sideB)
	return newStream[R](env, n, true), newStream[A](env, sideA, true), newStream[B](env, sideB, true)
}
