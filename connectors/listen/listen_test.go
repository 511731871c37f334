package listen_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/braidstream/braid/connectors/listen"
	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
)

// Every test checks that no goroutine outlives Execute: the listeners
// start none, and close every connection when the job ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// guard bounds every wait of these tests: reached only when something is
// broken, never a way to synchronise.
const guard = 30 * time.Second

// A job is a running job with one listening source whose lines and dead
// letters go to channels.
type job struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
	addrs  []net.Addr
	lines  chan logs.Line
	dead   chan stream.DeadLetter[logs.Line]
	stats  *listen.Stats
}

// start runs a job reading source (TCPLines or Syslog, made by build with
// the options given plus those start adds) and waits until it listens.
// lineBuf is the capacity of the lines channel: the job blocks when it is
// full, as a slow job does.
func start(t *testing.T, lineBuf int, sockets int, build func(env *stream.Env, opts ...listen.Option) *stream.Stream[logs.Line], opts ...listen.Option) *job {
	t.Helper()
	j := &job{t: t, done: make(chan error, 1), lines: make(chan logs.Line, lineBuf),
		dead: make(chan stream.DeadLetter[logs.Line], 1000), stats: new(listen.Stats)}
	bound := make(chan net.Addr, 2)
	env := stream.NewEnv()
	src := build(env, append(opts, listen.WithStats(j.stats), listen.Bound(func(a net.Addr) { bound <- a }))...)
	src.ToChannel(j.lines)
	stream.DeadLetters(src).ToChannel(j.dead)
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel = cancel
	go func() { j.done <- env.Execute(ctx) }()
	for range sockets {
		select {
		case a := <-bound:
			j.addrs = append(j.addrs, a)
		case err := <-j.done:
			cancel()
			t.Fatalf("Execute = %v before listening", err)
		case <-time.After(guard):
			cancel()
			t.Fatal("the source did not listen")
		}
	}
	t.Cleanup(func() { j.stop() })
	return j
}

func tcpLines(env *stream.Env, opts ...listen.Option) *stream.Stream[logs.Line] {
	return listen.TCPLines(env, "127.0.0.1:0", opts...)
}

func syslogOn(network string) func(env *stream.Env, opts ...listen.Option) *stream.Stream[logs.Line] {
	return func(env *stream.Env, opts ...listen.Option) *stream.Stream[logs.Line] {
		return listen.Syslog(env, network, "127.0.0.1:0", opts...)
	}
}

// addr is the address of the socket of network ("tcp" or "udp").
func (j *job) addr(network string) string {
	for _, a := range j.addrs {
		if a.Network() == network {
			return a.String()
		}
	}
	j.t.Fatalf("no %s socket among %v", network, j.addrs)
	return ""
}

// stop cancels the job and checks that Execute returns, with ctx's error.
func (j *job) stop() {
	if j.cancel == nil {
		return
	}
	j.cancel()
	j.cancel = nil
	select {
	case err := <-j.done:
		if !errors.Is(err, context.Canceled) {
			j.t.Errorf("Execute = %v, want context.Canceled", err)
		}
	case <-time.After(guard):
		j.t.Fatal("Execute did not return after cancel")
	}
}

func (j *job) line() logs.Line {
	j.t.Helper()
	select {
	case l := <-j.lines:
		return l
	case err := <-j.done:
		j.t.Fatalf("Execute = %v while lines were expected", err)
	case <-time.After(guard):
		j.t.Fatal("no line came")
	}
	return logs.Line{}
}

func (j *job) deadLetter() stream.DeadLetter[logs.Line] {
	j.t.Helper()
	select {
	case d := <-j.dead:
		return d
	case err := <-j.done:
		j.t.Fatalf("Execute = %v while dead letters were expected", err)
	case <-time.After(guard):
		j.t.Fatal("no dead letter came")
	}
	return stream.DeadLetter[logs.Line]{}
}

// texts takes n lines and returns their texts.
func (j *job) texts(n int) []string {
	j.t.Helper()
	var got []string
	for range n {
		got = append(got, j.line().Text)
	}
	return got
}

