// Command stockprices is the reference job of Braid: Flink's 2015
// stock-price streaming example, in Go.
//
// Four generated random-walk price streams (and, with -socket, lines
// "SYMBOL,price" from a TCP server, e.g. nc -lk 9999) are analysed in
// event time; it prints, as windows fire, one line per result:
//
//	LOW     every 5 s over the last 10 s, the lowest price of all symbols
//	MAX     every 5 s over the last 10 s, the highest price per symbol
//	MEAN    every 5 s over the last 10 s, the mean price per symbol
//	WARN    a symbol's price moved more than 5% since its last warning
//	WARNS   warnings per symbol in 30 s
//	TWEETS  mentions per symbol in 30 s, in a generated tweet stream
//	JOIN    warnings and mentions of a symbol in the same 30 s
//	CORR    over each 30 s, the Pearson correlation of (warnings, mentions)
//
// Run it:
//
//	go run ./examples/stockprices                             # real time, until Ctrl-C
//	go run ./examples/stockprices -seed 7 -speedup 1200 -duration 1h   # an hour in 3 s, the same lines every run
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/braidstream/braid/operators"
	"github.com/braidstream/braid/stream"
)

type config struct {
	seed     uint64
	seeded   bool
	speedup  float64
	duration time.Duration
	socket   string
	json     bool
	unpaced  bool // tests: as fast as possible
	// socketRetries, when set, bounds the socket's (re)connection attempts
	// (tests: 0 ends the socket stream when the server closes).
	socketRetries *int
	start         time.Time
}

func main() {
	var cfg config
	flag.Uint64Var(&cfg.seed, "seed", 0, "seed of the generated inputs (and a fixed start time): the same lines on every run")
	flag.Float64Var(&cfg.speedup, "speedup", 1, "run event time this many times faster than real time")
	flag.DurationVar(&cfg.duration, "duration", 0, "stop after this much event time (0: run until interrupted)")
	flag.StringVar(&cfg.socket, "socket", "", "also read SYMBOL,price lines from this TCP server (host:port)")
	flag.BoolVar(&cfg.json, "json", false, "print one JSON object per result")
	flag.Parse()
	flag.Visit(func(f *flag.Flag) { cfg.seeded = cfg.seeded || f.Name == "seed" })
	if cfg.speedup <= 0 {
		fmt.Fprintln(os.Stderr, "stockprices: -speedup must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "stockprices:", err)
		os.Exit(1)
	}
}

// run builds and executes the job, writing results to out and reports of
// bad input to errOut.
func run(ctx context.Context, cfg config, out, errOut io.Writer) error {
	env := stream.NewEnv()
	clock := operators.SystemClock{}
	if cfg.start.IsZero() {
		cfg.start = time.Now().UTC().Truncate(time.Second)
		if cfg.seeded {
			cfg.start = time.Date(2015, 2, 9, 9, 0, 0, 0, time.UTC) // the day of Flink's post
		}
	}
	if !cfg.seeded {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	p := pacer{clock: clock, start: cfg.start, realStart: clock.Now(), speedup: cfg.speedup, unpaced: cfg.unpaced}
	var end time.Time
	if cfg.duration > 0 {
		end = cfg.start.Add(cfg.duration)
	}
	if !cfg.json {
		fmt.Fprint(out, legend)
	}
	buildJob(env, cfg, p, end, out, errOut)
	return env.Execute(ctx)
}

const legend = `# LOW     every 5 s over the last 10 s, the lowest price of all symbols
# MAX     every 5 s over the last 10 s, the highest price per symbol
# MEAN    every 5 s over the last 10 s, the mean price per symbol
# WARN    a symbol's price moved more than 5% since its last warning
# WARNS   warnings per symbol in 30 s
# TWEETS  mentions per symbol in 30 s
# JOIN    warnings and mentions of a symbol in the same 30 s
# CORR    over each 30 s, the Pearson correlation of (warnings, mentions) per symbol
`
