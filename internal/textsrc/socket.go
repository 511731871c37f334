package textsrc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"
)

// SocketOptions configure NewSocket. The zero value works: each field says
// what zero means.
type SocketOptions struct {
	// MaxRetries is how many times to try to connect (at first, and again
	// after the connection is lost) before giving up, as the maxRetry of
	// Flink's socketTextStream: 0 ends the stream when the connection
	// closes (and tries to connect once), a negative number retries
	// forever. It counts only when MaxRetriesSet; otherwise it is 10, which
	// with the default backoff spans about 25 seconds.
	MaxRetries    int
	MaxRetriesSet bool
	// InitialBackoff is the wait before the first retry, doubled after each
	// failure up to MaxBackoff. Zero means 100ms and 5s.
	InitialBackoff, MaxBackoff time.Duration
	// DialTimeout bounds one connection attempt. Zero means 5s.
	DialTimeout time.Duration
	// Delimiter ends a line. Zero means '\n'; a "\r" before it is dropped.
	Delimiter byte
	// Logger receives notices of reconnection. Nil means slog.Default().
	Logger *slog.Logger
}

// pollEvery bounds how long a read waits before looking at ctx again.
const pollEvery = 50 * time.Millisecond

// A SocketReader reads lines from a TCP server, connecting on the first
// Read and reconnecting with backoff when the connection is lost.
//
// A connection that cannot be made at first, after the retries, is an
// error: `braid: socket source localhost:9999: could not connect after 10
// attempts over 25.3s: ...`. A connection lost later that cannot be made
// again ends the stream (io.EOF), with a warning in the log, as in Flink.
type SocketReader struct {
	addr      string
	opts      SocketOptions
	conn      net.Conn
	br        *bufio.Reader
	partial   []byte
	connected bool // a connection was made at some point
	timer     *time.Timer
}

// NewSocket returns a reader of the lines served at addr (host:port).
func NewSocket(addr string, opts SocketOptions) *SocketReader {
	if !opts.MaxRetriesSet {
		opts.MaxRetries = 10
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.Delimiter == 0 {
		opts.Delimiter = '\n'
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &SocketReader{addr: addr, opts: opts}
}

// Read returns the lines that have arrived, waiting while none has.
func (r *SocketReader) Read(ctx context.Context, buf []string) (int, error) {
	n := 0
	for n < len(buf) {
		if r.conn == nil {
			if n > 0 {
				return n, nil
			}
			if err := r.connect(ctx); err != nil {
				return 0, err
			}
		}
		if n > 0 && r.br.Buffered() == 0 {
			return n, nil // what is here, without waiting for more
		}
		r.conn.SetReadDeadline(time.Now().Add(pollEvery))
		chunk, err := r.br.ReadSlice(r.opts.Delimiter)
		switch {
		case err == nil:
			b := chunk[:len(chunk)-1]
			if len(r.partial) > 0 {
				r.partial = append(r.partial, b...)
				b = r.partial
			}
			if r.opts.Delimiter == '\n' && len(b) > 0 && b[len(b)-1] == '\r' {
				b = b[:len(b)-1]
			}
			buf[n] = string(b)
			r.partial = r.partial[:0]
			n++
		case errors.Is(err, bufio.ErrBufferFull):
			r.partial = append(r.partial, chunk...)
		case errors.Is(err, os.ErrDeadlineExceeded):
			r.partial = append(r.partial, chunk...)
			if n > 0 {
				return n, nil
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
		default:
			// The peer closed the connection, or it broke: what came
			// before the close is a line too.
			r.partial = append(r.partial, chunk...)
			if len(r.partial) > 0 {
				buf[n] = string(r.partial)
				r.partial = r.partial[:0]
				n++
			}
			r.conn.Close()
			r.conn = nil
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			if r.opts.MaxRetries == 0 {
				return n, io.EOF
			}
			if errors.Is(err, io.EOF) {
				r.opts.Logger.Warn("braid: socket source: connection closed by peer; reconnecting", "addr", r.addr)
			} else {
				r.opts.Logger.Warn("braid: socket source: connection lost; reconnecting", "addr", r.addr, "err", err)
			}
		}
	}
	return n, nil
}

// connect dials with exponential backoff until it connects, the retries
// run out, or ctx is done.
func (r *SocketReader) connect(ctx context.Context) error {
	start := time.Now()
	backoff := r.opts.InitialBackoff
	attempts := 0
	for {
		d := net.Dialer{Timeout: r.opts.DialTimeout}
		conn, err := d.DialContext(ctx, "tcp", r.addr)
		attempts++
		if err == nil {
			if r.connected {
				r.opts.Logger.Info("braid: socket source reconnected", "addr", r.addr, "attempts", attempts)
			}
			r.conn, r.connected = conn, true
			if r.br == nil {
				r.br = bufio.NewReaderSize(conn, 64<<10)
			} else {
				r.br.Reset(conn)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.opts.MaxRetries >= 0 && attempts >= max(r.opts.MaxRetries, 1) {
			if r.connected {
				r.opts.Logger.Warn("braid: socket source: could not reconnect; ending the stream", "addr", r.addr, "attempts", attempts, "err", err)
				return io.EOF
			}
			return fmt.Errorf("braid: socket source %s: could not connect after %d attempts over %v: %w",
				r.addr, attempts, time.Since(start).Round(time.Millisecond), err)
		}
		if r.timer == nil {
			r.timer = time.NewTimer(backoff)
		} else {
			r.timer.Reset(backoff)
		}
		select {
		case <-r.timer.C:
		case <-ctx.Done():
			r.timer.Stop()
			return ctx.Err()
		}
		backoff = min(2*backoff, r.opts.MaxBackoff)
	}
}

// Close closes the connection.
func (r *SocketReader) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.conn != nil {
		return r.conn.Close()
	}
	return nil
}
