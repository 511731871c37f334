package operators

import (
	"cmp"
	"math"
	"reflect"
	"slices"
	"unsafe"

	"github.com/braidstream/braid/internal/swag"
	"github.com/braidstream/braid/window"
)

// pane holds one slice's accumulators, one per key, in arrival order of
// the keys: a table from key to slot and parallel slices of keys and
// accumulators, so adding an element is one table lookup and firing walks
// two slices in a deterministic order.
type pane[K comparable, A any] struct {
	start int64
	width uint64      // the slice is [start, start+width): less than a slice when clipped at math.MinInt64
	tab   keyTable[K] // indexes keys (a restore fills keys alone: see keyTable.sync)
	keys  []K
	accs  []A

	// For checkpoints: keys[:saved] have entries in the store, and bit j
	// of dirty marks slot j < saved changed since the last snapshot.
	// saved stays 0 when checkpoints are off, so nothing is marked.
	saved int32
	dirty []uint64
}

// mark notes that slot j's accumulator changed.
func (p *pane[K, A]) mark(j int32) {
	if j < p.saved {
		p.dirty[j>>6] |= 1 << (j & 63)
	}
}

// reset empties the pane for the slice at start. Buffering functions'
// lists are emptied and kept, to be reused by the keys of the next slice.
func resetPane[T any, K comparable, A any](p *pane[K, A], start int64, agg *Agg[T, A]) {
	p.start = start
	p.saved = 0
	clear(p.dirty)
	p.tab.reset()
	clear(p.keys) // drop references for the collector
	if agg.Empty != nil {
		for i := range p.accs {
			p.accs[i] = agg.Empty(p.accs[i])
		}
	} else {
		clear(p.accs)
	}
	p.keys, p.accs = p.keys[:0], p.accs[:0]
}

// newAcc appends the accumulator of a key's first element to the pane,
// reusing an emptied list when the function buffers.
func newAcc[T any, K comparable, A any](p *pane[K, A], agg *Agg[T, A], v T) {
	if n := len(p.accs); agg.Empty != nil && n < cap(p.accs) {
		p.accs = p.accs[:n+1]
		p.accs[n] = agg.Add(p.accs[n], v)
		return
	}
	p.accs = append(p.accs, agg.first(v))
}

// sliceAcc is one key's accumulator for one sealed slice.
type sliceAcc[A any] struct {
	start int64
	acc   A
}

// slidingKey is one key's sealed slices (those whose first window has
// fired), oldest first.
//
// For incremental functions, q holds the slices from the start of the last
// window fired on, and gives the next window's aggregate in O(1)
// amortized: a window 3600 slices long is neither rebuilt nor rescanned.
// hist holds the older slices that a window within its allowed lateness may
// still need when a late element fires it again (empty without lateness).
// For buffering functions (Apply), entries holds every slice still needed
// and a window gathers its elements from them.
type slidingKey[K comparable, A any] struct {
	key     K
	q       *swag.Queue[A]
	qFrom   int64 // slices before this have left q (for hist, or for good)
	hist    []sliceAcc[A]
	entries []sliceAcc[A]

	// For checkpoints: seq orders the keys as active does (by their
	// arrival); saved says the store has an entry for the key; dirty that
	// it is in the operator's list of keys changed since the last
	// snapshot.
	seq          uint64
	saved, dirty bool
}

func (sk *slidingKey[K, A]) empty() bool {
	if sk.q != nil {
		return sk.q.Len() == 0 && len(sk.hist) == 0
	}
	return len(sk.entries) == 0
}

// findSlice returns the index of the slice at s in es, or where it would go.
func findSlice[A any](es []sliceAcc[A], s int64) (int, bool) {
	return slices.BinarySearchFunc(es, s, func(e sliceAcc[A], s int64) int { return cmp.Compare(e.start, s) })
}

