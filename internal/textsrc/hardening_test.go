package textsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/braidstream/braid/internal/testseed"
)

// CRLF files: "\r\n" ends a line as "\n" does, the last line included
// when it ends in "\r" without "\n"; a "\r" anywhere else is the line's.
func TestFileCRLF(t *testing.T) {
	long := strings.Repeat("x", 65535) // its "\r" is the last byte of a full 64 KiB buffer
	cases := map[string]struct {
		content string
		want    []string
	}{
		"every line crlf":           {"a\r\nb\r\n", []string{"a", "b"}},
		"last line without newline": {"a\r\nb", []string{"a", "b"}},
		"last line ends in cr only": {"a\r\nb\r", []string{"a", "b"}},
		"only a cr":                 {"\r", []string{""}},
		"empty crlf lines":          {"\r\n\r\n", []string{"", ""}},
		"empty last line, cr only":  {"a\r\n\r", []string{"a", ""}},
		"cr inside a line is kept":  {"a\rb\r\nc\rd\r", []string{"a\rb", "c\rd"}},
		"two crs: one is the end":   {"a\r\r\nb\r\r", []string{"a\r", "b\r"}},
		"mixed lf and crlf":         {"a\nb\r\nc\nd\r", []string{"a", "b", "c", "d"}},
		"crlf split by the buffer":  {long + "\r\n" + long + "\r", []string{long, long}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for _, bufLen := range []int{1, 3, 64} {
				r, err := OpenFile(writeFile(t, c.content), FileOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := readAll(t, r, context.Background(), bufLen)
				r.Close()
				if !errors.Is(err, io.EOF) {
					t.Fatalf("err %v", err)
				}
				if !slices.Equal(got, c.want) {
					t.Fatalf("Read into %d: got %s, want %s", bufLen, brief(got), brief(c.want))
				}
				if r.Offset() != int64(len(c.content)) {
					t.Fatalf("offset %d, want %d", r.Offset(), len(c.content))
				}
				if rej := r.Rejected(nil); len(rej) != 0 {
					t.Fatalf("set aside %v", rej)
				}
			}
		})
	}
}

// brief quotes lines, long ones shortened to their ends and length.
func brief(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if len(l) > 40 {
			fmt.Fprintf(&b, "%q...(%d bytes)...%q ", l[:10], len(l), l[len(l)-10:])
		} else {
			fmt.Fprintf(&b, "%q ", l)
		}
	}
	return "[" + strings.TrimSpace(b.String()) + "]"
}

// A followed CRLF file: a line's "\r" waits with it for the "\n".
func TestFollowCRLF(t *testing.T) {
	p := writeFile(t, "a\r\nb\r")
	r, err := OpenFile(p, FileOptions{Follow: true, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]string, 4)
	if n, err := r.Read(ctx, buf); err != nil || !slices.Equal(buf[:n], []string{"a"}) {
		t.Fatalf("first read %q %v", buf[:n], err)
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\nc\r\n")
	f.Close()
	var got []string
	for len(got) < 2 {
		n, err := r.Read(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("got %q, want b and c", got)
	}
}

// An overLine is a line set aside for its length: its size and the start
// of it a Reject holds.
type overLine struct {
	size   int
	prefix string
}

// overOf reads the size back from the error of a Reject for a line over
// limit.
func overOf(t *testing.T, j Reject, limit int) overLine {
	t.Helper()
	m := overRe.FindStringSubmatch(j.Err.Error())
	if m == nil || m[2] != fmt.Sprint(limit) || !errors.Is(j.Err, ErrLineTooLong) {
		t.Fatalf("reject %v: not a line over the limit of %d", j, limit)
	}
	var size int
	fmt.Sscan(m[1], &size)
	return overLine{size, j.Line}
}

var overRe = regexp.MustCompile(`\): (\d+) bytes, over the line limit of (\d+)$`)

// naiveLines is the file reader's twin: split at "\n", drop one "\r" at
// the end of each line, set aside the lines over limit.
func naiveLines(content string, limit int) (lines []string, over []overLine) {
	if content == "" {
		return nil, nil
	}
	parts := strings.Split(content, "\n")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	for _, p := range parts {
		p = strings.TrimSuffix(p, "\r")
		if len(p) > limit {
			over = append(over, overLine{len(p), p[:min(len(p), PrefixBytes)]})
		} else {
			lines = append(lines, p)
		}
	}
	return lines, over
}

func randomText(rng *rand.Rand, n int) string {
	const alphabet = "aaaaaaaabbbbbbbbc \r\r\n\n\n"
	b := make([]byte, n)
	for i := range b {
		if rng.IntN(40) == 0 { // a long run: lines over the limit
			for j := rng.IntN(60); j > 0 && i < len(b)-1; j-- {
				b[i] = 'z'
				i++
			}
		}
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// The file reader against its naive twin, on random text with CRs and LFs
// everywhere and lines over the limit, with a 16-byte buffer so that line
// ends and limits fall on buffer boundaries; and resuming at Offset after
// any Read loses and repeats nothing.
func TestFileAgainstNaive(t *testing.T) {
	defer func(n int) { readBufSize = n }(readBufSize)
	readBufSize = 16
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	for i := range 300 {
		content := randomText(rng, rng.IntN(400))
		limit := 1 + rng.IntN(30)
		wantLines, wantOver := naiveLines(content, limit)
		p := writeFile(t, content)
		var got []string
		var over []overLine
		var off int64
		for done := false; !done; {
			r, err := OpenFile(p, FileOptions{StartOffset: off, MaxLineBytes: limit})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]string, 1+rng.IntN(5))
			for reads := rng.IntN(4); ; reads-- { // resume after a few reads
				n, err := r.Read(context.Background(), buf)
				got = append(got, buf[:n]...)
				for _, j := range r.Rejected(nil) {
					over = append(over, overOf(t, j, limit))
				}
				if err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatal(err)
					}
					done = true
					break
				}
				if reads == 0 {
					break
				}
			}
			off = r.Offset()
			r.Close()
		}
		if !slices.Equal(got, wantLines) || !slices.Equal(over, wantOver) {
			t.Fatalf("case %d: limit %d, content %q:\n got %q, over %v\nwant %q, over %v", i, limit, content, got, over, wantLines, wantOver)
		}
	}
}

