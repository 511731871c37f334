package textsrc

import (
	"bufio"
	"bytes"
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
	// MaxRetries is how many connection attempts an outage may take (at
	// first, and again after the connection is lost) before the reader
	// gives up, as the maxRetry of Flink's socketTextStream:
	//
	//   - 0 tries to connect once and ends the stream (io.EOF) when that
	//     connection closes;
	//   - a negative number retries forever;
	//   - n > 0 makes up to n attempts per outage. An outage ends when a
	//     connection delivers data, so a server that accepts and at once
	//     closes uses up the attempts as one that refuses does.
	//
	// MaxRetries counts only when MaxRetriesSet is true (so that 0 can be
	// asked for); otherwise it is 10, which with the default backoff waits
	// about 21s in all at first and 26s after a lost connection, longer if
	// dials time out.
	MaxRetries int
	// MaxRetriesSet says that MaxRetries was set; see there.
	MaxRetriesSet bool
	// InitialBackoff is the wait before the second attempt to connect (and
	// before the first attempt after a lost connection), doubled after
	// each attempt up to MaxBackoff. Zero means 100ms and 5s.
	InitialBackoff, MaxBackoff time.Duration
	// DialTimeout bounds one connection attempt. Zero means 5s.
	DialTimeout time.Duration
	// Delimiter ends a line. Zero means '\n', and then a "\r" before it is
	// dropped too.
	Delimiter byte
	// MaxLineBytes bounds a line's length, so that a peer that never sends
	// a delimiter cannot exhaust memory; a longer line is an error. Zero
	// means 1 MiB.
	MaxLineBytes int
	// Logger receives notices of lost connections and reconnections. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// pollEvery bounds how long a blocked read waits before looking at ctx
// again: the cancellation latency of a SocketReader.
const pollEvery = 50 * time.Millisecond

// A SocketReader reads lines from a TCP server: the client side, as Flink's
// socketTextStream. It connects on the first Read and reconnects with
// exponential backoff when the connection is lost (see
// SocketOptions.MaxRetries). It implements the operators.SourceReader
// contract:
//
//   - Read returns the lines that have arrived, without their delimiter.
//     It blocks only while no complete line is buffered; once it has one
//     it returns as soon as the next would have to be waited for.
//   - What the peer sent after the last delimiter before closing the
//     connection is a line too, as in Flink.
//   - A connection never made, after the retries, is an error:
//     `braid: socket source localhost:9999: could not connect after 10
//     attempts over 21.3s: <last dial error>`.
//   - A connection lost that cannot be made again ends the stream:
//     io.EOF, with a warning in the log. With MaxRetries 0 the stream ends
//     as soon as the connection closes. Once Read has returned io.EOF or
//     that error it returns it again.
//   - When ctx is done, Read returns ctx's error within about 50ms, even
//     while dialing, backing off or reading: reads use short deadlines and
//     waits are timers selected against ctx, so no goroutine is started.
//   - Lines are not replayed: what was read before a crash is gone.
//
// A SocketReader is not safe for concurrent use.
type SocketReader struct {
	addr    string
	opts    SocketOptions
	conn    net.Conn
	br      *bufio.Reader
	partial []byte // the start of a line whose delimiter has not arrived
	sleeper sleeper
	err     error // once set, what every Read returns: io.EOF or a failure

	connected   bool          // a connection was made at some point
	gotData     bool          // the current connection delivered bytes
	attempts    int           // attempts to connect in the current outage
	wait        time.Duration // before the next attempt
	outageStart time.Time     // of the current outage's first attempt
	lastErr     error         // of the current outage's last attempt
}

// NewSocket returns a reader of the lines served at addr (host:port). It
// does not connect: the first Read does.
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
	opts.MaxBackoff = max(opts.MaxBackoff, opts.InitialBackoff)
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.Delimiter == 0 {
		opts.Delimiter = '\n'
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &SocketReader{addr: addr, opts: opts}
}

// Read fills buf with the lines that have arrived, waiting while none has;
// see SocketReader for the contract.
func (r *SocketReader) Read(ctx context.Context, buf []string) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n := 0
	for n < len(buf) {
		if r.conn == nil {
			if n > 0 {
				return n, nil
			}
			if err := r.connect(ctx); err != nil {
				if ctx.Err() == nil {
					r.err = err
				}
				return 0, err
			}
		}
		if !r.lineBuffered() {
			if n > 0 {
				return n, nil // what is here, without waiting for more
			}
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			r.conn.SetReadDeadline(time.Now().Add(pollEvery))
		}
		chunk, err := r.br.ReadSlice(r.opts.Delimiter)
		if len(chunk) > 0 {
			r.gotData = true
		}
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
			if len(b) > r.opts.MaxLineBytes {
				return n, r.tooLong()
			}
			buf[n] = string(b)
			r.partial = r.partial[:0]
			n++
		case errors.Is(err, bufio.ErrBufferFull), errors.Is(err, os.ErrDeadlineExceeded):
			r.partial = append(r.partial, chunk...)
			// One byte of slack: the "\r" of a "\r\n" yet to come.
			if len(r.partial) > r.opts.MaxLineBytes+1 {
				return n, r.tooLong()
			}
		default:
			// The peer closed the connection, or it broke: what came
			// before the close is a line too.
			r.partial = append(r.partial, chunk...)
			if len(r.partial) > 0 {
				if len(r.partial) > r.opts.MaxLineBytes {
					return n, r.tooLong()
				}
				buf[n] = string(r.partial)
				r.partial = r.partial[:0]
				n++
			}
			r.conn.Close()
			r.conn = nil
			if r.opts.MaxRetries == 0 {
				r.opts.Logger.Info("braid: socket source: connection closed; ending the stream", "addr", r.addr, "err", err)
				r.err = io.EOF
				return n, io.EOF
			}
			r.lost(err)
		}
	}
	return n, nil
}

