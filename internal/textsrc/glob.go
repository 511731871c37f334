package textsrc

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// GlobOptions configure OpenGlob. The zero value reads every file of the
// glob once, oldest first, and ends.
type GlobOptions struct {
	// Follow keeps reading the newest file as it grows, as tail -F, and
	// moves on to files that appear (rotation); Read then never returns
	// io.EOF. See GlobReader for what rotation does.
	Follow bool
	// PollInterval is how often, at the end of the newest file, the file
	// is checked for growth and truncation and the glob for new files.
	// Zero means 100ms.
	PollInterval time.Duration
	// MaxLineBytes bounds a line's length, its line end excluded; a longer
	// line is set aside (GlobReader.Rejected). Zero means
	// DefaultMaxLineBytes.
	MaxLineBytes int
	// FromEnd starts at the end of the newest file (after its last
	// newline), the older ones taken as read, as tail -F -n0. Files that
	// appear later are read from their start. Ignored by Seek.
	FromEnd bool
	// AllowLoss makes Seek go on, with a warning naming what is lost,
	// when the checkpointed file is nowhere to be found (rotated away and
	// deleted while the job was down). Without it Seek fails.
	AllowLoss bool
	// Logger receives notices (rotation, truncation). Nil means
	// slog.Default().
	Logger *slog.Logger
}

// A FileLine is one line of a GlobReader, with where it was.
type FileLine struct {
	Text string
	// Path is the file's path when the reader last looked (a file renamed
	// by a rotation has its new name from then on).
	Path string
	// Offset is the byte offset of the line's start in the file
	// (uncompressed, for a .gz file).
	Offset int64
	// Number is the line's number in its file, from 1.
	Number int64
}

// A FileReject is a line a GlobReader set aside: Line holds its start (as
// Reject.Line does) and its place; Err says why and where. errors.Is finds
// ErrLineTooLong or ErrLineCut in Err; for a compressed file that does not
// decode to its end, ErrDamaged, ErrLineCut and the gzip error.
type FileReject struct {
	Line FileLine
	Err  error
}

// GlobStats is how far a GlobReader has come.
type GlobStats struct {
	// Bytes read, of TotalBytes: the sizes on disk (compressed, for a .gz
	// file) of the files known, counted when they are found.
	Bytes, TotalBytes int64
	// Files finished, of TotalFiles found.
	Files, TotalFiles int
	// Polls counts the checks made at the end of the newest file.
	Polls int64
}

// headMax is how many bytes at the start of a file a GlobReader keeps as
// its fingerprint: to see a file truncated and written again, a file
// copied (copytruncate) or compressed (a .gz generation) from one already
// read, and a recycled inode.
const headMax = 512

// idleReturn is how long a following Read waits with nothing to deliver
// before it returns 0 lines (operators.ReplayableReader).
const idleReturn = 50 * time.Millisecond

// errRewritten is what a followed file's reader reports when the file's
// first bytes changed under it: truncated and written again.
var errRewritten = errors.New("the file was truncated and written again")

// ErrDamaged marks a FileReject for a compressed file that does not
// decode to its end: cut short, corrupt, or not gzip at all. Its Line is
// the piece of a line decoded before the damage (empty when none), at the
// offset and line where decoding failed; its Err also wraps the gzip
// error (io.ErrUnexpectedEOF, gzip.ErrHeader, gzip.ErrChecksum, a
// flate.CorruptInputError) and ErrLineCut.
var ErrDamaged = errors.New("braid: compressed file damaged")

// gzDamage reports whether err, from a gzip stream, says the stream is
// damaged (as opposed to the file failing to be read).
func gzDamage(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, gzip.ErrHeader) ||
		errors.Is(err, gzip.ErrChecksum) || errors.As(err, &ce)
}

// errPastEnd is openAt's report that a .gz file's text ends before the
// offset asked for.
var errPastEnd = errors.New("the text ends before the offset")

