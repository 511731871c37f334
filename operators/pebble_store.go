package operators

import (
	"errors"

	"github.com/braidstream/braid/state"
)

// pebbleStore is the checkpoint store of a job: state.Checkpoints, the
// Pebble database in the checkpoint directory.
type pebbleStore struct{ c *state.Checkpoints }

func openPebbleStore(cfg *CheckpointConfig, opts state.CheckpointOptions) (*pebbleStore, error) {
	c, err := state.OpenCheckpoints(cfg.Dir, opts)
	if err != nil {
		return nil, err
	}
	return &pebbleStore{c}, nil
}

func (s *pebbleStore) latest() (restoredCheckpoint, error) {
	r, err := s.c.Latest()
	if err != nil || r == nil {
		return nil, err
	}
	return restoredPebble{r}, nil
}

func (s *pebbleStore) resume(cp restoredCheckpoint) error { return s.c.Resume(cp.(restoredPebble).r) }

func (s *pebbleStore) fresh() (int64, error) {
	if err := s.c.Fresh(); err != nil {
		return 0, err
	}
	return int64(s.c.LastID()), nil
}

func (s *pebbleStore) begin(id int64) (checkpointTxn, error) {
	w, err := s.c.Begin(uint64(id))
	if err != nil {
		return nil, err
	}
	return pebbleTxn{w}, nil
}

func (s *pebbleStore) close() error { return s.c.Close() }

type pebbleTxn struct{ w *state.CheckpointWriter }

func (t pebbleTxn) apply(e *entries) error {
	if e == nil || e.len() == 0 {
		return nil
	}
	b := t.w.NewBatch()
	e.each(func(kind entryKind, key, val []byte) error {
		switch kind {
		case entrySet:
			b.Set(key, val)
		case entryDelete:
			b.Delete(key)
		case entryDeleteRange:
			b.DeleteRange(key, val)
		}
		return nil
	})
	return t.w.Apply(b)
}

func (t pebbleTxn) commit(meta []byte) (checkpointStats, error) {
	st, err := t.w.Commit(meta)
	if errors.Is(err, state.ErrCheckpointMaybeComplete) {
		// The checkpoint may exist on disk: the job must not go on as if it
		// failed (a later restore may find it), so it fails.
		return checkpointStats{}, &maybeComplete{err}
	}
	return checkpointStats{bytes: st.BytesWritten, files: st.Files}, err
}

func (t pebbleTxn) abort() error { return t.w.Abort() }

// maybeComplete is a commit error after which the checkpoint may exist.
type maybeComplete struct{ err error }

func (m *maybeComplete) Error() string { return m.err.Error() }
func (m *maybeComplete) Unwrap() error { return m.err }

type restoredPebble struct{ r *state.Restored }

func (r restoredPebble) id() int64                            { return int64(r.r.ID) }
func (r restoredPebble) meta() []byte                         { return r.r.Meta }
func (r restoredPebble) get(key []byte) ([]byte, bool, error) { return r.r.Get(key) }
func (r restoredPebble) scan(lo, hi []byte, fn func(k, v []byte) error) error {
	return r.r.Scan(lo, hi, fn)
}
func (r restoredPebble) close() error { return r.r.Close() }
