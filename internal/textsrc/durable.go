package textsrc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// DurableOptions configure OpenDurableSocket. The zero value works.
type DurableOptions struct {
	// SegmentBytes is the size past which the log starts a new segment
	// file. Zero means 16 MiB.
	SegmentBytes int64
	// KeepPositions is how many of the latest positions (Position calls)
	// the log keeps the records after: a segment is deleted once it lies
	// wholly before the oldest of them. Zero means 4: the checkpoint in
	// flight, the last complete one and the one kept to fall back to
	// (a checkpoint store retains 2), and one failed checkpoint.
	KeepPositions int
}

// Record kinds in a durable socket's log.
const (
	recLine   = 'L' // the line
	recReject = 'R' // flags, uvarint(len(line)), line, the error's message
)

const (
	rejTooLong = 1 << iota
	rejCut
)

// A DurableSocket is a SocketReader whose lines are logged before they are
// handed on, so that a job with checkpoints can replay them: the source
// side of exactly-once for a socket, which cannot replay by itself.
//
//   - Each Read takes the lines (and rejects) the socket has, appends them
//     to a log of checksummed records in segment files of a directory,
//     syncs the log (one fsync per Read, whatever the number of lines),
//     and only then returns them. A crash before the sync loses lines the
//     job was never given; after it, they are in the log.
//   - Position is the end of the log after the last record returned;
//     Seek, on a reader opened on the same directory, replays the records
//     after it (lines, and rejects as Rejected gives them) before reading
//     the socket again. A resumed reader counts as having read from the
//     server, so that EndQuietly ends it quietly when the server is gone.
//   - A torn record at the end of the log, left by a crash, is found by
//     its length or checksum when the log is opened and cut off (with a
//     warning); a damaged record anywhere else fails the replay naming
//     the file and offset.
//   - Old segments: the reader is not told when a checkpoint completes,
//     so it keeps what the last DurableOptions.KeepPositions positions
//     need and deletes segments wholly before the oldest of them, when
//     Position is called. A restore from an older checkpoint than that
//     (after more failed checkpoints in a row than the margin) finds its
//     segment gone and fails saying so, rather than skip lines.
//
// A DurableSocket is not safe for concurrent use; only one may have a
// directory open at a time (it holds dir/LOCK).
type DurableSocket struct {
	sock    *SocketReader
	log     *segLog
	pos     logPos   // after the last record returned
	history []uint64 // segments of the latest positions given, oldest first
	keep    int
	rejects []Reject // replayed, or logged from the socket, to hand out
	taken   []Reject
	scratch []byte
}

// OpenDurableSocket returns a reader of the lines served at addr that logs
// them in dir, through fs, before returning them (see DurableSocket). It
// opens the log, repairing a torn tail, but does not connect.
func OpenDurableSocket(addr string, opts SocketOptions, fs vfs.FS, dir string, dopts DurableOptions) (*DurableSocket, error) {
	if dopts.SegmentBytes <= 0 {
		dopts.SegmentBytes = 16 << 20
	}
	if dopts.KeepPositions <= 0 {
		dopts.KeepPositions = 4
	}
	sock := NewSocket(addr, opts)
	l, err := openLog(fs, dir, dopts.SegmentBytes, sock.opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("braid: socket source %s: %w", addr, err)
	}
	return &DurableSocket{sock: sock, log: l, pos: l.writePos(), keep: dopts.KeepPositions}, nil
}

// Read returns the next lines: those the log holds after the position
// Seek gave, then those the socket delivers, each batch synced to the log
// before it is returned. See SocketReader.Read for the socket's contract.
func (d *DurableSocket) Read(ctx context.Context, buf []string) (int, error) {
	if d.log.replaying() {
		n, err := d.replay(buf)
		if err != nil || n > 0 || len(d.rejects) > 0 {
			return n, err
		}
	}
	n, err := d.sock.Read(ctx, buf)
	d.taken = d.sock.Rejected(d.taken[:0])
	if n == 0 && len(d.taken) == 0 {
		return 0, err
	}
	for _, s := range buf[:n] {
		d.log.addString(recLine, s)
	}
	for _, j := range d.taken {
		d.log.add(recReject, d.encodeReject(j))
	}
	pos, werr := d.log.commit()
	if werr != nil {
		clear(d.taken)
		return 0, fmt.Errorf("braid: socket source %s: %w", d.sock.addr, werr)
	}
	d.pos = pos
	d.rejects = append(d.rejects, d.taken...)
	clear(d.taken)
	return n, err
}