// A GlobReader reads the lines of the files that match a glob
// (filepath.Match syntax, e.g. /var/log/nginx/access.log*), one file
// after the other, and with Follow goes on as tail -F does. It implements
// the operators.SourceReader, RejectingReader and ReplayableReader
// contracts (with FileLine and FileReject; connectors/tail converts):
//
// Order. The files found at the start are read oldest first: by rotation
// number, highest first (the number after the last "." once ".gz" is
// removed, at most 5 digits: access.log.3.gz, access.log.2.gz,
// access.log.1, then access.log, whose number is 0 like a name without
// one); then by modification time, oldest first; then by name. A file
// ending in ".gz" is read through compress/gzip; its offsets and line
// numbers are those of the uncompressed text. A ".gz" that does not decode
// to its end (cut short, corrupt, not gzip) gives the lines decoded
// before the damage, then a FileReject (ErrDamaged) naming the file,
// where decoding failed and the gzip error, with a warning; the next file
// is read. With Follow, one ending early is taken for one being written
// and read on when it changes; without, it is damaged.
//
// Lines. As FileReader: without "\n" or "\r\n"; a line over
// MaxLineBytes is set aside (ErrLineTooLong) with its path, line and byte
// offset, skipped to its end, and reading goes on. Without Follow, the
// last line of each file is a line even without a newline, and Read
// returns io.EOF after the last file. With Follow, a line is delivered
// only when its newline comes: a line without one at the end of the
// newest file is held until completed; a file left for a newer one that
// ends without a newline has its last piece set aside as cut short
// (ErrLineCut).
//
// Rotation, with Follow. At the end of the newest file, every
// PollInterval, the reader checks it and looks for new files:
//
//   - Rename (logrotate's create, or a new file appearing): a file of the
//     glob the reader does not know, with bytes in it, is newer: the
//     current file is read to its end, then the new one from its start.
//     An empty new file waits until it has bytes, so that a writer still
//     writing to the renamed file (until it reopens its log) loses
//     nothing.
//   - Delete and re-create: the deleted file stays open and is read to
//     its end, then the new one.
//   - Copy-truncate: a file shorter than what was read, or whose first
//     bytes changed (written again past its old size between two polls),
//     was truncated. The reader looks in the glob for the copy (a file
//     whose first bytes are those the truncated file had: access.log.1,
//     or a .gz of it), reads the lines the copy has after the offset
//     reached, then the truncated file from its start. With no copy in
//     the glob yet (not renamed into it, or a .gz still being written),
//     the truncated file is read from its start, and a copy that appears
//     later is read from the offset reached, before the truncated file
//     goes on (when its rotation number is higher). A copy not found in
//     10 polls and 5 seconds, or by Close, is given up: a warning names
//     the file, offset and line from which lines written before the
//     truncation, if any, are lost. While following, the check of the first
//     bytes is made after each read from the file, so lines of the new
//     content are never taken for the old.
//   - Copies: a new file whose first bytes are those of a file already
//     read (a copy-truncate's copy, a .gz made of a rotated file, a
//     recycled inode aside) is not read again.
//
// Files that appear are read after the current one, oldest first among
// themselves, except those with a higher rotation number than the
// current one's (generations a copy-truncate rotated off while the
// reader was behind): those are read first, then the current one from
// its offset. A file read to its end that grows later (a writer still
// writing to a renamed log, a copy or .gz still being written) is read on
// from where it was left, before the current one goes on.
//
// A reader behind its writer (a slow consumer, fast rotations) polls
// only at the end of the newest file; the glob is then listed until two
// listings agree, so that a file being renamed by a rotation while the
// directory is read is not missed. Every file found while following is
// held open until read, so a rotation deleting it loses nothing, except
// the older files found at the start, opened in their turn: one deleted
// before then is lost, and a warning names it and the byte offset from
// which its lines are lost.
//
// Limits: a file created and deleted between two polls is never seen; a
// file truncated and written again with the same first bytes (up to 512)
// as before is not seen as truncated; a new file whose first bytes equal
// those of a file already read is taken for its copy.
//
// Position and Seek (glob_position.go) make it replayable: the current
// file's identity (device and inode) and first bytes, the byte offset and
// line number, and which files are read.
//
// A GlobReader is not safe for concurrent use. It starts no goroutine.
type GlobReader struct {
	glob    string
	opts    GlobOptions
	started bool

	cur   *genFile   // the file being read, or nil
	queue []*genFile // to read after cur, in order
	known map[FileIdentity]*genFile
	gone  [][]byte // heads of files that left the glob, newest last
	// awaited are files truncated in place with no copy in the glob
	// then, oldest first: a copy found later is read from where they
	// were left.
	awaited []awaited

	// Reading cur.
	br      *bufio.Reader
	src     srcReader
	zr      *gzip.Reader
	lb      lineBuf
	offset  int64 // just after the last line returned or set aside
	read    int64 // bytes consumed by lines, the pending one included
	line    int64 // lines before offset
	rejects []FileReject

	lastPoll time.Time
	sleeper  sleeper
	// list lists the glob's paths; nil means filepath.Glob (tests give
	// one that misses files, as a listing racing renames can).
	list  func(glob string) ([]string, error)
	stats GlobStats
	done  int64 // bytes of finished files
}