// noMore stops the job and checks that nothing else was delivered.
func (j *job) noMore() {
	j.t.Helper()
	j.stop()
	if len(j.lines) > 0 {
		j.t.Errorf("%d more lines, the first %+v", len(j.lines), <-j.lines)
	}
	if len(j.dead) > 0 {
		d := <-j.dead
		j.t.Errorf("%d more dead letters, the first %+v: %v", len(j.dead)+1, d.Value, d.Err)
	}
}

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// closedByServer waits until the server closes c (the end of the stream,
// or a reset when it closed with input unread).
func closedByServer(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(guard))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, io.EOF) || err == nil || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
		return
	}
	t.Fatalf("the server did not close the connection: %v", err)
}

// 50 clients at once, 1000 numbered lines each, written in random pieces:
// exactly 50,000 lines, each once, in order per client, with the client's
// address and the line's number.
func TestManyClients(t *testing.T) {
	const clients, perClient = 50, 1000
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	j := start(t, 1024, 1, tcpLines)
	who := map[string]int{}
	var conns []net.Conn
	for i := range clients {
		c := dial(t, "tcp", j.addr("tcp"))
		who[c.LocalAddr().String()] = i
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		var b strings.Builder
		for k := 1; k <= perClient; k++ {
			fmt.Fprintf(&b, "client %d line %d\n", i, k)
		}
		data := []byte(b.String())
		var cuts []int
		for p := 0; p < len(data); {
			p += 1 + rng.IntN(4096)
			cuts = append(cuts, min(p, len(data)))
		}
		wg.Go(func() {
			defer c.Close()
			from := 0
			for _, to := range cuts {
				if _, err := c.Write(data[from:to]); err != nil {
					errs <- err
					return
				}
				from = to
			}
		})
	}
	last := map[string]int64{}
	for range clients * perClient {
		l := j.line()
		i, ok := who[l.Source]
		if !ok {
			t.Fatalf("line %+v from an unknown peer", l)
		}
		if l.Number != last[l.Source]+1 || l.Offset != -1 || l.Text != fmt.Sprintf("client %d line %d", i, l.Number) {
			t.Fatalf("line %+v after line %d of client %d (%s)", l, last[l.Source], i, l.Source)
		}
		last[l.Source] = l.Number
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for p, n := range last {
		if n != perClient {
			t.Errorf("client %s: %d lines", p, n)
		}
	}
	j.noMore()
	if got := j.stats.Lines.Load(); got != clients*perClient {
		t.Errorf("Stats.Lines = %d", got)
	}
	if got := j.stats.Accepted.Load(); got != clients {
		t.Errorf("Stats.Accepted = %d", got)
	}
}

// Lines over MaxLineBytes go to the dead letters with the peer and their
// number; the lines around them, and another client's, are delivered.
func TestOverlongLine(t *testing.T) {
	j := start(t, 100, 1, tcpLines, listen.MaxLineBytes(100))
	c := dial(t, "tcp", j.addr("tcp"))
	other := dial(t, "tcp", j.addr("tcp"))
	at := strings.Repeat("x", 100)
	write(t, c, "before\n"+at+"\n"+at+"x\n")
	write(t, other, "other 1\n")
	write(t, c, strings.Repeat("y", 100_000)+"\nafter\r\n")
	write(t, other, "other 2\n")
	got := map[string][]logs.Line{}
	for range 5 {
		l := j.line()
		got[l.Source] = append(got[l.Source], l)
	}
	peer, otherPeer := c.LocalAddr().String(), other.LocalAddr().String()
	want := []logs.Line{{Text: "before", Source: peer, Offset: -1, Number: 1}, {Text: at, Source: peer, Offset: -1, Number: 2},
		{Text: "after", Source: peer, Offset: -1, Number: 5}}
	if !slices.Equal(got[peer], want) {
		t.Errorf("lines of the client with long lines:\n got %+v\nwant %+v", got[peer], want)
	}
	if want := []logs.Line{{Text: "other 1", Source: otherPeer, Offset: -1, Number: 1}, {Text: "other 2", Source: otherPeer, Offset: -1, Number: 2}}; !slices.Equal(got[otherPeer], want) {
		t.Errorf("lines of the other client:\n got %+v\nwant %+v", got[otherPeer], want)
	}
	for _, w := range []struct {
		number int64
		text   string
		size   int
	}{{3, at + "x", 101}, {4, strings.Repeat("y", listen.PrefixBytes), 100_000}} {
		d := j.deadLetter()
		if d.Value != (logs.Line{Text: w.text, Source: peer, Offset: -1, Number: w.number}) {
			t.Errorf("dead letter %+v, want line %d of %s", d.Value, w.number, peer)
		}
		if !errors.Is(d.Err, stream.ErrLineTooLong) || errors.Is(d.Err, stream.ErrLineCut) {
			t.Errorf("dead letter's error %v: want ErrLineTooLong only", d.Err)
		}
		for _, s := range []string{peer, fmt.Sprintf("line %d", w.number), fmt.Sprintf("%d bytes", w.size), "limit of 100"} {
			if !strings.Contains(d.Err.Error(), s) {
				t.Errorf("dead letter's error %q does not say %q", d.Err, s)
			}
		}
	}
	j.noMore()
	if got := j.stats.TooLong.Load(); got != 2 {
		t.Errorf("Stats.TooLong = %d", got)
	}
}

// What a client sends after its last newline before it disconnects is not
// a line: it goes to the dead letters as cut short; the lines before it
// are delivered. Cut over the limit, it is marked both ways.
func TestDisconnectMidLine(t *testing.T) {
	j := start(t, 100, 1, tcpLines, listen.MaxLineBytes(1000))
	c := dial(t, "tcp", j.addr("tcp"))
	write(t, c, "a\nb\npartial")
	c.Close()
	if got := j.texts(2); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("lines %q", got)
	}
	d := j.deadLetter()
	if d.Value != (logs.Line{Text: "partial", Source: c.LocalAddr().String(), Offset: -1, Number: 3}) {
		t.Errorf("dead letter %+v", d.Value)
	}
	if !errors.Is(d.Err, stream.ErrLineCut) || errors.Is(d.Err, stream.ErrLineTooLong) ||
		!strings.Contains(d.Err.Error(), "cut short") || !strings.Contains(d.Err.Error(), "the peer closed the connection") {
		t.Errorf("dead letter's error: %v", d.Err)
	}

	long := dial(t, "tcp", j.addr("tcp"))
	write(t, long, "ok\n"+strings.Repeat("z", 5000))
	long.Close()
	if l := j.line(); l.Text != "ok" {
		t.Fatalf("line %+v", l)
	}
	d = j.deadLetter()
	if d.Value.Text != strings.Repeat("z", listen.PrefixBytes) || d.Value.Number != 2 || !errors.Is(d.Err, stream.ErrLineCut) || !errors.Is(d.Err, stream.ErrLineTooLong) {
		t.Errorf("dead letter %+v: %v", d.Value, d.Err)
	}
	j.noMore()
	if got := j.stats.Cut.Load(); got != 2 {
		t.Errorf("Stats.Cut = %d", got)
	}
	if got := j.stats.Open.Load(); got != 0 {
		t.Errorf("Stats.Open = %d after the clients left", got)
	}
}

