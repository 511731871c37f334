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

// cells is what every kind of state is made of: a map from key to value
// (a list, a map, an accumulator), the key hash and key groups, change
// tracking, codecs and an optional TTL.
type cells[K comparable, V any] struct {
	name    string
	st      *Store
	hash    Hasher[K]
	maxP    int
	vals    map[K]V
	changed map[K]struct{} // nil when not tracking
	prefix  []byte         // the name, as keys begin with it
	keyC    Codec[K]
	valC    Codec[V]
	ttl     *ttlIndex[K]
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
	c := cells[K, V]{name: name, st: s, hash: h, maxP: s.maxParallelism, vals: make(map[K]V)}
	if cfg.ttl > 0 {
		c.ttl = &ttlIndex[K]{ttl: int64(cfg.ttl), onRead: cfg.update == OnReadAndWrite, stamps: make(map[K]ttlStamp)}
	}
	if s.checkpoints {
		c.changed = make(map[K]struct{})
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
func (c *cells[K, V]) Len() int { return len(c.vals) }

// Changed is the number of keys changed since the last snapshot (always
// 0 in a store made without WithCheckpoints).
func (c *cells[K, V]) Changed() int { return len(c.changed) }

// KeyGroupOf is key's key group.
func (c *cells[K, V]) KeyGroupOf(key K) int { return KeyGroup(c.hash(key), c.maxP) }

// TakeChanges returns the keys written or cleared since the last call (or
// snapshot), and forgets them: the keys an incremental checkpoint writes
// (or deletes). It is empty in a store made without WithCheckpoints.
func (c *cells[K, V]) TakeChanges() []K {
	out := make([]K, 0, len(c.changed))
	for key := range c.changed {
		out = append(out, key)
	}
	clear(c.changed)
	return out
}

func (c *cells[K, V]) touch(key K) {
	if c.changed != nil {
		c.changed[key] = struct{}{}
	}
}

// get is key's live value: an expired one is removed and reads as absent.
func (c *cells[K, V]) get(key K) (V, bool) {
	v, ok := c.vals[key]
	if !ok || c.ttl == nil {
		return v, ok
	}
	now := c.st.nowNanos()
	if c.ttl.expired(key, now) {
		c.remove(key)
		var zero V
		return zero, false
	}
	if c.ttl.onRead {
		c.ttl.stamp(key, now)
		c.touch(key)
	}
	return v, true
}

func (c *cells[K, V]) put(key K, v V) {
	c.vals[key] = v
	c.wrote(key)
}

// wrote notes that key's value was written in place.
func (c *cells[K, V]) wrote(key K) {
	c.touch(key)
	if c.ttl != nil {
		now := c.st.nowNanos()
		c.ttl.stamp(key, now)
		c.ttl.cleanup(now, c.remove)
	}
}

func (c *cells[K, V]) remove(key K) {
	if _, ok := c.vals[key]; ok {
		delete(c.vals, key)
		c.touch(key)
	}
	if c.ttl != nil {
		delete(c.ttl.stamps, key)
	}
}

// all yields the live keys and values.
func (c *cells[K, V]) all(yield func(K, V) bool) {
	var now int64
	if c.ttl != nil {
		now = c.st.nowNanos()
	}
	for k, v := range c.vals {
		if c.ttl != nil && c.ttl.expired(k, now) {
			continue
		}
		if !yield(k, v) {
			return
		}
	}
}

func (c *cells[K, V]) snapshot(s *Store, full bool, emit func(kg int, key, val []byte), del func(kg int, key []byte)) {
	if c.ttl != nil {
		c.ttl.cleanup(s.nowNanos(), c.remove)
	}
	one := func(k K) {
		s.key = c.keyC.Append(append(s.key[:0], c.prefix...), k)
		kg := c.KeyGroupOf(k)
		v, ok := c.vals[k]
		if !ok {
			del(kg, s.key)
			return
		}
		s.val = s.val[:0]
		if c.ttl != nil {
			s.val = append(s.val, 1)
			s.val = binary.AppendVarint(s.val, c.ttl.stamps[k].at)
		} else {
			s.val = append(s.val, 0)
		}
		s.val = c.valC.Append(s.val, v)
		emit(kg, s.key, s.val)
	}
	if full {
		for k := range c.vals {
			one(k)
		}
	} else {
		for k := range c.changed {
			one(k)
		}
	}
	clear(c.changed)
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
	c.vals[k] = v
	if c.ttl != nil {
		if flag == 0 {
			// The state had no TTL when it was written: it starts now,
			// and the next checkpoint keeps that.
			at = s.nowNanos()
			c.touch(k)
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
	x, _ := l.get(key)
	l.put(key, append(x, val))
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
	mm, ok := m.get(key)
	if !ok {
		mm = make(map[MK]V)
		m.vals[key] = mm
	}
	mm[mk] = v
	m.wrote(key)
}

// Delete removes mk from key's map.
func (m *MapState[K, MK, V]) Delete(key K, mk MK) {
	mm, ok := m.get(key)
	if !ok {
		return
	}
	if _, ok := mm[mk]; ok {
		delete(mm, mk)
		if len(mm) == 0 {
			m.remove(key)
			return
		}
		m.wrote(key)
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