// The Line of a Reject is the line's first PrefixBytes, cut back to a
// whole UTF-8 character; the error says where the line was and its size.
func TestFileRejectPrefixAndPosition(t *testing.T) {
	euros := strings.Repeat("€", 1000) // 3 bytes each: 256 is not a multiple
	content := "one\ntwo\n" + euros + "\r\nthree\n"
	p := writeFile(t, content)
	r, _ := OpenFile(p, FileOptions{MaxLineBytes: 100})
	defer r.Close()
	got, err := readAll(t, r, context.Background(), 8)
	if !errors.Is(err, io.EOF) || !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("got %q %v", got, err)
	}
	rej := r.Rejected(nil)
	if len(rej) != 1 {
		t.Fatalf("set aside %v", rej)
	}
	if !utf8.ValidString(rej[0].Line) || len(rej[0].Line) != 255 || !strings.HasPrefix(euros, rej[0].Line) {
		t.Fatalf("prefix %q (%d bytes), want the first 85 euro signs", rej[0].Line, len(rej[0].Line))
	}
	want := "braid: file source " + p + ": line 3 (byte offset 8): 3000 bytes, over the line limit of 100"
	if rej[0].Err.Error() != want {
		t.Fatalf("error\n%q, want\n%q", rej[0].Err, want)
	}
	if again := r.Rejected(nil); len(again) != 0 {
		t.Fatalf("rejects handed out twice: %v", again)
	}
}

