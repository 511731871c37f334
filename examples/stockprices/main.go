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
//	WARN    a symbol's price moved more than 5% from its price at its last warning: when, from, to, change
//	END     at the end of a bounded run, each symbol's last price and its move since its last warning (not a warning)
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
	"math"
	"os"
	"os/signal"
	"time"

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
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2) // parseFlags said why
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "stockprices:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into a config. A bad flag or value,
// or any argument that is not a flag, is an error, reported on errOut with
// the usage (flag.ErrHelp for -h).
func parseFlags(args []string, errOut io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("stockprices", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Uint64Var(&cfg.seed, "seed", 0, "seed of the generated inputs (and a fixed start time): the same lines on every run")
	fs.Float64Var(&cfg.speedup, "speedup", 1, "run event time this many times faster than real time (a finite number above 0)")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop after this much event time (0: run until interrupted)")
	fs.StringVar(&cfg.socket, "socket", "", "also read SYMBOL,price lines from this TCP server (host:port); prices are numbers above 0")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per result")
	if err := fs.Parse(args); err != nil {
		return cfg, err // fs has reported it
	}
	fs.Visit(func(f *flag.Flag) { cfg.seeded = cfg.seeded || f.Name == "seed" })
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q: stockprices takes flags only", fs.Arg(0))
	case math.IsNaN(cfg.speedup) || math.IsInf(cfg.speedup, 0) || cfg.speedup <= 0:
		err = fmt.Errorf("invalid value %v for flag -speedup: want a finite number above 0", cfg.speedup)
	case cfg.duration < 0:
		err = fmt.Errorf("invalid value %v for flag -duration: must not be negative (0 runs until interrupted)", cfg.duration)
	}
	if err != nil {
		fmt.Fprintln(errOut, "stockprices:", err)
		fs.Usage()
	}
	return cfg, err
}

// run builds and executes the job, writing results to out and reports of
// bad input to errOut.
func run(ctx context.Context, cfg config, out, errOut io.Writer) error {
	env := stream.NewEnv()
	clock := stream.SystemClock{}
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
# WARN    a symbol's price moved more than 5% from its price at its last warning (1000 before the first): when, from, to, change
# END     at the end of a bounded run, each symbol's last price and its move since its last warning (not a warning)
# WARNS   warnings per symbol in 30 s
# TWEETS  mentions per symbol in 30 s
# JOIN    warnings and mentions of a symbol in the same 30 s
# CORR    over each 30 s, the Pearson correlation of (warnings, mentions) per symbol
`