// A genFile is one file of the glob: a generation of the log.
type genFile struct {
	path  string
	id    FileIdentity
	gz    bool
	size  int64 // at the last look
	mtime int64
	num   int    // rotation number
	head  []byte // the first bytes of its text, up to headMax
	f     *os.File
	state genState
	// anew: read again from the start (truncated in place).
	anew bool
	// resumeAt and resumeLine are where a queued file is to be read from:
	// a file paused for older ones, or read to its end and grown since.
	resumeAt, resumeLine int64
	// endAt and endLine are where a finished file was read to.
	endAt, endLine int64
	counted        bool // in GlobStats.Files
	// partial: a .gz that ended early when read, being written still.
	partial bool
}

// An awaited is a followed file truncated in place whose copy was not in
// the glob when the truncation was seen (not renamed into it yet, not
// readable yet: a .gz being written): head is what the file began with,
// off and line where it was read to. A file found later that begins with
// head is its copy, read from off.
type awaited struct {
	path      string
	head      []byte
	off, line int64
	poll      int64     // GlobStats.Polls when the truncation was seen
	at        time.Time // and when
	// cut is the partial line the file had at off, set aside as cut
	// short only if no copy (which holds it whole) appears.
	cut *FileReject
}

type genState uint8

const (
	queued genState = iota
	reading
	finished // read to its end
	copied   // a copy of another file, not to read
)

// OpenGlob returns a reader of the files matching glob. It checks the
// pattern; files are looked for at the first Read (or by Seek). The error
// names the glob.
func OpenGlob(glob string, opts GlobOptions) (*GlobReader, error) {
	if _, err := filepath.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("braid: tail source %s: %w", glob, err)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	g := &GlobReader{glob: glob, opts: opts, known: map[FileIdentity]*genFile{},
		lb: lineBuf{limit: opts.MaxLineBytes, crlf: true}}
	g.br = bufio.NewReaderSize(&g.src, readBufSize)
	g.src.scratch = make([]byte, headMax)
	return g, nil
}

// Stats says how far the reader has come. Call it from the goroutine
// that calls Read.
func (g *GlobReader) Stats() GlobStats {
	s := g.stats
	s.Bytes = g.done
	if g.cur != nil {
		s.Bytes += g.src.consumed()
	}
	return s
}