// heapGrowth runs f and reports the bytes it allocated.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A line far over the limit is skipped to its end without being held: the
// reader allocates in proportion to the limit (growing a buffer up to it),
// not to the line.
func TestFileHugeLineIsNotHeld(t *testing.T) {
	const huge = 32 << 20
	p := writeFile(t, "before\n"+strings.Repeat("h", huge)+"\nafter\n")
	var got []string
	var rej []Reject
	grew := heapGrowth(func() {
		r, err := OpenFile(p, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, err = readAll(t, r, context.Background(), 16)
		if !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		rej = r.Rejected(nil)
	})
	if !slices.Equal(got, []string{"before", "after"}) || len(rej) != 1 || len(rej[0].Line) != PrefixBytes ||
		!strings.Contains(rej[0].Err.Error(), fmt.Sprintf(": %d bytes, over the line limit of %d", huge, DefaultMaxLineBytes)) {
		t.Fatalf("got %q, set aside %v", got, rej)
	}
	if grew > huge/4 {
		t.Fatalf("reading a %d MiB line allocated %d KiB: the line was held", huge>>20, grew>>10)
	}
}

// A followed file: a line over the limit is handed out at once, without
// waiting for more input; a partial line cut off by a truncation is set
// aside too, not lost without a word.
func TestFollowRejects(t *testing.T) {
	p := writeFile(t, "a\n"+strings.Repeat("y", 20)+"\nhalf")
	r, err := OpenFile(p, FileOptions{Follow: true, PollInterval: time.Millisecond, MaxLineBytes: 10,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]string, 1)
	if n, err := r.Read(ctx, buf); n != 1 || err != nil || buf[0] != "a" {
		t.Fatalf("first read %q %v", buf[:n], err)
	}
	if n, err := r.Read(ctx, buf); n != 0 || err != nil {
		t.Fatalf("second read %q %v, want nothing and no wait: a reject is ready", buf[:n], err)
	}
	if rej := r.Rejected(nil); len(rej) != 1 || rej[0].Line != strings.Repeat("y", 20) {
		t.Fatalf("set aside %v", rej)
	}
	os.WriteFile(p, []byte("new\n"), 0o644) // shorter than what was read
	if n, err := r.Read(ctx, buf); n != 1 || err != nil || buf[0] != "new" {
		t.Fatalf("after truncation %q %v", buf[:n], err)
	}
	rej := r.Rejected(nil)
	want := "braid: file source " + p + ": line 3 (byte offset 23): cut short after 4 bytes: the file shrank to 4 bytes before its newline"
	if len(rej) != 1 || rej[0].Line != "half" || !errors.Is(rej[0].Err, ErrLineCut) || rej[0].Err.Error() != want {
		t.Fatalf("set aside %v, want %q: %s", rej, "half", want)
	}
}

// A run of long lines is handed out 64 at a time, so rejects do not pile
// up; a caller that never takes them still gets every line.
func TestFileRejectBatches(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "%s %d\n", strings.Repeat("x", 20), i)
	}
	b.WriteString("last\n")
	p := writeFile(t, b.String())
	for _, take := range []bool{true, false} {
		r, _ := OpenFile(p, FileOptions{MaxLineBytes: 10})
		buf := make([]string, 4096)
		var got []string
		rejects := 0
		for {
			n, err := r.Read(context.Background(), buf)
			got = append(got, buf[:n]...)
			if take {
				k := len(r.Rejected(nil))
				if k > rejectBatch {
					t.Fatalf("%d rejects after one Read, want at most %d", k, rejectBatch)
				}
				rejects += k
			}
			if err != nil {
				break
			}
		}
		if !take {
			rejects = len(r.Rejected(nil))
		}
		r.Close()
		if !slices.Equal(got, []string{"last"}) || rejects != 200 {
			t.Fatalf("take=%v: got %q and %d rejects, want last and 200", take, got, rejects)
		}
	}
}

// naiveSocket is the socket reader's twin for one connection closed by
// the server: lines split at "\n" without one "\r" at their end; the tail
// after the last "\n" is cut short.
func naiveSocket(content string, limit int) (lines []string, over []overLine, cut string, hasCut bool) {
	i := strings.LastIndexByte(content, '\n')
	lines, over = naiveLines(content[:i+1], limit)
	if tail := content[i+1:]; tail != "" {
		return lines, over, strings.TrimSuffix(tail, "\r"), true
	}
	return lines, over, "", false
}

// The socket reader against its twin: random text sent in random pieces,
// read through a 16-byte buffer.
func TestSocketAgainstNaive(t *testing.T) {
	defer func(n int) { readBufSize = n }(readBufSize)
	readBufSize = 16
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	l := listen(t)
	for i := range 100 {
		content := randomText(rng, rng.IntN(300))
		limit := 1 + rng.IntN(30)
		var pieces []string
		for rest := content; rest != ""; {
			k := min(len(rest), 1+rng.IntN(40))
			pieces = append(pieces, rest[:k])
			rest = rest[k:]
		}
		wait := serve(t, l, func(c net.Conn) {
			for _, p := range pieces {
				c.Write([]byte(p))
			}
		})
		opts := fastRetries(0)
		opts.MaxLineBytes = limit
		r := NewSocket(l.Addr().String(), opts)
		var got []string
		var rej []Reject
		buf := make([]string, 1+rng.IntN(5))
		for {
			n, err := r.Read(context.Background(), buf)
			got = append(got, buf[:n]...)
			rej = r.Rejected(rej)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
		}
		r.Close()
		wait()
		wantLines, wantOver, wantCut, hasCut := naiveSocket(content, limit)
		var over []overLine
		cut, gotCut := "", false
		for _, j := range rej {
			switch {
			case errors.Is(j.Err, ErrLineCut):
				cut, gotCut = j.Line, true
				if len(wantCut) > limit {
					cut = wantCut // over the limit and cut: checked below by its prefix
					if !strings.HasPrefix(wantCut, j.Line) || !errors.Is(j.Err, ErrLineTooLong) {
						t.Fatalf("case %d: cut reject %v for tail %q", i, j, wantCut)
					}
				}
			default:
				over = append(over, overOf(t, j, limit))
			}
		}
		if !slices.Equal(got, wantLines) || !slices.Equal(over, wantOver) || cut != wantCut || gotCut != hasCut {
			t.Fatalf("case %d: limit %d, content %q:\n got %q, over %v, cut %q (%v)\nwant %q, over %v, cut %q (%v)",
				i, limit, content, got, over, cut, gotCut, wantLines, wantOver, wantCut, hasCut)
		}
	}
}

