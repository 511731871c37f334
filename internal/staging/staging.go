// Package staging holds what Braid's durable file writers share: the
// two-phase file sinks (connectors/filesink, connectors/arrow), the
// checkpoint store (state) and the durable listeners' log of received
// lines (internal/textsrc): directories made and synced durably, and the
// names of the files a sink subtask stages.
package staging

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Dir is the directory, inside a sink's output directory, of the files
// being written or waiting for their checkpoint.
const Dir = ".staging"

// MkdirAllDurably creates dir and its missing parents, then syncs each
// directory that gained an entry: without, a crash could lose the output
// directory or .staging, and with them what was published or what a
// complete checkpoint staged.
func MkdirAllDurably(fs vfs.FS, dir string) error {
	var gained []string // the new directories, and the closest one that was there
	for d := dir; ; d = fs.PathDir(d) {
		_, err := fs.Stat(d)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err == nil && d == dir {
			return nil
		}
		gained = append(gained, d)
		if err == nil || fs.PathDir(d) == d {
			break
		}
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range gained {
		if err := SyncDir(fs, d); err != nil {
			return err
		}
	}
	return nil
}

// SyncDir makes dir's entries durable. Its errors name dir.
func SyncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("opening directory %s to sync it: %w", dir, err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// Missing reports whether path does not exist.
func Missing(fs vfs.FS, path string) bool {
	_, err := fs.Stat(path)
	return errors.Is(err, os.ErrNotExist)
}

// SubtaskOf returns the subtask that wrote a file in .staging, from its
// name: part-SSSS-… or open-SSSS-…, ending in ext.
func SubtaskOf(name, ext string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "part-")
	if !ok {
		rest, ok = strings.CutPrefix(name, "open-")
	}
	if !ok || !strings.HasSuffix(name, ext) {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	j, err := strconv.Atoi(digits)
	return j, err == nil && j >= 0
}
