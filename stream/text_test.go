package stream_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type failedLogin struct {
	At   time.Time
	From string
}

var failedRe = regexp.MustCompile(`^(\w{3} +\d+ \d\d:\d\d:\d\d) \S+ sshd\[\d+\]: Failed password for (?:invalid user )?\S+ from (\S+) port`)

func parseFailed(line string) (failedLogin, bool) {
	m := failedRe.FindStringSubmatch(line)
	if m == nil {
		return failedLogin{}, false
	}
	t, err := time.Parse("2006 Jan _2 15:04:05", "2026 "+m[1]) // syslog lines have no year
	if err != nil {
		return failedLogin{}, false
	}
	return failedLogin{At: t, From: m[2]}, true
}

// A job over the real sshd log of a server under brute-force attack
// (Loghub OpenSSH_2k): failed logins per source address in 5-minute
// event-time windows, checked against a count made directly from the file.
func TestTextFileFailedLoginsOnRealLog(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "loghub", "OpenSSH_2k.log")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("reference data not here (%v): it lives beside the project, in ../shared/data", err)
	}
	want := map[string]int64{}
	for _, line := range strings.Split(string(raw), "\n") {
		if f, ok := parseFailed(line); ok {
			w := f.At.Truncate(5 * time.Minute)
			want[fmt.Sprintf("%s %s", f.From, w.Format("15:04"))]++
		}
	}
	if len(want) < 5 {
		t.Fatalf("the reference count found only %d windows: the parser is wrong", len(want))
	}

	env := stream.NewEnv()
	failed := stream.FlatMap(stream.TextFile(env, path), func(line string, emit func(failedLogin)) {
		if f, ok := parseFailed(line); ok {
			emit(f)
		}
	}).WithTimestamps(func(f failedLogin) time.Time { return f.At }, stream.BoundedOutOfOrderness(time.Minute))
	counts := stream.Collect(stream.Count(stream.KeyBy(failed, func(f failedLogin) string { return f.From }).
		Window(window.Tumbling(5 * time.Minute))))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range counts.Items() {
		got[fmt.Sprintf("%s %s", r.Key, r.Window.StartTime().Format("15:04"))] += r.Value
	}
	if len(got) != len(want) {
		t.Fatalf("%d windows, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d failed logins, want %d", k, got[k], v)
		}
	}
}

// SocketText is the client of a line server, as Flink's socketTextStream.
func TestSocketTextJob(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		w := bufio.NewWriter(c)
		for i := range 100 {
			fmt.Fprintf(w, "SPX,%d\n", 1000+i)
		}
		w.Flush()
		c.Close()
	}()
	env := stream.NewEnv()
	lines := stream.SocketText(env, l.Addr().String(), stream.MaxRetries(0))
	prices := stream.Collect(stream.Map(lines, func(s string) string { _, p, _ := strings.Cut(s, ","); return p }))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := prices.Items()
	if len(got) != 100 || got[0] != "1000" || got[99] != "1099" {
		t.Fatalf("got %d lines: %v ... ", len(got), got[:min(3, len(got))])
	}
}

func TestSocketTextNeverConnects(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	env := stream.NewEnv()
	stream.SocketText(env, addr, stream.MaxRetries(2)).Print()
	err := env.Execute(context.Background())
	var oe *stream.OperatorError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "could not connect after 2 attempts") || oe.Operator != "socket "+addr {
		t.Fatalf("Execute = %v", err)
	}
}

func TestTextFileFollowUntilCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.log")
	os.WriteFile(p, []byte("a\nb\n"), 0o644)
	env := stream.NewEnv()
	out := make(chan string, 10)
	stream.TextFile(env, p, stream.Follow(true), stream.PollInterval(5*time.Millisecond)).ToChannel(out)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(ctx) }()
	var got []string
	for len(got) < 2 {
		got = append(got, <-out)
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("c\n")
	f.Close()
	got = append(got, <-out)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute = %v", err)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("got %q", got)
	}
}