// Connections beyond MaxConns are closed at once and counted; once one
// leaves, a new one is taken.
func TestMaxConns(t *testing.T) {
	j := start(t, 100, 1, tcpLines, listen.MaxConns(2))
	a, b := dial(t, "tcp", j.addr("tcp")), dial(t, "tcp", j.addr("tcp"))
	write(t, a, "a\n")
	write(t, b, "b\n")
	if got := j.texts(2); !slices.Contains(got, "a") || !slices.Contains(got, "b") {
		t.Fatalf("lines %q", got)
	}
	c := dial(t, "tcp", j.addr("tcp"))
	closedByServer(t, c)
	if got := j.stats.Refused.Load(); got != 1 {
		t.Errorf("Stats.Refused = %d, want 1", got)
	}
	a.(*net.TCPConn).CloseWrite()
	closedByServer(t, a) // the server has seen a leave
	d := dial(t, "tcp", j.addr("tcp"))
	write(t, d, "d\n")
	if l := j.line(); l.Text != "d" || l.Source != d.LocalAddr().String() {
		t.Fatalf("line %+v, want d's", l)
	}
	j.noMore()
	if got, want := [3]int64{j.stats.Accepted.Load(), j.stats.Refused.Load(), j.stats.Open.Load()}, [3]int64{3, 1, 0}; got != want {
		t.Errorf("Stats accepted, refused, open = %v, want %v", got, want)
	}
}

