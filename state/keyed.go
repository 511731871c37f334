package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"time"

	"github.com/braidstream/braid/internal/errs"
)

// A Store holds the keyed state of one operator subtask: named states,
// each typed, each a map from key to value in memory (the working state;
// checkpoints write what changed). An operator makes its states once, when
// it is built, and then reads and writes them per key.
//
// Every state knows each key's key group (from the key's stable hash), the
// unit in which state is laid out in a checkpoint and moved when a job is
// restored at another parallelism. A store made WithCheckpoints tracks the
// keys changed since the last Snapshot (or TakeChanges), so that a
// checkpoint writes only those.
//
// Not safe for concurrent use: an operator subtask's state belongs to its
// task's goroutine.
type Store struct {
	maxParallelism int
	states         map[string]snapState
	order          []string
	checkpoints    bool
	now            func() time.Time
	key, val       []byte // snapshot scratch
}

// A StoreOption configures a Store.
type StoreOption func(*Store)

// WithCheckpoints makes the store's states checkpointable: each state
// builds the codecs of its key and value types when it is made (a type
// that cannot be encoded fails NewValue, NewList... with an error naming
// the state and the type, marked ErrUncodable), and tracks the keys
// changed since the last snapshot. Without it, states track nothing and
// Snapshot fails.
func WithCheckpoints() StoreOption { return func(s *Store) { s.checkpoints = true } }