// TimeWindow is the keyed operator for tumbling and sliding time windows,
// in event or processing time. Elements are aggregated once into the slice
// (the gcd of size and slide) that holds them; a tumbling window is a
// single slice; a sliding window combines its slices through a two-stack
// queue per key, so a window 3600 slides long neither touches each element
// 3600 times nor rescans 3600 slices when it fires.
//
// Semantics follow Flink's WindowOperator: a window [start,end) fires when
// the watermark (or processing time) reaches end-1; an element whose every
// window is past end-1+lateness is late (counted, and sent to the late
// output when there is one); an element within the lateness of a window
// that has fired fires that window again at once, with all its elements.
// At the end of input every window still open fires, in processing time
// too.
type TimeWindow[T any, K comparable, A, R any] struct {
	timeDriven[T, R]
	spec                       WindowSpec[T, K, A, R]
	size, slide, offset, slice int64
	tumbling                   bool
	bc                         *BuildContext
	proc                       procTime
	hash                       tableHasher[K] // of the panes' key tables
	counts                     bool           // spec.Agg.Counts, and A is int64: see countRun

	wm        int64   // event time reached: the watermark, or processing time
	firedUpTo int64   // windows ending at or before this have fired; slices before it are sealed
	topFired  bool    // the windows clipped at math.MaxInt64 have fired: every slice is sealed
	gridDone  bool    // the last window of the grid has fired
	next      gridWin // the next window to fire (valid when open or active is not empty)

	open []*pane[K, A] // unsealed slices, by start
	cur  *pane[K, A]
	pool []*pane[K, A]

	fired map[int64]*pane[K, A] // tumbling: fired windows kept for their lateness

	keys   map[K]*slidingKey[K, A] // sliding: per key sealed slices
	active []*slidingKey[K, A]

	gather A

	cp timeSnap[K, A] // checkpoint state: codecs and change tracking
}

// NewTimeWindow builds the operator for one subtask.
func NewTimeWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], bc *BuildContext, out Input[R], late Input[T]) *TimeWindow[T, K, A, R] {
	a := spec.Assigner.(window.TimeWindows)
	o := &TimeWindow[T, K, A, R]{
		spec: spec, size: int64(a.Size), slide: int64(a.Slide), offset: int64(a.Offset), slice: a.SliceSize(),
		tumbling: a.IsTumbling(), bc: bc, hash: newTableHasher(spec.Hash),
		proc: procTime{bc.Clock}, wm: math.MinInt64, firedUpTo: math.MinInt64, next: noWin,
		fired: make(map[int64]*pane[K, A]), keys: make(map[K]*slidingKey[K, A]),
		counts: spec.Agg.Counts && reflect.TypeFor[A]() == reflect.TypeFor[int64](),
	}
	o.timeDriven = newTimeDriven(out, late, spec.EventTime, o.advance)
	if !spec.EventTime {
		o.wm = o.proc.now()
		bc.AddTimed(o)
	} else {
		// A window that ends at math.MinInt64+1 (max timestamp
		// math.MinInt64) is late before any watermark, as in Flink.
		o.firedUpTo = window.StartOf(math.MinInt64+1, o.endOffset(), o.slide)
	}
	if bc.Checkpointing() {
		if o.cp.init(bc, spec.Hash); o.cp.err != nil {
			// The job refuses to start with checkpoints, naming the
			// operator and the type, before anything runs.
			uncodable(bc, "time window "+a.String(), o.cp.err)
		}
		bc.AddSnapshotter(o)
	}
	return o
}

// endOffset aligns window ends: they lie at endOffset modulo slide.
func (o *TimeWindow[T, K, A, R]) endOffset() int64 { return (o.offset + o.size) % o.slide }

// A gridWin is one window of the operator's grid. Near the ends of the
// int64 range its bounds are clipped as window.Assign clips them (Start at
// math.MinInt64, End at math.MaxInt64); lo and hi say so, and keep stepping
// from one window to the next exact. No window is clipped at both ends: that
// would take a size above 2^64.
type gridWin struct {
	w      window.Window
	lo, hi bool // the true start lies below math.MinInt64, the true end above math.MaxInt64
}

// noWin is the "no window pending" value: after every other window.
var noWin = gridWin{w: window.Window{Start: math.MaxInt64, End: math.MaxInt64}, hi: true}

// before reports whether window a ends before b (a fires first): by end, or
// by start among the windows clipped at the top, which share their end.
func (a gridWin) before(b gridWin) bool {
	if a.hi != b.hi {
		return b.hi
	}
	if a.hi {
		return a.w.Start < b.w.Start
	}
	return a.w.End < b.w.End
}

func earlier(a, b gridWin) gridWin {
	if b.before(a) {
		return b
	}
	return a
}