// A TCP client over its rate is slowed, not cut: every line arrives, no
// sooner than the rate allows, and the pauses are counted.
func TestRateLimitTCP(t *testing.T) {
	const rate, burst, n = 400, 10, 100
	j := start(t, 1000, 1, tcpLines, listen.RateLimit(rate, burst))
	begin := time.Now()
	c := dial(t, "tcp", j.addr("tcp"))
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	write(t, c, b.String())
	for i := 1; i <= n; i++ {
		if l := j.line(); l.Text != fmt.Sprint(i) {
			t.Fatalf("line %+v, want %d", l, i)
		}
	}
	// The bucket, full at the connection's start, holds burst lines; the
	// rest need a token each at rate a second.
	if least := time.Duration(float64(n-burst) / rate * float64(time.Second)); time.Since(begin) < least*9/10 {
		t.Errorf("%d lines in %v: faster than %v/s with bursts of %d allows (%v)", n, time.Since(begin), rate, burst, least)
	}
	j.noMore()
	if j.stats.Throttled.Load() < 1 {
		t.Errorf("Stats.Throttled = %d", j.stats.Throttled.Load())
	}
}

// A UDP client over its rate loses the datagrams that find its bucket
// empty, counted; another client has a bucket of its own.
func TestRateLimitUDP(t *testing.T) {
	j := start(t, 100, 1, syslogOn("udp"), listen.RateLimit(1e-6, 3))
	a := dial(t, "udp", j.addr("udp"))
	for i := range 10 {
		write(t, a, fmt.Sprintf("<13>a %d", i))
	}
	for i := range 3 {
		if l := j.line(); l.Text != fmt.Sprintf("<13>a %d", i) || l.Number != int64(i+1) || l.Source != a.LocalAddr().String() {
			t.Fatalf("line %+v", l)
		}
	}
	eventually(t, func() bool { return j.stats.RateDropped.Load() == 7 }, "7 datagrams dropped")
	b := dial(t, "udp", j.addr("udp"))
	write(t, b, "<13>b")
	if l := j.line(); l.Text != "<13>b" || l.Number != 1 {
		t.Fatalf("line %+v", l)
	}
	j.noMore()
	if got := j.stats.RateDropped.Load(); got != 7 {
		t.Errorf("Stats.RateDropped = %d", got)
	}
}

// eventually waits for cond, which the source makes true when it has
// handled input the test cannot see otherwise (a datagram dropped).
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for end := time.Now().Add(guard); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("not so after %v: %s", guard, what)
		}
		time.Sleep(time.Millisecond)
	}
}

const (
	rfc3164 = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"
	rfc5424 = `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry`
)

// UDP syslog: one message per datagram, a trailing newline dropped, empty
// datagrams skipped, numbered per sender; one over the limit goes to the
// dead letters.
func TestSyslogUDP(t *testing.T) {
	j := start(t, 100, 1, syslogOn("udp"), listen.MaxLineBytes(512))
	a, b := dial(t, "udp", j.addr("udp")), dial(t, "udp", j.addr("udp"))
	write(t, a, rfc3164)
	write(t, a, rfc5424+"\n")
	write(t, a, "\n")
	write(t, a, "<13>"+strings.Repeat("x", 600))
	write(t, a, "<13>after\r\n")
	write(t, b, rfc5424)
	got := map[string][]logs.Line{}
	for range 4 {
		l := j.line()
		got[l.Source] = append(got[l.Source], l)
	}
	pa, pb := a.LocalAddr().String(), b.LocalAddr().String()
	if want := []logs.Line{{Text: rfc3164, Source: pa, Offset: -1, Number: 1}, {Text: rfc5424, Source: pa, Offset: -1, Number: 2},
		{Text: "<13>after", Source: pa, Offset: -1, Number: 4}}; !slices.Equal(got[pa], want) {
		t.Errorf("from a:\n got %+v\nwant %+v", got[pa], want)
	}
	if want := []logs.Line{{Text: rfc5424, Source: pb, Offset: -1, Number: 1}}; !slices.Equal(got[pb], want) {
		t.Errorf("from b:\n got %+v\nwant %+v", got[pb], want)
	}
	d := j.deadLetter()
	if d.Value.Source != pa || d.Value.Number != 3 || len(d.Value.Text) != listen.PrefixBytes || !errors.Is(d.Err, stream.ErrLineTooLong) ||
		!strings.Contains(d.Err.Error(), "604 bytes") {
		t.Errorf("dead letter %+v: %v", d.Value, d.Err)
	}
	j.noMore()
}