// A line far over the limit from a peer is skipped without being held,
// and the stream goes on; one cut by the close says "at least".
func TestSocketHugeLine(t *testing.T) {
	const huge = 32 << 20
	l := listen(t)
	big := strings.Repeat("h", huge)
	send := []byte("before\n" + big + "\nafter\n" + big) // made before heapGrowth counts
	wait := serve(t, l, func(c net.Conn) { c.Write(send) })
	var got []string
	var rej []Reject
	grew := heapGrowth(func() {
		r := NewSocket(l.Addr().String(), fastRetries(0))
		defer r.Close()
		buf := make([]string, 16)
		for {
			n, err := r.Read(context.Background(), buf)
			got = append(got, buf[:n]...)
			rej = r.Rejected(rej)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				return
			}
		}
	})
	wait()
	if !slices.Equal(got, []string{"before", "after"}) || len(rej) != 2 {
		t.Fatalf("got %q, set aside %v", got, rej)
	}
	if !strings.HasSuffix(rej[0].Err.Error(), fmt.Sprintf("line 2 (byte offset 7): %d bytes, over the line limit of %d", huge, DefaultMaxLineBytes)) ||
		errors.Is(rej[0].Err, ErrLineCut) {
		t.Fatalf("first reject %v", rej[0].Err)
	}
	if !strings.HasSuffix(rej[1].Err.Error(), fmt.Sprintf("line 4 (byte offset %d): at least %d bytes, over the line limit of %d; cut short: the server closed the connection before its newline", 7+huge+1+6, huge, DefaultMaxLineBytes)) ||
		!errors.Is(rej[1].Err, ErrLineCut) || !errors.Is(rej[1].Err, ErrLineTooLong) {
		t.Fatalf("second reject %v", rej[1].Err)
	}
	for _, j := range rej {
		if len(j.Line) != PrefixBytes {
			t.Fatalf("reject of %d bytes, want the first %d", len(j.Line), PrefixBytes)
		}
	}
	if grew > huge/4 {
		t.Fatalf("reading two %d MiB lines allocated %d KiB: a line was held", huge>>20, grew>>10)
	}
}

// A reject is handed out at once: Read does not wait for the next line of
// a silent peer first.
func TestSocketRejectDoesNotWait(t *testing.T) {
	l := listen(t)
	hold := make(chan struct{})
	wait := serve(t, l, func(c net.Conn) {
		c.Write([]byte(strings.Repeat("x", 100) + "\n"))
		<-hold
	})
	defer wait()
	defer close(hold)
	r := NewSocket(l.Addr().String(), SocketOptions{MaxLineBytes: 10})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rej []Reject
	for len(rej) == 0 {
		if _, err := r.Read(ctx, make([]string, 4)); err != nil {
			t.Fatalf("read: %v, want it to return with the reject", err)
		}
		rej = r.Rejected(rej)
	}
	if rej[0].Line != strings.Repeat("x", 100) {
		t.Fatalf("set aside %v", rej)
	}
}