// span makes the window that ends up after s (0 < up, and size-up >= 0),
// clipping its bounds.
func (o *TimeWindow[T, K, A, R]) span(s, up int64) gridWin {
	var g gridWin
	if s > math.MaxInt64-up {
		g.w.End, g.hi = math.MaxInt64, true
	} else {
		g.w.End = s + up
	}
	if back := o.size - up; s < math.MinInt64+back {
		g.w.Start, g.lo = math.MinInt64, true
	} else {
		g.w.Start = s - back
	}
	return g
}

// firstWin is the first window that holds the slice at s: the one whose end
// is the first on the grid after s.
func (o *TimeWindow[T, K, A, R]) firstWin(s int64) gridWin {
	return o.span(s, o.slide-window.SinceStart(s, o.endOffset(), o.slide))
}

// nextWin is the window after g on the grid; ok is false when there is none
// (g is the last one, clipped at the top, with the last start int64 holds).
func (o *TimeWindow[T, K, A, R]) nextWin(g gridWin) (next gridWin, ok bool) {
	if g.hi {
		if g.w.Start > math.MaxInt64-o.slide {
			return gridWin{}, false
		}
		return gridWin{w: window.Window{Start: g.w.Start + o.slide, End: math.MaxInt64}, hi: true}, true
	}
	// g's End is exact: the next window ends one slide later.
	return o.span(g.w.End, o.slide), true
}

// lastEnd is the end of the last window that holds the slice at s, clipped
// at math.MaxInt64.
func (o *TimeWindow[T, K, A, R]) lastEnd(s int64) int64 {
	return addTime(s, o.size-window.SinceStart(s, o.offset, o.slide))
}

// lastWin is the last window that holds the slice at s, clipped.
func (o *TimeWindow[T, K, A, R]) lastWin(s int64) window.Window {
	return window.Window{Start: window.StartOf(s, o.offset, o.slide), End: o.lastEnd(s)}
}

// Push implements Input.
func (o *TimeWindow[T, K, A, R]) Push(b *Batch[T]) error {
	var now int64
	if !o.spec.EventTime {
		now = o.proc.now()
		if err := o.advance(now); err != nil {
			return err
		}
	}
	vals, times, keys := b.Values, b.Times, keysOf[T, K](b)
	for i := 0; i < len(vals); {
		t := now
		if o.spec.EventTime {
			t = times[i]
		}
		p := o.cur
		if p == nil || uint64(t-p.start) >= p.width {
			if p = o.paneFor(t); p == nil {
				if err := o.sealed(vals[i], t); err != nil {
					return err
				}
				i++
				continue
			}
			o.cur = p
		}
		// The run of elements in the same slice.
		j := i + 1
		if o.spec.EventTime {
			for j < len(vals) && uint64(times[j]-p.start) < p.width {
				j++
			}
		} else {
			j = len(vals)
		}
		switch {
		case keys == nil:
			o.addRun(p, vals[i:j], nil)
		case o.counts:
			o.countRun(p, keys[i:j])
		default:
			o.addRun(p, vals[i:j], keys[i:j])
		}
		i = j
	}
	return o.flush()
}

// addRun folds a run of elements of one slice into its pane: one table
// lookup per element, with the keys the sender computed when there are.
func (o *TimeWindow[T, K, A, R]) addRun(p *pane[K, A], vals []T, keys []K) {
	key, add, hash := o.spec.Key, o.spec.Agg.Add, o.hash
	p.tab.sync(p.keys, hash)
	accs := p.accs
	saved := p.saved // 0 without checkpoints
	for i := range vals {
		var k K
		if keys != nil {
			k = keys[i]
		} else {
			k = key(vals[i])
		}
		h := hash.of(k)
		j, at := p.tab.find(k, h)
		if j >= 0 {
			accs[j] = add(accs[j], vals[i])
			if j < saved {
				p.dirty[j>>6] |= 1 << (j & 63)
			}
			continue
		}
		p.tab.insert(at, k, h, int32(len(p.keys)))
		p.keys = append(p.keys, k)
		newAcc(p, &o.spec.Agg, vals[i])
		accs = p.accs
	}
}

