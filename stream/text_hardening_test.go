package stream

// Hardening of TextFile and SocketText (issue 7): bad input gets an
// answer, never a silent end or a stopped job. Tests in package stream,
// so that the dead letters can be checked at the adapter the runtime
// reads them from (rejectingLines) as well as through the public API.

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidstream/braid/operators"
)

func writeText(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.log")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// One line over the limit does not stop a TextFile job: the lines around
// it arrive and Execute returns nil.
func TestTextFileLongLineDoesNotStopTheJob(t *testing.T) {
	p := writeText(t, "ok\n"+strings.Repeat("x", 2000)+"\nafter\n")
	env := NewEnv()
	got := Collect(TextFile(env, p, MaxLineBytes(100)))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatalf("Execute = %v: one long line stopped the job", err)
	}
	if !slices.Equal(got.Items(), []string{"ok", "after"}) {
		t.Fatalf("got %q", got.Items())
	}
}

// A CRLF file through a job: no line keeps its "\r", the last included.
func TestTextFileCRLFJob(t *testing.T) {
	for _, content := range []string{"a\r\nb\r\nc\r\n", "a\r\nb\r\nc", "a\r\nb\r\nc\r"} {
		env := NewEnv()
		got := Collect(TextFile(env, writeText(t, content)))
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Items(), []string{"a", "b", "c"}) {
			t.Fatalf("%q: got %q", content, got.Items())
		}
	}
}

// The readers behind TextFile and SocketText are RejectingReaders: what
// they set aside comes out as dead letters, the start of the line and an
// error saying where; taking none allocates nothing.
func TestTextSourcesHandOutDeadLetters(t *testing.T) {
	p := writeText(t, "ok\n"+strings.Repeat("x", 2000)+"\nafter\n")
	cfg := textOptions(NewEnv(), "file", []TextOption{MaxLineBytes(100)})
	r, err := openTextFile(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr, ok := r.(operators.RejectingReader[string])
	if !ok {
		t.Fatalf("%T is not an operators.RejectingReader[string]", r)
	}
	buf := make([]string, 8)
	var lines []string
	var dead []operators.DeadLetter[string]
	for {
		n, err := r.Read(context.Background(), buf)
		lines = append(lines, buf[:n]...)
		dead = rr.Rejected(dead)
		if err != nil {
			break
		}
	}
	if !slices.Equal(lines, []string{"ok", "after"}) || len(dead) != 1 {
		t.Fatalf("lines %q, dead letters %v", lines, dead)
	}
	want := "braid: file source " + p + ": line 2 (byte offset 3): 2000 bytes, over the line limit of 100"
	if dead[0].Value != strings.Repeat("x", 256) || dead[0].Err.Error() != want || !errors.Is(dead[0].Err, ErrLineTooLong) {
		t.Fatalf("dead letter %q: %v, want 256 x: %s", dead[0].Value, dead[0].Err, want)
	}
	if a := testing.AllocsPerRun(100, func() { dead = rr.Rejected(dead[:0]) }); a != 0 || len(dead) != 0 {
		t.Fatalf("Rejected with nothing set aside: %v allocations, %d dead letters", a, len(dead))
	}

	// A socket's last line cut short by the close is a dead letter too.
	l := listenLocal(t)
	go serveOnce(l, "a\npartial")
	sr := openSocketText(l.Addr().String(), textOptions(NewEnv(), "socket", []TextOption{MaxRetries(0)}))
	defer sr.Close()
	lines, dead = nil, nil
	for {
		n, err := sr.Read(context.Background(), buf)
		lines = append(lines, buf[:n]...)
		dead = sr.(operators.RejectingReader[string]).Rejected(dead)
		if err != nil {
			break
		}
	}
	if !slices.Equal(lines, []string{"a"}) || len(dead) != 1 || dead[0].Value != "partial" || !errors.Is(dead[0].Err, ErrLineCut) ||
		!strings.Contains(dead[0].Err.Error(), "connection 1, line 2 (byte offset 2): cut short after 7 bytes: the server closed the connection before its newline") {
		t.Fatalf("lines %q, dead letters %v", lines, dead)
	}
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// serveOnce serves one connection with s, then closes it.
func serveOnce(l net.Listener, s string) {
	c, err := l.Accept()
	if err != nil {
		return
	}
	c.Write([]byte(s))
	c.Close()
}

// A line cut short by the end of the connection is not delivered as a
// line (with MaxRetries 0 the close ends the stream, quietly).
func TestSocketTextCutLineIsNotALine(t *testing.T) {
	l := listenLocal(t)
	done := make(chan struct{})
	go func() { defer close(done); serveOnce(l, "a\nb\npart") }()
	env := NewEnv()
	got := Collect(SocketText(env, l.Addr().String(), MaxRetries(0)))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
	if !slices.Equal(got.Items(), []string{"a", "b"}) {
		t.Fatalf("got %q, want a and b: a line cut short is not a line", got.Items())
	}
}

// A server that accepts and at once closes is not an empty stream: after
// the retries the job fails, naming the address; with EndQuietly it ends.
func TestSocketTextAcceptAndClose(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		l := listenLocal(t)
		addr := l.Addr().String()
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		})
		env := NewEnv(WithLogger(slog.New(slog.DiscardHandler)))
		got := Collect(SocketText(env, addr, MaxRetries(3), EndQuietly(quiet)))
		err := env.Execute(context.Background())
		l.Close()
		wg.Wait()
		if len(got.Items()) != 0 {
			t.Fatalf("got %q", got.Items())
		}
		if quiet {
			if err != nil {
				t.Fatalf("EndQuietly: Execute = %v, want nil", err)
			}
			continue
		}
		oe, ok := errors.AsType[*OperatorError](err)
		want := "socket source " + addr + ": no line after 3 attempts over "
		if !ok || oe.Operator != "socket "+addr || !strings.Contains(err.Error(), want) ||
			!strings.HasSuffix(err.Error(), ": the server closed 3 connections before sending a line") {
			t.Fatalf("Execute = %v, want the socket operator failing with %q...", err, want)
		}
	}
}

