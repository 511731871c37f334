package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/stream"
)

// An input is one file (or generated log) and how it is read.
type input struct {
	name   string // the path, or "generated sshd", ...
	format format
	ref    time.Time // the file's modification time: no line is later
	gen    func(i int64) string
	count  inputCounts
}

// inputs finds the inputs of cfg: its files, each with its format, or the
// generated logs.
func inputs(cfg config) ([]*input, error) {
	if len(cfg.files) == 0 {
		var ins []*input
		for _, g := range generators(cfg.seed) {
			ins = append(ins, &input{name: "generated " + g.name, format: g.format, ref: genStart, gen: g.line})
		}
		return ins, nil
	}
	var ins []*input
	for _, path := range cfg.files {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not a log", path)
		}
		in := &input{name: path, ref: fi.ModTime()}
		if cfg.format != "auto" {
			in.format = formatNames[cfg.format]
		} else if in.format, err = detect(path); err != nil {
			return nil, err
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// run builds and executes the job: findings go to out (or into part files
// in cfg.out), one line each; dead letters and late events go to the
// dead-letter file (errOut without one); at the end a summary goes to
// errOut. It fails, after the summary, when not one line of the input
// could be read (unless the job failed otherwise).
func run(ctx context.Context, cfg config, out, errOut io.Writer) error {
	ins, err := inputs(cfg)
	if err != nil {
		return err
	}
	var dlw io.Writer = errOut
	if cfg.deadLetters != "" {
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if cfg.checkpoint != "" {
			flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND // a resumed run adds to it
		}
		f, err := os.OpenFile(cfg.deadLetters, flags, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		dlw = f
	}
	dead := &deadLetters{w: &lockedWriter{w: dlw}, json: cfg.json}
	out = &lockedWriter{w: out}

	var opts []stream.Option
	if cfg.batchSize > 0 {
		opts = append(opts, stream.WithBatchSize(cfg.batchSize))
	}
	if cfg.checkpoint != "" {
		opts = append(opts, stream.WithCheckpointing(cfg.checkpoint, cfg.checkpointEvery))
	}
	env := stream.NewEnv(opts...)
	var events *stream.Stream[Event]
	for _, in := range ins {
		s := readInput(env, cfg, in, dead)
		if events == nil {
			events = s
		} else {
			events = events.Merge(s)
		}
	}
	f := finder{cfg}
	found := f.findings(events, func(s *stream.Stream[Event], what string) {
		s.ForEach(func(e Event) error {
			dead.late.Add(1)
			return dead.write(fmt.Sprintf("%s:%d", e.File, e.Line), fmt.Sprintf("late event (%s at %s): its %s had closed", kindNames[e.Kind],
				e.Time.Format(time.RFC3339Nano), what), "")
		})
	})
	sorted := stream.Process(stream.KeyBy(found[0].Merge(found[1:]...), func(Line) int { return 0 }), sortLines).Name("sort findings")
	text := func(l Line) string {
		if cfg.json {
			return l.JSON
		}
		return l.Text
	}
	if cfg.out != "" {
		// One sink subtask, so that the part files, in the order of their
		// names, hold the lines in order.
		filesink.Lines(sorted, cfg.out, text).SetParallelism(1)
	} else {
		if !cfg.json {
			fmt.Fprint(out, legend)
		}
		sorted.ForEach(func(l Line) error {
			_, err := io.WriteString(out, text(l)+"\n")
			return err
		})
	}
	err = env.Execute(ctx)

	var total inputCounts
	for _, in := range ins {
		c := &in.count
		lines, dead := c.lines+c.rejected.Load(), c.dead+c.rejected.Load()
		fmt.Fprintf(errOut, "audit: %s (%s): %d lines, %d events, %d skipped, %d dead letters\n", in.name, in.format, lines, c.events, c.skipped, dead)
		total.lines += lines
		total.dead += dead
	}
	where := "on stderr"
	if cfg.deadLetters != "" {
		where = "in " + cfg.deadLetters
	}
	fmt.Fprintf(errOut, "audit: %d dead letters and %d late events %s\n", dead.n.Load(), dead.late.Load(), where)
	if total.lines == total.dead && (err == nil || errors.Is(err, context.Canceled)) {
		if total.lines == 0 {
			return errors.New("no line could be read: the input had no lines")
		}
		return fmt.Errorf("no line could be read: all %d were dead letters (want sshd, netfilter or Kubernetes audit logs)", total.lines)
	}
	return err
}

var kindNames = [...]string{"none", "failed login", "invalid user", "no identification", "accepted login", "packet", "audit event"}

// readInput is the stream of one input's events, in event time. Lines it
// cannot read go to dead.
func readInput(env *stream.Env, cfg config, in *input, dead *deadLetters) *stream.Stream[Event] {
	var lines *stream.Stream[logs.Line]
	if in.gen != nil {
		gen, name := in.gen, in.name
		lines = stream.Generate(env, func(i int64) logs.Line {
			return logs.Line{Text: gen(i), Source: name, Offset: -1, Number: i + 1}
		}, stream.Limit(cfg.n)).Name(in.name)
	} else {
		lines = fileLines(env, cfg, in, dead)
	}
	year := cfg.year
	if in.gen != nil {
		year = genStart.Year()
	}
	p := newParser(in.format, year, in.ref, cfg.tz, &in.count)
	events, bad := stream.MapErr(lines, p.parse)
	events.Name("parse " + in.name).SetParallelism(1) // p reads the lines in order
	bad.ForEach(func(d stream.DeadLetter[logs.Line]) error {
		return dead.letter(d.Value.Where(), d.Err.Error(), d.Value.Text)
	})
	idle := 0
	if cfg.follow {
		idle = max(1, int(cfg.idle/(200*time.Millisecond))) // the default watermark interval
	}
	events = events.Filter(func(e Event) bool { return e.Kind != kindNone }).
		WithWatermarks(func(e Event) time.Time { return e.Time }, func() stream.WatermarkGenerator[Event] {
			return &perEvent{bound: cfg.bound, step: watermarkStep, idle: idle}
		})
	// Times event time cannot hold (before 1678, after 2262).
	stream.DeadLetters(events).ForEach(func(d stream.DeadLetter[Event]) error {
		in.count.rejected.Add(1)
		return dead.letter(fmt.Sprintf("%s:%d", d.Value.File, d.Value.Line), d.Err.Error(), "")
	})
	return events
}

// fileLines is the stream of a file's lines with their places. Lines the
// source cannot deliver (over 1 MiB) go to dead.
//
// It reads with stream.TextFile, whose lines carry no place: the numbers
// are counted here, from 1 at the start of each run, so after a resume
// from a checkpoint they count from the line the run resumed at. (To be
// replaced by connectors/tail, whose lines carry their file, offset and
// number, and which follows rotations.)
func fileLines(env *stream.Env, cfg config, in *input, dead *deadLetters) *stream.Stream[logs.Line] {
	text := stream.TextFile(env, in.name, stream.Follow(cfg.follow))
	stream.DeadLetters(text).ForEach(func(d stream.DeadLetter[string]) error {
		in.count.rejected.Add(1)
		return dead.letter(in.name, d.Err.Error(), d.Value)
	})
	var n int64
	name := in.name
	return stream.Map(text, func(s string) logs.Line {
		n++
		return logs.Line{Text: s, Source: name, Offset: -1, Number: n}
	}).SetParallelism(1)
}

// deadLetters writes the job's dead letters, one a line: the place, the
// error and the line (quoted), or with -json an object of the three.
type deadLetters struct {
	w       io.Writer
	json    bool
	n, late atomic.Int64
}

// letter writes and counts a dead letter.
func (d *deadLetters) letter(where, err, text string) error {
	d.n.Add(1)
	return d.write(where, err, text)
}

func (d *deadLetters) write(where, err, text string) error {
	var s string
	if d.json {
		b, _ := json.Marshal(struct {
			Where string `json:"where"`
			Error string `json:"error"`
			Line  string `json:"line,omitempty"`
		}{where, err, text})
		s = string(b)
	} else {
		s = where + ": " + err
		if text != "" {
			s += ": " + strconv.Quote(text)
		}
	}
	_, werr := io.WriteString(d.w, s+"\n")
	return werr
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