// WithClock sets the processing-time clock of the store's state TTL
// (time.Now by default).
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// NewStore returns an empty store for a subtask of an operator whose keys
// fall into maxParallelism key groups (0 means DefaultMaxParallelism).
func NewStore(maxParallelism int, opts ...StoreOption) *Store {
	if maxParallelism <= 0 {
		maxParallelism = DefaultMaxParallelism
	}
	s := &Store{maxParallelism: maxParallelism, states: make(map[string]snapState), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ErrStateExists marks the error of making two states of one name.
var ErrStateExists = errors.New("braid: a state of that name exists")

// State is what every keyed state has, whatever its types: what a
// checkpoint needs to walk it.
type State interface {
	// Name is the state's name, unique in its store.
	Name() string
	// Len is the number of keys with a value (with a TTL: expired values
	// not yet removed included).
	Len() int
	// Changed is the number of keys changed since the last snapshot.
	Changed() int
}

// snapState is a state as its store snapshots and restores it.
type snapState interface {
	State
	snapshot(s *Store, full bool, emit func(kg int, key, val []byte), del func(kg int, key []byte))
	restore(s *Store, kg int, key, val []byte) error
}

// States returns the store's states in the order they were made.
func (s *Store) States() []State {
	out := make([]State, len(s.order))
	for i, n := range s.order {
		out[i] = s.states[n]
	}
	return out
}

func (s *Store) register(st snapState) error {
	if _, ok := s.states[st.Name()]; ok {
		return fmt.Errorf("%w: %q", ErrStateExists, st.Name())
	}
	s.states[st.Name()] = st
	s.order = append(s.order, st.Name())
	return nil
}

func (s *Store) nowNanos() int64 { return s.now().UnixNano() }

// ErrNotCheckpointed marks the error of Snapshot or Restore on a store
// made without WithCheckpoints.
var ErrNotCheckpointed = errors.New("braid: the state store was made without checkpoints")

// Snapshot hands a checkpoint the store's state: every key of every state
// when full, else the keys changed since the last Snapshot; emit for a key
// with a value, del for one whose value is gone. key and val are valid
// only during the call. Each key's bytes begin with its state's name, so
// that the states of one store share the operator's key space; kg is the
// key's key group. Values expired under a TTL are removed first. Snapshot
// then forgets the changes.
func (s *Store) Snapshot(full bool, emit func(kg int, key, val []byte), del func(kg int, key []byte)) error {
	if !s.checkpoints {
		return ErrNotCheckpointed
	}
	for _, n := range s.order {
		s.states[n].snapshot(s, full, emit, del)
	}
	return nil
}

// Restore puts back one key that Snapshot emitted, into the state its
// bytes name. It fails on bytes that do not decode, on a key stored under
// another key group than its own, and on a state the store does not hold
// (the function no longer makes it). Restored keys are not changes.
func (s *Store) Restore(kg int, key, val []byte) error {
	if !s.checkpoints {
		return ErrNotCheckpointed
	}
	n, k := binary.Uvarint(key)
	if k <= 0 || uint64(len(key)-k) < n {
		return fmt.Errorf("%w: a keyed state's key is cut short", ErrDecode)
	}
	name := string(key[k : k+int(n)])
	st, ok := s.states[name]
	if !ok {
		return fmt.Errorf("braid: the checkpoint holds keyed state %q, which the function no longer makes", name)
	}
	return st.restore(s, kg, key[k+int(n):], val)
}

// TTLUpdate says which accesses renew a value's time to live.
type TTLUpdate uint8

const (
	// OnCreateAndWrite renews a value's TTL when it is written (Set, Add,
	// Put, Delete of a map entry), as Flink's default.
	OnCreateAndWrite TTLUpdate = iota
	// OnReadAndWrite renews it on reads too (Get, Entries).
	OnReadAndWrite
)

// An Option configures one state.
type Option func(*stateConfig) error

type stateConfig struct {
	ttl    time.Duration
	update TTLUpdate
}

// WithTTL gives the state a time to live: a key's value that has not been
// written (or, with OnReadAndWrite, read) for ttl of processing time, by
// the store's clock, has expired. An expired value is never returned (it
// reads as absent) and is removed: at once when it is read, else by a
// later write to the state or the next checkpoint. The TTL applies to a
// key's whole value, list or map. The time of the last access is kept in
// checkpoints, so a value restored after a crash expires when it would
// have.
func WithTTL(ttl time.Duration, update TTLUpdate) Option {
	return func(c *stateConfig) error {
		if ttl <= 0 {
			return fmt.Errorf("braid: state TTL must be positive, got %v", ttl)
		}
		if update > OnReadAndWrite {
			return fmt.Errorf("braid: unknown TTL update %d", update)
		}
		c.ttl, c.update = ttl, update
		return nil
	}
}

// cells is what every kind of state is made of: the keys' values (a
// list, a map, an accumulator) in slots, a map from key to slot, the key
// hash and key groups, change tracking, codecs and an optional TTL.
//
// Change tracking costs a flag test per write, no map write: a slot
// changed since the last snapshot is flagged dirty and listed once; a
// slot whose key the checkpoint store holds is flagged saved, and when
// its key goes the key is listed as gone, to be deleted. A key written
// and removed between two snapshots never reaches the store and costs it
// nothing. Slots do not move (a removed key's slot is reused by the next
// new key), so the last slot found is kept: the read and the write of one
// element's key find it once.
type cells[K comparable, V any] struct {
	name  string
	st    *Store
	hash  Hasher[K]
	maxP  int
	index map[K]int32
	slots []cell[K, V]
	spare []int32 // slots without a key
	nlive int
	last  int32 // the slot of the key found last, or -1

	track  bool    // with checkpoints
	dirty  []int32 // slots changed since the last snapshot, each once
	gone   []K     // keys the store holds that were removed since
	prefix []byte  // the name, as keys begin with it
	keyC   Codec[K]
	valC   Codec[V]
	ttl    *ttlIndex[K]
}

// cell is one slot of a state.
type cell[K comparable, V any] struct {
	key   K
	val   V
	live  bool // the slot holds key
	dirty bool // listed in cells.dirty
	saved bool // the checkpoint store holds key's value (as of the last snapshot)
}

func newCells[K comparable, V any](s *Store, name string, opts []Option) (cells[K, V], error) {
	h, err := NewHasher[K]()
	if err != nil {
		return cells[K, V]{}, err
	}
	var cfg stateConfig
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return cells[K, V]{}, errs.Wrapf(err, "braid: state %q", name)
		}
	}
	c := cells[K, V]{name: name, st: s, hash: h, maxP: s.maxParallelism, index: make(map[K]int32), last: -1}
	if cfg.ttl > 0 {
		c.ttl = &ttlIndex[K]{ttl: int64(cfg.ttl), onRead: cfg.update == OnReadAndWrite, stamps: make(map[K]ttlStamp)}
	}
	if s.checkpoints {
		c.track = true
		c.prefix = binary.AppendUvarint(nil, uint64(len(name)))
		c.prefix = append(c.prefix, name...)
		if c.keyC, err = KeyCodecFor[K](); err != nil {
			return cells[K, V]{}, errs.Wrapf(err, "braid: state %q: key type %v", name, reflect.TypeFor[K]())
		}
		if c.valC, err = CodecFor[V](); err != nil {
			return cells[K, V]{}, errs.Wrapf(err, "braid: state %q: value type %v", name, reflect.TypeFor[V]())
		}
	}
	return c, nil
}

