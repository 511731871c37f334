package state

import (
	"errors"
	"fmt"
	"iter"
)

// A Store holds the keyed state of one operator subtask: named states,
// each typed, each a map from key to value in memory (the working state;
// checkpoints will write what changed to Pebble). An operator makes its
// states once, when it is built, and then reads and writes them per key.
//
// Every state knows each key's key group (from the key's stable hash), the
// unit in which state is laid out in a checkpoint and moved when a job is
// restored at another parallelism, and tracks the keys changed since the
// last TakeChanges, so that a checkpoint writes only those.
//
// Not safe for concurrent use: an operator subtask's state belongs to its
// task's goroutine.
type Store struct {
	maxParallelism int
	states         map[string]State
	order          []string
}

// NewStore returns an empty store for a subtask of an operator whose keys
// fall into maxParallelism key groups (0 means DefaultMaxParallelism).
func NewStore(maxParallelism int) *Store {
	if maxParallelism <= 0 {
		maxParallelism = DefaultMaxParallelism
	}
	return &Store{maxParallelism: maxParallelism, states: make(map[string]State)}
}

// ErrStateExists marks the error of making two states of one name.
var ErrStateExists = errors.New("braid: a state of that name exists")

// State is what every keyed state has, whatever its types: what a
// checkpoint needs to walk it.
type State interface {
	// Name is the state's name, unique in its store.
	Name() string
	// Len is the number of keys with a value.
	Len() int
	// Changed is the number of keys changed since the last TakeChanges.
	Changed() int
}

// States returns the store's states in the order they were made.
func (s *Store) States() []State {
	out := make([]State, len(s.order))
	for i, n := range s.order {
		out[i] = s.states[n]
	}
	return out
}

func (s *Store) register(st State) error {
	if _, ok := s.states[st.Name()]; ok {
		return fmt.Errorf("%w: %q", ErrStateExists, st.Name())
	}
	s.states[st.Name()] = st
	s.order = append(s.order, st.Name())
	return nil
}

// keyed is what the three kinds of state share: the key hash, key groups
// and change tracking.
type keyed[K comparable] struct {
	name    string
	hash    Hasher[K]
	maxP    int
	changed map[K]struct{}
}

// Name is the state's name.
func (k *keyed[K]) Name() string { return k.name }

// Changed is the number of keys changed since the last TakeChanges.
func (k *keyed[K]) Changed() int { return len(k.changed) }

func (k *keyed[K]) touch(key K) { k.changed[key] = struct{}{} }

// KeyGroupOf is key's key group.
func (k *keyed[K]) KeyGroupOf(key K) int { return KeyGroup(k.hash(key), k.maxP) }

// TakeChanges returns the keys written or cleared since the last call, and
// forgets them: the keys an incremental checkpoint writes (or deletes).
func (k *keyed[K]) TakeChanges() []K {
	out := make([]K, 0, len(k.changed))
	for key := range k.changed {
		out = append(out, key)
	}
	clear(k.changed)
	return out
}

func newKeyed[K comparable](s *Store, name string) (keyed[K], error) {
	h, err := NewHasher[K]()
	if err != nil {
		return keyed[K]{}, err
	}
	return keyed[K]{name: name, hash: h, maxP: s.maxParallelism, changed: make(map[K]struct{})}, nil
}

// ValueState holds one value per key.
type ValueState[K comparable, V any] struct {
	keyed[K]
	vals map[K]V
}

// NewValue makes a value state named name in s.
func NewValue[K comparable, V any](s *Store, name string) (*ValueState[K, V], error) {
	k, err := newKeyed[K](s, name)
	if err != nil {
		return nil, err
	}
	v := &ValueState[K, V]{keyed: k, vals: make(map[K]V)}
	return v, s.register(v)
}

// Get returns key's value and whether it has one.
func (v *ValueState[K, V]) Get(key K) (V, bool) { x, ok := v.vals[key]; return x, ok }

