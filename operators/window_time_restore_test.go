package operators

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

// sortedCP is a checkpoint held as entries sorted by key, as the store
// returns them.
type sortedCP struct {
	keys, vals [][]byte
}

func newSortedCP(e *entries) *sortedCP {
	idx := make([]int, 0, e.len())
	for i, o := range e.ops {
		if o.kind != entrySet {
			panic("sortedCP: only sets")
		}
		idx = append(idx, i)
	}
	key := func(i int) []byte { o := e.ops[i]; return e.buf[o.k0:o.k1] }
	slices.SortStableFunc(idx, func(a, b int) int { return bytes.Compare(key(a), key(b)) })
	cp := &sortedCP{}
	for _, i := range idx {
		o := e.ops[i]
		cp.keys = append(cp.keys, e.buf[o.k0:o.k1])
		cp.vals = append(cp.vals, e.buf[o.v0:o.v1])
	}
	return cp
}

func (c *sortedCP) id() int64    { return 1 }
func (c *sortedCP) meta() []byte { return nil }
func (c *sortedCP) close() error { return nil }
func (c *sortedCP) find(k []byte) int {
	i, _ := slices.BinarySearchFunc(c.keys, k, bytes.Compare)
	return i
}

func (c *sortedCP) get(key []byte) ([]byte, bool, error) {
	if i := c.find(key); i < len(c.keys) && bytes.Equal(c.keys[i], key) {
		return c.vals[i], true, nil
	}
	return nil, false, nil
}

