package swag_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/braidstream/braid/internal/swag"
	"github.com/braidstream/braid/internal/testseed"
)

// naive is the dumb twin of swag.Queue: a slice sorted by id, every
// aggregate recomputed from scratch, oldest to newest.
type naive[A any] struct {
	combine func(a, b A) A
	ids     []int64
	vals    []A
}

func (n *naive[A]) push(id int64, a A) { n.ids, n.vals = append(n.ids, id), append(n.vals, a) }

// insert puts id in its place by id; the caller checks it is not there.
func (n *naive[A]) insert(id int64, a A) {
	i, _ := slices.BinarySearch(n.ids, id)
	n.ids, n.vals = slices.Insert(n.ids, i, id), slices.Insert(n.vals, i, a)
}

func (n *naive[A]) popBefore(id int64) {
	i := 0
	for i < len(n.ids) && n.ids[i] < id {
		i++
	}
	n.ids, n.vals = n.ids[i:], n.vals[i:]
}

// aggregate combines every entry. It is not rangeAggregate(MinInt64,
// MaxInt64): that range leaves out an entry at math.MaxInt64.
func (n *naive[A]) aggregate() (A, bool) {
	var acc A
	for i, v := range n.vals {
		if i == 0 {
			acc = v
		} else {
			acc = n.combine(acc, v)
		}
	}
	return acc, len(n.vals) > 0
}

func (n *naive[A]) rangeAggregate(lo, hi int64) (A, bool) {
	var acc A
	found := false
	for i, id := range n.ids {
		if id < lo || id >= hi {
			continue
		}
		if found {
			acc = n.combine(acc, n.vals[i])
		} else {
			acc, found = n.vals[i], true
		}
	}
	return acc, found
}

func (n *naive[A]) index(id int64) int {
	for i, x := range n.ids {
		if x == id {
			return i
		}
	}
	return -1
}

// twin describes one combine to test: how to make values, how to change
// one in Update, and how to compare results.
type twin[A any] struct {
	combine func(a, b A) A
	gen     func(*rand.Rand) A
	change  func(A) A
	equal   func(a, b A) bool
}

// firstLast is associative but not commutative: the first and last of a
// sequence.
type firstLast struct{ first, last int }

// seq stands for a sequence of random tags: how many, and a polynomial
// hash of them in order (h = t1·B^(n-1) + ... + tn, p = B^n, mod 2^64).
// Combining is associative, not commutative, and O(1), so a long history
// costs the twin O(n) a step, where concatenation costs O(n²): an entry
// out of order, missing or counted twice changes the hash.
type seq struct {
	n    int
	h, p uint64
}

const seqBase = 0x9e3779b97f4a7c15 // odd, so p never becomes 0

var (
	// concat is the most telling combine: any entry out of order, missing
	// or counted twice shows in the result.
	concat = twin[string]{
		combine: func(a, b string) string { return a + b },
		gen:     func(r *rand.Rand) string { return string(rune('a' + r.IntN(26))) },
		change:  func(s string) string { return strings.ToUpper(s) + "'" },
		equal:   func(a, b string) bool { return a == b },
	}
	fl = twin[firstLast]{
		combine: func(a, b firstLast) firstLast { return firstLast{a.first, b.last} },
		gen:     func(r *rand.Rand) firstLast { v := r.IntN(1000); return firstLast{v, v} },
		change:  func(x firstLast) firstLast { return firstLast{x.first + 1, x.last - 1} },
		equal:   func(a, b firstLast) bool { return a == b },
	}
	maxInt = twin[int]{
		combine: func(a, b int) int { return max(a, b) },
		gen:     func(r *rand.Rand) int { return r.IntN(1000) - 500 },
		change:  func(x int) int { return x - 300 }, // may lower the maximum: no inverse helps
		equal:   func(a, b int) bool { return a == b },
	}
	seqHash = twin[seq]{
		combine: func(a, b seq) seq { return seq{a.n + b.n, a.h*b.p + b.h, a.p * b.p} },
		gen:     func(r *rand.Rand) seq { return seq{1, r.Uint64(), seqBase} },
		change:  func(x seq) seq { return seq{x.n, x.h*31 + 7, x.p} },
		equal:   func(a, b seq) bool { return a == b },
	}
)

// starts are where the randomized tests put the first id: the middle of
// int64, and its ends, where the time window operator keeps the slices of
// windows clipped at math.MinInt64 and math.MaxInt64.
var starts = []int64{-19, math.MinInt64, math.MinInt64 + 30, math.MaxInt64 - 300, math.MaxInt64 - 40}

