package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/braidstream/braid/stream"
)

// Map turns each element into another, here raw log lines into records.
// The element type changes, so Map is a function, not a method.
func ExampleMap() {
	type entry struct {
		Level, Msg string
	}
	lines := []string{
		"INFO user alice logged in",
		"WARN disk /var 91% full",
		"INFO user bob logged in",
	}

	env := stream.NewEnv()
	entries := stream.Map(stream.FromSlice(env, lines), func(line string) entry {
		level, msg, _ := strings.Cut(line, " ")
		return entry{Level: level, Msg: msg}
	})
	out := stream.Collect(entries)
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	// One source, parallelism 1: the elements keep their order.
	for _, e := range out.Items() {
		fmt.Printf("%-4s %s\n", e.Level, e.Msg)
	}
	// Output:
	// INFO user alice logged in
	// WARN disk /var 91% full
	// INFO user bob logged in
}

// MapErr is Map for functions that can fail, such as parsers: an element
// whose function returns an error does not stop the job but goes to the
// dead letters, with its error. Here trades arrive as "SYMBOL,PRICE" text
// and two of them are malformed.
func ExampleMapErr() {
	type trade struct {
		Symbol string
		Price  float64
	}
	parse := func(line string) (trade, error) {
		sym, price, ok := strings.Cut(line, ",")
		if !ok {
			return trade{}, errors.New("no comma")
		}
		p, err := strconv.ParseFloat(price, 64)
		if err != nil {
			return trade{}, fmt.Errorf("price %q is not a number", price)
		}
		return trade{Symbol: sym, Price: p}, nil
	}

	env := stream.NewEnv()
	lines := stream.FromSlice(env, []string{"ACME,101.5", "ACME 102", "INIT,7.25", "INIT,n/a"})
	trades, dead := stream.MapErr(lines, parse)
	good, bad := stream.Collect(trades), stream.Collect(dead)
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range good.Items() {
		fmt.Printf("trade %s at %.2f\n", t.Symbol, t.Price)
	}
	// Each dead letter holds the element as it came in and the error.
	for _, d := range bad.Items() {
		fmt.Printf("rejected %q: %v\n", d.Value, d.Err)
	}
	// Output:
	// trade ACME at 101.50
	// trade INIT at 7.25
	// rejected "ACME 102": no comma
	// rejected "INIT,n/a": price "n/a" is not a number
}

// DeadLetters reads what a source or WithTimestamps set aside instead of
// failing the job. Here one login event has no time (the zero time.Time,
// year 1), which event time, int64 nanoseconds since 1970, cannot hold:
// rather than land in a wrong window, it becomes a dead letter, and the
// other logins are counted as usual.
func ExampleDeadLetters() {
	type login struct {
		User string
		At   time.Time
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	logins := []login{
		{"alice", t0},
		{"bob", time.Time{}}, // a client that sent no time
		{"carol", t0.Add(time.Minute)},
	}

	env := stream.NewEnv()
	timed := stream.FromSlice(env, logins).
		WithTimestamps(func(l login) time.Time { return l.At }, stream.MonotonousTimestamps())
	// The dead letters of the stream WithTimestamps returns.
	dead := stream.Collect(stream.DeadLetters(timed))
	users := stream.Collect(stream.Map(timed, func(l login) string { return l.User }))
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logins:", users.Items())
	for _, d := range dead.Items() {
		fmt.Println("dead letter:", d.Value.User, errors.Is(d.Err, stream.ErrTimestampRange))
	}
	// Output:
	// logins: [alice carol]
	// dead letter: bob true
}
