package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/braidstream/braid/connectors/arrow"
	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/connectors/tail"
	"github.com/braidstream/braid/examples/internal/stepwm"
	"github.com/braidstream/braid/internal/cmdflag"
	"github.com/braidstream/braid/internal/deadletter"
	"github.com/braidstream/braid/stream"
)

// An input is one glob of files, or the generator.
type input struct {
	name     string // the glob, or "generated"
	gen      func(i int64) string
	progress tail.Progress
	count    inputCounts
}

// recorded is what the checkpoints of a run are of (cmdflag.SameInputs):
// its FILEs, or the generator's -n and -seed.
func recorded(cfg config) []string {
	return cmdflag.Inputs(cfg.files, fmt.Sprintf("the generated log of -n %d -seed %d", cfg.n, cfg.seed))
}

// run builds and executes the job: results go to out (or into part files
// in cfg.out, or Parquet files in cfg.parquet); dead letters and late
// requests go to the dead-letter file (errOut without one); at the end a
// summary goes to errOut. It fails, after the summary, when not one line
// of the input was a request (unless the job failed otherwise).
func run(ctx context.Context, cfg config, out, errOut io.Writer) error {
	var ins []*input
	if len(cfg.files) == 0 {
		ins = append(ins, &input{name: "generated", gen: generate(cfg.seed)})
	}
	for _, pattern := range cfg.files {
		if err := checkGlob(pattern, cfg.follow); err != nil {
			return err
		}
		ins = append(ins, &input{name: pattern})
	}
	if cfg.checkpoint != "" {
		if err := cmdflag.SameInputs(cfg.checkpoint, recorded(cfg)); err != nil {
			return err
		}
	}
	errOut = deadletter.Locked(errOut) // the dead letters' sink and the progress bar share it
	dlw := errOut
	if cfg.deadLetters != "" {
		f, err := deadletter.Create(cfg.deadLetters, cfg.checkpoint != "") // a resumed run adds to it
		if err != nil {
			return err
		}
		defer f.Close()
		dlw = f
	}
	format := deadletter.Text
	if cfg.json {
		format = deadletter.JSONRaw // a line that is not UTF-8 keeps its bytes
	}
	dead := &deadLetters{w: dlw, format: format}

	var opts []stream.Option
	if cfg.batchSize > 0 {
		opts = append(opts, stream.WithBatchSize(cfg.batchSize))
	}
	if cfg.checkpoint != "" {
		opts = append(opts, stream.WithCheckpointing(cfg.checkpoint, cfg.checkpointEvery))
	}
	env := stream.NewEnv(opts...)
	var reqs *stream.Stream[Request]
	for i, in := range ins {
		s := requests(env, cfg, i, in, dead)
		if reqs == nil {
			reqs = s
		} else {
			reqs = reqs.Merge(s)
		}
	}
	res := analyse(cfg, reqs)
	dead.late = stream.Map(res.late, func(q Request) report {
		return report{Where: q.At.Where(), Err: fmt.Sprintf("late request (%s at %s): its minute had closed", hostName(q.Host),
			q.Time.UTC().Format(time.RFC3339)), Input: -1}
	})
	dead.sink(ins)
	switch {
	case cfg.parquet != "":
		sinkParquet(res, cfg.parquet)
	case cfg.out != "":
		// One sink subtask: part files in the order of their names.
		filesink.Lines(res.lines(cfg.json), cfg.out, func(s string) string { return s }).SetParallelism(1)
	default:
		res.lines(cfg.json).ForEach(func(s string) error {
			_, err := io.WriteString(out, s+"\n")
			return err
		}).SetParallelism(1)
	}

	stopBar := func() {}
	if len(cfg.files) > 0 && !cfg.follow && showProgress(cfg.progress, errOut) {
		stopBar = progressBar(ins, errOut)
	}
	err := env.Execute(ctx)
	stopBar()

	var lines, requests int64
	for _, in := range ins {
		c := &in.count
		fmt.Fprintf(errOut, "accesslogs: %s: %d lines, %d requests, %d dead letters\n", in.name, c.lines+c.unread, c.requests-c.timeless, c.dead)
		lines += c.lines + c.unread
		requests += c.requests - c.timeless
	}
	where := "on stderr"
	if cfg.deadLetters != "" {
		where = "in " + cfg.deadLetters
	}
	fmt.Fprintf(errOut, "accesslogs: %d dead letters and %d late requests %s\n", dead.n, dead.nLate, where)
	if requests == 0 && (err == nil || errors.Is(err, context.Canceled)) {
		if lines == 0 {
			if cfg.checkpoint != "" {
				// A resumed run may have nothing left to read: the run
				// before it read everything, and was stopped before its
				// end, or after it.
				return err
			}
			return errors.New("no request could be read: the input had no lines")
		}
		return fmt.Errorf("no request could be read: all %d lines were dead letters (want an access log in the Common, Combined or vhost_combined format)", lines)
	}
	return err
}

