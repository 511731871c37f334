// Package tail is a file source for logs: the lines of a glob of files
// (access.log*), read in order, rotated and compressed generations too,
// then, with Follow, the newest followed as tail -F follows it, through
// rotations, without reading a line twice or skipping one.
//
//  1. Build the stream: tail.Lines(env, "/var/log/nginx/access.log*") is
//     a stream of logs.Line (text, file, byte offset, line number), in
//     one subtask.
//  2. Parse it: stream.MapErr(lines, logs.At(logs.ParseAccess)); lines that
//     do not parse go to the map's dead letters, with their place.
//  3. Lines the source itself cannot deliver (longer than MaxLineBytes,
//     or cut short by a rotation) go to stream.DeadLetters(lines), their
//     Value a logs.Line holding the start of the line and its place, their
//     Err naming the file, line and byte offset.
//  4. For a bounded read, give WithProgress a Progress and show its Stats
//     while the job runs (bytes of total, lines, lines/s).
//
// Order. The files that match when the job starts are read oldest first,
// as logrotate numbers them: by rotation number, highest first (the
// number after the last "." once ".gz" is removed, at most 5 digits, so
// access.log.3.gz, access.log.2.gz, access.log.1, then access.log, whose
// number is 0 like a name without one, access.log-20250101 say); then by
// modification time, oldest first; then by name. A ".gz" file is read
// through compress/gzip, its offsets and line numbers those of its text.
//
// A damaged ".gz" (cut short, corrupt, a wrong checksum, or not gzip at
// all) does not stop the job: the lines decoded before the damage are
// delivered, one dead letter names the file, the line and byte offset
// where decoding failed and how many of the file's bytes were read by then, its
// Value the piece of a line decoded before it, its Err wrapping
// ErrDamaged, ErrLineCut and the gzip error (io.ErrUnexpectedEOF, gzip.ErrHeader,
// gzip.ErrChecksum, a flate.CorruptInputError), a warning says the same,
// and the next generation is read. Without Follow, a ".gz" that logrotate
// is still writing when the read reaches it is read as far as it goes
// and counts as cut short (an empty one as EOF before its header); with
// Follow, a ".gz" ending early is taken for one being written and read on
// when it changes (a corrupt one is a dead letter as above).
//
// Without Follow the stream ends after the newest file; the last line of
// each file counts even without a newline. With Follow, the stream goes on
// until the job is cancelled:
//
//   - a line is delivered when its newline comes; a partial last line is
//     held until then;
//   - rename (logrotate's create): a new file of the glob with bytes in it
//     means the current one was rotated: it is read to its end, then the
//     new one from its start; an empty new file waits until its writer
//     writes to it, so lines still written to the renamed file are kept;
//   - delete and re-create: the same, the deleted file being held open;
//   - copy-truncate: a current file shorter than what was read, or whose
//     first bytes changed (written past its old size between two polls),
//     was truncated; the lines its copy in the glob (access.log.1, or a
//     .gz of it) holds after the offset reached are read from the copy,
//     then the file from its start; a copy not in the glob yet (renamed
//     into it later, a .gz still being written) is read from that offset
//     when it appears; when none has appeared after 10 polls and 5
//     seconds (or when the source closes), a warning names the file and
//     the offset from which lines may be lost;
//   - a file whose first bytes are those of a file read (a copy, a .gz of
//     a rotated generation) is not read again;
//   - a new file with a higher rotation number than the current one's (a
//     generation rotated off by copy-truncate while the source was
//     behind) is read before the current one goes on, from its offset;
//   - a file read to its end that grows later (a writer still writing to
//     a renamed log after it wrote to the new one, a copy or a .gz still
//     being written) is read on from where it was left: nothing is lost,
//     but those lines come after lines of the newer file;
//   - a file left for a newer one that ends without a newline has its
//     last piece sent to the dead letters as cut short (ErrLineCut).
//
// What it cannot see: a file truncated and written again with the same
// first 512 bytes; a file created and deleted between two polls; a new
// file whose first 512 bytes are those of a file read (taken for its
// copy).
//
// Checkpoints. With stream.WithCheckpointing the source replays: a
// checkpoint records the current file's identity (device and inode) and
// first 512 bytes, the byte offset after the last line delivered and its
// line number, and the files read. A resumed job finds the file by
// identity, whatever its name now (access.log then, access.log.1 now), or
// by its first bytes once compressed into a .gz; goes on from the offset
// (from its copy if it was truncated in place); then reads the files that
// are new, and not those read before or copies of them. If the file is
// gone (rotated away and deleted while the job was down), the resumed job
// fails, naming it and the offset from which lines are lost, unless
// AllowLoss is given: then a warning says the same and it goes on.
//
// The source reads with package os; it starts no goroutine.
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/internal/textsrc"
	"github.com/braidstream/braid/stream"
)

var (
	// ErrLineTooLong marks the error of a dead letter for a line over
	// MaxLineBytes.
	ErrLineTooLong = textsrc.ErrLineTooLong
	// ErrLineCut marks the error of a dead letter for a line cut short: a
	// file left for a newer one (rotated) without a newline at its end,
	// a partial last line of a file truncated with no copy found, or a
	// compressed file damaged there (the gzip error is in it too).
	ErrLineCut = textsrc.ErrLineCut
	// ErrDamaged marks the error of a dead letter for a compressed
	// generation damaged where decoding stopped: its text from there on
	// is lost (errors.Is finds ErrLineCut and the gzip error too).
	ErrDamaged = textsrc.ErrDamaged
)

// An Option configures Lines.
type Option interface{ apply(*config) }

