//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/stream"
)

// readBufSize is the size of the read buffers: at least the largest UDP
// datagram (65,507 bytes of payload over IPv4), so none is truncated.
const readBufSize = 64 << 10

// rejectBatch: Read returns early once it has set this many dead letters
// aside, so that they do not pile up in memory.
const rejectBatch = 64

// udpBatch bounds the datagrams read per readiness of the UDP socket, so
// that TCP connections get their turn.
const udpBatch = 256

// Where a poll entry points, besides a connection's index.
const (
	whoTCP = -1
	whoUDP = -2
)

// A reader is the source's one reader: it owns the listening sockets and
// every connection, and runs only in the goroutine that calls Read (the
// runtime's). Each Read polls them all at once (poll(2)), reads those
// that are ready, and cuts what it read into lines with each connection's
// framer; no goroutine of its own, no lock, no channel. Bytes read but not
// yet delivered (the output was full, or the client's rate was used up)
// stay with their connection, which is not read again until they are
// delivered, so lines keep their order and memory stays bounded: at most
// one read buffer per connection.
type reader struct {
	name   string
	unit   string // "line" or "message", in dead letters' errors
	cfg    *config
	syslog bool

	tcp   *net.TCPListener
	tcpFD int32
	udp   *net.UDPConn
	udpRC syscall.RawConn
	udpFD int32
	udpFn func(fd uintptr) bool // bound once: recvfrom into udpBuf
	udpN  int
	udpSA unix.Sockaddr
	udpEr error

	conns []*conn
	dirty bool // some connection is closed and still in conns
	pfds  []unix.PollFd
	who   []int // per pfds entry: whoTCP, whoUDP or an index in conns
	rbuf  []byte
	free  [][]byte
	rr    int // where handle starts, turning, so that no socket always goes first

	peers    map[netip.AddrPort]*udpPeer
	lastAddr netip.AddrPort
	last     *udpPeer

	// The Read in progress.
	out       []logs.Line
	n         int
	rejects   []stream.DeadLetter[logs.Line]
	rej0      int
	callStart time.Time
	now       time.Time
	nextWake  time.Time // the earliest a paused connection's bucket holds a token; zero if none

	// observed is the time spent in earlier Reads: the clock of idle
	// timeouts, which stands still while the job works on what it has.
	observed time.Duration

	acceptAfter time.Time // accepting paused after an accept error, until then

	// Counts since the last flush to cfg.stats.
	lines, tooLong, cut, bad, throttled, rateDropped int64
	refused                                          int64 // in all, for the log

	err error // once set, what every Read returns
}

// A conn is one TCP connection and where its input stands.
type conn struct {
	nc     *net.TCPConn
	rc     syscall.RawConn
	fd     int32
	peer   string
	f      framer
	line   int64  // lines (messages) ended on the connection, set-aside ones included
	pend   []byte // read and not delivered yet: a part of hold
	hold   []byte // the read buffer the connection keeps while pend is not empty
	tokens float64
	at     time.Time // of the last refill
	paused bool      // out of tokens: not read until the bucket holds one
	doomed bool      // a bad frame: close once what came before it is delivered
	closed bool
	// lastData is when the connection last delivered bytes, on the
	// reader's observed clock.
	lastData time.Duration

	readFn func(fd uintptr) bool // bound once: read(2) into rb
	rb     []byte
	rn     int
	rerr   error
}

// A udpPeer is what the source keeps of a UDP sender.
type udpPeer struct {
	s      string
	n      int64
	tokens float64
	at     time.Time
}

// open listens and returns the source's reader.
func open(name, tcpNet, udpNet, addr string, syslog bool, cfg *config) (stream.SourceReader[logs.Line], error) {
	r := &reader{name: name, unit: "line", cfg: cfg, syslog: syslog, rbuf: make([]byte, readBufSize)}
	if syslog {
		r.unit = "message"
	}
	if err := r.listen(tcpNet, udpNet, addr); err != nil {
		r.closeSockets()
		return nil, fmt.Errorf("braid: %s: %w", name, err)
	}
	if r.tcp != nil {
		cfg.logger.Info("braid: listening", "source", name, "addr", r.tcp.Addr().String())
		if cfg.bound != nil {
			cfg.bound(r.tcp.Addr())
		}
	}
	if r.udp != nil {
		cfg.logger.Info("braid: listening", "source", name, "addr", r.udp.LocalAddr().String())
		if cfg.bound != nil {
			cfg.bound(r.udp.LocalAddr())
		}
	}
	return r, nil
}