// Name is the state's name.
func (c *cells[K, V]) Name() string { return c.name }

// Len is the number of keys with a value (with a TTL: expired values not
// yet removed included).
func (c *cells[K, V]) Len() int { return c.nlive }

// Changed is the number of keys an incremental snapshot would write or
// delete now: those written since the last snapshot, and those removed
// that the last one had written (always 0 in a store made without
// WithCheckpoints). It costs a walk of the changes.
func (c *cells[K, V]) Changed() int {
	n := 0
	for _, i := range c.dirty {
		if c.slots[i].live {
			n++
		}
	}
	for _, k := range c.gone {
		if _, ok := c.index[k]; !ok {
			n++
		}
	}
	return n
}

// KeyGroupOf is key's key group.
func (c *cells[K, V]) KeyGroupOf(key K) int { return KeyGroup(c.hash(key), c.maxP) }

// TakeChanges returns the keys an incremental checkpoint would write or
// delete now (see Changed), and forgets them, as a snapshot does: the
// caller is taken to have stored them. It is empty in a store made
// without WithCheckpoints.
func (c *cells[K, V]) TakeChanges() []K {
	out := make([]K, 0, len(c.dirty)+len(c.gone))
	for _, k := range c.gone {
		if _, ok := c.index[k]; !ok {
			out = append(out, k)
		}
	}
	for _, i := range c.dirty {
		sl := &c.slots[i]
		sl.dirty = false
		if sl.live {
			sl.saved = true
			out = append(out, sl.key)
		}
	}
	c.forget()
	return out
}

// forget empties the lists of changes (their flags already cleared).
func (c *cells[K, V]) forget() {
	clear(c.gone)
	c.gone, c.dirty = c.gone[:0], c.dirty[:0]
}

// find is key's slot, expired or not.
func (c *cells[K, V]) find(key K) (int32, bool) {
	if i := c.last; i >= 0 && c.slots[i].key == key {
		return i, true
	}
	i, ok := c.index[key]
	if ok {
		c.last = i
	}
	return i, ok
}

// lookup is key's slot when it holds a live value: an expired one is
// removed and reads as absent.
func (c *cells[K, V]) lookup(key K) (int32, bool) {
	i, ok := c.find(key)
	if !ok || c.ttl == nil {
		return i, ok
	}
	now := c.st.nowNanos()
	if c.ttl.expired(key, now) {
		c.free(i)
		return 0, false
	}
	if c.ttl.onRead {
		c.ttl.stamp(key, now)
		c.mark(i)
	}
	return i, true
}

// get is key's live value.
func (c *cells[K, V]) get(key K) (V, bool) {
	i, ok := c.lookup(key)
	if !ok {
		var zero V
		return zero, false
	}
	return c.slots[i].val, true
}