// TestQueueNaive runs random operation sequences on a Queue and on its
// naive twin and compares every answer, for a non-commutative combine
// (concatenation, first/last, a sequence hash) and a non-invertible one
// (max), with ids in the middle of int64 and at both of its ends.
func TestQueueNaive(t *testing.T) {
	t.Run("concat", func(t *testing.T) { runRandom(t, concat) })
	t.Run("firstLast", func(t *testing.T) { runRandom(t, fl) })
	t.Run("max", func(t *testing.T) { runRandom(t, maxInt) })
	t.Run("seq", func(t *testing.T) { runRandom(t, seqHash) })
}

func runRandom[A any](t *testing.T, tw twin[A]) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	for range 200 {
		ops := make([]byte, 50+rng.IntN(500))
		for i := range ops {
			ops[i] = byte(rng.Uint32())
		}
		// Bias toward long windows now and then: many pushes first.
		if rng.IntN(4) == 0 {
			for i := range len(ops) / 3 {
				ops[i] &^= 0x0f // op 0: push
			}
		}
		runOps(t, tw, ops, starts[rng.IntN(len(starts))])
	}
}

// add returns a+d, clamped to int64.
func add(a, d int64) int64 {
	switch {
	case d > 0 && a > math.MaxInt64-d:
		return math.MaxInt64
	case d < 0 && a < math.MinInt64-d:
		return math.MinInt64
	}
	return a + d
}