// listen opens the sockets. With both TCP and UDP, UDP takes the port TCP
// got; when that port was free for TCP but not for UDP and the address
// asked for any port, it tries a few more.
func (r *reader) listen(tcpNet, udpNet, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if tcpNet != "" {
			ln, err := net.Listen(tcpNet, addr)
			if err != nil {
				return err
			}
			r.tcp = ln.(*net.TCPListener)
		}
		if udpNet == "" {
			break
		}
		uaddr := addr
		if r.tcp != nil {
			uaddr = net.JoinHostPort(host, strconv.Itoa(r.tcp.Addr().(*net.TCPAddr).Port))
		}
		pc, err := net.ListenPacket(udpNet, uaddr)
		if err == nil {
			r.udp = pc.(*net.UDPConn)
			break
		}
		if r.tcp == nil || (port != "0" && port != "") || attempt == 7 {
			return err
		}
		r.tcp.Close()
		r.tcp = nil
	}
	if r.tcp != nil {
		rc, err := r.tcp.SyscallConn()
		if err != nil {
			return err
		}
		if err := rc.Control(func(fd uintptr) { r.tcpFD = int32(fd) }); err != nil {
			return err
		}
	}
	if r.udp != nil {
		rc, err := r.udp.SyscallConn()
		if err != nil {
			return err
		}
		if err := rc.Control(func(fd uintptr) { r.udpFD = int32(fd) }); err != nil {
			return err
		}
		r.udpRC = rc
		r.udpFn = r.recvfrom
	}
	return nil
}

// Read delivers the lines that have arrived, from every connection,
// without waiting for a full batch; with none, it waits up to about 50ms
// and returns 0 lines. It returns ctx's error within about 50ms of ctx
// being done.
func (r *reader) Read(ctx context.Context, buf []logs.Line) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.out, r.n, r.rej0 = buf, 0, len(r.rejects)
	r.callStart = time.Now()
	r.now = r.callStart
	defer r.endRead()
	deadline := r.callStart.Add(idleWait)
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		r.refill()
		r.drain()
		if r.full() {
			return r.n, nil
		}
		delivered := r.n > 0 || len(r.rejects) > r.rej0
		var timeout time.Duration
		if !delivered {
			timeout = deadline.Sub(r.now)
			if timeout <= 0 {
				return 0, nil
			}
			if !r.nextWake.IsZero() {
				timeout = min(timeout, max(r.nextWake.Sub(r.now), time.Millisecond))
			}
			if !r.acceptAfter.IsZero() {
				timeout = min(timeout, max(r.acceptAfter.Sub(r.now), time.Millisecond))
			}
		}
		ready, err := r.poll(timeout)
		r.now = time.Now()
		if err != nil {
			r.err = fmt.Errorf("braid: %s: poll: %w", r.name, err)
			return r.n, r.err
		}
		if ready > 0 {
			r.handle()
		}
		if r.cfg.idle > 0 {
			r.idleCheck()
		}
		if r.full() || ready == 0 && delivered {
			return r.n, nil
		}
	}
}

// full reports whether the Read in progress must return: its buffer is
// full, or it has set enough dead letters aside.
func (r *reader) full() bool { return r.n == len(r.out) || len(r.rejects)-r.rej0 >= rejectBatch }

func (r *reader) obs() time.Duration { return r.observed + r.now.Sub(r.callStart) }

// endRead ends a Read: its time joins the observed clock, its counts the
// Stats.
func (r *reader) endRead() {
	r.observed += time.Since(r.callStart)
	r.flush()
	r.out = nil
}

func (r *reader) flush() {
	s := r.cfg.stats
	add := func(a *atomic.Int64, n *int64) {
		if *n != 0 {
			a.Add(*n)
			*n = 0
		}
	}
	add(&s.Lines, &r.lines)
	add(&s.TooLong, &r.tooLong)
	add(&s.Cut, &r.cut)
	add(&s.BadFrames, &r.bad)
	add(&s.Throttled, &r.throttled)
	add(&s.RateDropped, &r.rateDropped)
}

