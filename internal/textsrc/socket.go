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
	"strings"
	"time"
)

// SocketOptions configure NewSocket. The zero value works: each field says
// what zero means.
type SocketOptions struct {
	// MaxRetries is how many connection attempts an outage may take (at
	// first, and again after the connection is lost) before the reader
	// gives up, as the maxRetry of Flink's socketTextStream:
	//
	//   - n > 0 makes up to n attempts per outage. An outage ends when a
	//     connection delivers a line (a whole one, up to its delimiter),
	//     so a server that accepts and at once closes, or sends only part
	//     of a line, uses up the attempts as one that refuses does. Giving
	//     up is an error, unless EndQuietly is set and a connection was
	//     made at some point.
	//   - 0 tries to connect once and never reconnects: the server closing
	//     that connection (an orderly close) ends the stream (io.EOF), as
	//     Flink's maxRetry 0 does; that is how to read a bounded socket. A
	//     connection that breaks instead (reset, read error) is an error,
	//     unless EndQuietly is set.
	//   - a negative number retries forever.
	//
	// MaxRetries counts only when MaxRetriesSet is true (so that 0 can be
	// asked for); otherwise it is 10, which with the default backoff waits
	// about 21s in all at first and 26s after a lost connection, longer if
	// dials time out.
	MaxRetries int
	// MaxRetriesSet says that MaxRetries was set; see there.
	MaxRetriesSet bool
	// EndQuietly makes the loss of the connection for good (MaxRetries
	// attempts used up, or a broken connection with MaxRetries 0) end the
	// stream, io.EOF with a warning in the log, instead of being an
	// error. A reader that never connected fails even so: nothing was
	// ever read, the address is likely wrong (a DurableSocket resumed from
	// its log counts as having read). No effect with a negative
	// MaxRetries, which never gives up.
	EndQuietly bool
	// InitialBackoff is the wait before the second attempt to connect (and
	// before the first attempt after a lost connection), doubled after
	// each attempt up to MaxBackoff. Zero means 100ms and 5s.
	InitialBackoff, MaxBackoff time.Duration
	// DialTimeout bounds one connection attempt. Zero means 5s.
	DialTimeout time.Duration
	// Delimiter ends a line. Zero means '\n', and then a "\r" before it is
	// dropped too.
	Delimiter byte
	// MaxLineBytes bounds a line's length, its delimiter excluded, so that
	// a peer cannot exhaust memory or stop the job with one long line: a
	// longer line is set aside as a Reject (see SocketReader.Rejected) and
	// skipped to its delimiter without being held in memory, and reading
	// goes on. Zero means DefaultMaxLineBytes (1 MiB).
	MaxLineBytes int
	// ReturnIdle makes Read return 0 lines and no error when about 50ms
	// pass, while connected, with no line, instead of waiting on, so that
	// its caller gets a turn between Reads: a job with checkpoints takes a
	// source's position only then, and an idle socket must not hold its
	// checkpoints back. (While connecting or backing off, Read still
	// waits.)
	ReturnIdle bool
	// Logger receives notices: each failed attempt to connect (at info,
	// with the address, the attempt's number and the wait before the
	// next), lost connections and reconnections. Nil means slog.Default().
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
//   - A line over SocketOptions.MaxLineBytes is not returned: it is set
//     aside for Rejected, with its first PrefixBytes and an error naming
//     the address, the connection, the line and its byte offset on that
//     connection, its length and the limit (ErrLineTooLong); the lines
//     after it are read as usual.
//   - What the peer sent after the last delimiter before the connection
//     ended is not a line: nothing says it was whole. It is set aside for
//     Rejected as a line cut short (ErrLineCut), all of it that arrived
//     within the limit.
//   - A connection never made, after the retries, is an error:
//     `braid: socket source localhost:9999: could not connect after 10
//     attempts over 21.3s: <last dial error>`. So is a connection lost
//     and not made again, and a server that only ever closed the
//     connections it accepted, unless SocketOptions.EndQuietly says to end
//     the stream (io.EOF) instead. With MaxRetries 0 the server's orderly
//     close of the one connection ends the stream. Once Read has returned
//     io.EOF or such an error it returns it again.
//   - While connecting, each failed attempt is logged at info, with the
//     attempt's number and the wait before the next.
//   - When ctx is done, Read returns ctx's error within about 50ms, even
//     while dialing, backing off or reading: reads use short deadlines and
//     waits are timers selected against ctx, so no goroutine is started.
//   - Read returns early, with fewer lines or none, when it has set
//     Rejects aside: rather than wait for more input and once it has set
//     aside 64 (so they do not pile up in memory).
//   - Lines are not replayed: what was read before a crash is gone. A
//     DurableSocket logs them to replay them.
//
// A SocketReader is not safe for concurrent use.
type SocketReader struct {
	addr    string
	opts    SocketOptions
	conn    net.Conn
	br      *bufio.Reader
	lb      lineBuf // the line being read, whose delimiter has not arrived
	rejects []Reject
	sleeper sleeper
	err     error // once set, what every Read returns: io.EOF or a failure

	conns     int   // connections made so far
	connLine  int64 // lines ended on the current connection, rejected ones included
	connRead  int64 // bytes read from the current connection
	lineStart int64 // offset on the current connection of the line being read

	connected   bool          // a connection was made at some point
	readBefore  bool          // an earlier reader read from the server (a resumed DurableSocket)
	gotData     bool          // the current connection delivered a line
	attempts    int           // attempts to connect in the current outage
	wait        time.Duration // before the next attempt
	outageStart time.Time     // of the current outage
	lostConn    int           // the connection whose loss began the outage; 0 at first
	lostErr     error         // how it ended: io.EOF (closed by the server) or why it broke
	empty       int           // connections of the outage closed before delivering a line
	lastErr     error         // of the outage's last failed dial
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
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &SocketReader{addr: addr, opts: opts, lb: lineBuf{limit: opts.MaxLineBytes, crlf: opts.Delimiter == '\n'}}
}

// Read fills buf with the lines that have arrived, waiting while none has;
// see SocketReader for the contract.
func (r *SocketReader) Read(ctx context.Context, buf []string) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, rejected := 0, len(r.rejects)
	for n < len(buf) {
		if r.conn == nil {
			if n > 0 || len(r.rejects) > rejected {
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
			if n > 0 || len(r.rejects) > rejected {
				return n, nil // what is here, without waiting for more
			}
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			r.conn.SetReadDeadline(time.Now().Add(pollEvery))
		}
		chunk, err := r.br.ReadSlice(r.opts.Delimiter)
		r.connRead += int64(len(chunk))
		switch {
		case err == nil:
			r.gotData = true
			if b, ok := r.lb.end(chunk[:len(chunk)-1]); ok {
				buf[n] = string(b)
				n++
			} else {
				r.reject("")
			}
			r.endLine()
			if len(r.rejects)-rejected >= rejectBatch {
				return n, nil
			}
		case errors.Is(err, bufio.ErrBufferFull), errors.Is(err, os.ErrDeadlineExceeded):
			r.lb.add(chunk)
			if r.opts.ReturnIdle && n == 0 && len(r.rejects) == rejected && errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, nil // idle: the partial line, if any, stays for the next Read
			}
		default:
			// The peer closed the connection, or it broke.
			r.lb.add(chunk)
			if r.lb.pending() {
				how := "the server closed the connection"
				if !errors.Is(err, io.EOF) {
					how = fmt.Sprintf("the connection broke (%v)", err)
				}
				r.reject(fmt.Sprintf("%s before its %s", how, r.delimiterName()))
				r.lb.reset()
			}
			r.conn.Close()
			r.conn = nil
			if err := r.closed(err); err != nil {
				r.err = err
				return n, err
			}
		}
	}
	return n, nil
}