// A connection lost for good ends the job with an error after the
// retries, not with a quiet end; the lines before arrive. With EndQuietly
// the stream ends and Execute returns nil.
func TestSocketTextLostConnection(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		l := listenLocal(t)
		addr := l.Addr().String()
		done := make(chan struct{})
		go func() {
			defer close(done)
			serveOnce(l, "a\nb\n")
			l.Close() // the server goes away: reconnecting is refused
		}()
		env := NewEnv(WithLogger(slog.New(slog.DiscardHandler)))
		got := Collect(SocketText(env, addr, MaxRetries(2), EndQuietly(quiet)))
		err := env.Execute(context.Background())
		<-done
		if !slices.Equal(got.Items(), []string{"a", "b"}) {
			t.Fatalf("got %q", got.Items())
		}
		if quiet {
			if err != nil {
				t.Fatalf("EndQuietly: Execute = %v, want nil", err)
			}
			continue
		}
		want := "socket source " + addr + ": connection 1 closed by the server and not made again in 2 attempts over "
		if _, ok := errors.AsType[*net.OpError](err); !ok || !strings.Contains(err.Error(), want) {
			t.Fatalf("Execute = %v, want %q and the last dial error", err, want)
		}
	}
}

// logged keeps the records a logger is given.
type logged struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logged) Enabled(context.Context, slog.Level) bool { return true }
func (h *logged) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *logged) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logged) WithGroup(string) slog.Handler      { return h }