type config struct {
	glob     textsrc.GlobOptions
	progress *Progress
	errs     []error
}

type option func(*config)

func (o option) apply(c *config) { o(c) }

// Follow keeps reading the newest file as it grows and through rotations,
// as tail -F, until the job is cancelled; every poll (default 100ms when
// poll is 0), at the end of the newest file, the file is checked for
// growth and truncation and the glob for new files. A Read with nothing to
// deliver returns after at most 50ms, so that checkpoints are not held
// back. Default: the stream ends after the newest file.
func Follow(poll time.Duration) Option {
	return option(func(c *config) {
		if poll < 0 {
			c.errs = append(c.errs, fmt.Errorf("Follow(%v): the poll interval must not be negative", poll))
		}
		c.glob.Follow, c.glob.PollInterval = true, poll
	})
}

// MaxLineBytes bounds a line's length, its line end excluded. Default 1
// MiB; n must be at least 1. A longer line goes to the dead letters, with
// its first 256 bytes and its place, and is skipped to its end without
// being held in memory; the lines around it are delivered.
func MaxLineBytes(n int) Option {
	return option(func(c *config) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("MaxLineBytes(%d): a line limit must be at least 1 byte", n))
		}
		c.glob.MaxLineBytes = n
	})
}

// FromEnd starts at the end of the newest file (after its last newline),
// the older files taken as read, as tail -F -n0: only lines written from
// then on are delivered (files that appear later, from their start). It
// needs Follow. Finding the line number costs one read of the newest
// file. A job resumed from a checkpoint goes on from the checkpoint
// instead.
func FromEnd() Option {
	return option(func(c *config) { c.glob.FromEnd = true })
}

// AllowLoss lets a job resumed from a checkpoint go on when the
// checkpointed file is nowhere in the glob (rotated away and deleted while
// the job was down): a warning names the file and the offset from which
// its lines are lost. Default: the resumed job fails saying so.
func AllowLoss() Option {
	return option(func(c *config) { c.glob.AllowLoss = true })
}

// Logger sets where the source logs rotations, truncations and losses.
// Default slog.Default().
func Logger(l *slog.Logger) Option {
	return option(func(c *config) { c.glob.Logger = l })
}

// WithProgress makes the source report how far it is into p, which a
// command-line job can read while the job runs (Progress.Stats).
func WithProgress(p *Progress) Option {
	return option(func(c *config) { c.progress = p })
}

// Lines is a source of the lines of the files matching glob
// (filepath.Match syntax), in one subtask; see the package documentation
// for the order, rotations and checkpoints. Each element is a logs.Line:
// its text without "\n" or "\r\n", the file's path (its name when the
// source last looked: a file renamed by a rotation has its new name), the
// byte offset of the line's start and its number in the file.
//
// A bad option or glob, or (without Follow) a glob that matches no file,
// makes Execute fail naming the source. With Follow, a glob that matches
// nothing yet is waited on.
func Lines(env *stream.Env, glob string, opts ...Option) *stream.Stream[logs.Line] {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.glob.FromEnd && !cfg.glob.Follow {
		cfg.errs = append(cfg.errs, errors.New("FromEnd needs Follow: without it, the stream would be empty"))
	}
	name := "tail " + glob
	return stream.FromSource(env, name, false, func(ctx context.Context, subtask, parallelism int) (stream.SourceReader[logs.Line], error) {
		if len(cfg.errs) > 0 {
			errs := make([]error, len(cfg.errs))
			for i, err := range cfg.errs {
				errs[i] = fmt.Errorf("braid: %s: %w", name, err)
			}
			return nil, errors.Join(errs...)
		}
		g, err := textsrc.OpenGlob(glob, cfg.glob)
		if err != nil {
			return nil, err
		}
		if cfg.progress != nil {
			cfg.progress.begin(cfg.glob.Follow)
		}
		return &reader{g: g, progress: cfg.progress}, nil
	})
}

// reader makes a textsrc.GlobReader a source of logs.Line: a
// SourceReader, RejectingReader and ReplayableReader.
type reader struct {
	g        *textsrc.GlobReader
	progress *Progress
	lines    []textsrc.FileLine   // reused between Reads
	taken    []textsrc.FileReject // reused between Rejected calls
}

func (r *reader) Read(ctx context.Context, buf []logs.Line) (int, error) {
	if cap(r.lines) < len(buf) {
		r.lines = make([]textsrc.FileLine, len(buf))
	}
	ls := r.lines[:len(buf)]
	n, err := r.g.Read(ctx, ls)
	for i, l := range ls[:n] {
		buf[i] = logs.Line{Text: l.Text, Source: l.Path, Offset: l.Offset, Number: l.Number}
	}
	clear(ls[:n])
	if r.progress != nil {
		r.progress.update(r.g.Stats(), int64(n), err)
	}
	return n, err
}

func (r *reader) Rejected(dst []stream.DeadLetter[logs.Line]) []stream.DeadLetter[logs.Line] {
	r.taken = r.g.Rejected(r.taken[:0])
	for _, j := range r.taken {
		dst = append(dst, stream.DeadLetter[logs.Line]{
			Value: logs.Line{Text: j.Line.Text, Source: j.Line.Path, Offset: j.Line.Offset, Number: j.Line.Number},
			Err:   j.Err,
		})
	}
	if r.progress != nil && len(r.taken) > 0 {
		r.progress.dead.Add(int64(len(r.taken)))
	}
	clear(r.taken)
	return dst
}

func (r *reader) Position() ([]byte, error) { return r.g.Position() }
func (r *reader) Seek(pos []byte) error     { return r.g.Seek(pos) }
func (r *reader) Close() error              { return r.g.Close() }
