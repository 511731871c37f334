package textsrc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	iofs "io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/staging"
)

// A segLog is an append-only log of records in the files of one
// directory, through a vfs.FS:
//
//	dir/LOCK                   held while a log has the directory open
//	dir/0000000000000001.log   segment 1
//	dir/0000000000000002.log   segment 2 ...
//
// A record is a header of 8 bytes, its length (4 bytes, big-endian) and
// the CRC-32C of the length's bytes and the payload (4 bytes), then the
// payload: a kind byte and what the kind says. A segment is closed once it
// holds at least segBytes; each open of the log writes into a new segment,
// after the ones there, so that what an earlier run wrote is never
// rewritten.
//
// Durability: commit writes the records added since the last commit in
// one write and syncs the file (and, for a new segment, its directory)
// before it returns, so a record is durable before the caller hands its
// content on. A crash can leave the end of the last segment torn (a part
// of a record, or unsynced bytes); opening the log finds the first record
// whose length or checksum is wrong and cuts the segment there: nothing
// after it was ever committed.
type segLog struct {
	fs       vfs.FS
	dir      string
	segBytes int64
	logger   *slog.Logger
	lock     io.Closer

	segs []segment // ascending, those written by this log included

	// Writing.
	w    vfs.File
	next uint64 // the number of the segment the next write opens, if w is nil
	wOff int64
	wbuf []byte

	// Replaying: from (rSeg, rOff) up to (endSeg, endOff), the end of
	// what was there at open.
	rf             vfs.File
	rbr            *bufio.Reader
	rSeg           uint64
	rOff           int64
	endSeg         uint64
	endOff         int64
	rbuf           []byte
	replayStarted  bool
	replayFinished bool
}

type segment struct {
	n    uint64
	size int64
}

// maxRecord bounds a record's length: a header claiming more is damage.
const maxRecord = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segName(n uint64) string { return fmt.Sprintf("%016d.log", n) }

func parseSegName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, ".log")
	if !ok || len(s) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

