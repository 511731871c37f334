package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/stream"
)

// Defaults of the options.
const (
	// DefaultMaxLineBytes is the line (message) limit when MaxLineBytes is
	// not given: 64 KiB.
	DefaultMaxLineBytes = 64 << 10
	// DefaultMaxConns is the connection limit when MaxConns is not given.
	DefaultMaxConns = 1024
)

// maxUDPPeers bounds the table of UDP peers (their line numbers and rate
// buckets): past it the table is emptied and begins again.
const maxUDPPeers = 4096

// idleWait is how long Read waits with nothing to deliver before it
// returns 0 lines, so that checkpoint barriers and cancellation get a turn.
const idleWait = 50 * time.Millisecond

// ErrBadFrame marks the error of a dead letter of Syslog for a TCP frame
// whose octet count cannot be read (a digit first, then something else
// than digits and a space): the connection is closed, since nothing after
// it can be framed.
var ErrBadFrame = errors.New("braid: bad syslog frame")

// An Option configures TCPLines or Syslog.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	maxLine  int
	maxConns int
	rate     float64 // lines a second per client; 0: no limit
	burst    int
	idle     time.Duration
	stats    *Stats
	bound    func(net.Addr)
	logger   *slog.Logger
	durable  bool
	errs     []error
}

// MaxLineBytes bounds a line (a syslog message) to n bytes, its line end
// excluded. Default DefaultMaxLineBytes (64 KiB); n must be at least 1.
//
// A longer line does not reach the stream: it goes to the source's dead
// letters, its Value a logs.Line holding the first PrefixBytes of it, the
// peer and the line's number, its Err naming the listener, the peer, the
// line, its length and the limit; errors.Is(err, stream.ErrLineTooLong)
// holds. It is skipped to its end without being held in memory, and the
// lines after it are read as usual. For a datagram, the limit is the
// datagram's size (less a trailing newline).
func MaxLineBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("MaxLineBytes(%d): a line limit must be at least 1 byte", n))
		}
		c.maxLine = n
	})
}

// MaxConns bounds the TCP connections open at once. A connection beyond
// it is accepted and closed at once (the client reads the end of the
// stream), counted in Stats.Refused and logged. Default DefaultMaxConns
// (1024); n must be at least 1. It does not bound UDP peers.
func MaxConns(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("MaxConns(%d): the connection limit must be at least 1", n))
		}
		c.maxConns = n
	})
}

// RateLimit bounds what each client may send to perSecond lines (syslog
// messages) a second, with bursts of up to burst lines: a token bucket
// per client, full at first. Lines set aside as dead letters count too.
// Default: no limit.
//
//   - A TCP client over its rate is slowed, not cut: its connection is
//     not read until the bucket holds a token again, so TCP's flow control
//     makes it wait and nothing it sent is lost. Each time a connection is
//     paused so counts in Stats.Throttled.
//   - A UDP client (an address and port) over its rate loses the datagrams
//     that find its bucket empty, counted in Stats.RateDropped: a datagram
//     not read is lost anyway.
//
// perSecond must be positive and finite, burst at least 1.
func RateLimit(perSecond float64, burst int) Option {
	return optionFunc(func(c *config) {
		if !(perSecond > 0) || math.IsInf(perSecond, 1) {
			c.errs = append(c.errs, fmt.Errorf("RateLimit(%v, %d): the rate must be a positive number of lines a second", perSecond, burst))
		}
		if burst < 1 {
			c.errs = append(c.errs, fmt.Errorf("RateLimit(%v, %d): the burst must be at least 1 line", perSecond, burst))
		}
		c.rate, c.burst = perSecond, burst
	})
}

// IdleTimeout closes a TCP connection that sends nothing for d while the
// source is waiting for input (time the job spends on what it already has
// does not count, so backpressure never looks like idleness). A line it
// had begun goes to the dead letters as cut short (stream.ErrLineCut). Each
// such close counts in Stats.IdleClosed. Default 0: connections may stay
// idle for ever. d must not be negative.
func IdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("IdleTimeout(%v): the timeout must not be negative", d))
		}
		c.idle = d
	})
}

// WithStats makes the source count what it accepted and refused in s, which
// may be read (with the fields' Load) while the job runs and after.
// Counters only grow, across restarts of the job, except Open. The
// counters of lines are updated once per batch the source delivers, those
// of connections as they happen.
func WithStats(s *Stats) Option { return optionFunc(func(c *config) { c.stats = s }) }

// Bound calls f with the address of each socket the source listens on
// (one for TCPLines, one or two for Syslog), once it listens and before it
// reads: how to learn the port of an address such as "127.0.0.1:0". It
// runs when the job starts (again at each restart, which listens anew),
// in the goroutine that opens the job's sources, and must not block long.
func Bound(f func(net.Addr)) Option { return optionFunc(func(c *config) { c.bound = f }) }

