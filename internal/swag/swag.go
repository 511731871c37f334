// Package swag is sliding-window aggregation over a FIFO queue: entries go
// in at the new end, leave from the old end, and the combination of all
// entries, oldest to newest, is available at any time.
//
// The combine function need only be associative: it may be
// non-commutative (concatenation, first/last) and need not have an inverse
// (max, min), so an entry's contribution cannot be subtracted when it
// leaves. Queue uses the "two stacks" technique (Tangwongsan, Hirzel and
// Schneider, "In-Order Sliding-Window Aggregation in Worst-Case Constant
// Time", VLDB Journal 2021, describe it with its worst-case relatives) to
// give amortized O(1) combines per push, pop and query.
//
// Braid's sliding windows use it to combine per-slice partial aggregates
// into window results: a 1-hour window sliding every second keeps 3600
// slices, and each second pushes one slice, pops one, and asks for the
// aggregate, instead of combining 3600 values.
//
// The package starts no goroutines and does no I/O; a Queue is not safe for
// concurrent use.
package swag

import "fmt"

// Queue aggregates a FIFO of values of type A, each tagged with an int64 id
// (a slice index, say), under an associative combine.
//
// It keeps two stacks in two slices. The back stack holds the newest
// entries, oldest first, each beside the combine of the back stack up to
// itself (a prefix aggregate). The front stack holds the oldest entries,
// oldest first, each beside the combine of itself and every newer front
// entry (a suffix aggregate). Then
//
//	entries   a b c d | e f g          Aggregate = front suffix at a
//	          front   | back                       ⊕ back prefix at g
//	suffix    abcd bcd cd d
//	prefix                e ef efg
//
// Popping drops the oldest front entry; when the front is empty, the back
// stack becomes the front (a flip) and its suffix aggregates are computed
// once, newest to oldest. Each entry is thus combined once when pushed and
// once when flipped, and each Aggregate combines at most two values:
// amortized O(1) combines per operation, O(n) for the one operation that
// flips. The two slices swap roles at each flip and are reused, so in a
// steady state (window length stable) nothing is allocated.
//
// The zero Queue is not usable; call New.
type Queue[A any] struct {
	combine func(a, b A) A

	// front[head:] are the oldest entries, oldest first, agg holding
	// suffix aggregates; front[:head] are popped and zeroed.
	front []entry[A]
	head  int
	// back are the newest entries, oldest first, agg holding prefix
	// aggregates.
	back []entry[A]

	lastID int64 // the id of the last Push since New or Reset
	pushed bool  // whether lastID is set
}

type entry[A any] struct {
	id  int64
	val A
	agg A
}

// New returns an empty queue combining values with combine(older, newer),
// which must be associative: combine(combine(a, b), c) == combine(a,
// combine(b, c)). Queue calls it only in that order, older value first.
func New[A any](combine func(a, b A) A) *Queue[A] {
	return &Queue[A]{combine: combine}
}

// Push adds a as the newest entry, with the given id. Ids must increase
// strictly over the life of the queue (since New or the last Reset), even
// across entries already popped: Push panics if id is not greater than the
// id of every earlier Push. It costs one combine.
func (q *Queue[A]) Push(id int64, a A) {
	if q.pushed && id <= q.lastID {
		panic(fmt.Sprintf("swag: Push(%d) after Push(%d): ids must increase", id, q.lastID))
	}
	q.lastID, q.pushed = id, true
	agg := a
	if n := len(q.back); n > 0 {
		agg = q.combine(q.back[n-1].agg, a)
	}
	q.back = append(q.back, entry[A]{id: id, val: a, agg: agg})
}

// PopBefore removes every entry whose id is less than id, oldest first. It
// costs O(1) per entry removed plus, at most once per entry's life, the
// combine of flipping it to the front stack; removing every entry costs no
// combine at all.
func (q *Queue[A]) PopBefore(id int64) {
	if q.Len() == 0 {
		return
	}
	if q.newestID() < id {
		q.clear()
		return
	}
	for {
		if q.head == len(q.front) {
			if len(q.back) == 0 {
				return
			}
			q.flip()
		}
		if q.front[q.head].id >= id {
			return
		}
		q.front[q.head] = entry[A]{} // drop references held by A
		q.head++
	}
}

