package operators

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"

	"github.com/braidstream/braid/internal/errs"
	"github.com/braidstream/braid/state"
)

// keyedSnap is what the session, count, delta and trigger window operators
// share to checkpoint their keyed state: the codecs of the key and of one
// entry's value V, built once when the operator is built with checkpoints
// on, and the scratch buffers a snapshot encodes into.
//
// An entry's store key is a tag byte (which sub-state), the key's encoding
// (state.KeyCodecFor), then a suffix of the operator's (a window's bounds);
// it lies in the key's key group, so that a restore at another parallelism
// reads exactly the keys a subtask owns.
type keyedSnap[K comparable, V any] struct {
	hash       state.Hasher[K]
	maxP       int
	keys       state.Codec[K]
	vals       state.Codec[V]
	kbuf, vbuf []byte
	// scratch and scratchKey are the operator's, to build a value and a
	// key suffix in.
	scratch    V
	scratchKey []byte
}

// newKeyedSnap builds the codecs. Its error says which type cannot be
// checkpointed, and why.
func newKeyedSnap[K comparable, V any](hash state.Hasher[K], maxP int) (*keyedSnap[K, V], error) {
	if hash == nil {
		return nil, fmt.Errorf("braid: its key type %v has no hasher", reflect.TypeFor[K]())
	}
	keys, err := state.KeyCodecFor[K]()
	if err != nil {
		return nil, fmt.Errorf("its key: %w", err)
	}
	vals, err := state.CodecFor[V]()
	if err != nil {
		return nil, fmt.Errorf("its state: %w", err)
	}
	return &keyedSnap[K, V]{hash: hash, maxP: maxP, keys: keys, vals: vals}, nil
}

// uncodable marks an operator whose state cannot be checkpointed: the job
// then refuses to start with checkpoints, naming the operator and the
// type (what) before anything runs.
func uncodable(bc *BuildContext, what string, err error) {
	bc.Unsupported(what + " (" + errs.Trim(err) + ")")
}

func (s *keyedSnap[K, V]) keyGroup(k K) int { return state.KeyGroup(s.hash(k), s.maxP) }

// storeKey is tag, k's encoding, then suffix, in s.kbuf.
func (s *keyedSnap[K, V]) storeKey(tag byte, k K, suffix []byte) []byte {
	s.kbuf = append(s.kbuf[:0], tag)
	s.kbuf = s.keys.Append(s.kbuf, k)
	s.kbuf = append(s.kbuf, suffix...)
	return s.kbuf
}

// set writes v as k's entry of sub-state tag.
func (s *keyedSnap[K, V]) set(w *StateWriter, tag byte, k K, suffix []byte, v V) {
	key := s.storeKey(tag, k, suffix)
	s.vbuf = s.vals.Append(s.vbuf[:0], v)
	w.Set(s.keyGroup(k), key, s.vbuf)
}

// del deletes k's entry of sub-state tag.
func (s *keyedSnap[K, V]) del(w *StateWriter, tag byte, k K, suffix []byte) {
	w.Delete(s.keyGroup(k), s.storeKey(tag, k, suffix))
}

// decode reads an entry as set wrote it: its tag, key and suffix, and its
// value. It checks that the key lies in key group kg.
func (s *keyedSnap[K, V]) decode(kg int, key, val []byte) (tag byte, k K, suffix []byte, v V, err error) {
	if len(key) == 0 {
		return 0, k, nil, v, errors.New("braid: an empty state key")
	}
	tag = key[0]
	k, suffix, err = s.keys.Decode(key[1:])
	if err != nil {
		return tag, k, nil, v, err
	}
	if g := s.keyGroup(k); g != kg {
		return tag, k, nil, v, fmt.Errorf("braid: key %v is stored in key group %d, its key group is %d", k, kg, g)
	}
	v, err = state.DecodeExact(s.vals, val)
	return tag, k, suffix, v, err
}

// The operator's event time (or processing time reached) is operator
// state. After a change of parallelism a restore reads every old
// subtask's and takes the greatest, not the least: all subtasks of a keyed
// operator have the same event time at a barrier (every sender's
// watermarks reach each of them before the barrier), and the store keeps
// the entries of subtasks that no longer exist after a rescale, from
// older checkpoints (StateWriter clears only its own subtask's), so the
// least would go back in time at the next restore.

func snapshotTime(w *StateWriter, name string, t int64) {
	w.SetOperator(name, binary.AppendVarint(nil, t))
}

// restoreTime returns the greatest time of that name of the old subtasks,
// and false when none wrote one.
func restoreTime(r *StateReader, name string) (int64, bool, error) {
	vals, err := r.OperatorAll(name)
	if err != nil || len(vals) == 0 {
		return 0, false, err
	}
	latest := int64(math.MinInt64)
	for _, v := range vals {
		t, n := binary.Varint(v)
		if n <= 0 || n != len(v) {
			return 0, false, fmt.Errorf("braid: operator state %q does not decode", name)
		}
		latest = max(latest, t)
	}
	return latest, true, nil
}
