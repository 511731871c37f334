// Command accesslogs is a small log-analytics job: it reads web-server
// access log lines (the Common or the Combined Log Format: Apache's common
// and combined, nginx's default combined), parses them, and in event time
// prints
//
//   - requests per status class (2xx, 3xx, 4xx, 5xx) every 10 s,
//   - clients with more than -threshold requests in the last minute,
//     every 10 s (a sliding window),
//   - each client's visit (a session closed by 30 s of silence): its
//     length, requests and bytes.
//
// Lines it cannot parse are reported on stderr with the reason and
// skipped; nothing is dropped silently. Event time follows the requests
// as they are read, line by line, whatever the batch a line was read in:
// the watermark is the latest request time so far minus 2 s. A request
// whose 10 s status window had closed by then (it is more than 2 s behind
// a later-stamped request before it in the log, and that one's time is in
// a later window) is late: it is reported on stderr ("late request ...")
// and not counted in the status rows. It still counts in those of its
// busy-client and visit windows that are open. At the end a summary goes
// to stderr: lines read, parsed, rejected and late. If no line could be
// parsed the exit status is 1; a bad command line exits with 2.
//
// Without -file it reads a generated log in the combined format
// (deterministic with -seed), so it runs anywhere:
//
//	go run ./examples/accesslogs
//	go run ./examples/accesslogs -file /var/log/nginx/access.log -follow
//
// With -checkpoint DIR it checkpoints every -checkpoint-every (default a
// second: the windows, the sessions, the file's identity and offset) and,
// run again on the same DIR after a kill, resumes from the last complete
// checkpoint: a
// followed log is read on from there, not from its start. Results on
// stdout are then at least once (what followed the checkpoint is printed
// again); with -out OUTDIR they go instead into part files there, each
// published when its checkpoint completes, exactly once. The summary
// counts the lines of the run that prints it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// clfTime is the layout of %t, for the generator.
const clfTime = "02/Jan/2006:15:04:05 -0700"

// generate returns line i of a synthetic access log in nginx's default
// "combined" format: a few busy clients (one of them a scraper, one on
// IPv6), arrivals a little out of order, now and then a connection that
// sent no request ("-", 400), a user agent with an escaped quote, and a
// garbled line.
func generate(seed uint64) func(i int64) string {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	paths := []string{"/", "/login", "/api/items?page=2", "/static/app.js", "/admin"}
	agents := []string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"curl/8.5.0",
		`Mozilla/5.0 (compatible; \x22Probe\x22/1.0)`, // nginx escapes a quote as \x22
	}
	return func(i int64) string {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		if rng.IntN(500) == 0 {
			return "garbled line " + strconv.FormatInt(i, 10)
		}
		client := fmt.Sprintf("10.0.0.%d", 1+rng.IntN(20))
		agent := agents[rng.IntN(len(agents))]
		switch rng.IntN(8) {
		case 0, 1:
			client, agent = "203.0.113.7", "python-requests/2.32.3" // the scraper
		case 2:
			client = "2001:db8::17"
		}
		t := start.Add(time.Duration(i)*100*time.Millisecond - time.Duration(rng.IntN(1500))*time.Millisecond)
		if rng.IntN(200) == 0 {
			return fmt.Sprintf(`%s - - [%s] "-" 400 0 "-" "-"`, client, t.Format(clfTime))
		}
		referer := "-"
		if rng.IntN(3) == 0 {
			referer = "https://shop.example.com/"
		}
		status := []int{200, 200, 200, 200, 304, 404, 500}[rng.IntN(7)]
		return fmt.Sprintf(`%s - - [%s] "GET %s HTTP/1.1" %d %d "%s" "%s"`, client, t.Format(clfTime),
			paths[rng.IntN(len(paths))], status, rng.IntN(50000), referer, agent)
	}
}

// config is what the flags ask for.
type config struct {
	file      string
	follow    bool
	n         int64
	seed      uint64
	threshold int64
	// checkpoint is the checkpoint directory ("": none), taken every
	// checkpointEvery (0: a second); out, when set, is the exactly-once
	// output directory.
	checkpoint      string
	checkpointEvery time.Duration
	out             string
	batchSize       int // tests: records per batch (0: the default); results do not depend on it
}