// countRun is addRun for a count, given the elements' keys: one table
// lookup and an increment per element, without a call of Add and without
// reading the elements themselves.
func (o *TimeWindow[T, K, A, R]) countRun(p *pane[K, A], keys []K) {
	hash := o.hash
	p.tab.sync(p.keys, hash)
	accsp := (*[]int64)(unsafe.Pointer(&p.accs)) // A is int64 (o.counts)
	accs := *accsp
	saved := p.saved // 0 without checkpoints
	for _, k := range keys {
		h := hash.of(k)
		j, at := p.tab.find(k, h)
		if j >= 0 {
			accs[j]++
			if j < saved {
				p.dirty[j>>6] |= 1 << (j & 63)
			}
			continue
		}
		p.tab.insert(at, k, h, int32(len(p.keys)))
		p.keys = append(p.keys, k)
		accs = append(accs, 1)
		*accsp = accs
	}
}

// paneFor returns the open pane of the slice holding t, or nil when that
// slice is sealed (its first window has fired).
func (o *TimeWindow[T, K, A, R]) paneFor(t int64) *pane[K, A] {
	s := window.StartOf(t, o.offset, o.slice)
	if s < o.firedUpTo || o.topFired {
		return nil
	}
	i, found := slices.BinarySearchFunc(o.open, s, func(p *pane[K, A], s int64) int {
		switch {
		case p.start < s:
			return -1
		case p.start > s:
			return 1
		}
		return 0
	})
	if found {
		return o.open[i]
	}
	var p *pane[K, A]
	if n := len(o.pool); n > 0 {
		p, o.pool = o.pool[n-1], o.pool[:n-1]
	} else {
		p = &pane[K, A]{}
	}
	resetPane(p, s, &o.spec.Agg)
	p.width = uint64(o.slice - window.SinceStart(s, o.offset, o.slice))
	o.open = slices.Insert(o.open, i, p)
	o.next = earlier(o.next, o.firstWin(s))
	return p
}

// sealed handles an element for a slice whose first window has fired: it
// is late if every window holding it is past its lateness; otherwise it
// joins the windows still to fire and fires again, at once, those that
// fired already but are within their lateness.
func (o *TimeWindow[T, K, A, R]) sealed(v T, t int64) error {
	s := window.StartOf(t, o.offset, o.slice)
	if window.IsLate(o.lastWin(s), o.spec.Lateness, o.wm) {
		o.lateElement(o.bc, v, t)
		return nil
	}
	k := o.spec.Key(v)
	if o.tumbling {
		p := o.fired[s]
		if p == nil {
			p = &pane[K, A]{}
			resetPane(p, s, &o.spec.Agg)
			o.fired[s] = p
		}
		p.tab.sync(p.keys, o.hash)
		h := o.hash.of(k)
		j, at := p.tab.find(k, h)
		if j >= 0 {
			p.accs[j] = o.spec.Agg.Add(p.accs[j], v)
			p.mark(j)
		} else {
			j = int32(len(p.keys))
			p.tab.insert(at, k, h, j)
			p.keys = append(p.keys, k)
			newAcc(p, &o.spec.Agg, v)
		}
		w := o.lastWin(s)
		o.em.at(w.MaxTimestamp())
		o.spec.Fire(k, w, p.accs[j], o.em.emit)
		return nil
	}
	sk := o.keys[k]
	if sk == nil {
		sk = o.newSlidingKey(k)
	}
	o.cp.touch(sk)
	o.addSealed(sk, s, v)
	for g, ok := o.firstWin(s), true; ok && g.w.Start <= s; g, ok = o.nextWin(g) {
		w := g.w
		if w.MaxTimestamp() > o.wm {
			// Not fired yet: it will see the element when it does.
			o.next = earlier(o.next, g)
			break
		}
		if window.IsLate(w, o.spec.Lateness, o.wm) {
			continue
		}
		if acc, ok := o.naive(sk, w, g.hi); ok {
			o.em.at(w.MaxTimestamp())
			o.spec.Fire(k, w, acc, o.em.emit)
		}
	}
	return nil
}

// addSealed folds v into the key's sealed slice at s, making the slice if
// the key had none there.
func (o *TimeWindow[T, K, A, R]) addSealed(sk *slidingKey[K, A], s int64, v T) {
	add := func(a A) A { return o.spec.Agg.Add(a, v) }
	switch {
	case sk.q == nil:
		if i, found := findSlice(sk.entries, s); found {
			sk.entries[i].acc = add(sk.entries[i].acc)
		} else {
			sk.entries = slices.Insert(sk.entries, i, sliceAcc[A]{s, o.spec.Agg.first(v)})
		}
	case s >= sk.qFrom:
		if !sk.q.Update(s, add) {
			sk.q.Insert(s, o.spec.Agg.first(v))
		}
	default:
		if i, found := findSlice(sk.hist, s); found {
			sk.hist[i].acc = add(sk.hist[i].acc)
		} else {
			sk.hist = slices.Insert(sk.hist, i, sliceAcc[A]{s, o.spec.Agg.first(v)})
		}
	}
}

