package textsrc

import (
	"context"
	"net"
	"testing"
	"time"
)

// With ReturnIdle, a followed file and a connected socket that have
// nothing to deliver return (0, nil) instead of waiting on, so that a
// job's checkpoint barrier gets its turn; what comes later is read as
// usual, a line begun before the idle return included.
func TestReturnIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]string, 4)

	path := writeFile(t, "one\n")
	f, err := OpenFile(path, FileOptions{Follow: true, PollInterval: time.Millisecond, ReturnIdle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := f.Read(ctx, buf); n != 1 || err != nil {
		t.Fatalf("file: %d %v", n, err)
	}
	if n, err := f.Read(ctx, buf); n != 0 || err != nil {
		t.Fatalf("idle file: %d %v, want 0 and no error", n, err)
	}

	l := listen(t)
	more := make(chan struct{})
	wait := serve(t, l, func(c net.Conn) {
		c.Write([]byte("a\npart"))
		<-more
		c.Write([]byte("ial\n"))
	})
	opts := fastRetries(0)
	opts.ReturnIdle = true
	s := NewSocket(l.Addr().String(), opts)
	defer s.Close()
	if n, err := s.Read(ctx, buf); n != 1 || err != nil || buf[0] != "a" {
		t.Fatalf("socket: %q %v", buf[:n], err)
	}
	start := time.Now()
	if n, err := s.Read(ctx, buf); n != 0 || err != nil {
		t.Fatalf("idle socket: %d %v, want 0 and no error", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("idle socket returned after %v", d)
	}
	close(more)
	var got []string
	for len(got) == 0 {
		n, err := s.Read(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if got[0] != "partial" {
		t.Fatalf("after the idle return: %q, want the line begun before it", got)
	}
	wait()
}
