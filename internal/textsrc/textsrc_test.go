package textsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readAll(t *testing.T, r interface {
	Read(context.Context, []string) (int, error)
}, ctx context.Context, bufLen int) ([]string, error) {
	t.Helper()
	var out []string
	buf := make([]string, bufLen)
	for {
		n, err := r.Read(ctx, buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.log")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileLines(t *testing.T) {
	cases := map[string]struct {
		content string
		want    []string
	}{
		"lf":                 {"a\nb\n", []string{"a", "b"}},
		"crlf":               {"a\r\nb\r\n", []string{"a", "b"}},
		"no final newline":   {"a\nb", []string{"a", "b"}},
		"empty lines kept":   {"\n\na\n\n", []string{"", "", "a", ""}},
		"empty file":         {"", nil},
		"longer than buffer": {strings.Repeat("x", 100_000) + "\nend\n", []string{strings.Repeat("x", 100_000), "end"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := OpenFile(writeFile(t, c.content), FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := readAll(t, r, context.Background(), 3)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("err %v", err)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			if r.Offset() != int64(len(c.content)) {
				t.Fatalf("offset %d, want %d", r.Offset(), len(c.content))
			}
		})
	}
}

func TestFileOpenErrorNamesFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.log")
	_, err := OpenFile(missing, FileOptions{})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("open error %v does not name the file", err)
	}
}

// MaxLineBytes counts the line without its line end; a line over it is
// set aside with its length, and the lines around it are read.
func TestFileMaxLineBytesEdges(t *testing.T) {
	const limit = 8
	fits, over := strings.Repeat("x", limit), strings.Repeat("x", limit+1)
	cases := map[string]struct {
		content string
		lines   []string
		size    int // of the line set aside; 0: none
	}{
		"at the limit, lf":            {fits + "\n", []string{fits}, 0},
		"at the limit, crlf":          {fits + "\r\n", []string{fits}, 0},
		"at the limit, no line end":   {fits, []string{fits}, 0},
		"at the limit, final cr":      {fits + "\r", []string{fits}, 0},
		"one over, lf":                {over + "\n", nil, limit + 1},
		"one over, crlf":              {over + "\r\n", nil, limit + 1},
		"one over, no line end":       {over, nil, limit + 1},
		"one over, final cr":          {over + "\r", nil, limit + 1},
		"a cr inside counts":          {fits + "\rx\n", nil, limit + 2},
		"far over, past the buffer":   {strings.Repeat("z", 200_000) + "\nend\n", []string{"end"}, 200_000},
		"long line after short lines": {"a\nb\n" + over + "\nc", []string{"a", "b", "c"}, limit + 1},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := OpenFile(writeFile(t, c.content), FileOptions{MaxLineBytes: limit})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := readAll(t, r, context.Background(), 4)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("err %v, want io.EOF: a long line must not stop the reader", err)
			}
			if !slices.Equal(got, c.lines) {
				t.Fatalf("lines %q, want %q", got, c.lines)
			}
			rej := r.Rejected(nil)
			if c.size == 0 {
				if len(rej) != 0 {
					t.Fatalf("set aside %v, want nothing", rej)
				}
				return
			}
			if len(rej) != 1 || !errors.Is(rej[0].Err, ErrLineTooLong) {
				t.Fatalf("set aside %v, want one line over the limit", rej)
			}
			if want := fmt.Sprintf(": %d bytes, over the line limit of %d", c.size, limit); !strings.Contains(rej[0].Err.Error(), want) {
				t.Fatalf("error %q does not say %q", rej[0].Err, want)
			}
			if r.Offset() != int64(len(c.content)) {
				t.Fatalf("offset %d, want %d: past the line set aside", r.Offset(), len(c.content))
			}
		})
	}
}

// A line number counts from where reading started.
func TestFileLineNumberAfterStartOffset(t *testing.T) {
	p := writeFile(t, "skip\nok\n"+strings.Repeat("y", 50)+"\n")
	r, _ := OpenFile(p, FileOptions{StartOffset: 5, MaxLineBytes: 10})
	defer r.Close()
	if _, err := readAll(t, r, context.Background(), 10); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	rej := r.Rejected(nil)
	if len(rej) != 1 || !strings.Contains(rej[0].Err.Error(), "line 2 after offset 5 (byte offset 8)") {
		t.Fatalf("set aside %v, want line 2 after offset 5, at byte 8", rej)
	}
}

