package operators

import (
	"hash/maphash"
	"reflect"
	"unsafe"

	"github.com/braidstream/braid/state"
)

// keyTable finds a pane's slot for a key: open addressing with linear
// probing on the key's hash. It does the one thing a window operator asks
// of its index, per element, and does it in fewer steps than a Go map: the
// hash is the KeyBy's (which the keyed exchange has computed already when
// it routes), the probe starts at its low bits, and an entry holds the key
// and its slot together, so a hit is one entry read and a compare.
// Nothing is ever deleted: a pane's keys stay until the pane is reset.
//
// The table indexes keys[:n] of the pane it belongs to. sync rebuilds it
// when the pane's keys were set without it (a restore).
type keyTable[K comparable] struct {
	ents []keyEnt[K] // a power of two long, at most 3/4 full; nil until the first key
	n    int         // keys held
}

type keyEnt[K comparable] struct {
	h uint32 // the key's hash, low bits: compared before the key
	j int32  // the key's slot + 1; 0 marks an empty entry
	k K
}

const minKeyTable = 16

// find returns k's slot, or -1 and where to insert it. h is k's hash.
func (t *keyTable[K]) find(k K, h uint64) (j int32, at int) {
	mask := len(t.ents) - 1
	if mask < 0 {
		return -1, 0
	}
	for i := int(h) & mask; ; i = (i + 1) & mask {
		e := &t.ents[i]
		if e.j == 0 {
			return -1, i
		}
		if e.h == uint32(h) && e.k == k {
			return e.j - 1, i
		}
	}
}

// insert adds k at slot j, at the entry find returned for it.
func (t *keyTable[K]) insert(at int, k K, h uint64, j int32) {
	if (t.n+1)*4 > len(t.ents)*3 {
		t.grow()
		_, at = t.find(k, h)
	}
	t.ents[at] = keyEnt[K]{h: uint32(h), j: j + 1, k: k}
	t.n++
}

// grow doubles the table, placing each key again by its kept hash bits
// (the table never holds 2^32 entries, so they are all the index needs).
func (t *keyTable[K]) grow() {
	old := t.ents
	t.ents = make([]keyEnt[K], max(minKeyTable, 2*len(old)))
	mask := len(t.ents) - 1
	for _, e := range old {
		if e.j == 0 {
			continue
		}
		i := int(e.h) & mask
		for t.ents[i].j != 0 {
			i = (i + 1) & mask
		}
		t.ents[i] = e
	}
}

// reset empties the table, keeping its memory.
func (t *keyTable[K]) reset() {
	clear(t.ents)
	t.n = 0
}

// sync makes the table index keys (slot j holds keys[j]) when it does not
// already: after a restore has filled a pane's keys.
func (t *keyTable[K]) sync(keys []K, hash tableHasher[K]) {
	if t.n == len(keys) {
		return
	}
	t.reset()
	for len(t.ents)*3 < len(keys)*4 {
		t.grow()
	}
	for j, k := range keys {
		h := hash.of(k)
		_, at := t.find(k, h)
		t.insert(at, k, h, int32(j))
	}
}

// A tableHasher hashes keys for key tables: the KeyBy's hash, or, for an
// operator built without one, a process-local hash of the key. An 8-byte
// integer key is mixed inline, as the KeyBy's hash mixes it, without a
// call through a function value on the per-element path.
type tableHasher[K comparable] struct {
	fn    state.Hasher[K]
	int64 bool // K is an 8-byte integer: of mixes its bits
}

func newTableHasher[K comparable](h state.Hasher[K]) tableHasher[K] {
	if h == nil {
		seed := maphash.MakeSeed()
		h = func(k K) uint64 { return maphash.Comparable(seed, k) }
	}
	t := reflect.TypeFor[K]()
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return tableHasher[K]{fn: h, int64: t.Size() == 8}
	}
	return tableHasher[K]{fn: h}
}

// of returns k's hash.
func (h tableHasher[K]) of(k K) uint64 {
	if h.int64 {
		return state.Mix64(*(*uint64)(unsafe.Pointer(&k)))
	}
	return h.fn(k)
}
