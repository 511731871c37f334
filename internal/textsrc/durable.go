package textsrc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// DurableOptions configure OpenDurable and OpenDurableSocket. The zero
// value works.
type DurableOptions struct {
	// SegmentBytes is the size past which the log starts a new segment
	// file. Zero means 16 MiB.
	SegmentBytes int64
	// Logger is where the log warns (a torn tail cut off, an old segment
	// it could not delete). Nil means slog.Default().
	Logger *slog.Logger
	// Fresh skips what the log holds: the job starts afresh on purpose
	// (stream.StartFresh), so nothing of earlier runs is replayed, and a
	// Durable given no Seek reads the Received from the first Read. The
	// old records stay until their segments age out as usual, so that a
	// job that resumes an older checkpoint (the fresh run crashed before
	// its first one completed) still finds its position.
	Fresh bool
	// Retain is how many complete checkpoints the store keeps, of which a
	// restore may resume from any (stream.SourceDir.Retain). Zero means 2.
	Retain int
}

// Record kinds in a durable log.
const (
	recLine   = 'L' // an element, as its Codec wrote it
	recReject = 'R' // a reject, as its Codec wrote it
)

// A Received is what a Durable logs: a reader of input that cannot be
// read again (a socket, a listener), with the contract of this package's
// readers: Read from one goroutine, Rejected after each Read, Close once.
// T is its element, J what it sets aside.
type Received[T, J any] interface {
	Read(ctx context.Context, buf []T) (int, error)
	Rejected(dst []J) []J
	Close() error
}

// A Codec writes the elements (T) and rejects (J) of a Received into the
// payloads of a durable log's records and reads them back. Append appends
// to dst and returns it; Decode gets the payload (valid only during the
// call: a string of it must be a copy) and fails on one it cannot read,
// which makes the replay fail naming the file. A decoded reject must say
// what the original said: its error's message and its marks for
// errors.Is.
type Codec[T, J any] interface {
	AppendElem(dst []byte, v *T) []byte
	DecodeElem(p []byte, v *T) error
	AppendReject(dst []byte, j *J) []byte
	DecodeReject(p []byte) (J, error)
}

// A Durable is a Received whose elements and rejects are logged before
// they are handed on, so that a job with checkpoints can replay them: the
// source side of exactly-once for input that cannot replay by itself.
//
//   - Each Read takes the elements (and rejects) the Received has,
//     appends them to a log of checksummed records in segment files of a
//     directory, syncs the log (one fsync per Read, whatever the number of
//     elements), and only then returns them. A crash before the sync
//     loses input the job was never given; after it, it is in the log.
//   - Position is the end of the log after the last record returned;
//     Seek, on a Durable opened on the same directory, replays the
//     records after it (elements, and rejects as Rejected gives them)
//     before reading the Received again. Elements and rejects replay in
//     the order they were logged, each once.
//   - A Durable given no Seek (no checkpoint to resume from: the first
//     run, or one that crashed before its first checkpoint completed)
//     replays all its log holds, from its oldest segment: none of it
//     reached the output of a complete checkpoint. One opened with
//     DurableOptions.Fresh (a job started afresh on purpose over a
//     checkpoint directory, stream.StartFresh) replays none of it.
//   - A torn record at the end of the log, left by a crash, is found by
//     its length or checksum when the log is opened and cut off (with a
//     warning); a damaged record anywhere else fails the replay naming
//     the file and offset.
//   - Old segments: the runtime tells a Durable the position of each
//     newest complete checkpoint (Committed: it is a
//     stream.CommitListener). A restore resumes from one of the
//     DurableOptions.Retain newest complete checkpoints, so once it has
//     been told that many positions the Durable deletes the segments
//     wholly before the oldest of the last Retain. However many
//     checkpoints fail in a row, the log keeps what a restore can ask for;
//     until Retain have completed, it keeps everything.
//
// Cost: per element, the Codec's append into the log's reused buffer (no
// allocation once the buffer has grown); per Read, one write and one
// fsync. A Durable is not safe for concurrent use; only one may have a
// directory open at a time (it holds dir/LOCK).
type Durable[T, J any, C Codec[T, J]] struct {
	name  string // "socket source ADDR", "listen tcp ADDR": the start of errors
	src   Received[T, J]
	codec C
	log   *segLog
	pos   logPos // after the last record returned
	// told is the positions last told complete (Committed), oldest first,
	// at most retain of them: a restore may resume from any.
	told    []logPos
	retain  int
	rejects []J // replayed, or logged from the Received, to hand out
	taken   []J

	logged, replayed int64
}

