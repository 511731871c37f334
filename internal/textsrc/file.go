package textsrc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// FileOptions configure OpenFile. The zero value reads the whole file once,
// from its start.
type FileOptions struct {
	// Follow keeps reading lines appended to the file after its end, as
	// tail -f, until ctx is done; Read then never returns io.EOF. A file
	// that shrinks (truncated, as by log rotation with copytruncate) is
	// read again from its start, with a warning in the log. A file renamed
	// away and replaced is not reopened: the reader stays on the old one.
	Follow bool
	// PollInterval is how often a followed file is checked for growth.
	// Zero means 100ms.
	PollInterval time.Duration
	// StartOffset is the byte offset to start reading at: the Offset of an
	// earlier reader, to resume. Zero means the start of the file.
	StartOffset int64
	// MaxLineBytes bounds a line's length, its line end excluded. A longer
	// line is not returned but set aside as a Reject (see
	// FileReader.Rejected), skipped to its end without being held in
	// memory, and reading goes on. Zero means DefaultMaxLineBytes (1 MiB).
	MaxLineBytes int
	// Logger receives notices (truncation). Nil means slog.Default().
	Logger *slog.Logger
	// ReturnIdle makes Read, when following, return 0 lines and no error
	// after one PollInterval with no new line, instead of waiting on, so
	// that its caller gets a turn between Reads: a job with checkpoints
	// takes a source's position only then, and an idle followed file must
	// not hold its checkpoints back.
	ReturnIdle bool
	// Relocate is the hook for resuming a followed file that was rotated:
	// when Seek finds another file at the path than the checkpointed one
	// (identified by old) and Follow is set, it asks Relocate for the path
	// the old file now has (e.g. app.log.1) and resumes there, checking it
	// is that file. Nil, or false, fails Seek saying the file is gone from
	// its path. Reading on into the new file once the old one is read is
	// left to the rotation-aware follower that will set this hook.
	Relocate func(path string, old FileIdentity) (string, bool)
}

// rejectBatch bounds the Rejects one Read sets aside: Read returns early
// once it has set aside that many, so that a run of bad lines does not
// pile up in memory before the caller takes them.
const rejectBatch = 64

// A FileReader reads the lines of one file. It implements the
// operators.SourceReader contract:
//
//   - Read returns lines in file order, without their "\n" or "\r\n";
//     empty lines are lines too. A "\r" elsewhere in a line is kept.
//   - At the end of the file, Read returns io.EOF (with n possibly > 0),
//     the last line included even when no newline ends it (and without
//     its "\r" if it ends in one, like the lines before it). When
//     following, Read instead returns the lines it has, or waits for more,
//     polling the file's size; a last line without its newline is held
//     back until the newline arrives.
//   - A line over FileOptions.MaxLineBytes is not returned: it is set
//     aside for Rejected, with its first PrefixBytes and an error naming
//     the file, the line, its byte offset, its length and the limit, and
//     skipped to its end; the lines after it are read as usual. Offset
//     moves past it, and it keeps its number: the next line is numbered
//     after it. When following, a partial line that a truncation of the
//     file cuts off is set aside too (ErrLineCut).
//   - When ctx is done while Read waits, it returns ctx's error at once.
//   - Offset reports where a later reader resumes without losing or
//     repeating a line.
//   - Errors name the file. Line numbers count from StartOffset when one
//     was given, and from the top of the file after Seek.
//   - Position and Seek (file_position.go) make it replayable: a
//     checkpoint records the file's identity, the offset and the line
//     number, and a later reader resumes there, refusing another file.
//   - Read returns early, with fewer lines or none, when it has set
//     Rejects aside: rather than wait for more input (when following) and
//     once it has set aside 64 (so they do not pile up in memory).
//
// A FileReader is not safe for concurrent use. It starts no goroutine.
type FileReader struct {
	path    string
	opts    FileOptions
	f       *os.File
	br      *bufio.Reader
	offset  int64   // just after the last line returned or set aside
	read    int64   // bytes consumed from the file, partial line included
	lb      lineBuf // the line being read, whose end has not arrived
	line    int64   // lines read so far, rejected ones included
	rejects []Reject
	sleeper sleeper

	absLine   bool   // line counts from the top of the file (after Seek), whatever StartOffset says
	headHash  uint64 // of the first headLen bytes, for Position
	headLen   int64
	headValid bool
	scratch   []byte // for the hashes of Position and Seek
}

// OpenFile opens path for reading lines, at opts.StartOffset. The error
// names the path.
func OpenFile(path string, opts FileOptions) (*FileReader, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("braid: file source: %w", err) // *PathError: "open <path>: ..."
	}
	r := &FileReader{path: path, opts: opts, f: f, br: bufio.NewReaderSize(f, readBufSize),
		lb: lineBuf{limit: opts.MaxLineBytes, crlf: true}}
	if opts.StartOffset > 0 {
		if _, err := f.Seek(opts.StartOffset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("braid: file source %s: seek to %d: %w", path, opts.StartOffset, err)
		}
		r.offset, r.read = opts.StartOffset, opts.StartOffset
	}
	return r, nil
}