// openLog opens (creating it if need be) the log in dir, cutting a torn
// tail off its last segment.
func openLog(fs vfs.FS, dir string, segBytes int64, logger *slog.Logger) (*segLog, error) {
	if err := staging.MkdirAllDurably(fs, dir); err != nil {
		return nil, fmt.Errorf("braid: log %s: %w", dir, err)
	}
	lock, err := fs.Lock(fs.PathJoin(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("braid: log %s: another reader has it open: %w", dir, err)
	}
	l := &segLog{fs: fs, dir: dir, segBytes: segBytes, logger: logger, lock: lock}
	if err := l.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return l, nil
}

func (l *segLog) path(n uint64) string { return l.fs.PathJoin(l.dir, segName(n)) }

func (l *segLog) load() error {
	names, err := l.fs.List(l.dir)
	if err != nil {
		return fmt.Errorf("braid: log %s: %w", l.dir, err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, ".tmp") {
			l.fs.Remove(l.fs.PathJoin(l.dir, name)) // a repair cut short
			continue
		}
		if n, ok := parseSegName(name); ok {
			st, err := l.fs.Stat(l.fs.PathJoin(l.dir, name))
			if err != nil {
				return fmt.Errorf("braid: log %s: %w", l.dir, err)
			}
			l.segs = append(l.segs, segment{n, st.Size()})
		}
	}
	slices.SortFunc(l.segs, func(a, b segment) int { return cmpU64(a.n, b.n) })
	l.next = 1
	if len(l.segs) == 0 {
		return nil
	}
	last := &l.segs[len(l.segs)-1]
	l.next = last.n + 1
	valid, err := l.scan(last.n)
	if err != nil {
		return err
	}
	if valid < last.size {
		if err := l.cut(last.n, valid); err != nil {
			return err
		}
		l.logger.Warn("braid: log: cut a torn record off the end of the last segment, left by a crash; it was never delivered",
			"file", l.path(last.n), "kept", valid, "dropped", last.size-valid)
		last.size = valid
	}
	l.endSeg, l.endOff = last.n, last.size
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// scan returns the length of the prefix of segment n made of whole,
// intact records.
func (l *segLog) scan(n uint64) (int64, error) {
	f, err := l.fs.Open(l.path(n))
	if err != nil {
		return 0, fmt.Errorf("braid: log: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var valid int64
	var buf []byte
	for {
		p, err := readRecord(br, &buf)
		if err != nil {
			return valid, nil // the end, or the first damaged record
		}
		valid += int64(8 + len(p))
	}
}

var errDamaged = errors.New("damaged record")

// readRecord reads one record from br into *buf and returns its payload:
// io.EOF at a clean end, errDamaged (or io.ErrUnexpectedEOF) at a record
// cut short or whose length or checksum is wrong.
func readRecord(br *bufio.Reader, buf *[]byte) ([]byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n == 0 || n > maxRecord {
		return nil, errDamaged
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	p := (*buf)[:n]
	if _, err := io.ReadFull(br, p); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	if crc32.Update(crc32.Checksum(hdr[:4], castagnoli), castagnoli, p) != binary.BigEndian.Uint32(hdr[4:]) {
		return nil, errDamaged
	}
	return p, nil
}

// cut shortens segment n to its first size bytes: they are copied to a
// temporary file, synced, and renamed over it (vfs.File cannot truncate).
func (l *segLog) cut(n uint64, size int64) error {
	fail := func(err error) error { return fmt.Errorf("braid: log: repairing %s: %w", l.path(n), err) }
	src, err := l.fs.Open(l.path(n))
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	tmp := l.path(n) + ".tmp"
	dst, err := l.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fail(err)
	}
	if _, err := io.Copy(dst, io.LimitReader(src, size)); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		return fail(err)
	}
	if err := l.fs.Rename(tmp, l.path(n)); err != nil {
		return fail(err)
	}
	return l.syncDir()
}

func (l *segLog) syncDir() error {
	if err := staging.SyncDir(l.fs, l.dir); err != nil {
		return fmt.Errorf("braid: log %s: sync: %w", l.dir, err)
	}
	return nil
}

// begin starts a record of kind among those the next commit writes: the
// caller appends its payload to l.wbuf, then calls finish with what begin
// returned. So a payload is written into the log's buffer without a copy
// of its own.
func (l *segLog) begin(kind byte) int {
	start := len(l.wbuf)
	l.wbuf = append(l.wbuf, 0, 0, 0, 0, 0, 0, 0, 0, kind)
	return start
}

// finish ends the record begun at start: its length and checksum.
func (l *segLog) finish(start int) {
	rec := l.wbuf[start:]
	binary.BigEndian.PutUint32(rec[:4], uint32(len(rec)-8))
	binary.BigEndian.PutUint32(rec[4:8], crc32.Update(crc32.Checksum(rec[:4], castagnoli), castagnoli, rec[8:]))
}

// addString adds a record of kind and one string.
func (l *segLog) addString(kind byte, s string) {
	start := l.begin(kind)
	l.wbuf = append(l.wbuf, s...)
	l.finish(start)
}

// commit writes the records added since the last commit and makes them
// durable; it returns the position after them. On an error none of them
// may be handed on, and the log takes no more writes.
func (l *segLog) commit() (logPos, error) {
	if len(l.wbuf) == 0 {
		return l.writePos(), nil
	}
	defer func() { l.wbuf = l.wbuf[:0] }()
	newSeg := false
	if l.w == nil || l.wOff >= l.segBytes {
		if l.w != nil {
			if err := l.w.Close(); err != nil { // synced at its last commit
				return logPos{}, fmt.Errorf("braid: log: %w", err)
			}
			l.w = nil
		}
		f, err := l.fs.Create(l.path(l.next), vfs.WriteCategoryUnspecified)
		if err != nil {
			return logPos{}, fmt.Errorf("braid: log: %w", err)
		}
		l.w, l.wOff, newSeg = f, 0, true
		l.segs = append(l.segs, segment{n: l.next})
		l.next++
	}
	if _, err := l.w.Write(l.wbuf); err != nil {
		return logPos{}, l.broken(err)
	}
	if err := l.w.Sync(); err != nil {
		return logPos{}, l.broken(err)
	}
	if newSeg {
		if err := l.syncDir(); err != nil {
			return logPos{}, l.broken(err)
		}
	}
	l.wOff += int64(len(l.wbuf))
	l.segs[len(l.segs)-1].size = l.wOff
	return l.writePos(), nil
}

// broken closes the segment being written after a failed write or sync:
// what it holds past its last sync is unknown, so the next open cuts it.
func (l *segLog) broken(err error) error {
	l.w.Close()
	l.w = nil
	l.next = max(l.next, l.segs[len(l.segs)-1].n+1) // never append after unknown bytes
	return fmt.Errorf("braid: log %s: writing the records received: %w", l.path(l.segs[len(l.segs)-1].n), err)
}

// writePos is the position after the last record committed: the end of
// the log, or the start of the segment the first commit will open.
func (l *segLog) writePos() logPos {
	if l.w == nil {
		return logPos{seg: l.next}
	}
	return logPos{seg: l.segs[len(l.segs)-1].n, off: l.wOff}
}

// A logPos is a position in a log: a segment and a byte offset in it,
// just after a record.
type logPos struct {
	seg uint64
	off int64
}

// seek sets the log to replay from pos before taking writes. It fails
// when pos is not in the log: a segment gone (deleted as too old, or the
// directory lost) or shorter than the offset.
func (l *segLog) seek(pos logPos) error {
	i, found := slices.BinarySearchFunc(l.segs, pos.seg, func(s segment, n uint64) int { return cmpU64(s.n, n) })
	switch {
	case found && pos.off > l.segs[i].size:
		return fmt.Errorf("braid: log: %s holds %d bytes, fewer than the checkpointed offset %d: records the job had been given are gone",
			l.path(pos.seg), l.segs[i].size, pos.off)
	case found:
		l.rSeg, l.rOff, l.replayStarted = pos.seg, pos.off, true
		return nil
	case pos.off == 0 && i == len(l.segs):
		// The start of a segment never written: the end of the log.
		l.next = max(l.next, pos.seg)
		l.replayFinished = true
		return nil
	}
	first := "none is left"
	if len(l.segs) > 0 {
		first = fmt.Sprintf("it now starts at segment %d", l.segs[0].n)
	}
	return fmt.Errorf("braid: log %s: segment %d, which the checkpoint needs to replay from offset %d, is gone (%s): the checkpoint is older than the log keeps",
		l.dir, pos.seg, pos.off, first)
}

// replaying reports whether records remain to replay.
func (l *segLog) replaying() bool {
	return l.replayStarted && !l.replayFinished
}

// nextRecord returns the next record to replay, valid until the next
// call, or ok false at the end of what there was at open.
func (l *segLog) nextRecord() (p []byte, ok bool, err error) {
	for {
		if l.rSeg > l.endSeg || (l.rSeg == l.endSeg && l.rOff >= l.endOff) {
			l.endReplay()
			return nil, false, nil
		}
		if l.rf == nil {
			if err := l.openReplay(); err != nil {
				return nil, false, err
			}
		}
		size := l.sizeOf(l.rSeg)
		if l.rOff >= size {
			l.rf.Close()
			l.rf = nil
			i, _ := slices.BinarySearchFunc(l.segs, l.rSeg+1, func(s segment, n uint64) int { return cmpU64(s.n, n) })
			if i == len(l.segs) {
				l.endReplay()
				return nil, false, nil
			}
			l.rSeg, l.rOff = l.segs[i].n, 0
			continue
		}
		p, err := readRecord(l.rbr, &l.rbuf)
		if err != nil {
			return nil, false, fmt.Errorf("braid: log: %s: the record at offset %d is damaged (%v): cannot replay it", l.path(l.rSeg), l.rOff, err)
		}
		l.rOff += int64(8 + len(p))
		return p, true, nil
	}
}

func (l *segLog) sizeOf(n uint64) int64 {
	i, _ := slices.BinarySearchFunc(l.segs, n, func(s segment, n uint64) int { return cmpU64(s.n, n) })
	return l.segs[i].size
}

func (l *segLog) openReplay() error {
	f, err := l.fs.Open(l.path(l.rSeg))
	if err != nil {
		return fmt.Errorf("braid: log: %w", err)
	}
	l.rf = f
	sr := io.NewSectionReader(f, l.rOff, l.sizeOf(l.rSeg)-l.rOff)
	if l.rbr == nil {
		l.rbr = bufio.NewReaderSize(sr, 64<<10)
	} else {
		l.rbr.Reset(sr)
	}
	return nil
}

func (l *segLog) endReplay() {
	if l.rf != nil {
		l.rf.Close()
		l.rf = nil
	}
	l.replayFinished = true
}

// readPos is the position after the last record replayed.
func (l *segLog) readPos() logPos { return logPos{seg: l.rSeg, off: l.rOff} }

// deleteBefore removes the segments numbered below n.
func (l *segLog) deleteBefore(n uint64) {
	k := 0
	for k < len(l.segs) && l.segs[k].n < n {
		if err := l.fs.Remove(l.path(l.segs[k].n)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			l.logger.Warn("braid: log: could not delete an old segment", "file", l.path(l.segs[k].n), "err", err)
			break
		}
		k++
	}
	l.segs = slices.Delete(l.segs, 0, k)
}

// close closes the log's files and its lock.
func (l *segLog) close() error {
	var errs []error
	if l.w != nil {
		errs = append(errs, l.w.Close())
		l.w = nil
	}
	if l.rf != nil {
		errs = append(errs, l.rf.Close())
		l.rf = nil
	}
	if l.lock != nil {
		errs = append(errs, l.lock.Close())
		l.lock = nil
	}
	return errors.Join(errs...)
}

// less reports whether p is before q in the log.
func (p logPos) less(q logPos) bool { return p.seg < q.seg || p.seg == q.seg && p.off < q.off }