// OpenDurable returns a Durable that logs what src delivers in dir, through
// fs, before returning it; name starts its errors ("braid: NAME: ...").
// It opens the log, repairing a torn tail. It owns src from then on (Close
// closes it), except when it fails: then the caller closes src.
func OpenDurable[T, J any, C Codec[T, J]](name string, src Received[T, J], codec C, fs vfs.FS, dir string, opts DurableOptions) (*Durable[T, J, C], error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 16 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Retain <= 0 {
		opts.Retain = 2
	}
	l, err := openLog(fs, dir, opts.SegmentBytes, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("braid: %s: %w", name, err)
	}
	d := &Durable[T, J, C]{name: name, src: src, codec: codec, log: l, pos: l.writePos(), retain: opts.Retain}
	if len(l.segs) > 0 && !opts.Fresh {
		// Until a Seek says otherwise, replay all the log holds: without a
		// checkpoint to resume from, what it logged never reached the
		// output of a checkpoint.
		start := logPos{seg: l.segs[0].n}
		if err := l.seek(start); err != nil {
			l.close()
			return nil, fmt.Errorf("braid: %s: %w", name, err)
		}
		d.pos = start
	}
	return d, nil
}

// Read returns the next elements: those the log holds after the position
// Seek gave, then those the Received delivers, each batch synced to the
// log before it is returned. A Read returns replayed elements or new
// ones, never both. An error of the log fails the Read, and the elements
// it had taken are not returned, nor logged for sure: after a crash, the
// next open of the log cuts a record the disk kept only in part, and
// replays, as any other, one it kept whole (never returned before, so
// still once).
func (d *Durable[T, J, C]) Read(ctx context.Context, buf []T) (int, error) {
	if d.log.replaying() {
		n, err := d.replay(buf)
		if err != nil || n > 0 || len(d.rejects) > 0 {
			return n, err
		}
	}
	n, err := d.src.Read(ctx, buf)
	d.taken = d.src.Rejected(d.taken[:0])
	if n == 0 && len(d.taken) == 0 {
		return 0, err
	}
	l := d.log
	for i := range buf[:n] {
		start := l.begin(recLine)
		l.wbuf = d.codec.AppendElem(l.wbuf, &buf[i])
		l.finish(start)
	}
	for i := range d.taken {
		start := l.begin(recReject)
		l.wbuf = d.codec.AppendReject(l.wbuf, &d.taken[i])
		l.finish(start)
	}
	pos, werr := d.log.commit()
	if werr != nil {
		clear(d.taken)
		return 0, fmt.Errorf("braid: %s: %w", d.name, werr)
	}
	d.pos = pos
	d.logged += int64(n + len(d.taken))
	d.rejects = append(d.rejects, d.taken...)
	clear(d.taken)
	return n, err
}

// replay fills buf from the log.
func (d *Durable[T, J, C]) replay(buf []T) (int, error) {
	n := 0
	for n < len(buf) && len(d.rejects) < rejectBatch {
		p, ok, err := d.log.nextRecord()
		if err != nil {
			return n, fmt.Errorf("braid: %s: %w", d.name, err)
		}
		if !ok {
			break
		}
		switch p[0] {
		case recLine:
			if err := d.codec.DecodeElem(p[1:], &buf[n]); err != nil {
				return n, fmt.Errorf("braid: %s: log %s: %w", d.name, d.log.path(d.log.rSeg), err)
			}
			n++
		case recReject:
			j, err := d.codec.DecodeReject(p[1:])
			if err != nil {
				return n, fmt.Errorf("braid: %s: log %s: %w", d.name, d.log.path(d.log.rSeg), err)
			}
			d.rejects = append(d.rejects, j)
		default:
			return n, fmt.Errorf("braid: %s: log %s: a record of unknown kind %q", d.name, d.log.path(d.log.rSeg), p[0])
		}
		d.replayed++
		d.pos = d.log.readPos()
	}
	return n, nil
}

// Rejected appends to dst what was set aside since the last call, that
// replayed from the log and that the Received set aside (logged too), and
// returns the extended slice.
func (d *Durable[T, J, C]) Rejected(dst []J) []J {
	dst = append(dst, d.rejects...)
	clear(d.rejects)
	d.rejects = d.rejects[:0]
	return dst
}

// Counts returns how many records (elements and rejects) the Durable has
// logged from its Received, and how many it has replayed from the log,
// since it was opened.
func (d *Durable[T, J, C]) Counts() (logged, replayed int64) { return d.logged, d.replayed }

// Replaying reports whether the log still holds records to replay before
// the Received is read.
func (d *Durable[T, J, C]) Replaying() bool { return d.log.replaying() }

const durablePosVersion = 1

// Position is the position in the log after the last record Read returned
// (and Rejected handed out).
func (d *Durable[T, J, C]) Position() ([]byte, error) {
	b := []byte{'S', durablePosVersion}
	b = binary.AppendUvarint(b, d.pos.seg)
	b = binary.AppendUvarint(b, uint64(d.pos.off))
	return b, nil
}

