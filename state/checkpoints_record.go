package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	iofs "io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/staging"
)

// A checkpoint's completion record, the file COMPLETE in its directory:
//
//	magic    "braidck1"
//	id       uvarint
//	meta     uvarint length, bytes
//	files    uvarint count, then per file, sorted by name:
//	         name (uvarint length, bytes), size (uvarint), CRC-32C (4 bytes LE)
//	checksum CRC-32C of everything above (4 bytes LE)
//
// Every file in the directory but the record itself is listed.

const recordMagic = "braidck1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type fileEntry struct {
	name string
	size int64
	crc  uint32
}

type record struct {
	id     uint64
	meta   []byte
	files  []fileEntry          // sorted by name
	byName map[string]fileEntry // the same, by name
}

func newRecord(id uint64, meta []byte, files []fileEntry) *record {
	r := &record{id: id, meta: meta, files: files, byName: make(map[string]fileEntry, len(files))}
	for _, f := range files {
		r.byName[f.name] = f
	}
	return r
}

// shares reports whether f, an immutable file of a newer checkpoint, is
// the file r has under its name: Pebble never reuses the number of a file
// present in its directory, and the live database was built from r's
// files, so a table file with r's name and size is r's file, hard-linked.
// r may be nil (empty state, shares nothing).
func (r *record) shares(f fileEntry) bool {
	if r == nil || !immutableFile(f.name) {
		return false
	}
	g, ok := r.byName[f.name]
	return ok && g.size == f.size
}

// immutableFile reports whether Pebble never changes a file of this name
// once written: table and blob files, which checkpoints hard-link.
func immutableFile(name string) bool {
	return strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob")
}

func (r *record) encode() []byte {
	b := []byte(recordMagic)
	b = binary.AppendUvarint(b, r.id)
	b = binary.AppendUvarint(b, uint64(len(r.meta)))
	b = append(b, r.meta...)
	b = binary.AppendUvarint(b, uint64(len(r.files)))
	for _, f := range r.files {
		b = binary.AppendUvarint(b, uint64(len(f.name)))
		b = append(b, f.name...)
		b = binary.AppendUvarint(b, uint64(f.size))
		b = binary.LittleEndian.AppendUint32(b, f.crc)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// recordReader decodes a completion record, keeping the first error.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("bad %s", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) bytes(what string) []byte {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%s runs past the end", what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func decodeRecord(b []byte) (*record, error) {
	if len(b) < len(recordMagic)+4 {
		return nil, fmt.Errorf("%d bytes, too short", len(b))
	}
	if string(b[:len(recordMagic)]) != recordMagic {
		return nil, errors.New("bad magic")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, fmt.Errorf("checksum mismatch (record says %08x, content has %08x)", sum, got)
	}
	r := &recordReader{b: body[len(recordMagic):]}
	id := r.uvarint("id")
	meta := slices.Clone(r.bytes("meta"))
	n := r.uvarint("file count")
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = fmt.Errorf("file count %d is impossible", n)
	}
	var files []fileEntry
	for i := uint64(0); i < n && r.err == nil; i++ {
		name := string(r.bytes("file name"))
		size := r.uvarint("file size")
		if r.err == nil && len(r.b) < 4 {
			r.err = errors.New("file checksum runs past the end")
		}
		if r.err != nil {
			break
		}
		crc := binary.LittleEndian.Uint32(r.b)
		r.b = r.b[4:]
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || name == recordName || size > 1<<62 {
			r.err = fmt.Errorf("bad file entry %q", name)
			break
		}
		if len(files) > 0 && files[len(files)-1].name >= name {
			r.err = fmt.Errorf("file %q out of order", name)
			break
		}
		files = append(files, fileEntry{name: name, size: int64(size), crc: crc})
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d stray bytes at the end", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return newRecord(id, meta, files), nil
}

// describe lists the files of checkpoint id's directory with their sizes
// and checksums. Files the base checkpoint shares are not read again.
func (c *Checkpoints) describe(id uint64, meta []byte, dir string) (*record, error) {
	names, err := c.fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("braid: checkpoint %d: listing %s: %w", id, dir, err)
	}
	slices.Sort(names)
	files := make([]fileEntry, 0, len(names))
	for _, name := range names {
		if name == recordName || name == recordTmpName {
			continue
		}
		path := c.fs.PathJoin(dir, name)
		st, err := c.fs.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("braid: checkpoint %d: file %s: %w", id, path, err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("braid: checkpoint %d: %s is a directory; a checkpoint holds only files", id, path)
		}
		f := fileEntry{name: name, size: st.Size()}
		if c.base.shares(f) {
			f.crc = c.base.byName[name].crc
		} else if f.crc, err = checksumFile(c.fs, path, f.size); err != nil {
			return nil, fmt.Errorf("braid: checkpoint %d: file %s: %w", id, path, err)
		}
		files = append(files, f)
	}
	return newRecord(id, slices.Clone(meta), files), nil
}