// poll waits up to timeout for a socket to be readable: the listener (if
// accepting), the UDP socket, and every connection that holds no
// undelivered bytes and is not paused.
func (r *reader) poll(timeout time.Duration) (int, error) {
	r.compact()
	r.pfds, r.who = r.pfds[:0], r.who[:0]
	if r.tcp != nil && !r.now.Before(r.acceptAfter) {
		r.acceptAfter = time.Time{}
		r.pfds = append(r.pfds, unix.PollFd{Fd: r.tcpFD, Events: unix.POLLIN})
		r.who = append(r.who, whoTCP)
	}
	if r.udp != nil {
		r.pfds = append(r.pfds, unix.PollFd{Fd: r.udpFD, Events: unix.POLLIN})
		r.who = append(r.who, whoUDP)
	}
	for i, c := range r.conns {
		if c.paused || len(c.pend) > 0 {
			continue
		}
		r.pfds = append(r.pfds, unix.PollFd{Fd: c.fd, Events: unix.POLLIN})
		r.who = append(r.who, i)
	}
	ms := int((timeout + time.Millisecond - 1) / time.Millisecond)
	n, err := unix.Poll(r.pfds, ms)
	if errors.Is(err, unix.EINTR) {
		return 0, nil // the caller looks at the time and polls again
	}
	return n, err
}

// handle serves the sockets the last poll found ready, in turn from a
// point that moves on at each call.
func (r *reader) handle() {
	k := len(r.pfds)
	start := r.rr % max(k, 1)
	r.rr++
	if r.cfg.idle > 0 {
		now := r.obs()
		for i, w := range r.who {
			if w >= 0 && r.pfds[i].Revents != 0 {
				r.conns[w].lastData = now // not idle, even if not read now
			}
		}
	}
	for j := range k {
		i := (start + j) % k
		if r.pfds[i].Revents == 0 {
			continue
		}
		if r.full() {
			return // the rest stay readable for the next Read
		}
		switch w := r.who[i]; w {
		case whoTCP:
			r.accept()
		case whoUDP:
			r.recvUDP()
		default:
			r.readConn(r.conns[w])
		}
	}
}

// accept takes one connection the listener has waiting, or refuses it
// over MaxConns.
func (r *reader) accept() {
	// The poll said one is waiting; the deadline guards against its being
	// gone already (reset by the client), which would block Accept.
	r.tcp.SetDeadline(r.now.Add(idleWait))
	nc, err := r.tcp.AcceptTCP()
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		// Out of file descriptors, or such: wait a little rather than
		// spin on a listener that stays readable.
		r.cfg.logger.Warn("braid: listen: accepting a connection failed; pausing accepts for 100ms", "source", r.name, "err", err)
		r.acceptAfter = r.now.Add(100 * time.Millisecond)
		return
	}
	if len(r.conns) >= r.cfg.maxConns {
		peer := nc.RemoteAddr().String()
		r.refused++
		r.cfg.stats.Refused.Add(1) // counted before the client can see the close
		nc.Close()
		if r.refused&(r.refused-1) == 0 { // 1, 2, 4, 8, ...: not one line per refusal
			r.cfg.logger.Warn("braid: listen: refused a connection over MaxConns", "source", r.name, "peer", peer,
				"max_conns", r.cfg.maxConns, "refused_so_far", r.refused)
		}
		return
	}
	c := &conn{nc: nc, peer: nc.RemoteAddr().String(), f: newFramer(r.syslog, r.cfg.maxLine),
		tokens: float64(r.cfg.burst), at: r.now, lastData: r.obs()}
	rc, err := nc.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) { c.fd = int32(fd) })
	}
	if err != nil {
		nc.Close()
		r.cfg.logger.Warn("braid: listen: cannot read a connection", "source", r.name, "peer", c.peer, "err", err)
		return
	}
	c.rc = rc
	c.readFn = c.read
	r.conns = append(r.conns, c)
	r.cfg.stats.Accepted.Add(1)
	r.cfg.stats.Open.Add(1)
}

// read is the connection's RawConn.Read function: one read(2), without
// waiting (the socket is non-blocking).
func (c *conn) read(fd uintptr) bool {
	for {
		n, err := unix.Read(int(fd), c.rb)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		c.rn, c.rerr = max(n, 0), err
		return true
	}
}

// readConn reads what a connection has and delivers the lines in it.
func (r *reader) readConn(c *conn) {
	c.rb = r.rbuf
	if err := c.rc.Read(c.readFn); err != nil {
		c.rn, c.rerr = 0, err
	}
	c.rb = nil
	n, err := c.rn, c.rerr
	switch {
	case n > 0:
		c.lastData = r.obs()
		r.refillConn(c)
		k := r.consume(c, r.rbuf[:n])
		if k < n {
			c.hold, c.pend = r.rbuf, r.rbuf[k:n]
			r.rbuf = r.getBuf()
		}
		if c.doomed && len(c.pend) == 0 {
			r.closeConn(c)
		}
	case errors.Is(err, unix.EAGAIN):
		// Nothing after all.
	case err == nil:
		r.endConn(c, "the peer closed the connection")
	default:
		r.endConn(c, fmt.Sprintf("the connection broke (%v)", err))
	}
}

