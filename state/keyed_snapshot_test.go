package state_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
)

// kvStore models the checkpoint store's live keyed state of one operator:
// key group and key bytes to value bytes, updated by a snapshot's entries.
type kvStore map[string][]byte

func kvKey(kg int, key []byte) string { return fmt.Sprintf("%04x", kg) + string(key) }

// take applies s's snapshot to kv (nil: a failed checkpoint, nothing
// reaches the store).
func take(t *testing.T, s *state.Store, full bool, kv kvStore) {
	t.Helper()
	if full && kv != nil {
		clear(kv) // the runtime deletes the subtask's state before a full snapshot
	}
	err := s.Snapshot(full, func(kg int, key, val []byte) {
		if kv != nil {
			kv[kvKey(kg, key)] = bytes.Clone(val)
		}
	}, func(kg int, key []byte) {
		if kv != nil {
			delete(kv, kvKey(kg, key))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// restoreInto restores the entries of kv whose key group lies in [lo, hi).
func restoreInto(t *testing.T, s *state.Store, kv kvStore, lo, hi int) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		var kg int
		fmt.Sscanf(k[:4], "%04x", &kg)
		if kg < lo || kg >= hi {
			continue
		}
		if err := s.Restore(kg, []byte(k[4:]), kv[k]); err != nil {
			t.Fatalf("restore: %v", err)
		}
	}
}

// fiveStates is a store with one state of each kind.
type fiveStates struct {
	s   *state.Store
	val *state.ValueState[string, int]
	lst *state.ListState[string, string]
	mp  *state.MapState[string, int, float64]
	red *state.ReducingState[string, int]
	agg *state.AggregatingState[string, int, [2]int, float64] // mean
}

func newFive(t *testing.T, maxP int, opts ...state.StoreOption) *fiveStates {
	t.Helper()
	s := state.NewStore(maxP, append([]state.StoreOption{state.WithCheckpoints()}, opts...)...)
	f := &fiveStates{s: s}
	var err error
	must := func(e error) {
		if e != nil {
			t.Fatal(e)
		}
	}
	f.val, err = state.NewValue[string, int](s, "value")
	must(err)
	f.lst, err = state.NewList[string, string](s, "list")
	must(err)
	f.mp, err = state.NewMap[string, int, float64](s, "map")
	must(err)
	f.red, err = state.NewReducing[string, int](s, "max", func(a, b int) int { return max(a, b) })
	must(err)
	f.agg, err = state.NewAggregating[string, int, [2]int, float64](s, "mean", state.AggregateFunc[int, [2]int, float64]{
		Init:   func() [2]int { return [2]int{} },
		Add:    func(a [2]int, v int) [2]int { return [2]int{a[0] + v, a[1] + 1} },
		Result: func(a [2]int) float64 { return float64(a[0]) / float64(a[1]) },
	})
	must(err)
	return f
}

// fiveModel is the brute-force twin: plain maps.
type fiveModel struct {
	val map[string]int
	lst map[string][]string
	mp  map[string]map[int]float64
	red map[string]int
	agg map[string][]int
}

func newFiveModel() *fiveModel {
	return &fiveModel{val: map[string]int{}, lst: map[string][]string{}, mp: map[string]map[int]float64{},
		red: map[string]int{}, agg: map[string][]int{}}
}

// step does one random operation to both.
func step(rng *rand.Rand, f *fiveStates, m *fiveModel) {
	k := fmt.Sprintf("k%d", rng.IntN(12))
	n := rng.IntN(100)
	switch rng.IntN(11) {
	case 0:
		f.val.Set(k, n)
		m.val[k] = n
	case 1:
		f.val.Clear(k)
		delete(m.val, k)
	case 2:
		f.lst.Add(k, fmt.Sprint(n))
		m.lst[k] = append(m.lst[k], fmt.Sprint(n))
	case 3:
		f.lst.Clear(k)
		delete(m.lst, k)
	case 4, 5:
		f.mp.Put(k, n%5, float64(n)/4)
		if m.mp[k] == nil {
			m.mp[k] = map[int]float64{}
		}
		m.mp[k][n%5] = float64(n) / 4
	case 6:
		f.mp.Delete(k, n%5)
		delete(m.mp[k], n%5)
		if len(m.mp[k]) == 0 {
			delete(m.mp, k)
		}
	case 7:
		f.red.Add(k, n)
		if cur, ok := m.red[k]; !ok || n > cur {
			m.red[k] = n
		}
	case 8:
		f.red.Clear(k)
		delete(m.red, k)
	case 9:
		f.agg.Add(k, n)
		m.agg[k] = append(m.agg[k], n)
	case 10:
		f.agg.Clear(k)
		delete(m.agg, k)
	}
}

// check compares f with the model, key by key, for the keys whose key
// group lies in [lo, hi).
func check(t *testing.T, what string, f *fiveStates, m *fiveModel, lo, hi int) {
	t.Helper()
	for i := range 12 {
		k := fmt.Sprintf("k%d", i)
		if kg := f.val.KeyGroupOf(k); kg < lo || kg >= hi {
			continue
		}
		v, ok := f.val.Get(k)
		if mv, mok := m.val[k]; v != mv || ok != mok {
			t.Fatalf("%s: value %s = %d %v, want %d %v", what, k, v, ok, mv, mok)
		}
		if got := f.lst.Get(k); !slices.Equal(got, m.lst[k]) {
			t.Fatalf("%s: list %s = %v, want %v", what, k, got, m.lst[k])
		}
		if got := maps.Collect(f.mp.Entries(k)); !maps.Equal(got, m.mp[k]) {
			t.Fatalf("%s: map %s = %v, want %v", what, k, got, m.mp[k])
		}
		r, ok := f.red.Get(k)
		if mr, mok := m.red[k]; r != mr || ok != mok {
			t.Fatalf("%s: max %s = %d %v, want %d %v", what, k, r, ok, mr, mok)
		}
		a, ok := f.agg.Get(k)
		vs, mok := m.agg[k]
		want := 0.0
		for _, x := range vs {
			want += float64(x)
		}
		if mok {
			want /= float64(len(vs))
		}
		if a != want || ok != mok {
			t.Fatalf("%s: mean %s = %v %v, want %v %v", what, k, a, ok, want, mok)
		}
	}
}

// Snapshots, incremental with a failed one now and then (the next is then
// full), restore the store as it was at the last successful one: every
// state kind, against the model, restored whole and split in two halves of
// key groups (a restore at parallelism 2).
func TestStoreSnapshotRestoreModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	const maxP = 8
	for round := range 30 {
		f, m := newFive(t, maxP), newFiveModel()
		kv := kvStore{}
		full := true
		var lastGood *fiveModel
		for i := range 200 {
			step(rng, f, m)
			if i%17 != 16 {
				continue
			}
			failed := rng.IntN(4) == 0
			if failed {
				take(t, f.s, full, nil)
				full = true
				continue
			}
			take(t, f.s, full, kv)
			full = false
			lastGood = cloneModel(m)
			whole := newFive(t, maxP)
			restoreInto(t, whole.s, kv, 0, maxP)
			check(t, fmt.Sprintf("round %d step %d", round, i), whole, lastGood, 0, maxP)
			for _, half := range [][2]int{{0, maxP / 2}, {maxP / 2, maxP}} {
				h := newFive(t, maxP)
				restoreInto(t, h.s, kv, half[0], half[1])
				check(t, fmt.Sprintf("round %d step %d, key groups %v", round, i, half), h, lastGood, half[0], half[1])
				for _, st := range h.s.States() {
					if st.Changed() != 0 {
						t.Fatalf("restored state %s has %d changes", st.Name(), st.Changed())
					}
				}
			}
		}
		if lastGood == nil {
			t.Fatalf("round %d: no snapshot succeeded", round)
		}
	}
}

func cloneModel(m *fiveModel) *fiveModel {
	c := newFiveModel()
	maps.Copy(c.val, m.val)
	for k, v := range m.lst {
		c.lst[k] = slices.Clone(v)
	}
	for k, v := range m.mp {
		c.mp[k] = maps.Clone(v)
	}
	maps.Copy(c.red, m.red)
	for k, v := range m.agg {
		c.agg[k] = slices.Clone(v)
	}
	return c
}

// An incremental snapshot writes only the keys changed since the last
// one, and deletes the keys cleared.
func TestStoreSnapshotIsIncremental(t *testing.T) {
	f := newFive(t, 0)
	for i := range 100 {
		f.val.Set(fmt.Sprint(i), i)
	}
	kv := kvStore{}
	take(t, f.s, true, kv)
	if len(kv) != 100 {
		t.Fatalf("full snapshot wrote %d keys, want 100", len(kv))
	}
	f.val.Set("3", 33)
	f.val.Clear("4")
	f.lst.Add("x", "y")
	var sets, dels []string
	err := f.s.Snapshot(false, func(kg int, key, val []byte) { sets = append(sets, string(key)) },
		func(kg int, key []byte) { dels = append(dels, string(key)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || len(dels) != 1 {
		t.Fatalf("incremental snapshot: %d sets, %d deletes; want 2, 1", len(sets), len(dels))
	}
	if !strings.HasPrefix(dels[0], "\x05value") {
		t.Fatalf("a key does not begin with its state's name: %q", dels[0])
	}
	sets = nil
	if err := f.s.Snapshot(false, func(int, []byte, []byte) { sets = append(sets, "") }, func(int, []byte) {}); err != nil || len(sets) != 0 {
		t.Fatalf("a snapshot with nothing changed wrote %d keys (%v)", len(sets), err)
	}
	// Keys made and gone between two snapshots cost nothing; a stored key
	// cleared and set again is written, not deleted.
	for i := range 50 {
		f.lst.Add(fmt.Sprint("new", i), "v")
		f.lst.Clear(fmt.Sprint("new", i))
	}
	f.val.Clear("5")
	f.val.Set("5", 55)
	sets, dels = nil, nil
	err = f.s.Snapshot(false, func(kg int, key, val []byte) { sets = append(sets, string(key)) },
		func(kg int, key []byte) { dels = append(dels, string(key)) })
	if err != nil || len(sets) != 1 || len(dels) != 0 || f.val.Changed() != 0 {
		t.Fatalf("keys made and cleared, one cleared and set again: sets %q, deletes %q (%v); want the set of 5", sets, dels, err)
	}
}

type uncodable struct {
	Name string
	Done chan struct{}
}

// With checkpoints, a state whose values cannot be encoded is refused when
// it is made, naming the state and the type; without, it is fine.
func TestStoreRefusesUncodableState(t *testing.T) {
	s := state.NewStore(0, state.WithCheckpoints())
	_, err := state.NewValue[string, uncodable](s, "sessions")
	if !errors.Is(err, state.ErrUncodable) || !strings.Contains(err.Error(), `"sessions"`) ||
		!strings.Contains(err.Error(), "uncodable") || strings.Count(err.Error(), "braid:") != 1 {
		t.Fatalf("got %v, want ErrUncodable naming the state and the type", err)
	}
	if _, err := state.NewMap[string, string, func()](s, "handlers"); !errors.Is(err, state.ErrUncodable) {
		t.Fatalf("map of funcs: %v", err)
	}
	plain := state.NewStore(0)
	v, err := state.NewValue[string, uncodable](plain, "sessions")
	if err != nil {
		t.Fatal(err)
	}
	v.Set("a", uncodable{})
	if v.Changed() != 0 {
		t.Fatal("a store without checkpoints tracks changes")
	}
	if err := plain.Snapshot(true, nil, nil); !errors.Is(err, state.ErrNotCheckpointed) {
		t.Fatalf("snapshot without checkpoints: %v", err)
	}
}

// Restore refuses a state the function no longer makes, bytes that do not
// decode, and a key under another key group than its own.
func TestStoreRestoreRefuses(t *testing.T) {
	f := newFive(t, 16)
	f.val.Set("a", 1)
	kv := kvStore{}
	take(t, f.s, true, kv)
	var key string
	for k := range kv {
		key = k
	}
	var kg int
	fmt.Sscanf(key[:4], "%04x", &kg)
	other := state.NewStore(16, state.WithCheckpoints())
	if err := other.Restore(kg, []byte(key[4:]), kv[key]); err == nil || !strings.Contains(err.Error(), `"value"`) {
		t.Fatalf("restore of an unknown state: %v", err)
	}
	g := newFive(t, 16)
	if err := g.s.Restore((kg+1)%16, []byte(key[4:]), kv[key]); !errors.Is(err, state.ErrDecode) {
		t.Fatalf("restore under the wrong key group: %v", err)
	}
	if err := g.s.Restore(kg, []byte(key[4:]), kv[key][:1]); !errors.Is(err, state.ErrDecode) {
		t.Fatalf("restore of a cut value: %v", err)
	}
	if err := g.s.Restore(kg, []byte(key[4:6]), kv[key]); !errors.Is(err, state.ErrDecode) {
		t.Fatalf("restore of a cut key: %v", err)
	}
}

// fakeNow is a settable clock for TTL.
type fakeNow struct{ t time.Time }

func (c *fakeNow) now() time.Time          { return c.t }
func (c *fakeNow) advance(d time.Duration) { c.t = c.t.Add(d) }

// TTL on write: a value not written for the TTL reads as absent, reads do
// not renew it, and it is removed by a later write to the state.
func TestTTLOnCreateAndWrite(t *testing.T) {
	clk := &fakeNow{time.Unix(1000, 0)}
	s := state.NewStore(0, state.WithClock(clk.now))
	v, err := state.NewValue[string, int](s, "v", state.WithTTL(10*time.Second, state.OnCreateAndWrite))
	if err != nil {
		t.Fatal(err)
	}
	v.Set("a", 1)
	v.Set("b", 2)
	clk.advance(6 * time.Second)
	v.Set("b", 3) // renews b
	if x, ok := v.Get("a"); !ok || x != 1 {
		t.Fatalf("a before its TTL: %d %v", x, ok)
	}
	clk.advance(4 * time.Second) // a is 10s old: expired; b 4s
	if _, ok := v.Get("a"); ok {
		t.Fatal("a read after its TTL")
	}
	if x, ok := v.Get("b"); !ok || x != 3 {
		t.Fatalf("b: %d %v", x, ok)
	}
	clk.advance(5 * time.Second) // b 9s old, though read 5s ago
	if _, ok := v.Get("b"); !ok {
		t.Fatal("b expired early")
	}
	clk.advance(time.Second)
	if got := maps.Collect(v.All()); len(got) != 0 {
		t.Fatalf("All yields expired values: %v", got)
	}
	if v.Len() != 1 { // b is still held, unread
		t.Fatalf("len %d, want 1", v.Len())
	}
	v.Set("c", 1) // a write cleans up
	if v.Len() != 1 {
		t.Fatalf("len %d after a write, want 1 (b removed)", v.Len())
	}
}

// TTL on read and write: reads renew.
func TestTTLOnReadAndWrite(t *testing.T) {
	clk := &fakeNow{time.Unix(1000, 0)}
	s := state.NewStore(0, state.WithClock(clk.now))
	l, err := state.NewList[int, int](s, "l", state.WithTTL(time.Minute, state.OnReadAndWrite))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := state.NewMap[int, string, int](s, "m", state.WithTTL(time.Minute, state.OnReadAndWrite))
	l.Add(1, 10)
	m.Put(1, "x", 5)
	for range 5 {
		clk.advance(50 * time.Second)
		if got := l.Get(1); !slices.Equal(got, []int{10}) {
			t.Fatalf("list read every 50s expired: %v", got)
		}
		if x, ok := m.Get(1, "x"); !ok || x != 5 {
			t.Fatal("map read every 50s expired")
		}
	}
	clk.advance(time.Minute)
	if l.Get(1) != nil || l.Len() != 0 {
		t.Fatal("list not expired after a minute unread")
	}
	l.Add(1, 11) // a fresh list
	if got := l.Get(1); !slices.Equal(got, []int{11}) {
		t.Fatalf("list after expiry and Add: %v", got)
	}
	if _, ok := m.Get(1, "x"); ok {
		t.Fatal("map entry read after expiry")
	}
	if _, err := state.NewValue[int, int](s, "bad", state.WithTTL(0, state.OnCreateAndWrite)); err == nil {
		t.Fatal("a zero TTL is accepted")
	}
}

// A checkpoint keeps each value's age: restored, it expires when it would
// have; a snapshot deletes what expired; TTL cleanup under many keys
// removes every expired one (the queue handles renewals out of order).
func TestTTLAcrossSnapshots(t *testing.T) {
	clk := &fakeNow{time.Unix(1000, 0)}
	mk := func() (*state.Store, *state.ValueState[int, int]) {
		s := state.NewStore(8, state.WithCheckpoints(), state.WithClock(clk.now))
		v, err := state.NewValue[int, int](s, "v", state.WithTTL(10*time.Second, state.OnReadAndWrite))
		if err != nil {
			t.Fatal(err)
		}
		return s, v
	}
	s, v := mk()
	for i := range 100 {
		v.Set(i, i)
		clk.advance(10 * time.Millisecond)
	} // key i written at 1000s + i*10ms; now 1001s
	kv := kvStore{}
	take(t, s, true, kv)
	clk.advance(8500 * time.Millisecond) // now 1009.5s: keys 0..49 are 9.5s..10s old
	s2, v2 := mk()
	restoreInto(t, s2, kv, 0, 8)
	for i := range 50 {
		if _, ok := v2.Get(i); !ok { // renews 0..49 to 1009.5s
			t.Fatalf("restored key %d expired early", i)
		}
	}
	clk.advance(1600 * time.Millisecond) // 1011.1s: keys 50..99 (written by 1001s) expired
	for i := 50; i < 100; i++ {
		if _, ok := v2.Get(i); ok {
			t.Fatalf("restored key %d outlived its TTL", i)
		}
	}
	take(t, s2, false, kv)
	if len(kv) != 50 {
		t.Fatalf("after expiry the checkpoint holds %d keys, want 50", len(kv))
	}
	clk.advance(10 * time.Second)
	v2.Set(1000, 1) // cleans up 0..49
	if v2.Len() != 1 {
		t.Fatalf("len %d after everything expired, want 1", v2.Len())
	}
	take(t, s2, false, kv)
	if len(kv) != 1 {
		t.Fatalf("checkpoint holds %d keys, want 1", len(kv))
	}
}

// Reducing and aggregating state, plainly.
func TestReducingAndAggregatingState(t *testing.T) {
	s := state.NewStore(0)
	sum, err := state.NewReducing[string, int](s, "sum", func(a, b int) int { return a + b })
	if err != nil {
		t.Fatal(err)
	}
	words, err := state.NewAggregating[string, string, []string, string](s, "words", state.AggregateFunc[string, []string, string]{
		Init:   func() []string { return nil },
		Add:    func(acc []string, w string) []string { return append(acc, w) },
		Result: func(acc []string) string { return strings.Join(acc, " ") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sum.Get("a"); ok {
		t.Fatal("empty reducing state has a value")
	}
	for _, n := range []int{3, 4, 5} {
		sum.Add("a", n)
	}
	words.Add("a", "hello")
	words.Add("a", "world")
	if x, _ := sum.Get("a"); x != 12 {
		t.Fatalf("sum %d", x)
	}
	if w, ok := words.Get("a"); !ok || w != "hello world" {
		t.Fatalf("words %q", w)
	}
	sum.Clear("a")
	if _, ok := sum.Get("a"); ok || sum.Len() != 0 {
		t.Fatal("cleared")
	}
	if _, err := state.NewReducing[string, int](s, "nil", nil); err == nil {
		t.Fatal("nil reduce accepted")
	}
	if _, err := state.NewAggregating[string, int, int, int](s, "half", state.AggregateFunc[int, int, int]{Init: func() int { return 0 }}); err == nil {
		t.Fatal("aggregate without Add accepted")
	}
}