// Rejected appends to dst the lines set aside since the last call, in the
// order they arrived, and returns the extended slice. Call it from the
// goroutine that calls Read, after Read, as the runtime calls
// operators.RejectingReader.
func (r *SocketReader) Rejected(dst []Reject) []Reject {
	dst, r.rejects = takeRejects(dst, r.rejects)
	return dst
}

// lineBuffered reports whether a whole line waits in the buffer, so that
// reading it will not block.
func (r *SocketReader) lineBuffered() bool {
	b, _ := r.br.Peek(r.br.Buffered())
	return bytes.IndexByte(b, r.opts.Delimiter) >= 0
}

// endLine moves past the line just ended, returned or set aside.
func (r *SocketReader) endLine() {
	r.lb.reset()
	r.connLine++
	r.lineStart = r.connRead
}

// reject sets the line being read aside: over the limit, or cut short
// (cut says by what).
func (r *SocketReader) reject(cut string) {
	where := fmt.Sprintf("braid: socket source %s: connection %d, line %d (byte offset %d)", r.addr, r.conns, r.connLine+1, r.lineStart)
	r.rejects = append(r.rejects, r.lb.reject(where, cut))
}

func (r *SocketReader) delimiterName() string {
	if r.opts.Delimiter == '\n' {
		return "newline"
	}
	return fmt.Sprintf("delimiter %q", r.opts.Delimiter)
}