// replay fills buf from the log.
func (d *DurableSocket) replay(buf []string) (int, error) {
	n := 0
	for n < len(buf) && len(d.rejects) < rejectBatch {
		p, ok, err := d.log.nextRecord()
		if err != nil {
			return n, fmt.Errorf("braid: socket source %s: %w", d.sock.addr, err)
		}
		if !ok {
			break
		}
		switch p[0] {
		case recLine:
			buf[n] = string(p[1:])
			n++
		case recReject:
			j, err := decodeReject(p[1:])
			if err != nil {
				return n, fmt.Errorf("braid: socket source %s: log %s: %w", d.sock.addr, d.log.path(d.log.rSeg), err)
			}
			d.rejects = append(d.rejects, j)
		default:
			return n, fmt.Errorf("braid: socket source %s: log %s: a record of unknown kind %q", d.sock.addr, d.log.path(d.log.rSeg), p[0])
		}
		d.pos = d.log.readPos()
	}
	return n, nil
}

func (d *DurableSocket) encodeReject(j Reject) []byte {
	var flags byte
	if errors.Is(j.Err, ErrLineTooLong) {
		flags |= rejTooLong
	}
	if errors.Is(j.Err, ErrLineCut) {
		flags |= rejCut
	}
	b := append(d.scratch[:0], flags)
	b = binary.AppendUvarint(b, uint64(len(j.Line)))
	b = append(b, j.Line...)
	b = append(b, j.Err.Error()...)
	d.scratch = b
	return b
}

func decodeReject(p []byte) (Reject, error) {
	if len(p) < 2 {
		return Reject{}, errors.New("a reject record too short")
	}
	flags := p[0]
	n, k := binary.Uvarint(p[1:])
	if k <= 0 || uint64(len(p)-1-k) < n {
		return Reject{}, errors.New("a reject record cut short")
	}
	line := string(p[1+k : 1+k+int(n)])
	e := &wrapped{msg: string(p[1+k+int(n):])}
	if flags&rejTooLong != 0 {
		e.causes = append(e.causes, ErrLineTooLong)
	}
	if flags&rejCut != 0 {
		e.causes = append(e.causes, ErrLineCut)
	}
	return Reject{Line: line, Err: e}, nil
}

// Rejected appends to dst the lines set aside since the last call, those
// replayed from the log and those the socket set aside (logged too), and
// returns the extended slice.
func (d *DurableSocket) Rejected(dst []Reject) []Reject {
	dst, d.rejects = takeRejects(dst, d.rejects)
	return dst
}

const sockPosVersion = 1

// Position is the position in the log after the last record Read returned
// (and Rejected handed out). It also deletes the segments that none of
// the latest positions needs (see DurableSocket).
func (d *DurableSocket) Position() ([]byte, error) {
	d.history = append(d.history, d.pos.seg)
	if len(d.history) > d.keep {
		d.history = d.history[len(d.history)-d.keep:]
		d.log.deleteBefore(d.history[0])
	}
	b := []byte{'S', sockPosVersion}
	b = binary.AppendUvarint(b, d.pos.seg)
	b = binary.AppendUvarint(b, uint64(d.pos.off))
	return b, nil
}

// Seek makes a freshly opened reader, before its first Read, replay the
// log from pos (a Position of an earlier reader of the same directory):
// the records after it, then the socket. It fails when the log no longer
// holds pos.
func (d *DurableSocket) Seek(pos []byte) error {
	fail := func(err error) error {
		return fmt.Errorf("braid: socket source %s: %w", d.sock.addr, err)
	}
	if len(pos) < 2 || pos[0] != 'S' {
		return fail(errors.New("the checkpointed position is unreadable: not a position of a durable socket"))
	}
	if pos[1] != sockPosVersion {
		return fail(fmt.Errorf("the checkpointed position is in format %d, this version reads %d", pos[1], sockPosVersion))
	}
	seg, k := binary.Uvarint(pos[2:])
	off, m := binary.Uvarint(pos[2+max(k, 0):])
	if k <= 0 || m <= 0 || 2+k+m != len(pos) || off > maxRecord*1024 {
		return fail(errors.New("the checkpointed position is unreadable"))
	}
	p := logPos{seg: seg, off: int64(off)}
	if err := d.log.seek(p); err != nil {
		return fail(err)
	}
	d.pos = p
	d.sock.readBefore = true
	return nil
}

// Close closes the connection and the log. Call it once, after the last
// Read.
func (d *DurableSocket) Close() error {
	return errors.Join(d.sock.Close(), d.log.close())
}