// TCP syslog, RFC 6587: octet-counted frames (whose messages may hold
// newlines) and newline-ended ones, one after the other on one
// connection, written in random pieces.
func TestSyslogTCPFraming(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	multi := "<14>1 2024-05-01T10:00:00Z host app - - - first line\nsecond line"
	frames := []struct{ wire, msg string }{
		{fmt.Sprintf("%d %s", len(rfc5424), rfc5424), rfc5424},
		{rfc3164 + "\n", rfc3164},
		{fmt.Sprintf("%d %s", len(multi), multi), multi},
		{rfc3164 + "\r\n", rfc3164},
		{fmt.Sprintf("%d %s\n", len(rfc5424)+1, rfc5424), rfc5424}, // the newline counted, and dropped
		{"\n", ""}, // an empty frame: skipped
		{fmt.Sprintf("%d %s", len(rfc3164), rfc3164), rfc3164},
	}
	j := start(t, 100, 1, syslogOn("tcp"))
	c := dial(t, "tcp", j.addr("tcp"))
	var wire []byte
	var want []string
	for range 20 {
		f := frames[rng.IntN(len(frames))]
		wire = append(wire, f.wire...)
		if f.msg != "" {
			want = append(want, f.msg)
		}
	}
	for p := wire; len(p) > 0; {
		k := 1 + rng.IntN(min(len(p), 300))
		if _, err := c.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	for i, w := range want {
		if l := j.line(); l.Text != w || l.Number != int64(i+1) || l.Source != c.LocalAddr().String() {
			t.Fatalf("message %d: %+v, want %q", i+1, l, w)
		}
	}
	j.noMore()
}

// A bad octet count goes to the dead letters and closes its connection:
// the messages before it are delivered, nothing after it is (it cannot be
// framed), and other connections go on.
func TestSyslogBadOctetCount(t *testing.T) {
	j := start(t, 100, 2, syslogOn("udp+tcp"))
	c, other := dial(t, "tcp", j.addr("tcp")), dial(t, "tcp", j.addr("tcp"))
	write(t, c, "5 <1>ab12x<34>lost\n<34>lost too\n")
	if l := j.line(); l.Text != "<1>ab" {
		t.Fatalf("line %+v", l)
	}
	d := j.deadLetter()
	if d.Value != (logs.Line{Text: "12x", Source: c.LocalAddr().String(), Offset: -1, Number: 2}) || !errors.Is(d.Err, listen.ErrBadFrame) ||
		!strings.Contains(d.Err.Error(), "octet count") || !strings.Contains(d.Err.Error(), "message 2") {
		t.Errorf("dead letter %+v: %v", d.Value, d.Err)
	}
	closedByServer(t, c)
	write(t, other, "<34>other\n")
	if l := j.line(); l.Text != "<34>other" || l.Source != other.LocalAddr().String() {
		t.Fatalf("line %+v", l)
	}
	u := dial(t, "udp", j.addr("udp"))
	write(t, u, "<34>by udp")
	if l := j.line(); l.Text != "<34>by udp" || l.Source != u.LocalAddr().String() {
		t.Fatalf("line %+v", l)
	}
	j.noMore()
	if got := j.stats.BadFrames.Load(); got != 1 {
		t.Errorf("Stats.BadFrames = %d", got)
	}
}

// A connection idle past IdleTimeout is closed; the line it had begun is a
// dead letter.
func TestIdleTimeout(t *testing.T) {
	j := start(t, 100, 1, tcpLines, listen.IdleTimeout(100*time.Millisecond))
	c := dial(t, "tcp", j.addr("tcp"))
	write(t, c, "a\npart")
	if l := j.line(); l.Text != "a" {
		t.Fatalf("line %+v", l)
	}
	closedByServer(t, c)
	d := j.deadLetter()
	if d.Value.Text != "part" || !errors.Is(d.Err, stream.ErrLineCut) || !strings.Contains(d.Err.Error(), "IdleTimeout") {
		t.Errorf("dead letter %+v: %v", d.Value, d.Err)
	}
	j.noMore()
	if got := j.stats.IdleClosed.Load(); got != 1 {
		t.Errorf("Stats.IdleClosed = %d", got)
	}
}

// When the job is slow, the source stops reading: the client's writes
// block (TCP flow control) instead of the source buffering without bound,
// and once the job catches up every line arrives.
func TestBackpressure(t *testing.T) {
	j := start(t, 0, 1, tcpLines) // the sink blocks until the test reads
	c := dial(t, "tcp", j.addr("tcp"))
	const lineLen, chunk, most = 100, 64 << 10, 512 << 20
	line := func(i int) string { s := fmt.Sprintf("line %d ", i); return s + strings.Repeat("p", lineLen-1-len(s)) }
	var buf []byte
	written, next := 0, 1
	for written < most {
		for len(buf) < chunk {
			buf = append(buf, line(next)+"\n"...)
			next++
		}
		c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Write(buf)
		written += n
		buf = buf[n:]
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timeout") {
				t.Fatal(err)
			}
			break
		}
	}
	if written >= most {
		t.Fatalf("%d bytes written without blocking: the source reads without bound", written)
	}
	t.Logf("the client blocked after %d bytes", written)
	c.(*net.TCPConn).CloseWrite()
	for i := 1; i <= written/lineLen; i++ {
		if l := j.line(); l.Text != line(i) {
			t.Fatalf("line %d: %.20q", i, l.Text)
		}
	}
	if written%lineLen != 0 {
		if d := j.deadLetter(); !errors.Is(d.Err, stream.ErrLineCut) {
			t.Errorf("dead letter %v", d.Err)
		}
	}
	j.noMore()
}

