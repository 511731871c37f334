// Package staging holds what the two-phase file sinks (connectors/filesink,
// connectors/arrow) share: directories made durably, and the names of the
// files a subtask stages.
package staging

import (
	"errors"
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

// SyncDir makes dir's entries durable.
func SyncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
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