// Logger sets where the source logs (that it listens, connections refused
// over MaxConns, bad frames). Default (and nil): slog.Default().
func Logger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// Stats are a listening source's counters, safe to read while the job
// runs. The zero value is ready; give it to the source with WithStats.
type Stats struct {
	// Accepted counts TCP connections accepted and read.
	Accepted atomic.Int64
	// Refused counts TCP connections closed at once, over MaxConns.
	Refused atomic.Int64
	// Open is the number of TCP connections open now.
	Open atomic.Int64
	// Lines counts the lines (syslog messages) delivered to the stream.
	Lines atomic.Int64
	// TooLong counts lines over MaxLineBytes, sent to the dead letters.
	TooLong atomic.Int64
	// Cut counts lines cut short by the end of their connection (a
	// disconnect, an idle timeout), sent to the dead letters.
	Cut atomic.Int64
	// BadFrames counts syslog frames whose octet count could not be read,
	// sent to the dead letters; each closed its connection.
	BadFrames atomic.Int64
	// IdleClosed counts connections closed by IdleTimeout.
	IdleClosed atomic.Int64
	// Throttled counts the times a TCP connection was paused by RateLimit.
	Throttled atomic.Int64
	// RateDropped counts UDP datagrams dropped by RateLimit.
	RateDropped atomic.Int64
	// Logged counts the lines (messages) and dead letters written to the
	// log of a Durable source, each once the log is synced: what a crash
	// can no longer take away. (Lines and the other counts are counted as
	// they are read, before the log.)
	Logged atomic.Int64
	// Replayed counts the lines (messages) and dead letters a Durable
	// source replayed from its log after a restore; they are not counted
	// again in Lines, TooLong and such.
	Replayed atomic.Int64
}

// String formats the counters on one line.
func (s *Stats) String() string {
	return fmt.Sprintf("accepted %d, refused %d, open %d, lines %d, too long %d, cut %d, bad frames %d, idle closed %d, throttled %d, rate dropped %d, logged %d, replayed %d",
		s.Accepted.Load(), s.Refused.Load(), s.Open.Load(), s.Lines.Load(), s.TooLong.Load(), s.Cut.Load(),
		s.BadFrames.Load(), s.IdleClosed.Load(), s.Throttled.Load(), s.RateDropped.Load(), s.Logged.Load(), s.Replayed.Load())
}

// TCPLines is a source of the lines that TCP clients send to addr
// (host:port, as net.Listen takes it; ":0" picks a free port, see Bound):
// a line server for forwarded logs, which any number of clients may feed
// at once (`tail -F app.log | nc host 5140`). Each element is one line,
// its "\n" or "\r\n" removed, as a logs.Line: Text, Source the client's
// address (host:port), Offset -1, Number the line's number in its
// connection, from 1 (lines set aside count too).
//
// The source runs in one subtask. It listens when the job starts and
// closes the socket and every connection when the job ends or is
// cancelled. Lines of one connection come in their order; lines of
// different connections interleave as they arrive. Bounds: MaxLineBytes,
// MaxConns, RateLimit, IdleTimeout; what they refuse is counted
// (WithStats) and, for lines, sent to the dead letters
// (stream.DeadLetters): a line over the limit (stream.ErrLineTooLong),
// and what a client sent after its last newline before the connection
// ended (stream.ErrLineCut: it is not delivered as a line, nothing says it
// was whole). The lines around either are delivered as usual.
//
// Backpressure: the sockets are read only when the job asks for more, so
// when the job is slow the kernel's buffers fill and TCP makes the clients
// wait; nothing is dropped. Memory: a connection holds at most its line
// in progress (MaxLineBytes) and one 64 KiB read buffer, the latter only
// while what it read waits to be delivered.
//
// A listener cannot replay what it received before a failure: a job with
// checkpoints (stream.WithCheckpointing) refuses it when it starts, saying
// so, unless it is given Durable, which logs each line it accepts before
// the job sees it and replays the log after a restore. See the package
// documentation for what each mode guarantees.
func TCPLines(env *stream.Env, addr string, opts ...Option) *stream.Stream[logs.Line] {
	name := "listen tcp " + addr
	cfg := options(opts)
	return stream.FromSource(env, name, false, func(ctx context.Context, subtask, parallelism int) (stream.SourceReader[logs.Line], error) {
		return cfg.open(ctx, name, "tcp", "", addr, false)
	})
}