// Cancelling the job while clients are connected and sending: Execute
// returns, and every connection is closed (the clients see it).
func TestCancelWithClients(t *testing.T) {
	j := start(t, 100, 1, tcpLines)
	var wg sync.WaitGroup
	for range 4 {
		c := dial(t, "tcp", j.addr("tcp"))
		wg.Go(func() {
			b := []byte(strings.Repeat("endless\n", 512))
			for {
				c.SetWriteDeadline(time.Now().Add(guard))
				if _, err := c.Write(b); err != nil {
					if strings.Contains(err.Error(), "timeout") {
						t.Error("a client's connection stayed open after the job ended")
					}
					return
				}
			}
		})
	}
	for range 1000 {
		j.line()
	}
	j.stop()
	wg.Wait() // every client saw its connection closed
	if got := j.stats.Open.Load(); got != 0 {
		t.Errorf("Stats.Open = %d after the job", got)
	}
}

// A listener cannot replay, so a job with checkpoints refuses it without
// Durable, saying why and naming the option.
func TestCheckpointsRefused(t *testing.T) {
	for name, build := range map[string]func(*stream.Env, ...listen.Option) *stream.Stream[logs.Line]{
		"listen tcp 127.0.0.1:0": tcpLines, "syslog udp+tcp 127.0.0.1:0": syslogOn("udp+tcp")} {
		env := stream.NewEnv(stream.WithCheckpointing(t.TempDir(), time.Second))
		build(env).ForEach(func(logs.Line) error { return nil })
		err := env.Execute(guarded(t))
		if err == nil || !strings.Contains(err.Error(), name+" cannot replay") || !strings.Contains(err.Error(), "listen.Durable()") ||
			!strings.Contains(err.Error(), "without WithCheckpointing") {
			t.Fatalf("Execute = %v", err)
		}
	}
}

// Bad options are reported together, naming the source, before anything
// listens.
func TestBadOptions(t *testing.T) {
	env := stream.NewEnv()
	listen.TCPLines(env, "127.0.0.1:0", listen.MaxLineBytes(0), listen.MaxConns(-1), listen.RateLimit(0, 0), listen.IdleTimeout(-time.Second)).
		ForEach(func(logs.Line) error { return nil })
	err := env.Execute(guarded(t))
	for _, s := range []string{"MaxLineBytes(0)", "MaxConns(-1)", "the rate must", "the burst must", "IdleTimeout(-1s)"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("Execute = %v: does not say %q", err, s)
		}
	}
	env = stream.NewEnv()
	listen.Syslog(env, "sctp", "127.0.0.1:0").ForEach(func(logs.Line) error { return nil })
	if err := env.Execute(guarded(t)); err == nil || !strings.Contains(err.Error(), `"sctp"`) {
		t.Errorf("Execute = %v", err)
	}
}

// guarded is a context that ends the job after guard, for a test whose job
// must not run at all: if it does, the test fails instead of hanging.
func guarded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}