func (o *TimeWindow[T, K, A, R]) newSlidingKey(k K) *slidingKey[K, A] {
	o.cp.seq++
	sk := &slidingKey[K, A]{key: k, qFrom: math.MinInt64, seq: o.cp.seq}
	if o.spec.Agg.Gather == nil {
		sk.q = swag.New(o.spec.Agg.Merge)
	}
	o.keys[k] = sk
	o.active = append(o.active, sk)
	return sk
}

// naive combines a key's slices in w one by one: the rare path of a window
// that fires again after a late element, and the way buffering functions
// gather a window's elements.
func (o *TimeWindow[T, K, A, R]) naive(sk *slidingKey[K, A], w window.Window, clipped bool) (A, bool) {
	// The window's last slice: a window clipped at math.MaxInt64 holds
	// the slice there too, as window.Assign gives it the elements at
	// math.MaxInt64; one that truly ends there does not.
	last := w.End - 1
	if clipped {
		last = math.MaxInt64
	}
	var acc A
	ok := false
	if sk.q == nil {
		acc = o.spec.Agg.Empty(o.gather)
		i, _ := findSlice(sk.entries, w.Start)
		for ; i < len(sk.entries) && sk.entries[i].start <= last; i++ {
			acc, ok = o.spec.Agg.Gather(acc, sk.entries[i].acc), true
		}
		o.gather = acc
		return acc, ok
	}
	merge := func(a A) {
		if ok {
			acc = o.spec.Agg.Merge(acc, a)
		} else {
			acc, ok = a, true
		}
	}
	i, _ := findSlice(sk.hist, w.Start)
	for ; i < len(sk.hist) && sk.hist[i].start <= last; i++ {
		merge(sk.hist[i].acc)
	}
	if rest, found := sk.q.RangeAggregate(w.Start, w.End); found {
		merge(rest)
	}
	if last == math.MaxInt64 {
		if top, found := sk.q.Get(math.MaxInt64); found {
			merge(top)
		}
	}
	return acc, ok
}

func (o *TimeWindow[T, K, A, R]) nextTimer() int64 {
	if o.gridDone || len(o.open) == 0 && len(o.active) == 0 {
		return math.MaxInt64
	}
	return o.next.w.MaxTimestamp()
}

// advance moves event time to wm and fires every window that ends by then.
func (o *TimeWindow[T, K, A, R]) advance(wm int64) error {
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	o.cur = nil
	for !o.gridDone && (len(o.open) > 0 || len(o.active) > 0) {
		if len(o.active) == 0 {
			// Nothing sealed is pending: skip the windows without data.
			o.next = o.firstWin(o.open[0].start)
		}
		if o.next.w.MaxTimestamp() > wm {
			break
		}
		g := o.next
		o.fire(g)
		if g.hi {
			o.topFired, o.firedUpTo = true, math.MaxInt64
		} else {
			o.firedUpTo = g.w.End
		}
		next, ok := o.nextWin(g)
		if !ok {
			// The last window int64 can hold has fired. What the keys
			// still hold is kept for the allowed lateness, until the final
			// watermark.
			o.gridDone, o.next = true, noWin
			break
		}
		o.next = next
	}
	if wm == math.MaxInt64 && o.gridDone {
		for _, p := range o.open {
			o.cp.dropPane(p)
		}
		for _, sk := range o.active {
			o.cp.dropKey(sk)
		}
		o.open, o.active = o.open[:0], o.active[:0]
		clear(o.keys)
	}
	if wm < math.MaxInt64 {
		// Windows without data end here too: later elements for them are
		// late (sealed), not the start of new windows.
		last := window.StartOf(wm+1, o.endOffset(), o.slide)
		if last > o.firedUpTo {
			o.firedUpTo = last
			// The next window to fire is the first to end after wm+1.
			if first := o.firstWin(wm + 1); o.next.before(first) {
				o.next = first
			}
		}
	} else {
		o.firedUpTo, o.topFired = math.MaxInt64, true
	}
	o.expire()
	return o.em.err
}