// slotFor is key's slot, a new one if it has none.
func (c *cells[K, V]) slotFor(key K) int32 {
	if i, ok := c.lookup(key); ok {
		return i
	}
	i := c.insert(key)
	c.mark(i)
	return i
}

// insert gives key a slot (which it must not have).
func (c *cells[K, V]) insert(key K) int32 {
	var i int32
	if n := len(c.spare); n > 0 {
		i = c.spare[n-1]
		c.spare = c.spare[:n-1]
	} else {
		i = int32(len(c.slots))
		c.slots = append(c.slots, cell[K, V]{})
	}
	// A reused slot may still be listed as dirty: it stays so, once.
	c.slots[i] = cell[K, V]{key: key, live: true, dirty: c.slots[i].dirty}
	c.index[key] = i
	c.nlive++
	c.last = i
	return i
}

func (c *cells[K, V]) put(key K, v V) {
	i := c.slotFor(key)
	c.slots[i].val = v
	c.wrote(i)
}

// mark notes that slot i changed.
func (c *cells[K, V]) mark(i int32) {
	if sl := &c.slots[i]; c.track && !sl.dirty {
		sl.dirty = true
		c.dirty = append(c.dirty, i)
	}
}

// wrote notes that slot i's value was written in place.
func (c *cells[K, V]) wrote(i int32) {
	c.mark(i)
	if c.ttl != nil {
		now := c.st.nowNanos()
		c.ttl.stamp(c.slots[i].key, now)
		c.ttl.cleanup(now, c.remove)
	}
}

// free removes slot i's key.
func (c *cells[K, V]) free(i int32) {
	sl := &c.slots[i]
	key := sl.key
	delete(c.index, key)
	if sl.saved {
		c.gone = append(c.gone, key)
	}
	if c.ttl != nil {
		delete(c.ttl.stamps, key)
	}
	*sl = cell[K, V]{dirty: sl.dirty}
	c.spare = append(c.spare, i)
	c.nlive--
	if c.last == i {
		c.last = -1
	}
}

func (c *cells[K, V]) remove(key K) {
	if i, ok := c.find(key); ok {
		c.free(i)
	}
}

// all yields the live keys and values.
func (c *cells[K, V]) all(yield func(K, V) bool) {
	var now int64
	if c.ttl != nil {
		now = c.st.nowNanos()
	}
	for i := range c.slots {
		sl := &c.slots[i]
		if !sl.live || c.ttl != nil && c.ttl.expired(sl.key, now) {
			continue
		}
		if !yield(sl.key, sl.val) {
			return
		}
	}
}

func (c *cells[K, V]) snapshot(s *Store, full bool, emit func(kg int, key, val []byte), del func(kg int, key []byte)) {
	if c.ttl != nil {
		c.ttl.cleanup(s.nowNanos(), c.remove)
	}
	one := func(sl *cell[K, V]) {
		s.key = c.keyC.Append(append(s.key[:0], c.prefix...), sl.key)
		s.val = s.val[:0]
		if c.ttl != nil {
			s.val = append(s.val, 1)
			s.val = binary.AppendVarint(s.val, c.ttl.stamps[sl.key].at)
		} else {
			s.val = append(s.val, 0)
		}
		s.val = c.valC.Append(s.val, sl.val)
		emit(c.KeyGroupOf(sl.key), s.key, s.val)
		sl.saved = true
	}
	for _, i := range c.dirty {
		c.slots[i].dirty = false
	}
	if full {
		// The store holds nothing of the state: every key is written.
		for i := range c.slots {
			if sl := &c.slots[i]; sl.live {
				one(sl)
			}
		}
		c.forget()
		return
	}
	// Deletions first; a key that came back is written anew instead.
	for _, k := range c.gone {
		if _, ok := c.index[k]; !ok {
			s.key = c.keyC.Append(append(s.key[:0], c.prefix...), k)
			del(c.KeyGroupOf(k), s.key)
		}
	}
	for _, i := range c.dirty {
		if sl := &c.slots[i]; sl.live {
			one(sl)
		}
	}
	c.forget()
}