// runOps decodes ops, a byte an operation (a few bytes read ahead for
// arguments), runs them on a Queue and on the naive twin, and fails at the
// first difference. The first push gets id start (or start+1); later ones
// count up from there, and arguments are ids near the newest, clamped to
// int64, so that start near math.MinInt64 or math.MaxInt64 tests the ends.
// Once math.MaxInt64 is pushed, pushes are skipped: ids must increase.
//
//	op%16   operation
//	0-5     Push, the id one or two above the last
//	6-8     PopBefore(id near the newest)
//	9       Update
//	10      Get
//	11      RangeAggregate(lo, lo+k)
//	12      Reset (op 12 only)
//	13      Insert(id near the newest), older than some entries or newer
//	14      an extreme id, by op>>4: Get, PopBefore, Update or
//	        RangeAggregate at math.MinInt64 or math.MaxInt64, or a Push
//	        jumping to the top of int64
//	15      Insert just below the oldest entry (a late slice)
//
// Whatever the bytes, the history is a function of ops and start alone: no
// state outlives a call, and values come from a generator seeded with
// len(ops), so a failing input fails again on replay.
func runOps[A any](t *testing.T, tw twin[A], ops []byte, start int64) {
	t.Helper()
	q := swag.New(tw.combine)
	n := &naive[A]{combine: tw.combine}
	rng := rand.New(rand.NewPCG(uint64(len(ops)), 7)) // values only; ops decide the shape
	// next is the least id the next push may take; full says that
	// math.MaxInt64 was pushed, leaving no id for a push; last is the id
	// of the newest push, as if one came just before start.
	next, full := start, false
	last := func() int64 {
		if full {
			return math.MaxInt64
		}
		return add(next, -1)
	}
	arg := func(i int) int64 { // an id near the queue's contents, from byte i
		if i >= len(ops) {
			return last()
		}
		return add(add(last(), -40), int64(ops[i]%48))
	}
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("start %d, after %s:\n"+format, append([]any{start, strings.Join(log, " ")}, args...)...)
	}
	push := func(id int64) {
		v := tw.gen(rng)
		q.Push(id, v)
		n.push(id, v)
		if id == math.MaxInt64 {
			full = true
		} else {
			next = id + 1
		}
		log = append(log, fmt.Sprintf("push(%d,%v)", id, v))
	}
	insert := func(id int64) {
		if n.index(id) >= 0 {
			func() {
				defer func() {
					if recover() == nil {
						fail("Insert(%d) of an id taken: want a panic", id)
					}
				}()
				q.Insert(id, tw.gen(rng))
			}()
			return
		}
		if !full && id >= next {
			push(id) // Insert of the newest id is a Push
			return
		}
		v := tw.gen(rng)
		q.Insert(id, v)
		n.insert(id, v)
		log = append(log, fmt.Sprintf("insert(%d,%v)", id, v))
	}
	update := func(id int64) {
		ok := q.Update(id, tw.change)
		if j := n.index(id); (j >= 0) != ok {
			fail("Update(%d) = %t, twin has it: %t", id, ok, j >= 0)
		} else if ok {
			n.vals[j] = tw.change(n.vals[j])
		}
		log = append(log, fmt.Sprintf("update(%d)", id))
	}
	get := func(id int64) {
		got, ok := q.Get(id)
		j := n.index(id)
		if ok != (j >= 0) || ok && !tw.equal(got, n.vals[j]) {
			fail("Get(%d) = %v, %t; twin %d", id, got, ok, j)
		}
	}
	pop := func(id int64) {
		q.PopBefore(id)
		n.popBefore(id)
		log = append(log, fmt.Sprintf("pop(<%d)", id))
	}
	rangeAgg := func(lo, hi int64) {
		got, ok := q.RangeAggregate(lo, hi)
		want, wok := n.rangeAggregate(lo, hi)
		if ok != wok || !tw.equal(got, want) {
			fail("RangeAggregate(%d, %d) = %v, %t; want %v, %t", lo, hi, got, ok, want, wok)
		}
	}
	for i, op := range ops {
		switch op % 16 {
		case 0, 1, 2, 3, 4, 5: // push, ids with gaps now and then
			if !full {
				push(add(next, int64(op>>4)%3/2))
			}
		case 6, 7, 8:
			pop(arg(i + 1))
		case 9: // update, present or not
			update(arg(i + 1))
		case 10:
			get(arg(i + 1))
		case 11:
			lo := arg(i + 1)
			rangeAgg(lo, add(lo, int64(ops[min(i+2, len(ops)-1)]%32)))
		case 12: // reset, rarely
			if op>>4 == 0 {
				q.Reset()
				n.ids, n.vals = nil, nil
				log = append(log, "reset")
			}
		case 13:
			insert(arg(i + 1))
		case 14: // the ends of int64, as the time window operator uses them
			switch op >> 4 {
			case 0:
				get(math.MaxInt64)
			case 1:
				get(math.MinInt64)
			case 2:
				pop(math.MaxInt64)
			case 3:
				pop(math.MinInt64)
			case 4:
				update(math.MaxInt64)
			case 5:
				update(math.MinInt64)
			case 6:
				rangeAgg(arg(i+1), math.MaxInt64)
			case 7:
				rangeAgg(math.MinInt64, arg(i+1))
			case 8:
				rangeAgg(math.MinInt64, math.MaxInt64)
			case 9:
				insert(math.MaxInt64)
			case 10:
				insert(math.MinInt64)
			default: // jump to the top of int64
				if !full {
					push(max(next, math.MaxInt64-int64(op>>4-11)))
				}
			}
		case 15: // a late slice: older than the oldest entry
			if len(n.ids) > 0 {
				insert(add(n.ids[0], -1-int64(op>>4)))
			} else {
				insert(arg(i + 1))
			}
		}
		// Every step: size, oldest id, and the aggregate.
		if q.Len() != len(n.ids) {
			fail("Len() = %d, want %d", q.Len(), len(n.ids))
		}
		oldest, ok := q.OldestID()
		if ok != (len(n.ids) > 0) || ok && oldest != n.ids[0] {
			fail("OldestID() = %d, %t; want %v", oldest, ok, n.ids)
		}
		got, ok := q.Aggregate()
		want, wok := n.aggregate()
		if ok != wok || !tw.equal(got, want) {
			fail("Aggregate() = %v, %t; want %v, %t", got, ok, want, wok)
		}
	}
}

// FuzzQueue runs the operations the fuzzer's bytes encode (see runOps),
// from ids at start, on a Queue and on the naive twin, with a sequence
// hash, and with concatenation too for short inputs (readable failures).
//
//	go test ./internal/swag/ -run '^$' -fuzz '^FuzzQueue$' -fuzztime 1m
func FuzzQueue(f *testing.F) {
	f.Add([]byte{0, 0, 0, 6, 40, 10, 40, 9, 41, 11, 30, 20}, int64(-19))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 47, 0, 1, 9, 45, 6, 46, 12, 0, 0, 6, 47}, int64(-19))
	// The top of int64: a window clipped at math.MaxInt64 reads its slice
	// with Get(math.MaxInt64) beside RangeAggregate(start, math.MaxInt64).
	f.Add([]byte{0, 0, 0xbe, 0x0e, 0x6e, 0x10, 0x8e, 0x2e, 0x0e, 0x0d, 40, 0x4e, 0x0f, 0x8e}, int64(math.MaxInt64-3))
	// The bottom: a window clipped at math.MinInt64, and late slices
	// inserted below the oldest until math.MinInt64 is taken.
	f.Add([]byte{0, 0, 0, 0x0f, 0x0f, 0x1e, 0x5e, 0x7e, 0x3e, 0x8e, 0xae, 0x0f, 6, 2, 0x0f, 0x6e, 0}, int64(math.MinInt64+2))
	f.Fuzz(func(t *testing.T, ops []byte, start int64) {
		runOps(t, seqHash, ops, start)
		if len(ops) <= 512 {
			runOps(t, concat, ops, start)
		}
	})
}