// While SocketText connects, each attempt is logged at info through the
// Env's logger, with the address, the attempt and the wait before the next.
func TestSocketTextLogsAttempts(t *testing.T) {
	l := listenLocal(t)
	addr := l.Addr().String()
	l.Close()
	var h logged
	env := NewEnv(WithLogger(slog.New(&h)))
	SocketText(env, addr, MaxRetries(3)).Print()
	if err := env.Execute(context.Background()); err == nil {
		t.Fatal("connected to nothing")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var attempts []int64
	for _, r := range h.recs {
		if !strings.HasPrefix(r.Message, "braid: socket source: could not connect") {
			continue
		}
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		if r.Level != slog.LevelInfo || attrs["addr"].String() != addr || attrs["max_attempts"].Int64() != 3 {
			t.Fatalf("record %v %q %v", r.Level, r.Message, attrs)
		}
		if _, waits := attrs["retry_in"]; waits != (attrs["attempt"].Int64() < 3) {
			t.Fatalf("attempt %v: retry_in %v", attrs["attempt"], attrs["retry_in"])
		}
		attempts = append(attempts, attrs["attempt"].Int64())
	}
	if !slices.Equal(attempts, []int64{1, 2, 3}) {
		t.Fatalf("attempts logged %v, want 1 2 3", attempts)
	}
}

// TextFile logs through the Env's logger too (a followed file that
// shrank).
func TestTextFileLogsThroughEnv(t *testing.T) {
	p := writeText(t, "first line\n")
	var h logged
	env := NewEnv(WithLogger(slog.New(&h)))
	out := make(chan string, 10)
	TextFile(env, p, Follow(true), PollInterval(time.Millisecond)).ToChannel(out)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(ctx) }()
	line := func() {
		t.Helper()
		select {
		case <-out:
		case err := <-errc:
			t.Fatalf("Execute = %v before the line came", err)
		case <-time.After(30 * time.Second):
			cancel()
			t.Fatal("no line in 30 s")
		}
	}
	line()
	os.WriteFile(p, []byte("new\n"), 0o644)
	line()
	cancel()
	<-errc
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if strings.Contains(r.Message, "followed file shrank") {
			return
		}
	}
	t.Fatal("the truncation was not logged through the Env's logger")
}

func TestMaxLineBytesMustBePositive(t *testing.T) {
	env := NewEnv()
	TextFile(env, writeText(t, "a\n"), MaxLineBytes(0)).Print()
	err := env.Execute(context.Background())
	if err == nil || !strings.Contains(err.Error(), "MaxLineBytes(0): a line limit must be at least 1 byte") {
		t.Fatalf("Execute = %v", err)
	}
}

// Over-long lines reach the source's dead letters, read in another task
// at parallelism 2 or not read at all, and are counted either way.
func TestTextFileDeadLettersEndToEnd(t *testing.T) {
	p := writeText(t, "ok\n"+strings.Repeat("x", 2000)+"\nafter\n"+strings.Repeat("y", 300)+"\r\nend")
	for _, read := range []bool{true, false} {
		env := NewEnv(WithParallelism(2))
		src := TextFile(env, p, MaxLineBytes(100))
		got := Collect(src)
		var dead *Collector[DeadLetter[string]]
		if read {
			dead = Collect(DeadLetters(src).Rebalance())
		}
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Items(), []string{"ok", "after", "end"}) {
			t.Fatalf("got %q", got.Items())
		}
		var n int64
		for _, m := range env.Metrics() {
			if strings.HasPrefix(m.Operator, "file ") {
				n += m.DeadLetters
			}
		}
		if n != 2 {
			t.Fatalf("metrics: %d dead letters, want 2: %+v", n, env.Metrics())
		}
		if read {
			d := dead.Items()
			if len(d) != 2 || !errors.Is(d[0].Err, ErrLineTooLong) || d[1].Value != strings.Repeat("y", 256) {
				t.Fatalf("dead letters %v", d)
			}
			t.Log(d[0].Err, "\n", d[1].Err)
		}
	}
}

// A socket's over-long line and its cut last line are its dead letters.
func TestSocketTextDeadLettersEndToEnd(t *testing.T) {
	l := listenLocal(t)
	go serveOnce(l, "a\n"+strings.Repeat("x", 500)+"\nb\npart")
	env := NewEnv()
	src := SocketText(env, l.Addr().String(), MaxRetries(0), MaxLineBytes(100))
	got := Collect(src)
	dead := Collect(DeadLetters(src))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Items(), []string{"a", "b"}) || len(dead.Items()) != 2 {
		t.Fatalf("got %q, dead %v", got.Items(), dead.Items())
	}
	for _, d := range dead.Items() {
		t.Log(d.Err)
	}
}