// lineBuffered reports whether a whole line waits in the buffer, so that
// reading it will not block.
func (r *SocketReader) lineBuffered() bool {
	b, _ := r.br.Peek(r.br.Buffered())
	return bytes.IndexByte(b, r.opts.Delimiter) >= 0
}

func (r *SocketReader) tooLong() error {
	r.err = fmt.Errorf("braid: socket source %s: a line is longer than %d bytes", r.addr, r.opts.MaxLineBytes)
	return r.err
}

// lost records the loss of the connection. A connection that delivered
// data ends the outage, so the next one starts afresh; one that did not
// counts as a failed attempt and the backoff keeps growing.
func (r *SocketReader) lost(err error) {
	if r.gotData {
		r.attempts, r.wait = 0, r.opts.InitialBackoff
	}
	r.lastErr = err
	if errors.Is(err, io.EOF) {
		r.opts.Logger.Warn("braid: socket source: connection closed by peer; reconnecting", "addr", r.addr)
	} else {
		r.opts.Logger.Warn("braid: socket source: connection lost; reconnecting", "addr", r.addr, "err", err)
	}
}

// connect dials with exponential backoff until it connects, the attempts
// of the outage run out, or ctx is done.
func (r *SocketReader) connect(ctx context.Context) error {
	for {
		if r.opts.MaxRetries >= 0 && r.attempts >= max(r.opts.MaxRetries, 1) {
			return r.giveUp()
		}
		if r.wait > 0 {
			if err := r.sleep(ctx, r.wait); err != nil {
				return err
			}
		}
		if r.attempts == 0 {
			r.outageStart = time.Now()
		}
		d := net.Dialer{Timeout: r.opts.DialTimeout}
		conn, err := d.DialContext(ctx, "tcp", r.addr)
		if err != nil && ctx.Err() != nil {
			return ctx.Err() // not an attempt: the job is ending
		}
		r.attempts++
		r.wait = min(max(2*r.wait, r.opts.InitialBackoff), r.opts.MaxBackoff)
		if err != nil {
			r.lastErr = err
			continue
		}
		if r.connected {
			r.opts.Logger.Info("braid: socket source reconnected", "addr", r.addr, "attempts", r.attempts)
		}
		r.conn, r.connected, r.gotData = conn, true, false
		if r.br == nil {
			r.br = bufio.NewReaderSize(conn, 64<<10)
		} else {
			r.br.Reset(conn)
		}
		return nil
	}
}

// giveUp is the end of an outage that ran out of attempts: an error if
// no connection was ever made, else the end of the stream.
func (r *SocketReader) giveUp() error {
	took := time.Since(r.outageStart).Round(time.Millisecond)
	if !r.connected {
		return fmt.Errorf("braid: socket source %s: could not connect after %s over %v: %w",
			r.addr, plural(r.attempts, "attempt"), took, r.lastErr)
	}
	r.opts.Logger.Warn("braid: socket source: could not reconnect; ending the stream",
		"addr", r.addr, "attempts", r.attempts, "over", took, "err", r.lastErr)
	return io.EOF
}

func (r *SocketReader) sleep(ctx context.Context, d time.Duration) error {
	return r.sleeper.sleep(ctx, d)
}

// Close closes the connection, if there is one. Call it once, after the
// last Read.
func (r *SocketReader) Close() error {
	r.sleeper.stop()
	r.err = errors.New("braid: socket source " + r.addr + ": read after Close")
	if r.conn != nil {
		return r.conn.Close()
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
