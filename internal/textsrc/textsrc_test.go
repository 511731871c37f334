package textsrc

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
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

func TestFileErrorsNameFileAndLine(t *testing.T) {
	_, err := OpenFile(filepath.Join(t.TempDir(), "missing.log"), FileOptions{})
	if err == nil || !strings.Contains(err.Error(), "missing.log") {
		t.Fatalf("open error %v does not name the file", err)
	}
	p := writeFile(t, "ok\n"+strings.Repeat("y", 50)+"\n")
	r, _ := OpenFile(p, FileOptions{MaxLineBytes: 10})
	defer r.Close()
	_, err = readAll(t, r, context.Background(), 10)
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v does not name the file and line 2", err)
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

func TestSocketLinesAndReconnect(t *testing.T) {
	l := listen(t)
	served := make(chan struct{})
	go func() {
		defer close(served)
		for _, payload := range []string{"one\r\ntwo\nthr", "four\n"} {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(payload))
			c.Close() // the reader must reconnect for the second payload
		}
	}()
	r := NewSocket(l.Addr().String(), SocketOptions{MaxRetries: 3, MaxRetriesSet: true, InitialBackoff: time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	buf := make([]string, 8)
	for len(got) < 4 {
		n, err := r.Read(ctx, buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
	}
	if want := []string{"one", "two", "thr", "four"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	<-served
}

func TestSocketNeverConnects(t *testing.T) {
	l := listen(t)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := NewSocket(addr, SocketOptions{MaxRetries: 3, MaxRetriesSet: true, InitialBackoff: time.Millisecond})
	defer r.Close()
	_, err := r.Read(context.Background(), make([]string, 1))
	if err == nil || !strings.Contains(err.Error(), "could not connect after 3 attempts") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %v", err)
	}
}

func TestSocketCancelWhileWaiting(t *testing.T) {
	l := listen(t)
	done := make(chan struct{})
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Write([]byte("first\npartial"))
			<-done // keep the connection open, silent
			c.Close()
		}
	}()
	defer close(done)
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