func (c *cells[K, V]) restore(s *Store, kg int, key, val []byte) error {
	k, err := DecodeExact(c.keyC, key)
	if err != nil {
		return errs.Wrapf(err, "braid: state %q: a key", c.name)
	}
	if own := c.KeyGroupOf(k); own != kg {
		return fmt.Errorf("%w: state %q: a key of key group %d is stored under key group %d", ErrDecode, c.name, own, kg)
	}
	if len(val) == 0 {
		return fmt.Errorf("%w: state %q: an empty value", ErrDecode, c.name)
	}
	flag, rest := val[0], val[1:]
	var at int64
	switch flag {
	case 0:
	case 1:
		var n int
		if at, n = binary.Varint(rest); n <= 0 {
			return fmt.Errorf("%w: state %q: a value's time to live is cut short", ErrDecode, c.name)
		}
		rest = rest[n:]
	default:
		return fmt.Errorf("%w: state %q: a value begins with %d", ErrDecode, c.name, flag)
	}
	v, err := DecodeExact(c.valC, rest)
	if err != nil {
		return errs.Wrapf(err, "braid: state %q: a value", c.name)
	}
	i, ok := c.find(k)
	if !ok {
		i = c.insert(k)
	}
	c.slots[i].val = v
	c.slots[i].saved = true
	if c.ttl != nil {
		if flag == 0 {
			// The state had no TTL when it was written: it starts now,
			// and the next checkpoint keeps that.
			at = s.nowNanos()
			c.mark(i)
		}
		c.ttl.restoreStamp(k, at)
	}
	return nil
}

// ttlIndex keeps, per key, the time of its last renewing access, and a
// queue of keys in about that order, so that expired values are found
// without a scan: each key has one entry in the queue (the one whose seq
// its stamp holds); an entry that comes due for a key renewed since goes
// to the back with the key's new time.
type ttlIndex[K comparable] struct {
	ttl      int64
	onRead   bool
	stamps   map[K]ttlStamp
	queue    []ttlQueued[K]
	head     int
	seq      uint64
	unsorted bool // restored entries, in no order yet
}

type ttlStamp struct {
	at  int64
	seq uint64
}

type ttlQueued[K comparable] struct {
	key K
	at  int64
	seq uint64
}

func (t *ttlIndex[K]) expired(key K, now int64) bool {
	s, ok := t.stamps[key]
	return ok && now-s.at >= t.ttl
}

func (t *ttlIndex[K]) stamp(key K, now int64) {
	if s, ok := t.stamps[key]; ok {
		s.at = now
		t.stamps[key] = s
		return
	}
	t.enqueue(key, now)
}

func (t *ttlIndex[K]) enqueue(key K, at int64) {
	t.seq++
	t.stamps[key] = ttlStamp{at: at, seq: t.seq}
	t.queue = append(t.queue, ttlQueued[K]{key: key, at: at, seq: t.seq})
}

func (t *ttlIndex[K]) restoreStamp(key K, at int64) {
	t.enqueue(key, at)
	t.unsorted = true
}

