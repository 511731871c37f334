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
//	go run ./examples/stockprices -socket localhost:9999      # with nc -lk 9999: type SPX,1234.5
//
// -duration bounds the generated prices' event time: the run ends when they
// pass it. A socket has no such end, so -duration and -socket cannot be
// combined (exit status 2); with -socket the job runs until interrupted, or
// fails (exit status 1) once the server is gone for good: it cannot
// connect, or reconnect after losing the connection, within about 20 s of
// retries. The -socket address must be host:port (":9999" is this host);
// one without a port is refused at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
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
	fs.DurationVar(&cfg.duration, "duration", 0, "stop after this much event time of the generated prices (0: run until interrupted); not with -socket")
	fs.StringVar(&cfg.socket, "socket", "", "also read SYMBOL,price lines from this TCP server (host:port) until interrupted; prices are numbers above 0; not with -duration")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per result")
	if err := fs.Parse(args); err != nil {
		return cfg, err // fs has reported it
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg.seeded = set["seed"]
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q: stockprices takes flags only", fs.Arg(0))
	case math.IsNaN(cfg.speedup) || math.IsInf(cfg.speedup, 0) || cfg.speedup <= 0:
		err = fmt.Errorf("invalid value %v for flag -speedup: want a finite number above 0", cfg.speedup)
	case cfg.duration < 0:
		err = fmt.Errorf("invalid value %v for flag -duration: must not be negative (0 runs until interrupted)", cfg.duration)
	case set["socket"] && set["duration"]:
		err = errors.New("-duration cannot be combined with -socket: it bounds only the generated prices, and the socket's lines would go on; " +
			"with -socket the job runs until interrupted")
	case set["socket"]:
		err = checkAddr(cfg.socket)
	}
	if err != nil {
		fmt.Fprintln(errOut, "stockprices:", err)
		fs.Usage()
	}
	return cfg, err
}

// checkAddr says what is wrong with a -socket address, if anything: it must
// be host:port, the port a number from 1 to 65535 or a service name.
// (SocketText would retry a malformed address for 20 s before failing.)
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil && port == "" {
		err = errors.New("missing port")
	}
	if err == nil {
		if _, lerr := net.LookupPort("tcp", port); lerr != nil {
			err = fmt.Errorf("bad port %q", port)
		}
	}
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err) // without SplitHostPort's repetition of the address
		}
		return fmt.Errorf("invalid value %q for flag -socket: %v: want host:port, e.g. localhost:9999", addr, err)
	}
	return nil
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