func (c *sortedCP) scan(lo, hi []byte, fn func(k, v []byte) error) error {
	for i := c.find(lo); i < len(c.keys) && (hi == nil || bytes.Compare(c.keys[i], hi) < 0); i++ {
		if err := fn(c.keys[i], c.vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// countTumbling is a tumbling event-time count of int64 keys, as
// subtask sub of par, with checkpoints on.
func countTumbling(tb testing.TB, sub, par int) (*TimeWindow[int64, int64, int64, string], *task) {
	tb.Helper()
	hash, err := state.NewHasher[int64]()
	if err != nil {
		tb.Fatal(err)
	}
	tk := &task{cp: &taskCP{coord: &coordinator{}}}
	bc := &BuildContext{Subtask: sub, Parallelism: par, MaxParallelism: state.DefaultMaxParallelism,
		Clock: NewFakeClock(time.Unix(0, 0)), task: tk, metrics: &opMetrics{}, uid: "count"}
	spec := WindowSpec[int64, int64, int64, string]{
		Key: func(k int64) int64 { return k }, Hash: hash, Assigner: window.Tumbling(time.Hour),
		Agg:       Agg[int64, int64]{First: func(int64) int64 { return 1 }, Add: func(a, _ int64) int64 { return a + 1 }},
		Fire:      func(k int64, w window.Window, n int64, emit func(string)) { emit(fmt.Sprint(k, w, n)) },
		EventTime: true,
	}
	return NewTimeWindow(spec, bc, Input[string](&collect[string]{}), nil), tk
}

// bigPane fills o's open pane with keys keys (in a scattered order), two
// elements each for every third, and returns its full snapshot.
func bigPane(tb testing.TB, o *TimeWindow[int64, int64, int64, string], tk *task, keys int) *entries {
	tb.Helper()
	b := &Batch[int64]{}
	for i := range keys {
		k := int64(i) * 7919 % int64(keys)
		b.Values, b.Times = append(b.Values, k), append(b.Times, int64(i))
		if i%3 == 0 {
			b.Values, b.Times = append(b.Values, k), append(b.Times, int64(i))
		}
		if len(b.Values) >= 4096 || i == keys-1 {
			if err := o.Push(b); err != nil {
				tb.Fatal(err)
			}
			b.Values, b.Times = b.Values[:0], b.Times[:0]
		}
	}
	e := &entries{}
	s := tk.cp.snaps[0]
	w := StateWriter{id: 1, full: true, e: e, uid: s.uid, subtask: s.subtask, kgLo: s.kgLo, kgHi: s.kgHi}
	if err := s.s.Snapshot(&w); err != nil {
		tb.Fatal(err)
	}
	return e
}

func restoreFrom(tb testing.TB, cp restoredCheckpoint, sub, par int) *TimeWindow[int64, int64, int64, string] {
	tb.Helper()
	o, tk := countTumbling(tb, sub, par)
	s := tk.cp.snaps[0]
	if err := s.s.Restore(&StateReader{uid: s.uid, subtask: s.subtask, kgLo: s.kgLo, kgHi: s.kgHi, cp: cp}); err != nil {
		tb.Fatal(err)
	}
	return o
}

// BenchmarkTimeWindowRestore1M: restoring a tumbling count's open pane of
// 1,000,000 keys from its entries (sorted by key, as the store gives them).
func BenchmarkTimeWindowRestore1M(b *testing.B) {
	const keys = 1_000_000
	o, tk := countTumbling(b, 0, 1)
	cp := newSortedCP(bigPane(b, o, tk, keys))
	var cpu time.Duration
	for b.Loop() {
		cpu0 := cpuTimeOf(b)
		r := restoreFrom(b, cp, 0, 1)
		cpu += cpuTimeOf(b) - cpu0
		if len(r.open) != 1 || len(r.open[0].keys) != keys {
			b.Fatalf("restored %d panes", len(r.open))
		}
	}
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func cpuTimeOf(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sortBySlot sorts as a stable sort does: random slot numbers with
// repeats (as after a rescale), and ones far out of range (the fallback).
func TestSortBySlot(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 9))
	type e struct{ slot, id int }
	for round := range 200 {
		n := rng.IntN(300)
		s := make([]e, n)
		for i := range s {
			s[i] = e{rng.IntN(n/2 + 1), i}
			if round%10 == 0 && rng.IntN(50) == 0 {
				s[i].slot = rng.IntN(1 << 40)
			}
		}
		want := slices.Clone(s)
		slices.SortStableFunc(want, func(a, b e) int { return cmp.Compare(a.slot, b.slot) })
		if got := sortBySlot(s, func(x *e) int { return x.slot }); !slices.Equal(got, want) {
			t.Fatalf("round %d: sorted %v, want %v", round, got, want)
		}
	}
}

// A pane restores whole at the parallelism it was written at and split
// across two subtasks: each key with its count, in the order the keys
// arrived (what the pane fires in).
func TestTimeWindowRestoresBigPane(t *testing.T) {
	const keys = 5000
	o, tk := countTumbling(t, 0, 1)
	cp := newSortedCP(bigPane(t, o, tk, keys))
	want := func(p *pane[int64, int64], keep func(int64) bool) []string {
		var out []string
		for j, k := range p.keys {
			if keep(k) {
				out = append(out, fmt.Sprint(k, p.accs[j]))
			}
		}
		return out
	}
	got := func(r *TimeWindow[int64, int64, int64, string]) []string {
		if len(r.open) != 1 {
			t.Fatalf("%d open panes restored, want 1", len(r.open))
		}
		return want(r.open[0], func(int64) bool { return true })
	}
	all := func(int64) bool { return true }
	if g, w := got(restoreFrom(t, cp, 0, 1)), want(o.open[0], all); !slices.Equal(g, w) {
		t.Fatalf("restored %d keys, want %d: first %q, want %q", len(g), len(w), g[:min(5, len(g))], w[:min(5, len(w))])
	}
	for sub := range 2 {
		lo, hi := state.KeyGroupRange(sub, state.DefaultMaxParallelism, 2)
		mine := func(k int64) bool { g := o.cp.kg(k); return g >= lo && g < hi }
		if g, w := got(restoreFrom(t, cp, sub, 2)), want(o.open[0], mine); !slices.Equal(g, w) {
			t.Fatalf("subtask %d of 2: restored %d keys, want %d", sub, len(g), len(w))
		}
	}
}