// Read fills buf with the next lines; see GlobReader for the contract.
func (g *GlobReader) Read(ctx context.Context, buf []FileLine) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if !g.started {
		if err := g.start(); err != nil {
			return 0, err
		}
	}
	n, rejected := 0, len(g.rejects)
	var waitStart time.Time
	for n < len(buf) {
		if g.cur != nil {
			s, err := g.next(&buf[n])
			if err != nil {
				switch {
				case errors.Is(err, errRewritten):
					err = g.truncated()
				case g.opts.Follow && g.cur.gz && errors.Is(err, io.ErrUnexpectedEOF):
					g.gzCut()
					err = nil
				case g.cur.gz && gzDamage(err):
					// The lines before the damage are delivered; the file
					// ends there, and the next one is read.
					g.gzDamaged(err, true)
					err = nil
				}
				if err != nil {
					return n, err
				}
				continue
			}
			switch s {
			case gotLine:
				n++
				continue
			case setAside:
				if len(g.rejects)-rejected >= rejectBatch {
					return n, nil
				}
				continue
			}
			// At the end of what cur holds now.
			if len(g.queue) > 0 || !g.opts.Follow {
				if g.finish(&buf[n]) {
					n++
				}
				if len(g.queue) == 0 {
					return n, io.EOF
				}
				if err := g.openNext(); err != nil {
					return n, err
				}
				continue
			}
		} else if !g.opts.Follow {
			return n, io.EOF
		} else if len(g.queue) > 0 {
			if err := g.openNext(); err != nil {
				return n, err
			}
			continue
		}
		// Following, at the end of the newest file (or with none yet).
		if n > 0 || len(g.rejects) > rejected {
			return n, nil
		}
		now := time.Now()
		if waitStart.IsZero() {
			waitStart = now
		}
		if due := g.lastPoll.Add(g.opts.PollInterval); !now.Before(due) {
			if err := g.poll(); err != nil {
				return n, err
			}
			continue
		} else {
			idle := waitStart.Add(idleReturn)
			if !now.Before(idle) {
				return 0, nil
			}
			wake := min(due.Sub(now), idle.Sub(now))
			if err := g.sleeper.sleep(ctx, wake); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// Rejected appends to dst the lines set aside since the last call, in
// order, and returns the extended slice. Call it from the goroutine that
// calls Read, after Read.
func (g *GlobReader) Rejected(dst []FileReject) []FileReject {
	dst = append(dst, g.rejects...)
	clear(g.rejects)
	g.rejects = g.rejects[:0]
	return dst
}

// Close closes the files the reader holds. Call it once, after the last
// Read.
func (g *GlobReader) Close() error {
	g.sleeper.stop()
	for _, a := range g.awaited {
		g.warnNoCopy(a, "the reader closed before a copy appeared")
	}
	g.awaited = nil
	var errs []error
	if g.cur != nil && g.cur.f != nil {
		errs = append(errs, g.cur.f.Close())
		g.cur.f = nil
	}
	for _, q := range g.queue {
		if q.f != nil {
			errs = append(errs, q.f.Close())
			q.f = nil
		}
	}
	return errors.Join(errs...)
}

// next reads up to the end of the next line, or of the data there is now.
func (g *GlobReader) next(out *FileLine) (step, error) {
	for {
		chunk, err := g.br.ReadSlice('\n')
		g.read += int64(len(chunk))
		switch {
		case err == nil:
			b, ok := g.lb.end(chunk[:len(chunk)-1])
			s := gotLine
			if ok {
				*out = FileLine{Text: string(b), Path: g.cur.path, Offset: g.offset, Number: g.line + 1}
			} else {
				g.reject("")
				s = setAside
			}
			g.endLine()
			return s, nil
		case errors.Is(err, bufio.ErrBufferFull), errors.Is(err, io.EOF):
			g.lb.add(chunk)
			if errors.Is(err, io.EOF) {
				return atEnd, nil
			}
		default:
			g.lb.add(chunk)
			if errors.Is(err, errRewritten) || g.cur.gz && gzDamage(err) {
				return atEnd, err // Read deals with it
			}
			return atEnd, fmt.Errorf("braid: tail source %s: line %d (byte offset %d): %w", g.cur.path, g.line+1, g.offset, err)
		}
	}
}

func (g *GlobReader) endLine() {
	g.lb.reset()
	g.offset = g.read
	g.line++
}

// reject sets the line being read aside; cut, when not empty, says what
// cut it short.
func (g *GlobReader) reject(cut string) {
	where := fmt.Sprintf("braid: tail source %s: line %d (byte offset %d)", g.cur.path, g.line+1, g.offset)
	j := g.lb.reject(where, cut)
	g.rejects = append(g.rejects, FileReject{
		Line: FileLine{Text: j.Line, Path: g.cur.path, Offset: g.offset, Number: g.line + 1},
		Err:  j.Err,
	})
}

// finish ends cur, at its end: its last line without a newline is a line
// (into out, reporting true) when not following, and set aside as cut
// short when following (a newer file took its place).
func (g *GlobReader) finish(out *FileLine) bool {
	got := false
	if g.lb.pending() {
		switch {
		case g.opts.Follow:
			g.reject("the file ends without a newline and a newer file took its place")
		default:
			if b, ok := g.lb.end(nil); ok {
				*out = FileLine{Text: string(b), Path: g.cur.path, Offset: g.offset, Number: g.line + 1}
				got = true
			} else {
				g.reject("")
			}
		}
		g.endLine()
	}
	g.done += g.src.consumed()
	if !g.cur.counted {
		g.stats.Files++
		g.cur.counted = true
	}
	g.cur.state = finished
	g.cur.endAt, g.cur.endLine = g.read, g.line
	g.closeCur()
	return got
}

// gzCut leaves a compressed cur that ends before its gzip stream does:
// being written still (a compression of a rotated log in progress). It is
// read on from its last line when it changes.
func (g *GlobReader) gzCut() {
	c := g.cur
	g.opts.Logger.Debug("braid: tail: a compressed file ends early, being written still; reading on when it changes", "file", c.path, "offset", g.offset)
	g.done += g.src.consumed()
	c.state, c.partial = finished, true
	c.endAt, c.endLine = g.offset, g.line
	g.lb.reset()
	g.closeCur()
}

// gzDamaged sets aside the rest of a compressed cur that does not decode
// to its end (cut short when not being written, corrupt, or no gzip at
// all): a reject naming the file, where decoding failed (the text's byte
// offset and line, and how many of the file's bytes were read) and the
// gzip error, holding the piece of a line decoded before it. cur then
// reads as ending there. atLine is false when the line number is not
// known (decoding failed while skipping to an offset).
func (g *GlobReader) gzDamaged(cause error, atLine bool) {
	c := g.cur
	var at string
	if atLine {
		at = fmt.Sprintf("line %d (byte offset %d)", g.line+1, g.offset)
	} else {
		at = fmt.Sprintf("byte offset %d, before line %d", g.offset, g.line+1)
	}
	msg := fmt.Sprintf("braid: tail source %s: %s: the compressed file is damaged (%d of its %d bytes read): %v; its text from there on is lost",
		c.path, at, g.src.count.n, c.size, cause)
	g.opts.Logger.Warn("braid: tail: a compressed file is damaged; the lines decoded before the damage are read, the rest is lost",
		"file", c.path, "offset", g.offset, "line", g.line+1, "err", cause)
	g.rejects = append(g.rejects, FileReject{
		Line: FileLine{Text: g.lb.prefix(), Path: c.path, Offset: g.offset, Number: g.line + 1},
		Err:  &wrapped{msg: msg, causes: []error{ErrDamaged, ErrLineCut, cause}},
	})
	g.lb.reset()
	g.src.in = nil // cur ends here
	g.br.Reset(&g.src)
}

// pause puts cur back in the queue, to be read on from the offset
// reached once the files put before it are read.
func (g *GlobReader) pause() *genFile {
	c := g.cur
	g.done += g.src.consumed()
	c.state, c.resumeAt, c.resumeLine = queued, g.offset, g.line
	g.cur = nil
	g.src.reset(nil, nil, nil)
	g.lb.reset()
	return c
}

func (g *GlobReader) closeCur() {
	if g.cur.f != nil {
		g.cur.f.Close()
		g.cur.f = nil
	}
	g.cur = nil
	g.src.reset(nil, nil, nil)
}

// openNext makes the first queued file current, from its start.
func (g *GlobReader) openNext() error {
	q := g.queue[0]
	g.queue = g.queue[1:]
	if err := g.locate(q); err != nil {
		if !errors.Is(err, errLost) {
			return err
		}
		// Gone before it was read.
		if !g.opts.Follow {
			return fmt.Errorf("braid: tail source %s: %s, found at the start, is gone before it was read: %w", g.glob, q.path, err)
		}
		g.opts.Logger.Warn("braid: tail: a file of the glob went away (rotated off and deleted while the reader was behind) before it was read; its lines from the byte offset on are lost",
			"glob", g.glob, "file", q.path, "offset", q.resumeAt, "line", q.resumeLine+1, "size", q.size)
		g.forget(q)
		return nil
	}
	if changed(q) {
		// Truncated in place before its turn: its lines from where it
		// was to be read are in its copy.
		if err := g.recover(q, q.head, q.resumeAt, q.resumeLine, nil); err != nil {
			return err
		}
		if g.cur != nil || len(g.queue) == 0 {
			return nil
		}
		return g.openNext()
	}
	off, line := q.resumeAt, q.resumeLine
	q.anew, q.resumeAt, q.resumeLine = false, 0, 0
	if err := g.openAt(q, off, line); err != nil && !errors.Is(err, errPastEnd) {
		return err
	}
	return nil
}

// openAt makes gf current at offset off (uncompressed), line lines
// before it.
func (g *GlobReader) openAt(gf *genFile, off, line int64) error {
	if gf.f == nil {
		f, err := os.Open(gf.path)
		if err != nil {
			return fmt.Errorf("braid: tail source %s: %w", g.glob, err)
		}
		gf.f = f
	}
	fail := func(err error) error {
		gf.f.Close()
		gf.f = nil
		return fmt.Errorf("braid: tail source %s: %w", gf.path, err)
	}
	gf.state = reading
	g.cur = gf
	g.lb.reset()
	g.offset, g.read, g.line = off, off, line
	if gf.gz {
		if _, err := gf.f.Seek(0, io.SeekStart); err != nil {
			return fail(err)
		}
		g.src.reset(gf, nil, nil)
		var err error
		if g.zr == nil {
			g.zr, err = gzip.NewReader(&g.src.count)
		} else {
			err = g.zr.Reset(&g.src.count)
		}
		g.br.Reset(&g.src)
		switch {
		case err == nil:
		case g.opts.Follow && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			// Being written still, its header not whole yet.
			g.gzCut()
			return errPastEnd
		case gzDamage(err):
			g.gzDamaged(err, off == 0)
			return nil
		default:
			return fail(err)
		}
		g.src.in = g.zr
		if off > 0 {
			k, err := g.br.Discard(int(off))
			if err != nil {
				g.offset, g.read = int64(k), int64(k)
				switch {
				case errors.Is(err, io.EOF):
					return errPastEnd
				case g.opts.Follow && errors.Is(err, io.ErrUnexpectedEOF):
					// Being written still, not yet as long as off: read
					// on from off when it changes.
					g.offset, g.read, g.line = off, off, line
					g.gzCut()
					return errPastEnd
				case gzDamage(err):
					g.gzDamaged(err, false)
					return nil
				}
				return fail(err)
			}
		}
		return nil
	}
	if err := readHeadAt(gf.f, &gf.head); err != nil {
		return fail(err)
	}
	if _, err := gf.f.Seek(off, io.SeekStart); err != nil {
		return fail(err)
	}
	g.src.reset(gf, gf.f, nil)
	g.src.pos, g.src.base, g.src.verify = off, off, g.opts.Follow
	g.br.Reset(&g.src)
	return nil
}

// readHeadAt reads the first bytes of f, up to headMax, into head.
func readHeadAt(f *os.File, head *[]byte) error {
	var b [headMax]byte
	k, err := f.ReadAt(b[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	*head = append((*head)[:0], b[:k]...)
	return nil
}

// A srcReader is what the bufio.Reader of a GlobReader reads: the file
// (or its gzip stream), counting what is read, keeping the first bytes
// as the file's head, and, for a followed plain file, checking after each
// read that the head is still there (the file was not truncated and
// written again), so that no byte of new content is taken for old.
type srcReader struct {
	gf     *genFile
	f      *os.File // a plain file, to check the head of
	in     io.Reader
	count  countReader // the file's bytes, under a gzip stream
	pos    int64       // text bytes read
	base   int64       // pos when opened
	verify bool
	// scratch holds the head read back for the check.
	scratch []byte
}

func (s *srcReader) reset(gf *genFile, f *os.File, in io.Reader) {
	s.gf, s.f, s.in, s.pos, s.base, s.verify = gf, f, in, 0, 0, false
	s.count = countReader{}
	if gf != nil {
		s.count.r = gf.f
	}
	if f != nil && in == nil {
		s.in = f
	}
}

// consumed is how many bytes of the file on disk were read since it was
// opened (from the offset it was opened at, for a plain file).
func (s *srcReader) consumed() int64 {
	if s.gf != nil && s.gf.gz {
		return s.count.n
	}
	return s.pos - s.base
}

func (s *srcReader) Read(p []byte) (int, error) {
	if s.in == nil {
		return 0, io.EOF
	}
	n, err := s.in.Read(p)
	if n > 0 {
		if s.verify && !s.headIntact() {
			return 0, errRewritten
		}
		head := &s.gf.head
		if hl := int64(len(*head)); hl < headMax && s.pos <= hl && s.pos+int64(n) > hl {
			from := hl - s.pos
			to := min(int64(n), headMax-s.pos)
			*head = append(*head, p[from:to]...)
		}
		s.pos += int64(n)
	}
	return n, err
}

// headIntact reports whether the file still begins with its head.
func (s *srcReader) headIntact() bool {
	h := s.gf.head
	if len(h) == 0 {
		return true
	}
	b := s.scratch[:len(h)]
	k, _ := s.f.ReadAt(b, 0)
	return k == len(h) && bytes.Equal(b, h)
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