// closed deals with the end of the current connection, closed by the peer
// (io.EOF) or broken: it returns io.EOF to end the stream, an error to
// fail, or nil to connect again.
func (r *SocketReader) closed(err error) error {
	if r.opts.MaxRetries != 0 {
		r.connectionLost(err)
		return nil
	}
	if errors.Is(err, io.EOF) {
		r.opts.Logger.Info("braid: socket source: connection closed by the server; ending the stream (MaxRetries 0)", "addr", r.addr)
		return io.EOF
	}
	if r.opts.EndQuietly {
		r.opts.Logger.Warn("braid: socket source: connection lost; ending the stream (MaxRetries 0, EndQuietly)", "addr", r.addr, "err", err)
		return io.EOF
	}
	return fmt.Errorf("braid: socket source %s: connection %d lost, not reconnecting (MaxRetries 0): %w", r.addr, r.conns, err)
}

// connectionLost records the end of the connection. One that delivered a
// line ends the outage, so the next one starts afresh; one that did not
// counts as a failed attempt and the backoff keeps growing.
func (r *SocketReader) connectionLost(err error) {
	if !r.gotData {
		r.empty++
		r.logAttempt("the server closed the connection before sending a line", nil)
		return
	}
	r.attempts, r.wait, r.empty, r.lastErr = 0, r.opts.InitialBackoff, 0, nil
	r.outageStart, r.lostConn, r.lostErr = time.Now(), r.conns, err
	if errors.Is(err, io.EOF) {
		r.opts.Logger.Warn("braid: socket source: connection closed by the server; reconnecting", "addr", r.addr, "retry_in", r.wait)
	} else {
		r.opts.Logger.Warn("braid: socket source: connection lost; reconnecting", "addr", r.addr, "retry_in", r.wait, "err", err)
	}
}

// logAttempt logs the failure of attempt r.attempts of the outage, and the
// wait before the next.
func (r *SocketReader) logAttempt(what string, err error) {
	args := []any{"addr", r.addr, "attempt", r.attempts}
	if r.opts.MaxRetries > 0 {
		args = append(args, "max_attempts", r.opts.MaxRetries)
	}
	if r.opts.MaxRetries < 0 || r.attempts < r.opts.MaxRetries {
		what += "; retrying"
		args = append(args, "retry_in", r.wait)
	} else {
		what += "; no attempts left"
	}
	if err != nil {
		args = append(args, "err", err)
	}
	r.opts.Logger.Info("braid: socket source: "+what, args...)
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
		if r.attempts == 0 && !r.connected {
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
			r.logAttempt("could not connect", err)
			continue
		}
		if r.attempts > 1 || r.connected {
			r.opts.Logger.Info("braid: socket source connected", "addr", r.addr, "attempt", r.attempts)
		}
		r.conn, r.connected, r.gotData = conn, true, false
		r.conns++
		r.connLine, r.connRead, r.lineStart = 0, 0, 0
		if r.br == nil {
			r.br = bufio.NewReaderSize(conn, readBufSize)
		} else {
			r.br.Reset(conn)
		}
		return nil
	}
}

// giveUp is the end of an outage that ran out of attempts: an error, or
// with EndQuietly the end of the stream if a connection was ever made.
func (r *SocketReader) giveUp() error {
	tried := fmt.Sprintf("%s over %v", plural(r.attempts, "attempt"), time.Since(r.outageStart).Round(time.Millisecond))
	if (r.connected || r.readBefore) && r.opts.EndQuietly {
		r.opts.Logger.Warn("braid: socket source: could not reconnect; ending the stream (EndQuietly)",
			"addr", r.addr, "attempts", r.attempts, "over", time.Since(r.outageStart).Round(time.Millisecond), "err", r.lastErr)
		return io.EOF
	}
	if !r.connected {
		return fmt.Errorf("braid: socket source %s: could not connect after %s: %w", r.addr, tried, r.lastErr)
	}
	var b strings.Builder
	var causes []error
	b.WriteString("braid: socket source " + r.addr + ": ")
	switch {
	case r.lostConn == 0:
		fmt.Fprintf(&b, "no line after %s", tried)
	case errors.Is(r.lostErr, io.EOF):
		fmt.Fprintf(&b, "connection %d closed by the server and not made again in %s", r.lostConn, tried)
	default:
		fmt.Fprintf(&b, "connection %d lost (%v) and not made again in %s", r.lostConn, r.lostErr, tried)
		causes = append(causes, r.lostErr)
	}
	if r.empty > 0 {
		fmt.Fprintf(&b, ": the server closed %s before sending a line", plural(r.empty, "connection"))
		if r.lastErr != nil {
			b.WriteString("; the last failed dial")
		}
	}
	if r.lastErr != nil {
		fmt.Fprintf(&b, ": %v", r.lastErr)
		causes = append(causes, r.lastErr)
	}
	return &wrapped{msg: b.String(), causes: causes}
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