// Syslog is a source of the syslog messages sent to addr over network:
// "udp", "tcp", or "udp+tcp" (both, on the same port; "udp4", "tcp6" and
// such work too). Each element is one message, its transport's framing
// removed and its text left whole for logs.ParseSyslog (RFC 3164 or 5424),
// as a logs.Line: Source the sender's address, Offset -1, Number the
// message's number in its connection (TCP) or from its address and port
// (UDP), from 1. (The source remembers up to 4096 UDP senders; past that
// it forgets them all and their numbers, and rate buckets, start again.)
//
//   - UDP: one message per datagram (RFC 5426), a trailing "\n" or "\r\n"
//     dropped. Empty datagrams are skipped.
//   - TCP (RFC 6587): each frame's first byte says its framing. A digit 1
//     to 9 starts an octet-counted frame, "LEN SP MSG" (3.4.1), whose
//     message may hold newlines; any other byte starts a message ended
//     by "\n" (non-transparent framing, 3.4.2; a "\r" before it is
//     dropped). RFC 6587 does not say a sender may switch framing within
//     a connection; since the first byte tells them apart (a message
//     starts with "<"), the source accepts both, frame by frame, as
//     rsyslog does. An octet count that cannot be read (digits, then
//     neither a digit nor a space; more than ten digits) goes to the dead
//     letters (ErrBadFrame) and closes the connection: nothing after it
//     can be framed. A frame over MaxLineBytes by its count is skipped
//     and sent to the dead letters; the frames after it are read as
//     usual. Empty messages are skipped.
//
// The bounds, counts, dead letters, backpressure (TCP; UDP datagrams the
// kernel cannot buffer while the job is slow are lost, as UDP loses them)
// and checkpoints (refused without Durable, logged and replayed with it)
// are those of TCPLines.
func Syslog(env *stream.Env, network, addr string, opts ...Option) *stream.Stream[logs.Line] {
	name := "syslog " + network + " " + addr
	cfg := options(opts)
	tcpNet, udpNet, err := splitNetwork(network)
	if err != nil {
		cfg.errs = append(cfg.errs, err)
	}
	return stream.FromSource(env, name, false, func(ctx context.Context, subtask, parallelism int) (stream.SourceReader[logs.Line], error) {
		return cfg.open(ctx, name, tcpNet, udpNet, addr, true)
	})
}

// splitNetwork reads "udp", "tcp6", "udp+tcp" and such into the TCP and
// UDP networks to listen on ("" for none).
func splitNetwork(network string) (tcpNet, udpNet string, err error) {
	for _, n := range strings.Split(network, "+") {
		switch n {
		case "tcp", "tcp4", "tcp6":
			if tcpNet != "" {
				return "", "", fmt.Errorf("network %q: TCP twice", network)
			}
			tcpNet = n
		case "udp", "udp4", "udp6":
			if udpNet != "" {
				return "", "", fmt.Errorf("network %q: UDP twice", network)
			}
			udpNet = n
		default:
			return "", "", fmt.Errorf("network %q: want \"udp\", \"tcp\" or \"udp+tcp\"", network)
		}
	}
	return tcpNet, udpNet, nil
}

func options(opts []Option) *config {
	cfg := &config{maxLine: DefaultMaxLineBytes, maxConns: DefaultMaxConns}
	for _, o := range opts {
		o.apply(cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.stats == nil {
		cfg.stats = new(Stats)
	}
	return cfg
}

// open reports the bad options together, refuses checkpoints without
// Durable, and opens the source's reader: logged with checkpoints and
// Durable.
func (c *config) open(ctx context.Context, name, tcpNet, udpNet, addr string, syslog bool) (stream.SourceReader[logs.Line], error) {
	if len(c.errs) > 0 {
		errs := make([]error, len(c.errs))
		for i, e := range c.errs {
			errs[i] = fmt.Errorf("braid: %s: %w", name, e)
		}
		return nil, errors.Join(errs...)
	}
	dir, checkpointed := stream.SourceDirOf(ctx)
	if checkpointed && !c.durable {
		return nil, fmt.Errorf("braid: %s cannot replay what it received before a restart, so it cannot take part in checkpoints: "+
			"give it the option listen.Durable() to log the lines it accepts in the checkpoint directory and replay them after a restore, "+
			"or run the job without WithCheckpointing (what a failure interrupts is lost: at most once)", name)
	}
	r, err := open(name, tcpNet, udpNet, addr, syslog, c)
	if err != nil || !checkpointed {
		return r, err
	}
	return openDurable(name, r, dir, c)
}

// A lineError is the error of a dead letter: its message says all; marks
// (stream.ErrLineTooLong, stream.ErrLineCut, ErrBadFrame) are for
// errors.Is.
type lineError struct {
	msg   string
	marks []error
}

func (e *lineError) Error() string   { return e.msg }
func (e *lineError) Unwrap() []error { return e.marks }