// Set sets key's value.
func (v *ValueState[K, V]) Set(key K, val V) { v.vals[key] = val; v.touch(key) }

// Clear removes key's value.
func (v *ValueState[K, V]) Clear(key K) {
	if _, ok := v.vals[key]; ok {
		delete(v.vals, key)
		v.touch(key)
	}
}

// Len is the number of keys with a value.
func (v *ValueState[K, V]) Len() int { return len(v.vals) }

// All yields every key and value, in no particular order.
func (v *ValueState[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, x := range v.vals {
			if !yield(k, x) {
				return
			}
		}
	}
}

// ListState holds a list of values per key.
type ListState[K comparable, V any] struct {
	keyed[K]
	lists map[K][]V
}

// NewList makes a list state named name in s.
func NewList[K comparable, V any](s *Store, name string) (*ListState[K, V], error) {
	k, err := newKeyed[K](s, name)
	if err != nil {
		return nil, err
	}
	l := &ListState[K, V]{keyed: k, lists: make(map[K][]V)}
	return l, s.register(l)
}

// Get returns key's list (nil when empty). The caller must not keep it
// past the next change to key's list.
func (l *ListState[K, V]) Get(key K) []V { return l.lists[key] }

// Add appends val to key's list.
func (l *ListState[K, V]) Add(key K, val V) { l.lists[key] = append(l.lists[key], val); l.touch(key) }

// Set replaces key's list (an empty one clears it).
func (l *ListState[K, V]) Set(key K, vals []V) {
	if len(vals) == 0 {
		l.Clear(key)
		return
	}
	l.lists[key] = vals
	l.touch(key)
}

// Clear removes key's list.
func (l *ListState[K, V]) Clear(key K) {
	if _, ok := l.lists[key]; ok {
		delete(l.lists, key)
		l.touch(key)
	}
}

// Len is the number of keys with a list.
func (l *ListState[K, V]) Len() int { return len(l.lists) }

// MapState holds a map from user keys MK to values per key.
type MapState[K comparable, MK comparable, V any] struct {
	keyed[K]
	maps map[K]map[MK]V
}

// NewMap makes a map state named name in s.
func NewMap[K comparable, MK comparable, V any](s *Store, name string) (*MapState[K, MK, V], error) {
	k, err := newKeyed[K](s, name)
	if err != nil {
		return nil, err
	}
	m := &MapState[K, MK, V]{keyed: k, maps: make(map[K]map[MK]V)}
	return m, s.register(m)
}

// Get returns the value at mk in key's map.
func (m *MapState[K, MK, V]) Get(key K, mk MK) (V, bool) { v, ok := m.maps[key][mk]; return v, ok }

// Put sets the value at mk in key's map.
func (m *MapState[K, MK, V]) Put(key K, mk MK, v V) {
	mm := m.maps[key]
	if mm == nil {
		mm = make(map[MK]V)
		m.maps[key] = mm
	}
	mm[mk] = v
	m.touch(key)
}

// Delete removes mk from key's map.
func (m *MapState[K, MK, V]) Delete(key K, mk MK) {
	mm, ok := m.maps[key]
	if !ok {
		return
	}
	if _, ok := mm[mk]; ok {
		delete(mm, mk)
		if len(mm) == 0 {
			delete(m.maps, key)
		}
		m.touch(key)
	}
}

// Entries yields the entries of key's map, in no particular order.
func (m *MapState[K, MK, V]) Entries(key K) iter.Seq2[MK, V] {
	return func(yield func(MK, V) bool) {
		for mk, v := range m.maps[key] {
			if !yield(mk, v) {
				return
			}
		}
	}
}

// Clear removes key's map.
func (m *MapState[K, MK, V]) Clear(key K) {
	if _, ok := m.maps[key]; ok {
		delete(m.maps, key)
		m.touch(key)
	}
}

// Len is the number of keys with a map.
func (m *MapState[K, MK, V]) Len() int { return len(m.maps) }