// TestQueueFixed walks through one history by hand, with concatenation.
func TestQueueFixed(t *testing.T) {
	q := swag.New(func(a, b string) string { return a + b })
	agg := func() string { s, _ := q.Aggregate(); return s }
	if _, ok := q.Aggregate(); ok {
		t.Fatalf("empty queue: Aggregate() reports a value")
	}
	for i, s := range []string{"a", "b", "c", "d"} {
		q.Push(int64(i), s)
	}
	if got := agg(); got != "abcd" {
		t.Fatalf("Aggregate() = %q, want abcd", got)
	}
	q.PopBefore(1) // flips b c d to the front
	q.Push(4, "e")
	q.Push(5, "f")
	if got := agg(); got != "bcdef" {
		t.Fatalf("Aggregate() = %q, want bcdef", got)
	}
	if !q.Update(2, strings.ToUpper) || !q.Update(5, strings.ToUpper) || q.Update(0, strings.ToUpper) {
		t.Fatalf("Update: want true for 2 and 5, false for 0 (popped)")
	}
	if got := agg(); got != "bCdeF" {
		t.Fatalf("after Update: Aggregate() = %q, want bCdeF", got)
	}
	if got, _ := q.RangeAggregate(2, 5); got != "Cde" {
		t.Fatalf("RangeAggregate(2, 5) = %q, want Cde", got)
	}
	if got, ok := q.Get(3); !ok || got != "d" {
		t.Fatalf("Get(3) = %q, %t; want d, true", got, ok)
	}
	q.PopBefore(5)
	if got, _ := q.OldestID(); got != 5 || agg() != "F" || q.Len() != 1 {
		t.Fatalf("after PopBefore(5): oldest %d, aggregate %q, len %d; want 5, F, 1", got, agg(), q.Len())
	}
	q.PopBefore(100)
	if q.Len() != 0 {
		t.Fatalf("PopBefore(100): Len() = %d, want 0", q.Len())
	}
}

// TestQueueEndsOfInt64 walks through the ids the time window operator
// uses at the ends of int64: the slice at math.MaxInt64 of a window clipped
// there, which RangeAggregate(lo, math.MaxInt64) leaves out and Get reads,
// and late slices inserted down to math.MinInt64 after a pop.
func TestQueueEndsOfInt64(t *testing.T) {
	const lo, hi = math.MinInt64, math.MaxInt64
	q := swag.New(func(a, b string) string { return a + b })
	agg := func() string { s, _ := q.Aggregate(); return s }
	q.Push(hi-2, "a")
	q.Push(hi-1, "b")
	q.Push(hi, "c")
	if got := agg(); got != "abc" {
		t.Fatalf("Aggregate() = %q, want abc", got)
	}
	if got, _ := q.RangeAggregate(hi-2, hi); got != "ab" {
		t.Fatalf("RangeAggregate(MaxInt64-2, MaxInt64) = %q, want ab (hi is excluded)", got)
	}
	if got, ok := q.Get(hi); !ok || got != "c" {
		t.Fatalf("Get(MaxInt64) = %q, %t; want c, true", got, ok)
	}
	q.PopBefore(hi) // flips, keeps only the top
	if !q.Update(hi, strings.ToUpper) || agg() != "C" {
		t.Fatalf("after PopBefore(MaxInt64) and Update(MaxInt64): Aggregate() = %q, want C", agg())
	}
	q.Insert(hi-1, "y") // a late slice just below the top, after its pop
	if got := agg(); got != "yC" || q.Len() != 2 {
		t.Fatalf("after Insert(MaxInt64-1): Aggregate() = %q, len %d; want yC, 2", got, q.Len())
	}

	q.Reset()
	q.Push(lo+2, "m")
	q.Push(lo+3, "n")
	q.PopBefore(lo + 3)
	q.Insert(lo, "k") // older than the oldest, after a pop
	q.Insert(lo+1, "l")
	if got := agg(); got != "kln" {
		t.Fatalf("after Insert(MinInt64), Insert(MinInt64+1): Aggregate() = %q, want kln", got)
	}
	if got, _ := q.RangeAggregate(lo, lo+2); got != "kl" {
		t.Fatalf("RangeAggregate(MinInt64, MinInt64+2) = %q, want kl", got)
	}
	q.PopBefore(lo) // pops nothing
	if id, _ := q.OldestID(); id != lo || q.Len() != 3 {
		t.Fatalf("PopBefore(MinInt64): oldest %d, len %d; want MinInt64, 3", id, q.Len())
	}
}