// parsePos reads a Position.
func parsePos(pos []byte) (logPos, error) {
	if len(pos) < 2 || pos[0] != 'S' {
		return logPos{}, errors.New("the checkpointed position is unreadable: not a position of a durable log")
	}
	if pos[1] != durablePosVersion {
		return logPos{}, fmt.Errorf("the checkpointed position is in format %d, this version reads %d", pos[1], durablePosVersion)
	}
	seg, k := binary.Uvarint(pos[2:])
	off, m := binary.Uvarint(pos[2+max(k, 0):])
	if k <= 0 || m <= 0 || 2+k+m != len(pos) || off > maxRecord*1024 {
		return logPos{}, errors.New("the checkpointed position is unreadable")
	}
	return logPos{seg: seg, off: int64(off)}, nil
}

// Seek makes a freshly opened Durable, before its first Read, replay the
// log from pos (a Position of an earlier Durable of the same directory):
// the records after it, then the Received. It fails when the log no
// longer holds pos.
func (d *Durable[T, J, C]) Seek(pos []byte) error {
	p, err := parsePos(pos)
	if err == nil {
		err = d.log.seek(p)
	}
	if err != nil {
		return fmt.Errorf("braid: %s: %w", d.name, err)
	}
	d.pos = p
	return nil
}

// Committed is told pos, a Position of this Durable that the newest
// complete checkpoint recorded: once it has been told Retain positions,
// it deletes the segments wholly before the oldest of the last Retain
// (see Durable). Positions are told in the order they were given; one
// older than the last is ignored.
func (d *Durable[T, J, C]) Committed(pos []byte) error {
	p, err := parsePos(pos)
	if err != nil {
		return fmt.Errorf("braid: %s: told of a complete checkpoint: %w", d.name, err)
	}
	if n := len(d.told); n > 0 && p.less(d.told[n-1]) {
		return nil
	}
	if len(d.told) == d.retain {
		d.told = append(d.told[:0], d.told[1:]...)
	}
	d.told = append(d.told, p)
	if len(d.told) == d.retain {
		d.log.deleteBefore(d.told[0].seg)
	}
	return nil
}

// Close closes the Received and the log. Call it once, after the last
// Read.
func (d *Durable[T, J, C]) Close() error {
	return errors.Join(d.src.Close(), d.log.close())
}

// A DurableSocket is a SocketReader whose lines are logged before they are
// handed on (a Durable of a SocketReader), so that a job with checkpoints
// can replay them: see Durable for the log, its positions and its
// segments. A resumed reader (Seek) counts as having read from the server,
// so that EndQuietly ends it quietly when the server is gone.
type DurableSocket struct {
	*Durable[string, Reject, socketCodec]
	sock *SocketReader
}

// OpenDurableSocket returns a reader of the lines served at addr that logs
// them in dir, through fs, before returning them (see DurableSocket). It
// opens the log, repairing a torn tail, but does not connect. The log
// warns through opts.Logger.
func OpenDurableSocket(addr string, opts SocketOptions, fs vfs.FS, dir string, dopts DurableOptions) (*DurableSocket, error) {
	sock := NewSocket(addr, opts)
	if dopts.Logger == nil {
		dopts.Logger = sock.opts.Logger
	}
	d, err := OpenDurable("socket source "+addr, Received[string, Reject](sock), socketCodec{}, fs, dir, dopts)
	if err != nil {
		sock.Close()
		return nil, err
	}
	return &DurableSocket{Durable: d, sock: sock}, nil
}

// Seek is Durable.Seek; the resumed reader then counts as having read
// from the server.
func (d *DurableSocket) Seek(pos []byte) error {
	if err := d.Durable.Seek(pos); err != nil {
		return err
	}
	d.sock.readBefore = true
	return nil
}

// socketCodec logs a socket's lines as they are, and its rejects as flags
// (ErrLineTooLong, ErrLineCut), uvarint(len(line)), line, the error's
// message.
type socketCodec struct{}

const (
	rejTooLong = 1 << iota
	rejCut
)

func (socketCodec) AppendElem(dst []byte, v *string) []byte { return append(dst, *v...) }

func (socketCodec) DecodeElem(p []byte, v *string) error {
	*v = string(p)
	return nil
}

func (socketCodec) AppendReject(dst []byte, j *Reject) []byte {
	var flags byte
	if errors.Is(j.Err, ErrLineTooLong) {
		flags |= rejTooLong
	}
	if errors.Is(j.Err, ErrLineCut) {
		flags |= rejCut
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(j.Line)))
	dst = append(dst, j.Line...)
	return append(dst, j.Err.Error()...)
}

func (socketCodec) DecodeReject(p []byte) (Reject, error) {
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