// fire emits every key's window g.
func (o *TimeWindow[T, K, A, R]) fire(g gridWin) {
	w := g.w
	end := w.End
	o.em.at(w.MaxTimestamp())
	if o.tumbling {
		if len(o.open) == 0 || o.open[0].start != w.Start {
			return
		}
		p := o.open[0]
		o.open = o.open[1:]
		for j, k := range p.keys {
			o.spec.Fire(k, w, p.accs[j], o.em.emit)
		}
		if o.spec.Lateness > 0 && o.spec.EventTime {
			// Its entries in the store stay as they are: a restore tells
			// a fired pane by its start, before firedUpTo.
			o.fired[p.start] = p
		} else {
			o.cp.dropPane(p)
			o.pool = append(o.pool, p)
		}
		return
	}
	// Seal the slices this window completes: those before its end, or all
	// of them for a window clipped at the top.
	for len(o.open) > 0 && (o.open[0].start < end || g.hi) {
		p := o.open[0]
		o.open = o.open[1:]
		for j, k := range p.keys {
			sk := o.keys[k]
			if sk == nil {
				sk = o.newSlidingKey(k)
			}
			if sk.q != nil {
				sk.q.Insert(p.start, p.accs[j])
			} else {
				sk.entries = append(sk.entries, sliceAcc[A]{p.start, p.accs[j]})
			}
		}
		// The accumulators now belong to the keys' slices: the pane must
		// not hand them out again.
		clear(p.accs)
		o.cp.dropPane(p)
		o.pool = append(o.pool, p)
	}
	// Every key's slices change (evicted, sealed, or its qFrom): the next
	// snapshot rewrites every key.
	o.cp.fired = true
	keep := o.active[:0]
	for _, sk := range o.active {
		o.evict(sk, w.Start)
		if sk.empty() {
			o.cp.dropKey(sk)
			delete(o.keys, sk.key)
			continue
		}
		keep = append(keep, sk)
		var acc A
		var ok bool
		if sk.q == nil {
			acc, ok = o.naive(sk, w, g.hi)
		} else {
			acc, ok = sk.q.Aggregate()
		}
		if ok {
			o.spec.Fire(sk.key, w, acc, o.em.emit)
		}
	}
	clear(o.active[len(keep):])
	o.active = keep
}

// evict drops a key's slices that start before from, the start of the
// window about to fire, keeping in hist those a window within its allowed
// lateness may still need.
func (o *TimeWindow[T, K, A, R]) evict(sk *slidingKey[K, A], from int64) {
	// A slice is needed while its last window is within its lateness.
	needed := func(s int64) bool {
		return !window.IsLate(o.lastWin(s), o.spec.Lateness, o.wm)
	}
	if sk.q == nil {
		drop := 0
		for drop < len(sk.entries) && sk.entries[drop].start < from && !needed(sk.entries[drop].start) {
			drop++
		}
		// Reslice rather than move: append reallocates when the array
		// fills, copying only what is live, so dropping is O(1) amortized
		// and the array at most twice what is live.
		clear(sk.entries[:drop])
		sk.entries = sk.entries[drop:]
		return
	}
	if o.spec.Lateness > 0 {
		for {
			id, ok := sk.q.OldestID()
			if !ok || id >= from {
				break
			}
			if needed(id) {
				acc, _ := sk.q.Get(id)
				sk.hist = append(sk.hist, sliceAcc[A]{id, acc})
			}
			sk.q.PopBefore(id + 1)
		}
		drop := 0
		for drop < len(sk.hist) && !needed(sk.hist[drop].start) {
			drop++
		}
		clear(sk.hist[:drop])
		sk.hist = sk.hist[drop:]
	} else {
		sk.q.PopBefore(from)
	}
	sk.qFrom = max(sk.qFrom, from)
}

// expire drops fired tumbling windows whose lateness has passed.
func (o *TimeWindow[T, K, A, R]) expire() {
	for s, p := range o.fired {
		if window.IsLate(o.lastWin(s), o.spec.Lateness, o.wm) {
			delete(o.fired, s)
			o.cp.dropPane(p)
			o.pool = append(o.pool, p)
		}
	}
}