func TestFileResumeAtOffset(t *testing.T) {
	p := writeFile(t, "one\ntwo\nthree\n")
	r, _ := OpenFile(p, FileOptions{})
	buf := make([]string, 1)
	r.Read(context.Background(), buf)
	off := r.Offset()
	r.Close()
	r2, _ := OpenFile(p, FileOptions{StartOffset: off})
	defer r2.Close()
	got, _ := readAll(t, r2, context.Background(), 5)
	if !slices.Equal(got, []string{"two", "three"}) {
		t.Fatalf("resumed at %d: %q", off, got)
	}
}

func TestFollowAppendTruncateCancel(t *testing.T) {
	p := writeFile(t, "a\n")
	r, err := OpenFile(p, FileOptions{Follow: true, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	buf := make([]string, 10)
	read := func() []string {
		n, err := r.Read(ctx, buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return slices.Clone(buf[:n])
	}
	if got := read(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("got %q", got)
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("b\nhalf")
	if got := read(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after append: %q (a partial line must wait for its newline)", got)
	}
	f.WriteString(" done\n")
	f.Close()
	if got := read(); !slices.Equal(got, []string{"half done"}) {
		t.Fatalf("after the rest of the line: %q", got)
	}
	os.WriteFile(p, []byte("new\n"), 0o644) // truncated and rewritten
	if got := read(); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("after truncation: %q", got)
	}
	if r.Offset() != 4 {
		t.Fatalf("offset after truncation %d, want 4", r.Offset())
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := r.Read(ctx, buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

// The real sshd log of a server under attack (Loghub): 2,000 lines.
func TestRealOpenSSHLog(t *testing.T) {
	p := filepath.Join("..", "..", "..", "shared", "data", "loghub", "OpenSSH_2k.log")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference data not here (%v): it lives beside the project, in ../shared/data", err)
	}
	r, err := OpenFile(p, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r, context.Background(), 4096)
	if !errors.Is(err, io.EOF) || len(got) != 2000 {
		t.Fatalf("%d lines, err %v", len(got), err)
	}
	if !strings.Contains(got[0], "sshd[") {
		t.Fatalf("first line %q", got[0])
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Lines arrive; when the server closes the connection, its unterminated
// tail is set aside as a line cut short (not delivered as a line, as
// Flink would), and the reader connects again.
func TestSocketLinesAndReconnect(t *testing.T) {
	l := listen(t)
	wait := serve(t, l, write("one\r\ntwo\nthr"), write("four\n"))
	r := NewSocket(l.Addr().String(), fastRetries(3))
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	buf := make([]string, 8)
	var rej []Reject
	for len(got) < 3 {
		n, err := r.Read(ctx, buf)
		got = append(got, buf[:n]...)
		rej = r.Rejected(rej)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
	}
	if want := []string{"one", "two", "four"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if n := wait(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	want := "braid: socket source " + l.Addr().String() + ": connection 1, line 3 (byte offset 9): cut short after 3 bytes: the server closed the connection before its newline"
	if len(rej) != 1 || rej[0].Line != "thr" || !errors.Is(rej[0].Err, ErrLineCut) || rej[0].Err.Error() != want {
		t.Fatalf("set aside %v, want %q: %s", rej, "thr", want)
	}
}

func TestSocketNeverConnects(t *testing.T) {
	l := listen(t)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := NewSocket(addr, fastRetries(3))
	defer r.Close()
	_, err := r.Read(context.Background(), make([]string, 1))
	want := "braid: socket source " + addr + ": could not connect after 3 attempts over "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want it to start %q", err, want)
	}
	if _, ok := errors.AsType[*net.OpError](err); !ok {
		t.Fatalf("error %v does not wrap the last dial error", err)
	}
	if _, again := r.Read(context.Background(), make([]string, 1)); again != err {
		t.Fatalf("second read: %v, want the same error", again)
	}
}

func TestSocketCancelWhileWaiting(t *testing.T) {
	l := listen(t)
	hold := make(chan struct{})
	wait := serve(t, l, func(c net.Conn) {
		c.Write([]byte("first\npartial"))
		<-hold // keep the connection open, silent
	})
	defer wait()
	defer close(hold)
	r := NewSocket(l.Addr().String(), SocketOptions{})
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	buf := make([]string, 4)
	n, err := r.Read(ctx, buf)
	if err != nil || n != 1 || buf[0] != "first" {
		t.Fatalf("first read %q %v: a ready line must come back without waiting for more", buf[:n], err)
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := r.Read(ctx, buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

// Cancelling a Read that waits for a followed file to grow ends it at
// once, not at the next poll.
func TestFollowCancelDoesNotWaitForPoll(t *testing.T) {
	r, err := OpenFile(writeFile(t, "a\nheld back"), FileOptions{Follow: true, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	buf := make([]string, 4)
	if n, err := r.Read(ctx, buf); n != 1 || err != nil || buf[0] != "a" {
		t.Fatalf("first read %q %v", buf[:n], err)
	}
	if r.Offset() != 2 {
		t.Fatalf("offset %d, want 2: a held-back partial line is not past the offset", r.Offset())
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if n, err := r.Read(ctx, buf); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %d %v", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

// serve accepts connections on l and hands each to the next handler,
// until the handlers or the listener run out; the returned function waits
// for it to finish and reports how many connections it accepted.
func serve(t *testing.T, l net.Listener, handlers ...func(net.Conn)) (wait func() int) {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		accepted := 0
		defer func() { done <- accepted }()
		for _, h := range handlers {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted++
			h(c)
			c.Close()
		}
	}()
	return func() int { return <-done }
}

func write(s string) func(net.Conn) {
	return func(c net.Conn) { c.Write([]byte(s)) }
}

func fastRetries(n int) SocketOptions {
	return SocketOptions{MaxRetries: n, MaxRetriesSet: true, InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
}

// MaxRetries 0, as Flink's maxRetry 0: the stream ends when the server
// closes the connection, and stays ended. The unterminated tail is set
// aside, cut short.
func TestSocketNoRetryEndsWithConnection(t *testing.T) {
	l := listen(t)
	wait := serve(t, l, write("a\nb\nlast, without newline"))
	r := NewSocket(l.Addr().String(), fastRetries(0))
	defer r.Close()
	got, err := readAll(t, r, context.Background(), 2)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("err %v, want io.EOF", err)
	}
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if rej := r.Rejected(nil); len(rej) != 1 || rej[0].Line != "last, without newline" || !errors.Is(rej[0].Err, ErrLineCut) {
		t.Fatalf("set aside %v, want the last line, cut short", rej)
	}
	if n, err := r.Read(context.Background(), make([]string, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read after the end: %d %v", n, err)
	}
	if n := wait(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// A reader that loses its connection and cannot make another fails once
// the attempts are used up, naming the connection and the last dial
// error; with EndQuietly it ends the stream instead.
func TestSocketReconnectGivesUp(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		t.Run(fmt.Sprintf("EndQuietly=%v", quiet), func(t *testing.T) {
			l := listen(t)
			addr := l.Addr().String()
			wait := serve(t, l, write("only\n"))
			opts := fastRetries(3)
			opts.EndQuietly = quiet
			r := NewSocket(addr, opts)
			defer r.Close()
			buf := make([]string, 4)
			if n, err := r.Read(context.Background(), buf); n != 1 || err != nil || buf[0] != "only" {
				t.Fatalf("first read %q %v", buf[:n], err)
			}
			wait()
			l.Close() // nothing listens any more
			n, err := r.Read(context.Background(), buf)
			if quiet {
				if n != 0 || !errors.Is(err, io.EOF) {
					t.Fatalf("read after the server left: %d %v, want io.EOF", n, err)
				}
				return
			}
			want := "braid: socket source " + addr + ": connection 1 closed by the server and not made again in 3 attempts over "
			if n != 0 || err == nil || !strings.HasPrefix(err.Error(), want) || errors.Is(err, io.EOF) {
				t.Fatalf("read after the server left: %d %v, want an error starting %q", n, err, want)
			}
			if _, ok := errors.AsType[*net.OpError](err); !ok {
				t.Fatalf("error %v does not wrap the last dial error", err)
			}
			if _, again := r.Read(context.Background(), buf); again != err {
				t.Fatalf("second read: %v, want the same error", again)
			}
		})
	}
}

// A server that accepts and closes at once, sending nothing, uses up the
// attempts as one that refuses would (no reconnecting in a tight loop),
// and then fails the reader: it is not an empty stream. With EndQuietly
// it is.
func TestSocketEmptyConnectionsUseUpAttempts(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		t.Run(fmt.Sprintf("EndQuietly=%v", quiet), func(t *testing.T) {
			l := listen(t)
			nothing := func(net.Conn) {}
			wait := serve(t, l, nothing, nothing, nothing, nothing, nothing)
			opts := fastRetries(3)
			opts.EndQuietly = quiet
			r := NewSocket(l.Addr().String(), opts)
			defer r.Close()
			n, err := r.Read(context.Background(), make([]string, 4))
			l.Close()
			if c := wait(); c != 3 {
				t.Fatalf("%d connections, want 3 (MaxRetries)", c)
			}
			if quiet {
				if n != 0 || !errors.Is(err, io.EOF) {
					t.Fatalf("read: %d %v, want io.EOF", n, err)
				}
				return
			}
			want := regexp.MustCompile(`^braid: socket source 127\.0\.0\.1:\d+: no line after 3 attempts over \S+: the server closed 3 connections before sending a line$`)
			if n != 0 || err == nil || !want.MatchString(err.Error()) {
				t.Fatalf("read: %d %v, want an error matching %s", n, err, want)
			}
		})
	}
}

// The lines that are complete come back at once; the rest of a line
// split over several writes waits for its delimiter.
func TestSocketPartialLines(t *testing.T) {
	l := listen(t)
	step := make(chan string, 3) // buffered: the reader connects only on its first Read
	wait := serve(t, l, func(c net.Conn) {
		for s := range step {
			c.Write([]byte(s))
		}
	})
	r := NewSocket(l.Addr().String(), SocketOptions{})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]string, 10)
	read := func() []string {
		t.Helper()
		n, err := r.Read(ctx, buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return slices.Clone(buf[:n])
	}
	step <- "one\ntwo\nthr"
	var got []string
	for len(got) < 2 { // the two lines may arrive in two segments
		got = append(got, read()...)
	}
	if !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("got %q, want one and two without waiting for thr...", got)
	}
	step <- "ee"
	step <- "\r\nfour\n"
	got = nil
	for len(got) < 2 {
		got = append(got, read()...)
	}
	if !slices.Equal(got, []string{"three", "four"}) {
		t.Fatalf("got %q, want three and four", got)
	}
	close(step)
	wait()
}

// A line over the limit is set aside, with where it was and how long;
// the lines after it are read.
func TestSocketDelimiterAndLineLimit(t *testing.T) {
	l := listen(t)
	wait := serve(t, l, write("a;b\r;"+strings.Repeat("x", 100)+";c;"))
	r := NewSocket(l.Addr().String(), SocketOptions{Delimiter: ';', MaxLineBytes: 50, MaxRetries: 0, MaxRetriesSet: true})
	defer r.Close()
	var rej []Reject
	var got []string
	buf := make([]string, 10)
	for {
		n, err := r.Read(context.Background(), buf)
		got = append(got, buf[:n]...)
		rej = r.Rejected(rej)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("err %v, want io.EOF: a long line must not stop the reader", err)
			}
			break
		}
	}
	if want := []string{"a", "b\r", "c"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q (a \\r is dropped only before \\n)", got, want)
	}
	want := "braid: socket source " + l.Addr().String() + ": connection 1, line 3 (byte offset 5): 100 bytes, over the line limit of 50"
	if len(rej) != 1 || rej[0].Line != strings.Repeat("x", 100) || rej[0].Err.Error() != want || !errors.Is(rej[0].Err, ErrLineTooLong) {
		t.Fatalf("set aside %v, want the x line: %s", rej, want)
	}
	wait()
}

// Cancelling while the reader backs off between attempts ends Read at
// once, with ctx's error rather than the give-up error.
func TestSocketCancelWhileRetrying(t *testing.T) {
	l := listen(t)
	addr := l.Addr().String()
	l.Close()
	r := NewSocket(addr, SocketOptions{MaxRetries: -1, MaxRetriesSet: true, InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Hour})
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := r.Read(ctx, make([]string, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}