// Offset is the byte offset just after the last line Read returned or set
// aside: where a new reader resumes (FileOptions.StartOffset) without
// losing or repeating a line. A partial line held back while following is not
// included. After a truncation it counts from the file's new start.
func (r *FileReader) Offset() int64 { return r.offset }

// Read fills buf with the next lines; see FileReader for the contract.
func (r *FileReader) Read(ctx context.Context, buf []string) (int, error) {
	n, rejected, waited := 0, len(r.rejects), false
	for n < len(buf) {
		line, s, err := r.next()
		if err != nil {
			return n, err
		}
		switch s {
		case gotLine:
			buf[n] = line
			n++
			continue
		case setAside:
			if len(r.rejects)-rejected >= rejectBatch {
				return n, nil
			}
			continue
		}
		// At the end of what the file holds now.
		if !r.opts.Follow {
			if r.lb.pending() { // the last line, without its newline
				if b, ok := r.lb.end(nil); ok {
					buf[n] = string(b)
					n++
				} else {
					r.reject("")
				}
				r.endLine()
			}
			return n, io.EOF
		}
		if n > 0 || len(r.rejects) > rejected || (waited && r.opts.ReturnIdle) {
			return n, nil
		}
		waited = true
		if err := r.wait(ctx); err != nil {
			return 0, err
		}
		if err := r.checkTruncated(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Rejected appends to dst the lines set aside since the last call, in file
// order, and returns the extended slice. Call it from the goroutine that
// calls Read, after Read, as the runtime calls operators.RejectingReader.
func (r *FileReader) Rejected(dst []Reject) []Reject {
	dst, r.rejects = takeRejects(dst, r.rejects)
	return dst
}

// What next found.
type step int

const (
	atEnd    step = iota // the end of the data there is now
	gotLine              // a line within the limit
	setAside             // a line over the limit, now in rejects
)

// next reads up to the end of the next line, or of the data that is there.
func (r *FileReader) next() (line string, s step, err error) {
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.read += int64(len(chunk))
		switch {
		case err == nil:
			b, ok := r.lb.end(chunk[:len(chunk)-1])
			s = gotLine
			if ok {
				line = string(b)
			} else {
				r.reject("")
				s = setAside
			}
			r.endLine()
			return line, s, nil
		case errors.Is(err, bufio.ErrBufferFull), errors.Is(err, io.EOF):
			r.lb.add(chunk)
			if errors.Is(err, io.EOF) {
				return "", atEnd, nil
			}
		default:
			return "", atEnd, fmt.Errorf("braid: file source %s: %s: %w", r.path, r.where(), err)
		}
	}
}

// endLine moves past the line just ended, returned or set aside.
func (r *FileReader) endLine() {
	r.lb.reset()
	r.offset = r.read
	r.line++
}

// where names the line being read: "line 7", or "line 7 after offset
// 1024" when reading started past the top of the file.
func (r *FileReader) where() string {
	if r.opts.StartOffset > 0 && !r.absLine {
		return fmt.Sprintf("line %d after offset %d", r.line+1, r.opts.StartOffset)
	}
	return fmt.Sprintf("line %d", r.line+1)
}

// reject sets the line being read aside: over the limit, or cut short
// (cut says by what).
func (r *FileReader) reject(cut string) {
	where := fmt.Sprintf("braid: file source %s: %s (byte offset %d)", r.path, r.where(), r.offset)
	r.rejects = append(r.rejects, r.lb.reject(where, cut))
}

func (r *FileReader) wait(ctx context.Context) error {
	return r.sleeper.sleep(ctx, r.opts.PollInterval)
}

// checkTruncated starts again from the top when the file became shorter
// than what was read.
func (r *FileReader) checkTruncated() error {
	st, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("braid: file source %s: %w", r.path, err)
	}
	if st.Size() >= r.read {
		return nil
	}
	r.opts.Logger.Warn("braid: followed file shrank; reading it again from the start", "file", r.path, "size", st.Size(), "read", r.read)
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("braid: file source %s: %w", r.path, err)
	}
	r.br.Reset(r.f)
	if r.lb.pending() {
		r.reject(fmt.Sprintf("the file shrank to %d bytes before its newline", st.Size()))
		r.lb.reset()
	}
	r.offset, r.read, r.line = 0, 0, 0
	r.opts.StartOffset, r.headValid = 0, false
	return nil
}

// Close closes the file. Call it once, after the last Read.
func (r *FileReader) Close() error {
	r.sleeper.stop()
	return r.f.Close()
}