// writeRecord makes rec durable as dir's completion record: a temporary
// file, synced, renamed into place, the directory synced. It returns the
// record's size, and whether the rename happened.
func (c *Checkpoints) writeRecord(rec *record, dir string) (size int64, renamed bool, _ error) {
	b := rec.encode()
	size = int64(len(b))
	tmp, final := c.fs.PathJoin(dir, recordTmpName), c.fs.PathJoin(dir, recordName)
	f, err := c.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return 0, false, fmt.Errorf("braid: checkpoint %d: file %s: %w", rec.id, tmp, err)
	}
	_, err = f.Write(b) // b is not used after: a MemFS in invariants builds scribbles on it
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, false, fmt.Errorf("braid: checkpoint %d: file %s: %w", rec.id, tmp, err)
	}
	if err := c.fs.Rename(tmp, final); err != nil {
		return 0, false, fmt.Errorf("braid: checkpoint %d: renaming %s to %s: %w", rec.id, tmp, recordName, err)
	}
	if err := staging.SyncDir(c.fs, dir); err != nil {
		return 0, true, fmt.Errorf("braid: checkpoint %d: %w", rec.id, err)
	}
	return size, true, nil
}

// readRecord reads and decodes checkpoint id's completion record.
// errNoRecord marks a checkpoint that has none.
func (c *Checkpoints) readRecord(id uint64) (*record, error) {
	path := c.fs.PathJoin(c.chkDir(id), recordName)
	f, err := c.fs.Open(path)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return nil, fmt.Errorf("braid: checkpoint %d: %w (cut short by a crash, or being deleted)", id, errNoRecord)
		}
		return nil, fmt.Errorf("braid: checkpoint %d: completion record %s: %w", id, path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRecordSize+1))
	f.Close()
	if err == nil && len(b) > maxRecordSize {
		err = fmt.Errorf("larger than %d bytes", maxRecordSize)
	}
	if err != nil {
		return nil, fmt.Errorf("braid: checkpoint %d: completion record %s: %w", id, path, err)
	}
	rec, err := decodeRecord(b)
	if err != nil {
		return nil, fmt.Errorf("braid: checkpoint %d: completion record %s: %w", id, path, err)
	}
	if rec.id != id {
		return nil, fmt.Errorf("braid: checkpoint %d: completion record %s is checkpoint %d's", id, path, rec.id)
	}
	return rec, nil
}

const maxRecordSize = 64 << 20

var errNoRecord = errors.New("no completion record")

// verify checks that every file rec lists is in checkpoint rec.id's
// directory with the size and checksum rec gives.
func (c *Checkpoints) verify(rec *record) error {
	dir := c.chkDir(rec.id)
	for _, f := range rec.files {
		path := c.fs.PathJoin(dir, f.name)
		st, err := c.fs.Stat(path)
		if err != nil {
			if errors.Is(err, iofs.ErrNotExist) {
				return fmt.Errorf("braid: checkpoint %d: file %s is missing", rec.id, path)
			}
			return fmt.Errorf("braid: checkpoint %d: file %s: %w", rec.id, path, err)
		}
		if st.Size() != f.size {
			return fmt.Errorf("braid: checkpoint %d: file %s has %d bytes, its completion record says %d", rec.id, path, st.Size(), f.size)
		}
		crc, err := checksumFile(c.fs, path, f.size)
		if err != nil {
			return fmt.Errorf("braid: checkpoint %d: file %s: %w", rec.id, path, err)
		}
		if crc != f.crc {
			return fmt.Errorf("braid: checkpoint %d: file %s is damaged: checksum %08x, its completion record says %08x", rec.id, path, crc, f.crc)
		}
	}
	return nil
}

// checksumFile returns the CRC-32C of the file at path, which must have
// size bytes.
func checksumFile(fs vfs.FS, path string, size int64) (uint32, error) {
	f, err := fs.Open(path, vfs.SequentialReadsOption)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	var crc uint32
	var n int64
	for {
		k, err := f.Read(buf)
		crc = crc32.Update(crc, castagnoli, buf[:k])
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if n != size {
		return 0, fmt.Errorf("read %d bytes, expected %d", n, size)
	}
	return crc, nil
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// copyFile copies a file without syncing it (for the live database, which
// is rebuilt after a crash rather than trusted).
func copyFile(fs vfs.FS, from, to string) error {
	src, err := fs.Open(from, vfs.SequentialReadsOption)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := fs.Create(to, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}
