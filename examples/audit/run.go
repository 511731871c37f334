package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/connectors/tail"
	"github.com/braidstream/braid/examples/internal/stepwm"
	"github.com/braidstream/braid/internal/cmdflag"
	"github.com/braidstream/braid/internal/deadletter"
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
// generated logs. A FILE is a glob (filepath.Match syntax): the files it
// matches are read as one log, oldest first (see connectors/tail), and
// its format is told from the first of them that tells it.
func inputs(cfg config) ([]*input, error) {
	if len(cfg.files) == 0 {
		var ins []*input
		for _, g := range generators(cfg.seed) {
			ins = append(ins, &input{name: "generated " + g.name, format: g.format, ref: genStart, gen: g.line})
		}
		return ins, nil
	}
	var ins []*input
	for _, pattern := range cfg.files {
		files, err := globFiles(pattern, cfg.follow)
		if err != nil {
			return nil, err
		}
		in := &input{name: pattern}
		for _, f := range files {
			if f.ModTime().After(in.ref) {
				in.ref = f.ModTime() // no line of any of them is later
			}
		}
		switch {
		case cfg.format != "auto":
			in.format = formatNames[cfg.format]
		case len(files) == 0:
			return nil, fmt.Errorf("%s: no file yet, so its format cannot be told: give -format", pattern)
		default:
			var first error
			for _, f := range files {
				if in.format, err = detect(f.path); err == nil {
					break
				}
				first = cmp.Or(first, err)
			}
			if in.format == 0 {
				return nil, first
			}
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// A file is a file a glob matched.
type file struct {
	path string
	os.FileInfo
}

// isGlob says whether a FILE has filepath.Match's special characters.
func isGlob(pattern string) bool { return strings.ContainsAny(pattern, `*?[\`) }

// globFiles are the regular files that pattern matches. None is an error
// unless following (the file may come), and so is a pattern that names a
// directory.
func globFiles(pattern string, follow bool) ([]file, error) {
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", pattern, err)
	}
	var files []file
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue // gone since
		}
		if fi.Mode().IsRegular() {
			files = append(files, file{p, fi})
		} else if p == pattern && fi.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not a log", p)
		}
	}
	if len(files) == 0 && !follow {
		if !isGlob(pattern) {
			if _, err := os.Stat(pattern); err != nil {
				return nil, err // names the file and why: no such file, permission denied
			}
		}
		return nil, fmt.Errorf("%s: no log file matches", pattern)
	}
	return files, nil
}

// recorded is what the checkpoints of a run are of (cmdflag.SameInputs):
// its FILEs and -format, or the generator's -n and -seed.
func recorded(cfg config) []string {
	r := cmdflag.Inputs(cfg.files, fmt.Sprintf("the generated logs of -n %d -seed %d", cfg.n, cfg.seed))
	if len(cfg.files) > 0 {
		r = append(r, "-format "+cfg.format)
	}
	return r
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
	if cfg.checkpoint != "" {
		if err := cmdflag.SameInputs(cfg.checkpoint, recorded(cfg)); err != nil {
			return err
		}
	}
	var dlw io.Writer = errOut
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
		format = deadletter.JSON
	}
	dead := &deadLetters{w: deadletter.Locked(dlw), format: format}

	var opts []stream.Option
	if cfg.batchSize > 0 {
		opts = append(opts, stream.WithBatchSize(cfg.batchSize))
	}
	if cfg.checkpoint != "" {
		opts = append(opts, stream.WithCheckpointing(cfg.checkpoint, cfg.checkpointEvery))
	}
	env := stream.NewEnv(opts...)
	var all streams
	for i, in := range ins {
		readInput(env, cfg, i, in, dead, &all)
	}
	f := finder{cfg: cfg, dead: dead}
	found := f.findings(all)
	dead.sink(ins)
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
		lines, dead := c.lines+c.rejected, c.dead+c.rejected
		fmt.Fprintf(errOut, "audit: %s (%s): %d lines, %d events, %d skipped, %d dead letters\n", in.name, in.format, lines, c.events, c.skipped, dead)
		if c.events == 0 && c.skipped > 0 && cfg.format != "auto" {
			fmt.Fprintf(errOut, "audit: %s: not one of its %d lines was an event of format %s: is -format right?\n", in.name, lines, in.format)
		}
		total.lines += lines
		total.dead += dead
	}
	where := "on stderr"
	if cfg.deadLetters != "" {
		where = "in " + cfg.deadLetters
	}
	fmt.Fprintf(errOut, "audit: %d dead letters and %d late events %s\n", dead.n, dead.late, where)
	if total.lines == total.dead && (err == nil || errors.Is(err, context.Canceled)) {
		if total.lines == 0 {
			if cfg.checkpoint != "" {
				// A resumed run may have nothing left to read: the run
				// before it read everything, and was stopped before its
				// end, or after it.
				return err
			}
			return errors.New("no line could be read: the input had no lines")
		}
		return fmt.Errorf("no line could be read: all %d were dead letters (want sshd, netfilter or Kubernetes audit logs)", total.lines)
	}
	return err
}

// readInput adds the events of one input, in event time, to all. Lines
// it cannot read go to dead.
func readInput(env *stream.Env, cfg config, i int, in *input, dead *deadLetters, all *streams) {
	var lines *stream.Stream[logs.Line]
	if in.gen != nil {
		gen, name := in.gen, in.name
		lines = stream.Generate(env, func(i int64) logs.Line {
			return logs.Line{Text: gen(i), Source: name, Offset: -1, Number: i + 1}
		}, stream.Limit(cfg.n)).Name(in.name)
	} else {
		lines = fileLines(env, cfg, i, in, dead)
	}
	year := cfg.year
	if in.gen != nil {
		year = genStart.Year()
	}
	p := newParser(in.format, year, in.ref, cfg.tz, &in.count)
	switch in.format {
	case formatSSHD:
		merge(&all.ssh, inEventTime(cfg, i, in, dead, lines, parsing(p, p.sshd, func(e *SSHEvent, at place) { e.At = at })))
	case formatNetfilter:
		merge(&all.packets, inEventTime(cfg, i, in, dead, lines, parsing(p, p.packet, func(e *Packet, at place) { e.At = at })))
	case formatK8s:
		merge(&all.requests, inEventTime(cfg, i, in, dead, lines, parsing(p, p.audit, func(e *Request, at place) { e.At = at })))
	case formatSyslog:
		mixed := inEventTime(cfg, i, in, dead, lines, parsing(p, p.parseSyslog, func(e *syslogEvent, at place) { e.SSH.At, e.Packet.At = at, at }))
		merge(&all.ssh, stream.Map(mixed.Filter(func(e syslogEvent) bool { return !e.IsPacket }), func(e syslogEvent) SSHEvent { return e.SSH }))
		merge(&all.packets, stream.Map(mixed.Filter(func(e syslogEvent) bool { return e.IsPacket }), func(e syslogEvent) Packet { return e.Packet }))
	}
}

// inEventTime is the events parse finds in lines, in event time. The
// lines it cannot read go to dead.
func inEventTime[T event](cfg config, i int, in *input, dead *deadLetters, lines *stream.Stream[logs.Line], parse func(logs.Line) (T, error)) *stream.Stream[T] {
	events, bad := stream.MapErr(lines, parse)
	events.Name("parse " + in.name).SetParallelism(1) // the parser reads the lines in order
	dead.add(stream.Map(bad, func(d stream.DeadLetter[logs.Line]) report {
		return report{Where: d.Value.Where(), Err: d.Err.Error(), Line: d.Value.Text, Input: -1} // the parser counted it
	}))
	idle := time.Duration(0)
	if cfg.follow {
		idle = cfg.idle
	}
	events = events.Filter(func(e T) bool { return !e.when().IsZero() }).
		WithWatermarks(func(e T) time.Time { return e.when() }, func() stream.WatermarkGenerator[T] {
			return stepwm.New[T](cfg.bound, watermarkStep, idle)
		})
	// Times event time cannot hold (before 1678, after 2262).
	dead.add(stream.Map(stream.DeadLetters(events), func(d stream.DeadLetter[T]) report {
		return report{Where: d.Value.place().Where(), Err: d.Err.Error(), Input: i}
	}))
	return events
}

// reportLate reports the events of s, too late for what, to dead.
func reportLate[T event](dead *deadLetters, s *stream.Stream[T], what string) {
	dead.lates = append(dead.lates, stream.Map(s, func(e T) report {
		return report{Where: e.place().Where(), Err: fmt.Sprintf("late event (%s at %s): its %s had closed", e.what(),
			e.when().Format(time.RFC3339Nano), what), Input: -1}
	}).Name("late "+what))
}

// fileLines is the stream of a glob's lines with their places (file,
// byte offset, line number), read with connectors/tail: oldest file first,
// through rotations when following. Lines the source cannot deliver (over
// 1 MiB, or cut short by a rotation) go to dead.
func fileLines(env *stream.Env, cfg config, i int, in *input, dead *deadLetters) *stream.Stream[logs.Line] {
	var opts []tail.Option
	if cfg.follow {
		opts = append(opts, tail.Follow(0))
	}
	lines := tail.Lines(env, in.name, opts...)
	dead.add(stream.Map(stream.DeadLetters(lines), func(d stream.DeadLetter[logs.Line]) report {
		return report{Where: d.Value.Where(), Err: d.Err.Error(), Line: d.Value.Text, Input: i}
	}))
	return lines
}

// A report is a dead letter (a line that could not be read, an event
// whose time event time cannot hold) or an event too late for a window:
// its place, what was wrong, and the line when there is one. Input is
// the index of the input whose count of rejected lines it adds to, -1
// when the parser counted it already.
type report struct {
	Where, Err, Line string
	Input            int
}

// deadLetters gathers the job's reports into two sinks, one of the dead
// letters and one of the late events (which are in event time: streams
// of both kinds cannot merge), that write them to w, one a line: the
// place, the error and the line (quoted), or with -json an object of the
// three.
type deadLetters struct {
	w              io.Writer
	format         deadletter.Format
	letters, lates []*stream.Stream[report]
	n, late        int64 // written by the sinks' one subtask each; read after Execute
}

// add adds the dead letters of s.
func (d *deadLetters) add(s *stream.Stream[report]) { d.letters = append(d.letters, s) }

// sink builds the sinks of the reports added.
func (d *deadLetters) sink(ins []*input) {
	d.sinkOf(d.letters, func(r report) {
		d.n++
		if r.Input >= 0 {
			ins[r.Input].count.rejected++
		}
	})
	d.sinkOf(d.lates, func(report) { d.late++ })
}

func (d *deadLetters) sinkOf(reports []*stream.Stream[report], count func(report)) {
	if len(reports) == 0 {
		return
	}
	reports[0].Merge(reports[1:]...).ForEach(func(r report) error {
		count(r)
		_, err := io.WriteString(d.w, d.format.Line(r.Where, r.Err, r.Line)+"\n")
		return err
	}).SetParallelism(1)
}