// A server that sends only part of a line and closes does not end the
// outage: the attempts run out as with empty connections, and each part
// is set aside, cut short.
func TestSocketPartialOnlyConnectionsUseUpAttempts(t *testing.T) {
	l := listen(t)
	part := write("no newline")
	wait := serve(t, l, part, part, part, part)
	r := NewSocket(l.Addr().String(), fastRetries(3))
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rej []Reject
	var err error
	for err == nil {
		_, err = r.Read(ctx, make([]string, 4))
		rej = r.Rejected(rej)
	}
	l.Close()
	if n := wait(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
	if !strings.Contains(err.Error(), "no line after 3 attempts") || len(rej) != 3 {
		t.Fatalf("err %v, %d rejects; want no line after 3 attempts, and 3", err, len(rej))
	}
	for i, j := range rej {
		if want := fmt.Sprintf("connection %d, line 1 (byte offset 0): cut short after 10 bytes", i+1); j.Line != "no newline" || !strings.Contains(j.Err.Error(), want) {
			t.Fatalf("reject %d: %v, want %s", i, j, want)
		}
	}
}

// MaxRetries 0: a connection that breaks (a reset, not the server's
// orderly close) is an error, unless EndQuietly.
func TestSocketNoRetryBrokenConnection(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		t.Run(fmt.Sprintf("EndQuietly=%v", quiet), func(t *testing.T) {
			l := listen(t)
			reset := make(chan struct{})
			wait := serve(t, l, func(c net.Conn) {
				c.Write([]byte("a\n"))
				<-reset
				c.(*net.TCPConn).SetLinger(0) // Close sends a reset
			})
			opts := fastRetries(0)
			opts.EndQuietly = quiet
			r := NewSocket(l.Addr().String(), opts)
			defer r.Close()
			buf := make([]string, 4)
			if n, err := r.Read(context.Background(), buf); n != 1 || err != nil {
				t.Fatalf("first read %q %v", buf[:n], err)
			}
			close(reset)
			wait()
			n, err := r.Read(context.Background(), buf)
			if quiet {
				if n != 0 || !errors.Is(err, io.EOF) {
					t.Fatalf("read after the reset: %d %v, want io.EOF", n, err)
				}
				return
			}
			want := "braid: socket source " + l.Addr().String() + ": connection 1 lost, not reconnecting (MaxRetries 0): "
			if n != 0 || err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("read after the reset: %d %v, want %q and the reset", n, err, want)
			}
		})
	}
}

// records is a slog handler that keeps what it is given.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

// lines formats the records as "LEVEL msg k=v ...", in order.
func (h *records) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		s := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key != "err" { // varies by platform
				s += " " + a.String()
			}
			return true
		})
		out = append(out, s)
	}
	return out
}

// While connecting, every failed attempt is logged at info with the
// address, its number and the wait before the next, so that a user is not
// left with 20s of silence.
func TestSocketLogsEachAttempt(t *testing.T) {
	l := listen(t)
	addr := l.Addr().String()
	l.Close()
	var h records
	opts := fastRetries(4)
	opts.Logger = slog.New(&h)
	r := NewSocket(addr, opts)
	defer r.Close()
	if _, err := r.Read(context.Background(), make([]string, 1)); err == nil {
		t.Fatal("connected to nothing")
	}
	want := []string{
		"INFO braid: socket source: could not connect; retrying addr=" + addr + " attempt=1 max_attempts=4 retry_in=1ms",
		"INFO braid: socket source: could not connect; retrying addr=" + addr + " attempt=2 max_attempts=4 retry_in=2ms",
		"INFO braid: socket source: could not connect; retrying addr=" + addr + " attempt=3 max_attempts=4 retry_in=4ms",
		"INFO braid: socket source: could not connect; no attempts left addr=" + addr + " attempt=4 max_attempts=4",
	}
	if got := h.lines(); !slices.Equal(got, want) {
		t.Fatalf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Empty connections are logged as attempts too, and a connection made
// after failed attempts says so.
func TestSocketLogsEmptyConnectionsAndConnect(t *testing.T) {
	l := listen(t)
	addr := l.Addr().String()
	nothing := func(net.Conn) {}
	wait := serve(t, l, nothing, write("x\n"))
	var h records
	opts := fastRetries(3)
	opts.Logger = slog.New(&h)
	r := NewSocket(addr, opts)
	defer r.Close()
	buf := make([]string, 4)
	if n, err := r.Read(context.Background(), buf); n != 1 || err != nil || buf[0] != "x" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	wait()
	want := []string{
		"INFO braid: socket source: the server closed the connection before sending a line; retrying addr=" + addr + " attempt=1 max_attempts=3 retry_in=1ms",
		"INFO braid: socket source connected addr=" + addr + " attempt=2",
	}
	if got := h.lines(); !slices.Equal(got, want) {
		t.Fatalf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