// cleanup expires the keys due by now. A key renewed after a later one
// can sit behind it in the queue; it is then removed at most one TTL
// late, and never read meanwhile (get checks its stamp).
func (t *ttlIndex[K]) cleanup(now int64, expire func(K)) {
	if t.unsorted {
		slices.SortFunc(t.queue[t.head:], func(a, b ttlQueued[K]) int { return cmpInt64(a.at, b.at) })
		t.unsorted = false
	}
	for t.head < len(t.queue) {
		q := t.queue[t.head]
		if now-q.at < t.ttl {
			break
		}
		t.queue[t.head] = ttlQueued[K]{}
		t.head++
		s, ok := t.stamps[q.key]
		if !ok || s.seq != q.seq {
			continue // removed, or queued again since
		}
		if now-s.at >= t.ttl {
			expire(q.key)
			continue
		}
		t.enqueue(q.key, s.at)
	}
	if t.head > 32 && 2*t.head > len(t.queue) {
		n := copy(t.queue, t.queue[t.head:])
		clear(t.queue[n:])
		t.queue, t.head = t.queue[:n], 0
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ValueState holds one value per key.
type ValueState[K comparable, V any] struct {
	cells[K, V]
}

// NewValue makes a value state named name in s.
func NewValue[K comparable, V any](s *Store, name string, opts ...Option) (*ValueState[K, V], error) {
	c, err := newCells[K, V](s, name, opts)
	if err != nil {
		return nil, err
	}
	v := &ValueState[K, V]{cells: c}
	return v, s.register(v)
}

// Get returns key's value and whether it has one.
func (v *ValueState[K, V]) Get(key K) (V, bool) { return v.get(key) }

// Set sets key's value.
func (v *ValueState[K, V]) Set(key K, val V) { v.put(key, val) }

// Clear removes key's value.
func (v *ValueState[K, V]) Clear(key K) { v.remove(key) }

// All yields every key and value, in no particular order.
func (v *ValueState[K, V]) All() iter.Seq2[K, V] { return v.all }

// ListState holds a list of values per key.
type ListState[K comparable, V any] struct {
	cells[K, []V]
}

// NewList makes a list state named name in s.
func NewList[K comparable, V any](s *Store, name string, opts ...Option) (*ListState[K, V], error) {
	c, err := newCells[K, []V](s, name, opts)
	if err != nil {
		return nil, err
	}
	l := &ListState[K, V]{cells: c}
	return l, s.register(l)
}

// Get returns key's list (nil when empty). The caller must not keep it
// past the next change to key's list.
func (l *ListState[K, V]) Get(key K) []V { x, _ := l.get(key); return x }

// Add appends val to key's list.
func (l *ListState[K, V]) Add(key K, val V) {
	i := l.slotFor(key)
	l.slots[i].val = append(l.slots[i].val, val)
	l.wrote(i)
}

// Set replaces key's list (an empty one clears it).
func (l *ListState[K, V]) Set(key K, vals []V) {
	if len(vals) == 0 {
		l.Clear(key)
		return
	}
	l.put(key, vals)
}

// Clear removes key's list.
func (l *ListState[K, V]) Clear(key K) { l.remove(key) }

// MapState holds a map from user keys MK to values per key.
type MapState[K comparable, MK comparable, V any] struct {
	cells[K, map[MK]V]
}

// NewMap makes a map state named name in s.
func NewMap[K comparable, MK comparable, V any](s *Store, name string, opts ...Option) (*MapState[K, MK, V], error) {
	c, err := newCells[K, map[MK]V](s, name, opts)
	if err != nil {
		return nil, err
	}
	m := &MapState[K, MK, V]{cells: c}
	return m, s.register(m)
}

// Get returns the value at mk in key's map.
func (m *MapState[K, MK, V]) Get(key K, mk MK) (V, bool) {
	mm, _ := m.get(key)
	v, ok := mm[mk]
	return v, ok
}

// Put sets the value at mk in key's map.
func (m *MapState[K, MK, V]) Put(key K, mk MK, v V) {
	i := m.slotFor(key)
	if m.slots[i].val == nil {
		m.slots[i].val = make(map[MK]V)
	}
	m.slots[i].val[mk] = v
	m.wrote(i)
}

// Delete removes mk from key's map.
func (m *MapState[K, MK, V]) Delete(key K, mk MK) {
	i, ok := m.lookup(key)
	if !ok {
		return
	}
	if mm := m.slots[i].val; len(mm) > 0 {
		if _, ok := mm[mk]; !ok {
			return
		}
		delete(mm, mk)
		if len(mm) == 0 {
			m.free(i)
			return
		}
		m.wrote(i)
	}
}

// Entries yields the entries of key's map, in no particular order.
func (m *MapState[K, MK, V]) Entries(key K) iter.Seq2[MK, V] {
	return func(yield func(MK, V) bool) {
		mm, _ := m.get(key)
		for mk, v := range mm {
			if !yield(mk, v) {
				return
			}
		}
	}
}

// Clear removes key's map.
func (m *MapState[K, MK, V]) Clear(key K) { m.remove(key) }

// ReducingState holds, per key, the reduction of the values added to it
// with reduce (as Flink's ReducingState): the first value added is kept
// as it is, each next one combined with reduce(kept, added).
type ReducingState[K comparable, V any] struct {
	cells[K, V]
	reduce func(a, b V) V
}

// NewReducing makes a reducing state named name in s.
func NewReducing[K comparable, V any](s *Store, name string, reduce func(a, b V) V, opts ...Option) (*ReducingState[K, V], error) {
	if reduce == nil {
		return nil, fmt.Errorf("braid: reducing state %q: the reduce function is nil", name)
	}
	c, err := newCells[K, V](s, name, opts)
	if err != nil {
		return nil, err
	}
	r := &ReducingState[K, V]{cells: c, reduce: reduce}
	return r, s.register(r)
}

// Get returns key's reduced value and whether any value was added.
func (r *ReducingState[K, V]) Get(key K) (V, bool) { return r.get(key) }

// Add reduces v into key's value.
func (r *ReducingState[K, V]) Add(key K, v V) {
	if cur, ok := r.get(key); ok {
		v = r.reduce(cur, v)
	}
	r.put(key, v)
}

// Clear removes key's value.
func (r *ReducingState[K, V]) Clear(key K) { r.remove(key) }

// An AggregateFunc folds values of IN into an accumulator ACC and turns
// it into a result OUT, for an AggregatingState (Flink's
// AggregateFunction, without merge).
type AggregateFunc[IN, ACC, OUT any] struct {
	Init   func() ACC
	Add    func(acc ACC, v IN) ACC
	Result func(acc ACC) OUT
}

// AggregatingState holds an accumulator per key (as Flink's
// AggregatingState): Add folds a value into it, Get returns its result.
// The accumulator is what checkpoints keep.
type AggregatingState[K comparable, IN, ACC, OUT any] struct {
	cells[K, ACC]
	f AggregateFunc[IN, ACC, OUT]
}

// NewAggregating makes an aggregating state named name in s.
func NewAggregating[K comparable, IN, ACC, OUT any](s *Store, name string, f AggregateFunc[IN, ACC, OUT], opts ...Option) (*AggregatingState[K, IN, ACC, OUT], error) {
	if f.Init == nil || f.Add == nil || f.Result == nil {
		return nil, fmt.Errorf("braid: aggregating state %q: Init, Add and Result must all be set", name)
	}
	c, err := newCells[K, ACC](s, name, opts)
	if err != nil {
		return nil, err
	}
	a := &AggregatingState[K, IN, ACC, OUT]{cells: c, f: f}
	return a, s.register(a)
}

// Get returns the result of key's accumulator and whether any value was
// added.
func (a *AggregatingState[K, IN, ACC, OUT]) Get(key K) (OUT, bool) {
	acc, ok := a.get(key)
	if !ok {
		var zero OUT
		return zero, false
	}
	return a.f.Result(acc), true
}

// Add folds v into key's accumulator (a new one from Init for a key
// without).
func (a *AggregatingState[K, IN, ACC, OUT]) Add(key K, v IN) {
	acc, ok := a.get(key)
	if !ok {
		acc = a.f.Init()
	}
	a.put(key, a.f.Add(acc, v))
}

// Clear removes key's accumulator.
func (a *AggregatingState[K, IN, ACC, OUT]) Clear(key K) { a.remove(key) }
