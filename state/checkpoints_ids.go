package state

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/staging"
)

// Checkpoint ids strictly increase over the whole life of a directory:
// an id given to Begin is never given again, whatever became of its
// checkpoint (complete, then damaged and skipped by Latest, deleted by
// Resume, by retention or after it failed, or cut short by a crash).
// Two-phase sinks name their transactions by it, so a reused id could
// collide with what they published or staged for the earlier one.
//
// The greatest id ever begun is kept durably in the name of an empty
// file, dir/ids-00000000000000000007 (ids up to 7 are used): Begin renames
// it to its own id and syncs the directory before it returns, so an id
// is on disk before anyone sees it. A name, not a file's content, so
// that no damage to a file's bytes can lose it. Resume and Fresh continue
// above the greatest of it and of the ids of the checkpoint directories
// (a directory written before the file existed has only those).

const idsPrefix = "ids-"

func idsName(id uint64) string { return fmt.Sprintf("%s%020d", idsPrefix, id) }

// parseIDsName returns the id of a reservation file's name.
func parseIDsName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, idsPrefix)
	if !ok || len(digits) != 20 || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseUint(digits, 10, 64)
	return id, err == nil
}

// LastID is the greatest checkpoint id the directory has seen: given to
// Begin by this store or by any before it on the same directory (whether
// or not its checkpoint completed, and whether or not it is still on
// disk), or on disk at Resume or Fresh. The next Begin's id must be
// greater.
func (c *Checkpoints) LastID() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxID
}

// readReserved reads the directory's reservation files: the greatest id
// they name (0 if none) and their names. c.mu is held.
func (c *Checkpoints) readReserved() (uint64, []string, error) {
	names, err := c.fs.List(c.dir)
	if err != nil {
		return 0, nil, fmt.Errorf("braid: checkpoint store %s: listing: %w", c.dir, err)
	}
	var max uint64
	var found []string
	for _, n := range names {
		if id, ok := parseIDsName(n); ok {
			found = append(found, n)
			if id >= max {
				max = id
			}
		}
	}
	return max, found, nil
}

// continueIDs sets c.maxID, at Resume or Fresh, to the greatest id the
// directory has seen (at least atLeast, and every id in entries), and
// makes it durable as the reservation before anything on disk is
// deleted, so that ids seen only in the names of checkpoints about to go
// stay used. c.mu is held.
func (c *Checkpoints) continueIDs(entries []chkEntry, atLeast uint64) error {
	reserved, names, err := c.readReserved()
	if err != nil {
		return err
	}
	c.reserved, c.resName = reserved, ""
	if len(names) > 0 {
		c.resName = idsName(reserved)
	}
	high := max(reserved, atLeast)
	for _, e := range entries {
		high = max(high, e.id)
	}
	if high > reserved {
		if err := c.reserve(high); err != nil {
			return err
		}
	}
	c.maxID = high
	// More than one name is left only by a crash of an older version or
	// by hand; the greatest is the one kept.
	for _, n := range names {
		if n == c.resName {
			continue
		}
		if err := c.fs.Remove(c.fs.PathJoin(c.dir, n)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			c.log.Warn("braid: checkpoint: cannot delete a stale id reservation", "file", c.fs.PathJoin(c.dir, n), "err", err)
		}
	}
	return nil
}

// reserve makes id the directory's reservation, durably: the reservation
// file is renamed to id's name (created, synced, the first time), then
// the directory is synced. c.mu is held; id > c.reserved.
func (c *Checkpoints) reserve(id uint64) error {
	to := c.fs.PathJoin(c.dir, idsName(id))
	if c.resName == "" {
		f, err := c.fs.Create(to, vfs.WriteCategoryUnspecified)
		if err != nil {
			return fmt.Errorf("braid: checkpoint %d: reserving its id: %w", id, err)
		}
		c.resName = idsName(id)
		if err := errors.Join(f.Sync(), f.Close()); err != nil {
			return fmt.Errorf("braid: checkpoint %d: reserving its id: file %s: %w", id, to, err)
		}
	} else if err := c.fs.Rename(c.fs.PathJoin(c.dir, c.resName), to); err != nil {
		return fmt.Errorf("braid: checkpoint %d: reserving its id: renaming %s: %w", id, c.resName, err)
	}
	c.resName = idsName(id)
	if err := staging.SyncDir(c.fs, c.dir); err != nil {
		return fmt.Errorf("braid: checkpoint %d: reserving its id: %w", id, err)
	}
	c.reserved = id
	return nil
}