func main() {
	var cfg config
	fs := flag.NewFlagSet("accesslogs", flag.ExitOnError)
	fs.StringVar(&cfg.file, "file", "", "access log to read, Common or Combined Log Format (default: a generated one)")
	fs.BoolVar(&cfg.follow, "follow", false, "with -file, keep reading lines appended to it")
	fs.Int64Var(&cfg.n, "n", 20_000, "lines to generate without -file")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated log")
	fs.Int64Var(&cfg.threshold, "threshold", 150, "requests a minute that make a client worth reporting")
	fs.StringVar(&cfg.checkpoint, "checkpoint", "", "checkpoint into this directory, and resume from it when it holds a checkpoint")
	fs.DurationVar(&cfg.checkpointEvery, "checkpoint-every", time.Second, "time between two checkpoints (with -checkpoint)")
	fs.StringVar(&cfg.out, "out", "", "write results into part files in this directory (exactly once with -checkpoint) instead of to stdout")
	fs.Parse(os.Args[1:])
	usage := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "accesslogs: "+format+"\n", args...)
		fs.Usage()
		os.Exit(2)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0: // a log named without -file would leave the generated one to be read
		usage("unexpected argument %q: accesslogs takes flags only (a log to read is -file path)", fs.Arg(0))
	case set["checkpoint"] && cfg.checkpoint == "":
		usage(`invalid value "" for flag -checkpoint: want a directory`)
	case set["out"] && cfg.out == "":
		usage(`invalid value "" for flag -out: want a directory`)
	case set["checkpoint-every"] && !set["checkpoint"]:
		usage("-checkpoint-every needs -checkpoint")
	case cfg.checkpointEvery <= 0:
		usage("invalid value %v for flag -checkpoint-every: want a duration above 0", cfg.checkpointEvery)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil && !errors.Is(err, context.Canceled) {
		// run has written the summary.
		fmt.Fprintln(os.Stderr, "accesslogs:", err)
		os.Exit(1)
	}
}

// outOfOrderness is how far behind the latest request one may be and still
// be counted in its status window; statusWindow is the size of those.
const (
	outOfOrderness = 2 * time.Second
	statusWindow   = 10 * time.Second
)

// run builds and executes the job: results go to out, one line each;
// lines that could not be parsed and requests too late for their status
// windows are reported on errOut, with the reason, and at the end a
// summary line. It fails, after the summary, when the input had no line
// that could be parsed (unless the job failed otherwise).
func run(ctx context.Context, cfg config, out, errOut io.Writer) error {
	out, errOut = &lockedWriter{w: out}, &lockedWriter{w: errOut}
	var opts []stream.Option
	if cfg.batchSize > 0 {
		opts = append(opts, stream.WithBatchSize(cfg.batchSize))
	}
	if cfg.checkpoint != "" {
		every := cfg.checkpointEvery
		if every == 0 {
			every = time.Second
		}
		opts = append(opts, stream.WithCheckpointing(cfg.checkpoint, every))
	}
	env := stream.NewEnv(opts...)
	var results []*stream.Stream[string]
	result := func(s *stream.Stream[string]) { results = append(results, s) }
	var n counts
	skipped := func(d stream.DeadLetter[string]) string {
		n.rejected.Add(1)
		return fmt.Sprintf("skipped line %q: %v", d.Value, d.Err)
	}
	var lines *stream.Stream[string]
	if cfg.file != "" {
		lines = stream.TextFile(env, cfg.file, stream.Follow(cfg.follow))
		// Lines over the source's length limit.
		writeLines(stream.DeadLetters(lines), errOut, func(d stream.DeadLetter[string]) string {
			n.read.Add(1)
			return skipped(d)
		})
	} else {
		lines = stream.Generate(env, generate(cfg.seed), stream.Limit(cfg.n))
	}
	reqs, bad := stream.MapErr(lines, func(l string) (Request, error) {
		n.read.Add(1)
		return Parse(l)
	})
	writeLines(bad, errOut, skipped)
	reqs = reqs.WithWatermarks(func(r Request) time.Time { return r.Time }, func() stream.WatermarkGenerator[Request] {
		return &perRequest{bound: outOfOrderness, step: statusWindow}
	})
	// Requests at times event time cannot hold (outside 1677-09-21 to 2262-04-11).
	writeLines(stream.DeadLetters(reqs), errOut, func(d stream.DeadLetter[Request]) string {
		n.rejected.Add(1)
		return fmt.Sprintf("skipped request %s %s %s: %v", d.Value.Client, d.Value.Method, d.Value.Path, d.Err)
	})

	// Requests per status class, every 10 s. Late requests (more than 2 s
	// behind the latest: Apache's %t is when a request arrived, logged when
	// it ends, so a slow one lands behind faster ones) are reported rather
	// than dropped silently.
	byClass := stream.KeyBy(reqs, func(r Request) string { return statusClass(r.Status) })
	perClass := byClass.Window(window.Tumbling(statusWindow))
	result(stream.Map(stream.Count(perClass), func(r window.Result[string, int64]) string {
		return fmt.Sprintf("status   %s  %s  %6d requests", r.Window.EndTime().Format("15:04:05"), r.Key, r.Value)
	}))
	writeLines(perClass.Late(), errOut, func(r Request) string {
		n.late.Add(1)
		return fmt.Sprintf("late request %s %s %s at %s: its 10 s window had closed", r.Client, r.Method, r.Path, r.Time.Format(time.RFC3339))
	})

	// Busy clients: more than threshold requests in the last minute.
	byClient := stream.KeyBy(reqs, func(r Request) string { return r.Client })
	busy := stream.Count(byClient.Window(window.Sliding(time.Minute, 10*time.Second))).
		Filter(func(r window.Result[string, int64]) bool { return r.Value > cfg.threshold })
	result(stream.Map(busy, func(r window.Result[string, int64]) string {
		return fmt.Sprintf("busy     %s  %-15s %6d requests in the last minute", r.Window.EndTime().Format("15:04:05"), r.Key, r.Value)
	}))

	// Visits: sessions of a client closed by 30 s of silence.
	visits := stream.Aggregate(byClient.Window(window.Session(30*time.Second)), stream.AggregateFunc[Request, visit, visit]{
		Init:   func() visit { return visit{} },
		Add:    func(v visit, r Request) visit { return visit{v.requests + 1, v.bytes + r.Bytes} },
		Merge:  func(a, b visit) visit { return visit{a.requests + b.requests, a.bytes + b.bytes} },
		Result: func(v visit) visit { return v },
	})
	result(stream.Map(visits, func(r window.Result[string, visit]) string {
		return fmt.Sprintf("visit    %s  %-15s %6d requests %9d bytes over %v", r.Window.StartTime().Format("15:04:05"), r.Key,
			r.Value.requests, r.Value.bytes, r.Window.EndTime().Sub(r.Window.StartTime())-30*time.Second)
	}))
	if cfg.out != "" {
		filesink.Lines(results[0].Merge(results[1:]...), cfg.out, func(s string) string { return s })
	} else {
		for _, r := range results {
			writeLines(r, out, func(s string) string { return s })
		}
	}
	err := env.Execute(ctx)
	read, rejected := n.read.Load(), n.rejected.Load()
	fmt.Fprintf(errOut, "accesslogs: %d lines read, %d parsed, %d rejected, %d late\n", read, read-rejected, rejected, n.late.Load())
	if read == rejected && (err == nil || errors.Is(err, context.Canceled)) {
		if read == 0 {
			return errors.New("no line could be parsed: the input had no lines")
		}
		return fmt.Errorf("no line could be parsed: all %d were rejected (want the Common or Combined Log Format of an access log)", read)
	}
	return err
}