// Len returns the number of entries.
func (q *Queue[A]) Len() int { return len(q.front) - q.head + len(q.back) }

// Aggregate returns the combine of every entry, oldest to newest, and true;
// or the zero A and false when the queue is empty. It costs at most one
// combine.
func (q *Queue[A]) Aggregate() (A, bool) {
	hasFront, hasBack := q.head < len(q.front), len(q.back) > 0
	switch {
	case hasFront && hasBack:
		return q.combine(q.front[q.head].agg, q.back[len(q.back)-1].agg), true
	case hasFront:
		return q.front[q.head].agg, true
	case hasBack:
		return q.back[len(q.back)-1].agg, true
	}
	var zero A
	return zero, false
}

// Update replaces the value of the entry with the given id by f(old value)
// and reports whether there was such an entry. Later aggregates reflect the
// new value. It is meant for the rare late element that changes an old
// slice: it finds the entry in O(log n) and recomputes the partial
// aggregates that include it, O(n) combines at worst.
func (q *Queue[A]) Update(id int64, f func(A) A) bool {
	if i, ok := search(q.front[q.head:], id); ok {
		i += q.head
		q.front[i].val = f(q.front[i].val)
		// Suffix aggregates from i down to head include entry i.
		for j := i; j >= q.head; j-- {
			q.front[j].agg = q.front[j].val
			if j+1 < len(q.front) {
				q.front[j].agg = q.combine(q.front[j].val, q.front[j+1].agg)
			}
		}
		return true
	}
	if i, ok := search(q.back, id); ok {
		q.back[i].val = f(q.back[i].val)
		// Prefix aggregates from i up to the newest include entry i.
		for j := i; j < len(q.back); j++ {
			q.back[j].agg = q.back[j].val
			if j > 0 {
				q.back[j].agg = q.combine(q.back[j-1].agg, q.back[j].val)
			}
		}
		return true
	}
	return false
}

// Insert adds an entry with an id that no entry has, in its place by id,
// even older than entries already there (a late element making a slice
// that had none). An id greater than every earlier one is a Push, O(1);
// any other rebuilds the aggregates, O(n) combines, for the rare path.
// Insert panics if an entry with that id exists.
func (q *Queue[A]) Insert(id int64, a A) {
	if !q.pushed || id > q.lastID {
		q.Push(id, a)
		return
	}
	all := make([]entry[A], 0, q.Len()+1)
	all = append(all, q.front[q.head:]...)
	all = append(all, q.back...)
	i, found := search(all, id)
	if found {
		panic(fmt.Sprintf("swag: Insert(%d): the id is taken", id))
	}
	all = append(all, entry[A]{})
	copy(all[i+1:], all[i:])
	all[i] = entry[A]{id: id, val: a}
	clear(q.front)
	clear(q.back)
	// Everything goes to the front stack, as after a flip.
	q.front, q.back, q.head = all, q.back[:0], 0
	n := len(all)
	all[n-1].agg = all[n-1].val
	for j := n - 2; j >= 0; j-- {
		all[j].agg = q.combine(all[j].val, all[j+1].agg)
	}
}

// Get returns the value of the entry with the given id, and whether there
// is one. It costs O(log n) and no combine.
func (q *Queue[A]) Get(id int64) (A, bool) {
	if i, ok := search(q.front[q.head:], id); ok {
		return q.front[q.head+i].val, true
	}
	if i, ok := search(q.back, id); ok {
		return q.back[i].val, true
	}
	var zero A
	return zero, false
}

// RangeAggregate returns the combine, oldest first, of the entries with lo
// <= id < hi, and true; or the zero A and false when there are none. It
// combines the values one by one, O(log n + entries in range), and is meant
// for rare queries (a window that fires again after a late element), not
// for every window.
func (q *Queue[A]) RangeAggregate(lo, hi int64) (A, bool) {
	var acc A
	found := false
	for _, es := range [2][]entry[A]{q.front[q.head:], q.back} {
		i, _ := search(es, lo)
		for ; i < len(es) && es[i].id < hi; i++ {
			if found {
				acc = q.combine(acc, es[i].val)
			} else {
				acc, found = es[i].val, true
			}
		}
	}
	return acc, found
}

