// Command accesslogs is a log-analytics job over web servers' access logs
// (nginx's and Apache's Common and Combined Log Formats, and Apache's
// vhost_combined, which starts each line with the virtual host). It reads
// each FILE, or without one a built-in generator of realistic traffic,
// and in event time prints
//
//	HOST       per host and minute: requests, 5xx responses and their ratio
//	PATH       per host, path and minute: the same
//	TOP        the 10 paths with the most requests in the last 5 minutes, every minute
//	ALERT      a host's 5xx ratio in a minute rose by more than -alert-jump from where it was
//	RECOVERED  ... or fell back by more than -alert-jump
//	CLIENTS    distinct client addresses per host, and of all hosts ("*"), per 10 minutes
//
// Run it:
//
//	go run ./examples/accesslogs                                    # the generator: 60000 lines, 20 minutes of 4 hosts
//	go run ./examples/accesslogs -n 5000 -seed 7 -json
//	go run ./examples/accesslogs '/var/log/nginx/access.log*'       # access.log.2.gz, access.log.1, access.log
//	go run ./examples/accesslogs -follow /var/log/apache2/other_vhosts_access.log
//	go run ./examples/accesslogs -parquet results/ access.log       # results/hosts/, results/paths/, ...
//
// Each FILE is a glob (filepath.Match syntax, quoted for the shell): the
// files it matches are one log, read oldest first as logrotate numbers
// them, compressed generations (.gz) too, with connectors/tail; with
// -follow the newest is followed as tail -F follows it, through
// rotations, until the job is interrupted (Ctrl-C). A bounded read shows
// its progress on stderr when stderr is a terminal (-progress).
//
// Lines are parsed by connectors/logs: a line in the Combined or Common
// format (logs.ParseAccess) has no host, shown as "-"; a line of
// vhost_combined (logs.ParseAccessVHost) has one. Each input may mix
// both: a line that does not parse in the format of the line before it is
// tried in the other.
//
// The generator writes vhost_combined lines of four virtual hosts, a few
// thousand clients (IPv4 and IPv6), paths and clients of skewed
// popularity (Zipf), referers and user agents, a request now and then
// logged seconds late, a garbled line now and then, and in most 10-minute
// stretches a burst of 5xx responses on one host for a few minutes. It is
// deterministic: the same -seed and -n give the same lines.
//
// # Time
//
// Results are in event time, each request's %t. Lines may be out of time
// order by up to -bound (Apache and nginx log a request when it ends,
// stamped with when it began): event time is, per input, the latest
// request time so far minus -bound, moved on once a minute of it. A
// request whose minute has closed by then is late: it is written to the
// dead letters (below) as late and not counted in HOST, PATH or the
// alerts; it still counts in the TOP and CLIENTS windows still open.
// Since the inputs are merged, event time is that of the input furthest
// behind; with -follow, one quiet for -idle no longer holds the others
// back. Times are printed in UTC.
//
// An alert compares each host's minutes (those with at least
// -alert-min-requests requests) with the ratio of the last alert, 0 at
// first: a delta window (window.Delta) per host fires when a minute's
// ratio is more than -alert-jump from that point, and the minute becomes
// the new point.
//
// # Output
//
// Text on stdout by default; -json writes one JSON object a line, its
// "kind" the section in lower case; -parquet DIR writes Parquet files
// instead, one file set per kind in DIR/hosts, DIR/paths, DIR/top,
// DIR/alerts (ALERT and RECOVERED, told apart by rising) and DIR/clients
// (connectors/arrow). Text and JSON lines come in event time, by the end
// of their windows, and those of one instant in the order of the table
// above (TOP by rank, the others by their text): the same input gives the
// same output, line for line.
//
// # Bad input
//
// A line that is not an access log line, a line over 1 MiB, or one a
// rotation cut short is a dead letter: its place (file, line number and
// byte offset: "access.log.1:52 (byte 4810)"), the error and the line
// itself are written to -deadletters (default stderr), one a line, or as
// JSON objects with -json, and the lines around it are read on. At the
// end a summary goes to stderr: per input, lines read, requests and dead
// letters; then the dead letters and late requests in all. Exit status:
// 2 for a bad command line; 1 when the job failed, a file could not be
// opened, or not one line of the input was a request; 0 otherwise.
//
// # Checkpoints
//
// With -checkpoint DIR the job checkpoints every -checkpoint-every (the
// windows, the alerts' trigger points, each glob's file and offset, or
// the generator's position) and, run again with the same arguments on
// the same DIR after a kill, resumes from the last complete checkpoint.
// Results on stdout are then at least once (what followed the checkpoint
// is printed again); with -out OUTDIR they go instead into part files
// there, and with -parquet into Parquet files, each published when its
// checkpoint completes: exactly once, the results of a run that was never
// interrupted. Dead letters are written at least once. The summary counts
// the lines of the run that prints it. DIR records the FILEs (or -n and
// -seed) of its first run; a run with others is refused, saying so (an
// unquoted glob the shell expanded is the usual cause): remove DIR to
// start afresh.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/braidstream/braid/internal/cmdflag"
)

