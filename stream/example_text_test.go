package stream_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// TextFile reads a file line by line; without Follow the stream ends at
// the end of the file, so the job ends too and every window still open
// fires. Here an application log is parsed into timed entries and counted
// per level and minute; the line that does not parse goes to the dead
// letters.
func ExampleTextFile() {
	dir, err := os.MkdirTemp("", "braid-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")
	log := "2026-03-01T09:00:01Z INFO started\n" +
		"2026-03-01T09:00:17Z WARN cache miss rate 40%\r\n" + // "\r\n" ends a line too
		"2026-03-01T09:00:42Z ERROR db timeout\n" +
		"    at db.Query (retry 3)\n" +
		"2026-03-01T09:01:05Z ERROR db timeout\n" +
		"2026-03-01T09:01:09Z INFO recovered" // the last line needs no "\n"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	type entry struct {
		At    time.Time
		Level string
	}
	parse := func(line string) (entry, error) {
		stamp, rest, _ := strings.Cut(line, " ")
		at, err := time.Parse(time.RFC3339, stamp)
		if err != nil {
			return entry{}, fmt.Errorf("no timestamp")
		}
		level, _, _ := strings.Cut(rest, " ")
		return entry{At: at, Level: level}, nil
	}

	env := stream.NewEnv()
	lines := stream.TextFile(env, path)
	entries, bad := stream.MapErr(lines, parse)
	timed := entries.WithTimestamps(func(e entry) time.Time { return e.At }, stream.MonotonousTimestamps())
	perLevel := stream.Count(stream.KeyBy(timed, func(e entry) string { return e.Level }).Window(window.Tumbling(time.Minute)))
	all, counts, rejected := stream.Collect(lines), stream.Collect(perLevel), stream.Collect(bad)
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range all.Items() {
		fmt.Printf("line %q\n", l)
	}
	for _, d := range rejected.Items() {
		fmt.Printf("skipped %q: %v\n", d.Value, d.Err)
	}
	rs := counts.Items()
	slices.SortFunc(rs, func(a, b window.Result[string, int64]) int {
		return cmp.Or(cmp.Compare(a.Window.Start, b.Window.Start), cmp.Compare(a.Key, b.Key))
	})
	for _, r := range rs {
		fmt.Printf("%s %-5s %d\n", r.Window.StartTime().Format("15:04"), r.Key, r.Value)
	}
	// Output:
	// line "2026-03-01T09:00:01Z INFO started"
	// line "2026-03-01T09:00:17Z WARN cache miss rate 40%"
	// line "2026-03-01T09:00:42Z ERROR db timeout"
	// line "    at db.Query (retry 3)"
	// line "2026-03-01T09:01:05Z ERROR db timeout"
	// line "2026-03-01T09:01:09Z INFO recovered"
	// skipped "    at db.Query (retry 3)": no timestamp
	// 09:00 ERROR 1
	// 09:00 INFO  1
	// 09:00 WARN  1
	// 09:01 ERROR 1
	// 09:01 INFO  1
}

// SocketText reads lines from a TCP server, as Flink's socketTextStream:
// the job is the client. With MaxRetries(0) it makes one connection and
// the stream ends when the server closes it, which is how to read a
// bounded feed (nc -l 9999 < prices.txt). The server here is a listener
// of the example's own.
func ExampleSocketText() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		_, err = conn.Write([]byte("ACME,101.5\nINIT,7.25\nACME,102\n"))
		served <- cmp.Or(err, conn.Close())
	}()

	// The source logs its connections (slog, at info): not here.
	env := stream.NewEnv(stream.WithLogger(slog.New(slog.DiscardHandler)))
	lines := stream.SocketText(env, ln.Addr().String(), stream.MaxRetries(0))
	out := stream.Collect(lines)
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	if err := <-served; err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range out.Items() {
		fmt.Println(l)
	}
	// Output:
	// ACME,101.5
	// INIT,7.25
	// ACME,102
}