// TestPushPanics checks the contract on ids: strictly increasing since New
// or Reset, popped entries included.
func TestPushPanics(t *testing.T) {
	q := swag.New(func(a, b int) int { return a + b })
	q.Push(5, 1)
	q.PopBefore(10) // the queue is empty, but 5 was pushed
	for _, id := range []int64{5, 4} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("Push(%d) after Push(5): want a panic", id)
				} else if !strings.Contains(fmt.Sprint(r), "ids must increase") {
					t.Errorf("Push(%d): panic %q does not say why", id, r)
				}
			}()
			q.Push(id, 1)
		}()
	}
	q.Reset()
	q.Push(1, 1) // fine after Reset
	if got, _ := q.Aggregate(); got != 1 {
		t.Errorf("after Reset and Push: Aggregate() = %d, want 1", got)
	}
}

// TestQueueAllocs checks that, once warmed up, a push, a pop and an
// aggregate allocate nothing: the slices swap roles at each flip and are
// reused.
func TestQueueAllocs(t *testing.T) {
	const window = 100
	q := swag.New(func(a, b int64) int64 { return max(a, b) })
	id := int64(0)
	step := func() {
		q.Push(id, id%17)
		q.PopBefore(id - window + 1)
		if _, ok := q.Aggregate(); !ok {
			panic("empty")
		}
		id++
	}
	for range 5 * window { // warm up: both slices reach their size
		step()
	}
	if allocs := testing.AllocsPerRun(10*window, step); allocs != 0 {
		t.Errorf("push+pop+aggregate: %v allocations, want 0", allocs)
	}
	q.Reset()
	if allocs := testing.AllocsPerRun(10*window, step); allocs != 0 {
		t.Errorf("after Reset: %v allocations, want 0", allocs)
	}
}

// BenchmarkQueue measures one push, pop and aggregate on a window of 3600
// entries (a 1-hour window sliding every second), beside recomputing the
// window from scratch each time, the loop the queue replaces.
func BenchmarkQueue(b *testing.B) {
	const window = 3600
	sum := func(a, b int64) int64 { return a + b }
	b.Run(fmt.Sprintf("window=%d/impl=swag", window), func(b *testing.B) {
		q := swag.New(sum)
		id := int64(0)
		for ; id < window; id++ {
			q.Push(id, id)
		}
		var sink int64
		b.ReportAllocs()
		for b.Loop() {
			q.Push(id, id)
			q.PopBefore(id - window + 1)
			a, _ := q.Aggregate()
			sink += a
			id++
		}
		_ = sink
	})
	b.Run(fmt.Sprintf("window=%d/impl=recompute", window), func(b *testing.B) {
		vals := make([]int64, window)
		var sink int64
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			vals[i%window] = int64(i)
			a := vals[0]
			for _, v := range vals[1:] {
				a = sum(a, v)
			}
			sink += a
			i++
		}
		_ = sink
	})
}

// Insert places an entry by id among the others, older ones included, and
// the aggregate stays the ordered combine of all of them.
func TestInsert(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 7))
	concat := func(a, b string) string { return a + b }
	for range 200 {
		q := swag.New(concat)
		var naive []int64
		used := map[int64]bool{}
		for range 40 {
			id := rng.Int64N(60)
			if used[id] {
				continue
			}
			switch rng.IntN(3) {
			case 0:
				q.Insert(id, fmt.Sprintf("<%d>", id))
				used[id] = true
				naive = append(naive, id)
				slices.Sort(naive)
			case 1:
				lo := rng.Int64N(60)
				q.PopBefore(lo)
				naive = slices.DeleteFunc(naive, func(x int64) bool { return x < lo })
			case 2:
				// A newer id than any so far: Insert is then a Push.
				top := int64(60)
				if len(naive) > 0 {
					top = max(top, naive[len(naive)-1]+1)
				}
				q.Insert(top, fmt.Sprintf("<%d>", top))
				used[top] = true
				naive = append(naive, top)
			}
			want := ""
			for _, x := range naive {
				want += fmt.Sprintf("<%d>", x)
			}
			got, _ := q.Aggregate()
			if got != want || q.Len() != len(naive) {
				t.Fatalf("aggregate %q (len %d), want %q (len %d)", got, q.Len(), want, len(naive))
			}
		}
	}
}
