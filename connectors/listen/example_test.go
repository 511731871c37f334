package listen_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/braidstream/braid/connectors/listen"
	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/stream"
)

// A line server on a port of its choosing; a client sends two lines, as
// `tail -F app.log | nc host port` would, and one it never finishes.
func Example() {
	env := stream.NewEnv()
	bound := make(chan net.Addr, 1)
	stats := new(listen.Stats)
	src := listen.TCPLines(env, "127.0.0.1:0",
		listen.MaxLineBytes(4096),
		listen.WithStats(stats),
		listen.Bound(func(a net.Addr) { bound <- a }),
		listen.Logger(slog.New(slog.DiscardHandler)))
	lines := make(chan logs.Line)
	src.ToChannel(lines)
	dead := make(chan stream.DeadLetter[logs.Line], 1)
	stream.DeadLetters(src).ToChannel(dead)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx) }()
	defer func() { cancel(); <-done }()

	c, err := net.Dial("tcp", (<-bound).String())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprint(c, "GET /a 200\nGET /b 500\nGET /c")
	c.Close()
	for range 2 {
		l := <-lines
		fmt.Println(l.Number, l.Text)
	}
	d := <-dead
	fmt.Printf("dead letter: line %d %q, cut short: %v\n", d.Value.Number, d.Value.Text, errors.Is(d.Err, stream.ErrLineCut))
	fmt.Println(stats.Lines.Load(), "lines,", stats.Cut.Load(), "cut")
	// Output:
	// 1 GET /a 200
	// 2 GET /b 500
	// dead letter: line 3 "GET /c", cut short: true
	// 2 lines, 1 cut
}