// checkGlob fails when pattern is not a glob or (unless following) matches
// no file, or names a directory.
func checkGlob(pattern string, follow bool) error {
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("%s: %v", pattern, err)
	}
	if fi, err := os.Stat(pattern); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a log", pattern)
	}
	if len(paths) == 0 && !follow {
		if strings.ContainsAny(pattern, `*?[\`) {
			return fmt.Errorf("%s: no file matches", pattern)
		}
		if _, err := os.Stat(pattern); err != nil {
			return err // names the file and why
		}
	}
	return nil
}

// requests is the Requests of one input, in event time. Lines that are
// not requests go to dead.
func requests(env *stream.Env, cfg config, i int, in *input, dead *deadLetters) *stream.Stream[Request] {
	var lines *stream.Stream[logs.Line]
	if in.gen != nil {
		gen := in.gen
		lines = stream.Generate(env, func(i int64) logs.Line {
			return logs.Line{Text: gen(i), Source: "generated", Offset: -1, Number: i + 1}
		}, stream.Limit(cfg.n)).Name("generated access log")
	} else {
		opts := []tail.Option{tail.WithProgress(&in.progress)}
		if cfg.follow {
			opts = append(opts, tail.Follow(0))
		}
		lines = tail.Lines(env, in.name, opts...)
		// Lines the source cannot deliver: over 1 MiB, or cut short.
		dead.add(stream.Map(stream.DeadLetters(lines), func(d stream.DeadLetter[logs.Line]) report {
			return report{Where: d.Value.Where(), Err: d.Err.Error(), Line: d.Value.Text, Input: i, From: fromSource}
		}))
	}
	p := &parser{count: &in.count}
	reqs, bad := stream.MapErr(lines, p.parse)
	reqs.Name("parse " + in.name).SetParallelism(1) // the parser reads the lines in order
	dead.add(stream.Map(bad, func(d stream.DeadLetter[logs.Line]) report {
		return report{Where: d.Value.Where(), Err: d.Err.Error(), Line: d.Value.Text, Input: i}
	}))
	idle := time.Duration(0)
	if cfg.follow {
		idle = cfg.idle
	}
	// A watermark when event time reaches a new minute (package stepwm):
	// every window of the job ends on one.
	reqs = reqs.WithWatermarks(func(q Request) time.Time { return q.Time }, func() stream.WatermarkGenerator[Request] {
		return stepwm.New[Request](cfg.bound, minute, idle)
	})
	// Times event time cannot hold (before 1678, after 2262).
	dead.add(stream.Map(stream.DeadLetters(reqs), func(d stream.DeadLetter[Request]) report {
		return report{Where: d.Value.At.Where(), Err: d.Err.Error(), Input: i, From: fromTime}
	}))
	return reqs
}

// sinkParquet writes each kind of result into its own directory of dir.
func sinkParquet(r results, dir string) {
	arrow.Parquet(r.hosts, filepath.Join(dir, "hosts")).SetParallelism(1)
	arrow.Parquet(r.paths, filepath.Join(dir, "paths")).SetParallelism(1)
	arrow.Parquet(r.top, filepath.Join(dir, "top")).SetParallelism(1)
	arrow.Parquet(r.alerts, filepath.Join(dir, "alerts")).SetParallelism(1)
	arrow.Parquet(r.clients, filepath.Join(dir, "clients")).SetParallelism(1)
}

// A report is a dead letter or a late request: its place, what was
// wrong, and the line when there is one. Input is the index of the input
// it counts against (-1 for a late request), From where it was found.
type report struct {
	Where, Err, Line string
	Input            int
	From             origin
}

// An origin is where a dead letter was found.
type origin uint8

const (
	fromParser origin = iota // not an access log line
	fromSource               // a line the source could not deliver: over 1 MiB, or cut short
	fromTime                 // a request at a time event time cannot hold (before 1678, after 2262)
)

// deadLetters gathers the job's reports into two sinks, one of the dead
// letters and one of the late requests (in event time: streams of both
// kinds cannot merge), that write them to w, one a line: the place, the
// error and the line (quoted), or with -json an object of the three
// (and the line's bytes in base64 when it is not UTF-8).
type deadLetters struct {
	w        io.Writer
	format   deadletter.Format
	letters  []*stream.Stream[report]
	late     *stream.Stream[report]
	n, nLate int64 // written by the sinks' one subtask each; read after Execute
}

func (d *deadLetters) add(s *stream.Stream[report]) { d.letters = append(d.letters, s) }

// sink builds the sinks of the reports.
func (d *deadLetters) sink(ins []*input) {
	d.letters[0].Merge(d.letters[1:]...).ForEach(func(r report) error {
		d.n++
		c := &ins[r.Input].count
		c.dead++
		switch r.From {
		case fromSource:
			c.unread++
		case fromTime:
			c.timeless++
		}
		return d.write(r)
	}).SetParallelism(1).Name("dead letters")
	d.late.ForEach(func(r report) error {
		d.nLate++
		return d.write(r)
	}).SetParallelism(1).Name("late requests")
}

func (d *deadLetters) write(r report) error {
	_, err := io.WriteString(d.w, d.format.Line(r.Where, r.Err, r.Line)+"\n")
	return err
}