// OldestID returns the id of the oldest entry, and false when the queue is
// empty.
func (q *Queue[A]) OldestID() (int64, bool) {
	switch {
	case q.head < len(q.front):
		return q.front[q.head].id, true
	case len(q.back) > 0:
		return q.back[0].id, true
	}
	return 0, false
}

// Entries calls fn for every entry, oldest first, with its id, its value
// and whether it sits in the front stack (the front entries come first).
// With LastID, it is everything Rebuild needs to make a queue that gives
// the same aggregates, bit for bit, as this one: a checkpoint's view of it.
// fn must not change the queue.
func (q *Queue[A]) Entries(fn func(id int64, val A, front bool)) {
	for _, e := range q.front[q.head:] {
		fn(e.id, e.val, true)
	}
	for _, e := range q.back {
		fn(e.id, e.val, false)
	}
}

// LastID returns the id of the last Push since New or Reset, which may be
// that of an entry popped since, and whether there was one.
func (q *Queue[A]) LastID() (int64, bool) { return q.lastID, q.pushed }

// Rebuild replaces the queue's contents by the entries ids and vals (in
// increasing id order), the first front of them in the front stack and
// the rest in the back stack, and sets the id of the last Push to lastID
// when pushed: the queue is then the one Entries and LastID described, and
// combines its values in the same order, so that its aggregates are equal
// to that queue's even for a combine that is associative only up to
// rounding (floating-point sums). It costs one combine per entry. Rebuild
// panics if the ids do not increase, if front is out of range, or if an
// id is above lastID (or there is an entry and pushed is false).
func (q *Queue[A]) Rebuild(ids []int64, vals []A, front int, lastID int64, pushed bool) {
	if len(ids) != len(vals) || front < 0 || front > len(ids) {
		panic(fmt.Sprintf("swag: Rebuild of %d ids, %d values, %d in front", len(ids), len(vals), front))
	}
	for i, id := range ids {
		if i > 0 && id <= ids[i-1] || !pushed || id > lastID {
			panic(fmt.Sprintf("swag: Rebuild: id %d out of order (last id %d, pushed %v)", id, lastID, pushed))
		}
	}
	q.clear()
	for i := range front {
		q.front = append(q.front, entry[A]{id: ids[i], val: vals[i]})
	}
	if n := len(q.front); n > 0 {
		q.front[n-1].agg = q.front[n-1].val
		for j := n - 2; j >= 0; j-- {
			q.front[j].agg = q.combine(q.front[j].val, q.front[j+1].agg)
		}
	}
	q.pushed = false
	for i := front; i < len(ids); i++ {
		q.Push(ids[i], vals[i])
	}
	q.lastID, q.pushed = lastID, pushed
}

// Reset empties the queue and forgets the ids pushed, keeping the memory it
// has allocated.
func (q *Queue[A]) Reset() {
	q.clear()
	q.lastID, q.pushed = 0, false
}

// clear drops every entry, keeping the slices' memory.
func (q *Queue[A]) clear() {
	clear(q.front)
	clear(q.back)
	q.front, q.back, q.head = q.front[:0], q.back[:0], 0
}

func (q *Queue[A]) newestID() int64 {
	if n := len(q.back); n > 0 {
		return q.back[n-1].id
	}
	return q.front[len(q.front)-1].id
}

// flip makes the back stack the front one, computing its suffix
// aggregates, and reuses the emptied front slice as the new back stack. The
// front must be empty.
func (q *Queue[A]) flip() {
	q.front, q.back = q.back, q.front[:0]
	q.head = 0
	n := len(q.front)
	q.front[n-1].agg = q.front[n-1].val
	for i := n - 2; i >= 0; i-- {
		q.front[i].agg = q.combine(q.front[i].val, q.front[i+1].agg)
	}
}

// search returns the index of the first entry with id >= the given id, and
// whether that entry has exactly that id.
func search[A any](es []entry[A], id int64) (int, bool) {
	l, r := 0, len(es)
	for l < r {
		m := int(uint(l+r) >> 1)
		if es[m].id < id {
			l = m + 1
		} else {
			r = m
		}
	}
	return l, l < len(es) && es[l].id == id
}
