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

// FileOptions configure OpenFile. The zero value reads the whole file once.
type FileOptions struct {
	// Follow keeps reading lines appended to the file after its end, as
	// tail -f, until ctx is done. A file that shrinks (truncated, as by log
	// rotation with copytruncate) is read again from its start.
	Follow bool
	// PollInterval is how often a followed file is checked for growth.
	// Zero means 100ms.
	PollInterval time.Duration
	// StartOffset is the byte offset to start reading at (the Offset of an
	// earlier reader, to resume).
	StartOffset int64
	// MaxLineBytes bounds a line's length; a longer line is an error naming
	// the file and line. Zero means 1 MiB.
	MaxLineBytes int
	// Logger receives notices (truncation). Nil means slog.Default().
	Logger *slog.Logger
}

// A FileReader reads the lines of one file.
type FileReader struct {
	path    string
	opts    FileOptions
	f       *os.File
	br      *bufio.Reader
	offset  int64  // just after the last complete line returned
	read    int64  // bytes consumed from the file, partial line included
	partial []byte // the start of a line whose end has not arrived
	line    int64  // lines returned so far
	timer   *time.Timer
}

// OpenFile opens path for reading lines. The error names the path.
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
		return nil, fmt.Errorf("braid: file source: %w", err)
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
// repeating a line.
func (r *FileReader) Offset() int64 { return r.offset }

// Read fills buf with the next lines, without their "\n" or "\r\n". At the
// end of the file it returns io.EOF, with a last line that has no newline,
// unless following; then it returns the lines it has, or waits for more.
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
		if len(r.partial)+len(chunk) > r.opts.MaxLineBytes+2 {
			return "", false, fmt.Errorf("braid: file source %s: line %d is longer than %d bytes", r.path, r.line+1, r.opts.MaxLineBytes)
		}
		switch {
		case err == nil:
			var b []byte
			if len(r.partial) > 0 {
				r.partial = append(r.partial, chunk...)
				b = r.partial
			} else {
				b = chunk
			}
			b = bytes.TrimSuffix(b[:len(b)-1], []byte{'\r'})
			line = string(b)
			r.partial = r.partial[:0]
			r.offset = r.read
			r.line++
			return line, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			r.partial = append(r.partial, chunk...)
		case errors.Is(err, io.EOF):
			r.partial = append(r.partial, chunk...)
			return "", false, nil
		default:
			return "", false, fmt.Errorf("braid: file source %s: line %d: %w", r.path, r.line+1, err)
		}
	}
}

func (r *FileReader) wait(ctx context.Context) error {
	if r.timer == nil {
		r.timer = time.NewTimer(r.opts.PollInterval)
	} else {
		r.timer.Reset(r.opts.PollInterval)
	}
	select {
	case <-r.timer.C:
		return nil
	case <-ctx.Done():
		r.timer.Stop()
		return ctx.Err()
	}
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
	r.offset, r.read = 0, 0
	return nil
}

// Close closes the file.
func (r *FileReader) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	return r.f.Close()
}