// consume delivers the messages in p, a connection's input, until the
// Read is full or the connection's bucket is empty, and returns how much
// of p it consumed.
func (r *reader) consume(c *conn, p []byte) int {
	limited := r.cfg.rate > 0
	k := 0
	for k < len(p) && !r.full() && !c.doomed {
		if limited && c.tokens < 1 {
			break
		}
		m, ev, msg := c.f.next(p[k:])
		k += m
		switch ev {
		case evMsg:
			c.line++
			c.tokens--
			r.out[r.n] = logs.Line{Text: string(msg), Source: c.peer, Offset: -1, Number: c.line}
			r.n++
			r.lines++
		case evTooLong:
			c.line++
			c.tokens--
			r.tooLong++
			r.reject(c.peer, c.line, msg, fmt.Sprintf("%d bytes, over the limit of %d", c.f.size, r.cfg.maxLine), stream.ErrLineTooLong)
		case evBadFrame:
			c.line++
			r.bad++
			r.reject(c.peer, c.line, msg, fmt.Sprintf("bad octet count %q: a frame that starts with a digit is octet-counted, "+
				"LEN SP MSG (RFC 6587, 3.4.1); closing the connection, whose frames cannot be told apart after it", msg), ErrBadFrame)
			c.doomed = true
			r.cfg.logger.Warn("braid: listen: bad syslog frame; closing the connection", "source", r.name, "peer", c.peer, "message", c.line)
			return len(p)
		}
	}
	if limited && c.tokens < 1 && !c.paused {
		c.paused = true
		r.throttled++
	}
	return k
}

// reject sets a piece of input aside as a dead letter.
func (r *reader) reject(peer string, number int64, text []byte, what string, marks ...error) {
	r.rejects = append(r.rejects, stream.DeadLetter[logs.Line]{
		Value: logs.Line{Text: string(text), Source: peer, Offset: -1, Number: number},
		Err:   &lineError{msg: fmt.Sprintf("braid: %s: peer %s, %s %d: %s", r.name, peer, r.unit, number, what), marks: marks},
	})
}

// drain delivers bytes that connections hold from earlier reads.
func (r *reader) drain() {
	k := len(r.conns)
	for j := range k {
		if r.full() {
			return
		}
		c := r.conns[(r.rr+j)%k]
		if len(c.pend) == 0 || c.paused || c.closed {
			continue
		}
		m := r.consume(c, c.pend)
		c.pend = c.pend[m:]
		if len(c.pend) == 0 {
			r.free = append(r.free, c.hold)
			c.hold, c.pend = nil, nil
			if c.doomed {
				r.closeConn(c)
			}
		}
	}
}

func (r *reader) getBuf() []byte {
	if k := len(r.free); k > 0 {
		b := r.free[k-1]
		r.free = r.free[:k-1]
		return b
	}
	return make([]byte, readBufSize)
}

// refill tops up the buckets of paused connections, resumes those that
// hold a token again, and notes when the next of the others will.
func (r *reader) refill() {
	r.nextWake = time.Time{}
	if r.cfg.rate == 0 {
		return
	}
	for _, c := range r.conns {
		if !c.paused || c.closed {
			continue
		}
		r.refillConn(c)
		if c.tokens >= 1 {
			c.paused = false
			continue
		}
		wake := r.now.Add(time.Duration((1 - c.tokens) / r.cfg.rate * float64(time.Second)))
		if r.nextWake.IsZero() || wake.Before(r.nextWake) {
			r.nextWake = wake
		}
	}
}

func (r *reader) refillConn(c *conn) {
	if r.cfg.rate == 0 {
		return
	}
	c.tokens = min(float64(r.cfg.burst), c.tokens+r.now.Sub(c.at).Seconds()*r.cfg.rate)
	c.at = r.now
}

// idleCheck closes the connections that have sent nothing for the idle
// timeout while the source waited.
func (r *reader) idleCheck() {
	now := r.obs()
	for _, c := range r.conns {
		if c.closed {
			continue
		}
		if c.paused || len(c.pend) > 0 {
			c.lastData = now // waiting on us, not idle
			continue
		}
		if now-c.lastData >= r.cfg.idle {
			r.cfg.stats.IdleClosed.Add(1)
			r.endConn(c, fmt.Sprintf("closed after %v idle (IdleTimeout)", r.cfg.idle))
		}
	}
}

