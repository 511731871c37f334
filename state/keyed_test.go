package state_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/braidstream/braid/state"
)

func TestValueState(t *testing.T) {
	s := state.NewStore(128, state.WithCheckpoints())
	v, err := state.NewValue[string, int](s, "count")
	if err != nil {
		t.Fatal(err)
	}
	v.Set("a", 1)
	v.Set("b", 2)
	v.Set("a", 3)
	if x, ok := v.Get("a"); !ok || x != 3 {
		t.Fatalf("a = %d, %v", x, ok)
	}
	if _, ok := v.Get("zzz"); ok {
		t.Fatal("absent key has a value")
	}
	changes := v.TakeChanges()
	slices.Sort(changes)
	if !slices.Equal(changes, []string{"a", "b"}) || v.Changed() != 0 {
		t.Fatalf("changes %v, then %d", changes, v.Changed())
	}
	v.Clear("b")
	v.Clear("never set") // not a change
	if got := v.TakeChanges(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("changes after clear %v", got)
	}
	if got := maps.Collect(v.All()); len(got) != 1 || got["a"] != 3 || v.Len() != 1 {
		t.Fatalf("all %v", got)
	}
	if kg := v.KeyGroupOf("a"); kg != state.KeyGroup(state.HashString("a"), 128) {
		t.Fatalf("key group %d", kg)
	}
}

func TestListAndMapState(t *testing.T) {
	s := state.NewStore(0)
	l, _ := state.NewList[int64, string](s, "events")
	m, _ := state.NewMap[int64, string, float64](s, "last price")
	l.Add(1, "x")
	l.Add(1, "y")
	l.Add(2, "z")
	if got := l.Get(1); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("list %v", got)
	}
	l.Set(1, nil)
	if l.Get(1) != nil || l.Len() != 1 {
		t.Fatal("an empty Set clears the list")
	}
	m.Put(7, "SPX", 1000)
	m.Put(7, "DJI", 990)
	m.Delete(7, "SPX")
	if _, ok := m.Get(7, "SPX"); ok {
		t.Fatal("deleted entry still there")
	}
	if got := maps.Collect(m.Entries(7)); len(got) != 1 || got["DJI"] != 990 {
		t.Fatalf("entries %v", got)
	}
	m.Delete(7, "DJI")
	if m.Len() != 0 {
		t.Fatal("a key whose map is empty is gone")
	}
	names := []string{}
	for _, st := range s.States() {
		names = append(names, st.Name())
	}
	if !slices.Equal(names, []string{"events", "last price"}) {
		t.Fatalf("states %v", names)
	}
}

func TestStateErrors(t *testing.T) {
	s := state.NewStore(0)
	if _, err := state.NewValue[string, int](s, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := state.NewList[string, int](s, "x"); !errors.Is(err, state.ErrStateExists) {
		t.Fatalf("second state named x: %v", err)
	}
	if _, err := state.NewValue[*int, int](s, "p"); !errors.Is(err, state.ErrUnstableKey) {
		t.Fatalf("pointer key: %v", err)
	}
}
