package state

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Latest opens the newest intact complete checkpoint, read-only. A
// checkpoint is intact when its completion record decodes and its checksum
// matches, when every file the record lists is there with the size and
// CRC-32C the record gives (every byte is read), and when Pebble opens it.
// Newer checkpoints that are not intact (no completion record because a
// crash cut them short, a damaged record, a missing, truncated or altered
// file) are skipped, each with a warning in the log saying which file and
// why, and Latest falls back to the next older one. It returns nil, nil
// when no checkpoint has a completion record (none ever completed), and an
// error marked ErrNoIntactCheckpoint, listing why each was rejected, when
// some have one and none is intact.
//
// Latest does not write to the directory. The Restored stays valid after
// the store is closed; close it when done.
func (c *Checkpoints) Latest() (*Restored, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("braid: checkpoint store %s: closed", c.dir)
	}
	entries, err := c.list()
	if err != nil {
		return nil, err
	}
	var reasons []error
	for _, e := range entries {
		rec, err := c.readRecord(e.id)
		if err == nil {
			err = c.verify(rec)
		}
		var r *Restored
		if err == nil {
			r, err = c.openRestored(rec)
		}
		if err == nil {
			return r, nil
		}
		c.log.Warn("braid: checkpoint skipped: not intact", "checkpoint", e.id, "dir", c.chkDir(e.id), "reason", err)
		if !errors.Is(err, errNoRecord) {
			reasons = append(reasons, err)
		}
	}
	if len(reasons) == 0 {
		return nil, nil
	}
	return nil, fmt.Errorf("%w in %s (%d with a completion record, all rejected): %w",
		ErrNoIntactCheckpoint, c.dir, len(reasons), errors.Join(reasons...))
}

func (c *Checkpoints) openRestored(rec *record) (*Restored, error) {
	dir := c.chkDir(rec.id)
	view := &checkpointView{FS: c.fs, dir: c.fs.PathJoin(dir), files: rec.byName}
	opts := c.pebbleOptions(view, dir, nil)
	opts.ReadOnly = true
	var db *pebble.DB
	if err := pebbleCall(func() (err error) {
		db, err = pebble.Open(dir, opts)
		return err
	}); err != nil {
		return nil, fmt.Errorf("braid: checkpoint %d: opening %s: %w", rec.id, dir, err)
	}
	return &Restored{ID: rec.id, Meta: slices.Clone(rec.meta), c: c, rec: rec, db: db}, nil
}

// Restored is a complete checkpoint opened read-only by Latest: its state
// and the meta bytes its Commit recorded. Get and Scan are safe for
// concurrent use.
type Restored struct {
	ID   uint64 // the checkpoint's id
	Meta []byte // the meta bytes given to Commit

	c   *Checkpoints
	rec *record
	db  *pebble.DB
}

// Get returns the value of key in the checkpoint, and whether it has one.
// The value is a copy.
func (r *Restored) Get(key []byte) (val []byte, ok bool, err error) {
	if r.db == nil {
		return nil, false, fmt.Errorf("braid: checkpoint %d: get: closed", r.ID)
	}
	err = pebbleCall(func() error {
		v, closer, err := r.db.Get(key)
		if err != nil {
			return err
		}
		val = slices.Clone(v)
		if val == nil {
			val = []byte{}
		}
		return closer.Close()
	})
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("braid: checkpoint %d: get: %w", r.ID, err)
	}
	return val, true, nil
}

// Scan calls fn with every key in [lo, hi) and its value, in key order;
// hi nil means to the end. key and val are valid only during the call.
// Scan stops at fn's first error and returns it unchanged.
func (r *Restored) Scan(lo, hi []byte, fn func(key, val []byte) error) error {
	if r.db == nil {
		return fmt.Errorf("braid: checkpoint %d: scan: closed", r.ID)
	}
	var fnErr error
	err := pebbleCall(func() error {
		it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return err
		}
		var valErr error
		for ok := it.First(); ok; ok = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				valErr = err
				break
			}
			if fnErr = fn(it.Key(), v); fnErr != nil {
				break
			}
		}
		return errors.Join(valErr, it.Error(), it.Close())
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("braid: checkpoint %d: scan: %w", r.ID, err)
	}
	return nil
}

// Close closes the checkpoint's database. The checkpoint stays on disk.
func (r *Restored) Close() error {
	if r.db == nil {
		return nil
	}
	db := r.db
	r.db = nil
	if err := pebbleCall(db.Close); err != nil {
		return fmt.Errorf("braid: checkpoint %d: closing: %w", r.ID, err)
	}
	return nil
}