// endConn ends a connection: what it had begun of a message goes to the
// dead letters as cut short, saying how (the peer closed, it broke, ...).
func (r *reader) endConn(c *conn, how string) {
	if pending, text, cutHow, over := c.f.cut(); pending {
		c.line++
		r.cut++
		marks := []error{stream.ErrLineCut}
		if over {
			marks = append(marks, stream.ErrLineTooLong)
		}
		r.reject(c.peer, c.line, text, cutHow+": "+how, marks...)
	}
	r.closeConn(c)
}

func (r *reader) closeConn(c *conn) {
	if c.closed {
		return
	}
	c.closed = true
	r.cfg.stats.Open.Add(-1) // before the client can see the close
	c.nc.Close()
	if c.hold != nil {
		r.free = append(r.free, c.hold)
		c.hold, c.pend = nil, nil
	}
	r.dirty = true
}

// compact drops closed connections from conns.
func (r *reader) compact() {
	if r.dirty {
		r.conns = slices.DeleteFunc(r.conns, func(c *conn) bool { return c.closed })
		r.dirty = false
	}
}

// recvfrom is the UDP socket's RawConn.Read function: one recvfrom(2),
// without waiting.
func (r *reader) recvfrom(fd uintptr) bool {
	for {
		n, sa, err := unix.Recvfrom(int(fd), r.rbuf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		r.udpN, r.udpSA, r.udpEr = max(n, 0), sa, err
		return true
	}
}

// recvUDP delivers the datagrams waiting on the UDP socket, one message
// each, up to udpBatch of them.
func (r *reader) recvUDP() {
	for range udpBatch {
		if r.full() {
			return
		}
		if err := r.udpRC.Read(r.udpFn); err != nil {
			r.udpEr = err
		}
		if r.udpEr != nil {
			if !errors.Is(r.udpEr, unix.EAGAIN) {
				r.cfg.logger.Warn("braid: listen: reading a datagram failed", "source", r.name, "err", r.udpEr)
			}
			return
		}
		msg := trimEOL(r.rbuf[:r.udpN])
		if len(msg) == 0 {
			continue
		}
		p := r.peer(sockaddrPort(r.udpSA))
		if r.cfg.rate > 0 {
			p.tokens = min(float64(r.cfg.burst), p.tokens+r.now.Sub(p.at).Seconds()*r.cfg.rate)
			p.at = r.now
			if p.tokens < 1 {
				r.rateDropped++
				continue
			}
			p.tokens--
		}
		p.n++
		if len(msg) > r.cfg.maxLine {
			r.tooLong++
			r.reject(p.s, p.n, prefix(msg), fmt.Sprintf("a datagram of %d bytes, over the limit of %d", len(msg), r.cfg.maxLine), stream.ErrLineTooLong)
			continue
		}
		r.out[r.n] = logs.Line{Text: string(msg), Source: p.s, Offset: -1, Number: p.n}
		r.n++
		r.lines++
	}
}

// peer returns what the source keeps of the UDP sender at a, the last one
// without a map lookup.
func (r *reader) peer(a netip.AddrPort) *udpPeer {
	if r.last != nil && a == r.lastAddr {
		return r.last
	}
	p := r.peers[a]
	if p == nil {
		if r.peers == nil || len(r.peers) >= maxUDPPeers {
			r.peers = make(map[netip.AddrPort]*udpPeer)
		}
		p = &udpPeer{s: a.String(), tokens: float64(r.cfg.burst), at: r.now}
		r.peers[a] = p
	}
	r.last, r.lastAddr = p, a
	return p
}

func sockaddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// Rejected appends to dst what was set aside since the last call, in the
// order it came, and returns the extended slice.
func (r *reader) Rejected(dst []stream.DeadLetter[logs.Line]) []stream.DeadLetter[logs.Line] {
	dst = append(dst, r.rejects...)
	clear(r.rejects)
	r.rejects = r.rejects[:0]
	return dst
}

// Close closes the listening sockets and every connection.
func (r *reader) Close() error {
	r.err = errors.New("braid: " + r.name + ": read after Close")
	for _, c := range r.conns {
		r.closeConn(c)
	}
	r.conns = nil
	r.flush()
	return r.closeSockets()
}

func (r *reader) closeSockets() error {
	var errs []error
	if r.tcp != nil {
		errs = append(errs, r.tcp.Close())
		r.tcp = nil
	}
	if r.udp != nil {
		errs = append(errs, r.udp.Close())
		r.udp = nil
	}
	return errors.Join(errs...)
}
