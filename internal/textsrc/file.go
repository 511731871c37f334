package textsrc

import (
	"bufio"
	"bytes"
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
	// MaxLineBytes bounds a line's length, its line end excluded; a longer
	// line is an error naming the file and the line. Zero means 1 MiB.
	MaxLineBytes int
	// Logger receives notices (truncation). Nil means slog.Default().
	Logger *slog.Logger
}

// A FileReader reads the lines of one file. It implements the
// operators.SourceReader contract:
//
//   - Read returns lines in file order, without their "\n" or "\r\n";
//     empty lines are lines too.
//   - At the end of the file, Read returns io.EOF (with n possibly > 0),
//     the last line included even when no newline ends it. When following,
//     Read instead returns the lines it has, or waits for more, polling the
//     file's size; a last line without its newline is held back until the
//     newline arrives.
//   - When ctx is done while Read waits, it returns ctx's error at once.
//   - Offset reports where a later reader resumes without losing or
//     repeating a line.
//   - Errors name the file, and a line error its number (counted from
//     StartOffset when one was given).
//
// A FileReader is not safe for concurrent use. It starts no goroutine.
type FileReader struct {
	path    string
	opts    FileOptions
	f       *os.File
	br      *bufio.Reader
	offset  int64  // just after the last complete line returned
	read    int64  // bytes consumed from the file, partial line included
	partial []byte // the start of a line whose end has not arrived
	line    int64  // lines returned so far
	sleeper sleeper
}

// OpenFile opens path for reading lines, at opts.StartOffset. The error
// names the path.
func OpenFile(path string, opts FileOptions) (*FileReader, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("braid: file source: %w", err) // *PathError: "open <path>: ..."
	}
	r := &FileReader{path: path, opts: opts, f: f, br: bufio.NewReaderSize(f, 64<<10)}
	if opts.StartOffset > 0 {
		if _, err := f.Seek(opts.StartOffset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("braid: file source %s: seek to %d: %w", path, opts.StartOffset, err)
		}
		r.offset, r.read = opts.StartOffset, opts.StartOffset
	}
	return r, nil
}

// Offset is the byte offset just after the last line Read returned: where
// a new reader resumes (FileOptions.StartOffset) without losing or
// repeating a line. A partial line held back while following is not
// included. After a truncation it counts from the file's new start.
func (r *FileReader) Offset() int64 { return r.offset }

// Read fills buf with the next lines; see FileReader for the contract.
func (r *FileReader) Read(ctx context.Context, buf []string) (int, error) {
	n := 0
	for n < len(buf) {
		line, ok, err := r.next()
		if err != nil {
			return n, err
		}
		if ok {
			buf[n] = line
			n++
			continue
		}
		// At the end of what the file holds now.
		if !r.opts.Follow {
			if len(r.partial) > 0 {
				if len(r.partial) > r.opts.MaxLineBytes {
					return n, r.tooLong()
				}
				buf[n] = string(r.partial)
				r.partial = r.partial[:0]
				r.offset = r.read
				r.line++
				n++
			}
			return n, io.EOF
		}
		if n > 0 {
			return n, nil
		}
		if err := r.wait(ctx); err != nil {
			return 0, err
		}
		if err := r.checkTruncated(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// next returns the next complete line, or ok false at the end of the data
// that is there.
func (r *FileReader) next() (line string, ok bool, err error) {
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.read += int64(len(chunk))
		switch {
		case err == nil:
			b := chunk
			if len(r.partial) > 0 {
				r.partial = append(r.partial, chunk...)
				b = r.partial
			}
			b = bytes.TrimSuffix(b[:len(b)-1], []byte{'\r'})
			if len(b) > r.opts.MaxLineBytes {
				return "", false, r.tooLong()
			}
			line = string(b)
			r.partial = r.partial[:0]
			r.offset = r.read
			r.line++
			return line, true, nil
		case errors.Is(err, bufio.ErrBufferFull), errors.Is(err, io.EOF):
			r.partial = append(r.partial, chunk...)
			// One byte of slack: the "\r" of a "\r\n" yet to come.
			if len(r.partial) > r.opts.MaxLineBytes+1 {
				return "", false, r.tooLong()
			}
			if errors.Is(err, io.EOF) {
				return "", false, nil
			}
		default:
			return "", false, fmt.Errorf("braid: file source %s: %s: %w", r.path, r.where(), err)
		}
	}
}

// where names the line being read: "line 7", or "line 7 after offset
// 1024" when reading started past the top of the file.
func (r *FileReader) where() string {
	if r.opts.StartOffset > 0 {
		return fmt.Sprintf("line %d after offset %d", r.line+1, r.opts.StartOffset)
	}
	return fmt.Sprintf("line %d", r.line+1)
}

func (r *FileReader) tooLong() error {
	return fmt.Errorf("braid: file source %s: %s is longer than %d bytes", r.path, r.where(), r.opts.MaxLineBytes)
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
	r.partial = r.partial[:0]
	r.offset, r.read, r.line = 0, 0, 0
	r.opts.StartOffset = 0
	return nil
}

// Close closes the file. Call it once, after the last Read.
func (r *FileReader) Close() error {
	r.sleeper.stop()
	return r.f.Close()
}