// config is what the command line asks for.
type config struct {
	files   []string // none: the generator
	follow  bool
	json    bool
	parquet string // directory of the Parquet files; "": none

	bound time.Duration // out-of-orderness
	idle  time.Duration // with follow: an input quiet this long does not hold event time back

	alertJump        float64 // change of a host's 5xx ratio that fires an alert
	alertMinRequests int64   // minutes with fewer requests do not count for alerts

	deadLetters string // file; "": errOut
	progress    string // "auto", "on", "off"

	n    int64 // lines generated
	seed uint64

	checkpoint      string
	checkpointEvery time.Duration
	out             string

	batchSize int // tests: records per batch (0: the default); results do not depend on it
}

func main() { cmdflag.Main("accesslogs", parseFlags, run) }

// parseFlags reads the command line into a config. A bad flag or value is
// an error, reported on errOut with the usage (flag.ErrHelp for -h).
func parseFlags(args []string, errOut io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("accesslogs", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of accesslogs: accesslogs [flags] [FILE...]\n"+
			"  requests, 5xx ratios, top paths, alerts and clients of web access logs (generated traffic without FILE)\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&cfg.follow, "follow", false, "keep reading lines appended to the files, through rotations, until interrupted")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per result (and per dead letter)")
	fs.StringVar(&cfg.parquet, "parquet", "", "write the results as Parquet files into this directory, one subdirectory per kind, instead of to stdout")
	fs.DurationVar(&cfg.bound, "bound", 2*time.Second, "how far out of time order an input's lines may be")
	fs.DurationVar(&cfg.idle, "idle", 5*time.Second, "with -follow, an input without a new line for this long no longer holds event time back")
	fs.Float64Var(&cfg.alertJump, "alert-jump", 0.10, "ALERT: a change of a host's 5xx ratio in a minute of more than this (0.10: 10 points)")
	fs.Int64Var(&cfg.alertMinRequests, "alert-min-requests", 20, "ALERT: minutes of a host with fewer requests are not compared")
	fs.StringVar(&cfg.deadLetters, "deadletters", "", "write lines that cannot be read, and late requests, to this file (default stderr)")
	fs.StringVar(&cfg.progress, "progress", "auto", "progress bar of a bounded read on stderr: auto (when stderr is a terminal), on, off")
	fs.Int64Var(&cfg.n, "n", 60_000, "without FILE: lines to generate")
	fs.Uint64Var(&cfg.seed, "seed", 1, "without FILE: seed of the generated log")
	fs.StringVar(&cfg.checkpoint, "checkpoint", "", "checkpoint into this directory, and resume from it when it holds a checkpoint")
	fs.DurationVar(&cfg.checkpointEvery, "checkpoint-every", time.Second, "time between two checkpoints (with -checkpoint)")
	fs.StringVar(&cfg.out, "out", "", "write the results into part files in this directory (exactly once with -checkpoint) instead of to stdout")
	if err := fs.Parse(args); err != nil {
		return cfg, err // fs has reported it
	}
	cfg.files = fs.Args()
	set := cmdflag.Set(fs)
	err := func() error {
		switch {
		case cfg.follow && len(cfg.files) == 0:
			return errors.New("-follow needs a FILE to follow")
		case (set["n"] || set["seed"]) && len(cfg.files) > 0:
			return errors.New("-n and -seed are of the generated log: not with FILE")
		case cfg.n <= 0:
			return fmt.Errorf("invalid value %d for flag -n: want at least 1 line", cfg.n)
		}
		if err := cmdflag.EventTime(cfg.bound, cfg.idle); err != nil {
			return err
		}
		switch {
		case !(cfg.alertJump > 0 && cfg.alertJump < 1):
			return fmt.Errorf("invalid value %v for flag -alert-jump: want a ratio above 0 and below 1", cfg.alertJump)
		case cfg.alertMinRequests < 1:
			return fmt.Errorf("invalid value %d for flag -alert-min-requests: want at least 1", cfg.alertMinRequests)
		case cfg.progress != "auto" && cfg.progress != "on" && cfg.progress != "off":
			return fmt.Errorf("invalid value %q for flag -progress: want auto, on or off", cfg.progress)
		}
		if err := cmp.Or(cmdflag.DeadLetters(set, cfg.deadLetters), cmdflag.NotEmpty(set, "parquet", cfg.parquet, "a directory"),
			cmdflag.Checkpoint(set, cfg.checkpoint, cfg.checkpointEvery, cfg.out)); err != nil {
			return err
		}
		switch {
		case cfg.out != "" && cfg.parquet != "":
			return errors.New("-out and -parquet both say where the results go: give one")
		case cfg.json && cfg.parquet != "":
			return errors.New("-json and -parquet are two output formats: give one")
		}
		return cmdflag.Files(cfg.files)
	}()
	if err != nil {
		fmt.Fprintln(errOut, "accesslogs:", err)
		fs.Usage()
	}
	return cfg, err
}
