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
// With -checkpoint DIR the job checkpoints its state (every window, the
// sorter of the output, the generators' positions) into DIR every
// -checkpoint-every; run the same command again after it was killed
// (Ctrl-C, kill -9, a crash) and it resumes from the last complete
// checkpoint. DIR also keeps the seed and start time of the first run, so
// the resumed run continues the same prices. Results printed to stdout
// are then at least once: what followed the checkpoint is printed again.
// With -out OUTDIR as well, results go instead into part files in OUTDIR
// (see package connectors/filesink), each published only when its
// checkpoint completes: exactly once, the same lines as a run that was
// never interrupted:
//
//	go run ./examples/stockprices -seed 7 -speedup 600 -duration 1h -checkpoint /tmp/ck -out /tmp/out
//	# kill it part way, run it again, until it ends; then
//	cat /tmp/out/part-*   # the lines of an uninterrupted run, each once
//
// A socket's lines carry no time of their own (they are stamped as they
// arrive), so a replay could not repeat them: -checkpoint cannot be
// combined with -socket.
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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/braidstream/braid/internal/cmdflag"
	"github.com/braidstream/braid/stream"
)

type config struct {
	seed     uint64
	seeded   bool
	speedup  float64
	duration time.Duration
	socket   string
	json     bool
	// checkpoint is the checkpoint directory ("": none), taken every
	// checkpointEvery; out, when set, is the exactly-once output directory.
	checkpoint      string
	checkpointEvery time.Duration
	out             string
	unpaced         bool // tests: as fast as possible
	// socketRetries, when set, bounds the socket's (re)connection attempts
	// (tests: 0 ends the socket stream when the server closes).
	socketRetries *int
	start         time.Time
}

func main() { cmdflag.Main("stockprices", parseFlags, run) }

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
	fs.StringVar(&cfg.checkpoint, "checkpoint", "", "checkpoint into this directory, and resume from it when it holds a checkpoint; not with -socket")
	fs.DurationVar(&cfg.checkpointEvery, "checkpoint-every", time.Second, "time between two checkpoints (with -checkpoint)")
	fs.StringVar(&cfg.out, "out", "", "write results into part files in this directory, exactly once with -checkpoint, instead of to stdout")
	if err := fs.Parse(args); err != nil {
		return cfg, err // fs has reported it
	}
	set := cmdflag.Set(fs)
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
	case set["socket"] && set["checkpoint"]:
		err = errors.New("-checkpoint cannot be combined with -socket: socket lines are stamped with the time they arrive, so a replay after a restore would not repeat them")
	}
	if err == nil {
		err = cmdflag.Checkpoint(set, cfg.checkpoint, cfg.checkpointEvery, cfg.out)
	}
	if err == nil && set["socket"] {
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
	var opts []stream.Option
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
	if cfg.checkpoint != "" {
		if err := keepInputs(&cfg); err != nil {
			return err
		}
		opts = append(opts, stream.WithCheckpointing(cfg.checkpoint, cfg.checkpointEvery))
	}
	env := stream.NewEnv(opts...)
	p := pacer{clock: clock, start: cfg.start, realStart: clock.Now(), speedup: cfg.speedup, unpaced: cfg.unpaced}
	var end time.Time
	if cfg.duration > 0 {
		end = cfg.start.Add(cfg.duration)
	}
	if !cfg.json && cfg.out == "" {
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

// inputsFile, in the checkpoint directory, holds what the generated inputs
// of the job checkpointed there derive from.
const inputsFile = "stockprices-inputs.json"

type inputs struct {
	Seed  uint64
	Start time.Time
}

// keepInputs makes a job with checkpoints generate the same inputs on
// every run: the first run records cfg's seed and start time in the
// checkpoint directory, later runs take them from there. A -seed that
// differs from the recorded one is an error: the checkpoint holds the
// state of other prices.
func keepInputs(cfg *config) error {
	path := filepath.Join(cfg.checkpoint, inputsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(cfg.checkpoint, 0o755); err != nil {
			return err
		}
		b, _ = json.Marshal(inputs{cfg.seed, cfg.start})
		return cmdflag.WriteFileSynced(path, b)
	}
	if err != nil {
		return err
	}
	var in inputs
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("%s: %v (remove the directory to start afresh)", path, err)
	}
	if cfg.seeded && in.Seed != cfg.seed {
		return fmt.Errorf("-seed %d, but the checkpoints in %s are of a job with seed %d (remove the directory to start afresh)", cfg.seed, cfg.checkpoint, in.Seed)
	}
	cfg.seed, cfg.start = in.Seed, in.Start
	return nil
}