// counts are the job's lines for the summary: read (parsed or rejected),
// rejected, and late (parsed, but too late for their status windows).
// Sinks and user functions run on the job's goroutines, hence the atomics.
type counts struct{ read, rejected, late atomic.Int64 }

// perRequest is the job's watermark generator: bounded out-of-orderness,
// as stream.BoundedOutOfOrderness, but with watermarks as requests come
// instead of after each batch (a file read in one batch would otherwise
// get its first watermark after its last line, and no request would ever
// be late). It emits one when the watermark reaches a new multiple of
// step, the status windows' size: their ends, and the busy-client windows'
// ends, are such multiples, so these windows close exactly as with a
// watermark per request, at one watermark per 10 s of log instead of one
// per second (each watermark splits a batch). Visits may close up to 10 s
// of event time later than they would with a watermark per request.
type perRequest struct {
	bound, step time.Duration
	mark        time.Time // the last multiple of step reached
	seen        bool
}

func (g *perRequest) OnEvent(_ Request, ts time.Time, out stream.WatermarkOutput) {
	// Truncate counts from year 1, a whole number of steps (of 10 s)
	// before 1970, where windows are aligned.
	if m := ts.Add(-g.bound).Truncate(g.step); !g.seen || m.After(g.mark) {
		g.mark, g.seen = m, true
		out.EmitWatermark(ts.Add(-g.bound - time.Nanosecond)) // closes the windows that end at or before m
	}
}

func (g *perRequest) OnPeriodicEmit(stream.WatermarkOutput) {}

// MarshalBinary keeps, in checkpoints, the last mark reached: where the
// next watermark comes depends on it.
func (g *perRequest) MarshalBinary() ([]byte, error) {
	if !g.seen {
		return nil, nil
	}
	return g.mark.MarshalBinary()
}

// UnmarshalBinary restores what MarshalBinary kept.
func (g *perRequest) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		g.seen = false
		return nil
	}
	g.seen = true
	return g.mark.UnmarshalBinary(b)
}

// writeLines writes format(v) and a newline to w for each element, a line a
// Write: with w a lockedWriter, the lines of the several sinks that share w
// never interleave. (Stream.WriteTo buffers a batch, and a large batch goes
// out in several writes, which another sink's could split.)
func writeLines[T any](s *stream.Stream[T], w io.Writer, format func(T) string) {
	s.ForEach(func(v T) error {
		_, err := io.WriteString(w, format(v)+"\n")
		return err
	})
}

// lockedWriter serialises the writes of the sinks that share a writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// visit is a client's session: its requests and bytes.
type visit struct {
	requests int64
	bytes    int64
}

// statusClass is "2xx" for 200 to 299, and so on.
func statusClass(status int) string {
	return [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}[status/100-1]
}
