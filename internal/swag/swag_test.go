package swag_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/braidstream/braid/internal/swag"
	"github.com/braidstream/braid/internal/testseed"
)

// naive is the dumb twin of swag.Queue: a plain slice, every aggregate
// recomputed from scratch, oldest to newest.
type naive[A any] struct {
	combine func(a, b A) A
	ids     []int64
	vals    []A
}

func (n *naive[A]) push(id int64, a A) { n.ids, n.vals = append(n.ids, id), append(n.vals, a) }

func (n *naive[A]) popBefore(id int64) {
	i := 0
	for i < len(n.ids) && n.ids[i] < id {
		i++
	}
	n.ids, n.vals = n.ids[i:], n.vals[i:]
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
)

// TestQueueNaive runs random operation sequences on a Queue and on its
// naive twin and compares every answer, for a non-commutative combine
// (concatenation, first/last) and a non-invertible one (max).
func TestQueueNaive(t *testing.T) {
	t.Run("concat", func(t *testing.T) { runRandom(t, concat) })
	t.Run("firstLast", func(t *testing.T) { runRandom(t, fl) })
	t.Run("max", func(t *testing.T) { runRandom(t, maxInt) })
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
		runOps(t, tw, ops)
	}
}

// runOps decodes ops, a byte an operation (a few bytes read ahead for
// arguments), runs them on a Queue and on the naive twin, and fails at the
// first difference.
func runOps[A any](t *testing.T, tw twin[A], ops []byte) {
	t.Helper()
	q := swag.New(tw.combine)
	n := &naive[A]{combine: tw.combine}
	rng := rand.New(rand.NewPCG(uint64(len(ops)), 7)) // values only; ops decide the shape
	nextID := int64(-20)
	arg := func(i int) int64 { // an id near the queue's contents, from byte i
		if i >= len(ops) {
			return nextID
		}
		return nextID - 40 + int64(ops[i]%48)
	}
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %s:\n"+format, append([]any{strings.Join(log, " ")}, args...)...)
	}
	for i, op := range ops {
		switch op % 16 {
		case 0, 1, 2, 3, 4, 5: // push, ids with gaps now and then
			nextID += 1 + int64(op>>4)%3/2
			v := tw.gen(rng)
			q.Push(nextID, v)
			n.push(nextID, v)
			log = append(log, fmt.Sprintf("push(%d,%v)", nextID, v))
		case 6, 7, 8: // pop
			id := arg(i + 1)
			q.PopBefore(id)
			n.popBefore(id)
			log = append(log, fmt.Sprintf("pop(<%d)", id))
		case 9: // update, present or not
			id := arg(i + 1)
			ok := q.Update(id, tw.change)
			if j := n.index(id); j >= 0 != ok {
				fail("Update(%d) = %t, twin has it: %t", id, ok, j >= 0)
			} else if ok {
				n.vals[j] = tw.change(n.vals[j])
			}
			log = append(log, fmt.Sprintf("update(%d)", id))
		case 10: // get
			id := arg(i + 1)
			got, ok := q.Get(id)
			j := n.index(id)
			if ok != (j >= 0) || ok && !tw.equal(got, n.vals[j]) {
				fail("Get(%d) = %v, %t; twin %d", id, got, ok, j)
			}
		case 11: // range aggregate
			lo := arg(i + 1)
			hi := lo + int64(ops[min(i+2, len(ops)-1)]%32)
			got, ok := q.RangeAggregate(lo, hi)
			want, wok := n.rangeAggregate(lo, hi)
			if ok != wok || !tw.equal(got, want) {
				fail("RangeAggregate(%d, %d) = %v, %t; want %v, %t", lo, hi, got, ok, want, wok)
			}
		case 12: // reset, rarely
			if op>>4 == 0 {
				q.Reset()
				n.ids, n.vals = nil, nil
				log = append(log, "reset")
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
		want, wok := n.rangeAggregate(-1<<63, 1<<63-1)
		if ok != wok || !tw.equal(got, want) {
			fail("Aggregate() = %v, %t; want %v, %t", got, ok, want, wok)
		}
	}
}

// FuzzQueue runs the operations the fuzzer's bytes encode (see runOps) on a
// Queue of concatenated strings and on the naive twin.
//
//	go test ./internal/swag/ -run '^$' -fuzz FuzzQueue -fuzztime 1m
func FuzzQueue(f *testing.F) {
	f.Add([]byte{0, 0, 0, 6, 40, 10, 40, 9, 41, 11, 30, 20})
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 47, 0, 1, 9, 45, 6, 46, 12, 0, 0, 6, 47})
	f.Fuzz(func(t *testing.T, ops []byte) { runOps(t, concat, ops) })
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
