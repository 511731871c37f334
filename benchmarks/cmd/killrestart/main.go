// Command killrestart measures how soon a checkpointed job gives output
// again after its process is killed. It runs the job in a child process
// (itself, with -child), waits until the child has completed a checkpoint
// that holds all its state, kills it with SIGKILL at a random moment,
// starts it again on the same checkpoint directory, and times from the
// restart (the exec) and from the kill to the first output record the new
// process writes. It repeats that -kills times and prints each figure and
// their medians:
//
//	go build -o /tmp/killrestart ./benchmarks/cmd/killrestart
//	/tmp/killrestart -keys 100000 -kills 10
//	/tmp/killrestart -keys 1000000 -kills 10
//
// The job: a source that makes one event for each of -keys keys as fast as
// it can, then an event a millisecond for the keys in turn; a keyed process
// function keeping a count per key in a ValueState (so the checkpoints hold
// -keys entries) and emitting the count for each event after the first
// -keys; a sink that writes each result as a line to stdout (at least
// once: after a restart, what followed the checkpoint is emitted again).
// With an exactly-once sink, output after a restart appears only when the
// first checkpoint after it completes: add the interval to these figures.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
)

func main() {
	child := flag.Bool("child", false, "run the job (the parent starts itself with it)")
	keys := flag.Int64("keys", 100_000, "keys of state")
	kills := flag.Int("kills", 10, "kills and restarts")
	interval := flag.Duration("interval", time.Second, "time between checkpoints")
	dir := flag.String("dir", "", "checkpoint directory (default: a new temporary one, removed at the end)")
	seed := flag.Uint64("seed", 1, "seed of the kill moments")
	flag.Parse()
	if *child {
		if err := runChild(*dir, *keys, *interval); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	if err := runParent(*dir, *keys, *kills, *interval, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "killrestart:", err)
		os.Exit(1)
	}
}

// The child writes lines to stdout: "out KEY COUNT" for each result,
// "started ID" and "complete ID DURATION BYTES" for each checkpoint,
// "resumed MS" when it has restored a checkpoint (MS after its start).

type event struct {
	I, Key int64
}

// reader makes the events: keys distinct ones as fast as it can, then one
// a millisecond.
type reader struct {
	keys  int64
	next  int64
	timer *time.Timer
}

func (r *reader) Read(ctx context.Context, buf []event) (int, error) {
	if r.next >= r.keys {
		if r.timer == nil {
			r.timer = time.NewTimer(time.Millisecond)
		} else {
			r.timer.Reset(time.Millisecond)
		}
		select {
		case <-r.timer.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		buf = buf[:1]
	}
	for n := range buf {
		buf[n] = event{I: r.next, Key: r.next % r.keys}
		r.next++
	}
	return len(buf), nil
}

func (r *reader) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	return nil
}

func (r *reader) Position() ([]byte, error) { return binary.AppendUvarint(nil, uint64(r.next)), nil }

func (r *reader) Seek(pos []byte) error {
	p, n := binary.Uvarint(pos)
	if n <= 0 || n != len(pos) {
		return fmt.Errorf("malformed position %x", pos)
	}
	r.next = int64(p)
	return nil
}

// lines writes the child's lines to stdout, one write each.
type lines struct {
	mu  sync.Mutex
	buf []byte
}

func (l *lines) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = fmt.Appendf(l.buf[:0], format+"\n", args...)
	os.Stdout.Write(l.buf)
}

// reporter is a slog handler that turns what the runtime says of
// checkpoints into lines for the parent.
type reporter struct {
	out   *lines
	start time.Time
}

func (h reporter) Enabled(context.Context, slog.Level) bool { return true }
func (h reporter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h reporter) WithGroup(string) slog.Handler            { return h }

func (h reporter) Handle(_ context.Context, r slog.Record) error {
	var id, bytes int64
	var dur time.Duration
	var errText string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "checkpoint":
			id = a.Value.Int64()
		case "duration":
			dur = a.Value.Duration()
		case "bytes":
			bytes = a.Value.Int64()
		case "err":
			errText = a.Value.String()
		}
		return true
	})
	switch r.Message {
	case "braid: checkpoint started":
		h.out.printf("started %d", id)
	case "braid: checkpoint complete":
		h.out.printf("complete %d %d %d", id, dur, bytes)
	case "braid: resuming from checkpoint":
		h.out.printf("resumed %d", r.Time.Sub(h.start).Milliseconds())
	default:
		if r.Level >= slog.LevelWarn {
			fmt.Fprintln(os.Stderr, r.Message, errText)
		}
	}
	return nil
}

func runChild(dir string, keys int64, interval time.Duration) error {
	start := time.Now()
	out := &lines{}
	env := stream.NewEnv(stream.WithCheckpointing(dir, interval),
		stream.WithLogger(slog.New(reporter{out, start})))
	src := stream.FromSource(env, "events", false, func(context.Context, int, int) (stream.SourceReader[event], error) {
		return &reader{keys: keys}, nil
	})
	type result struct{ key, count int64 }
	counts := stream.Process(stream.KeyBy(src, func(e event) int64 { return e.Key }),
		func(st *state.Store) (stream.ProcessFunc[int64, event, result], error) {
			count, err := state.NewValue[int64, int64](st, "count")
			if err != nil {
				return stream.ProcessFunc[int64, event, result]{}, err
			}
			return stream.ProcessFunc[int64, event, result]{
				OnElement: func(c *stream.ProcessContext[int64, result], e event) {
					n, _ := count.Get(c.Key())
					count.Set(c.Key(), n+1)
					if e.I >= keys {
						c.Emit(result{c.Key(), n + 1})
					}
				},
			}, nil
		})
	counts.ForEach(func(r result) error {
		out.printf("out %d %d", r.key, r.count)
		return nil
	})
	return env.Execute(context.Background())
}

// A line from the child, and when the parent read it.
type line struct {
	at   time.Time
	text string
}

// proc is a running child.
type proc struct {
	cmd   *exec.Cmd
	lines chan line
	done  chan struct{} // closed when its stdout is at EOF
}

func start(dir string, keys int64, interval time.Duration) (*proc, time.Time, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, time.Time{}, err
	}
	cmd := exec.Command(self, "-child", "-dir", dir, "-keys", strconv.FormatInt(keys, 10), "-interval", interval.String())
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, time.Time{}, err
	}
	p := &proc{cmd: cmd, lines: make(chan line, 1024), done: make(chan struct{})}
	at := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, at, err
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l := line{time.Now(), sc.Text()}
			if strings.HasPrefix(l.text, "out ") {
				// Results come a thousand a second: keep the first of each
				// kind only, when the channel is full.
				select {
				case p.lines <- l:
				default:
				}
				continue
			}
			p.lines <- l
		}
		io.Copy(io.Discard, stdout)
	}()
	return p, at, nil
}

// next returns the child's next line, or false when it ended or timeout
// passed.
func (p *proc) next(timeout time.Duration) (line, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l := <-p.lines:
		return l, true
	case <-p.done:
		select {
		case l := <-p.lines:
			return l, true
		default:
			return line{}, false
		}
	case <-t.C:
		return line{}, false
	}
}

// idle reads the child's lines for d, so that it never waits to write.
func (p *proc) idle(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, ok := p.next(time.Until(deadline)); !ok {
			return
		}
	}
}

func (p *proc) kill() (time.Time, error) {
	at := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return at, err
	}
	p.cmd.Wait() // killed: its error says so
	return at, nil
}

// waitFirstOutput reads until the first "out" line and returns when it
// came and what the child said before (its "resumed" time).
func (p *proc) waitFirstOutput(timeout time.Duration) (first time.Time, resumedMs int64, err error) {
	resumedMs = -1
	deadline := time.Now().Add(timeout)
	for {
		l, ok := p.next(time.Until(deadline))
		if !ok {
			return time.Time{}, resumedMs, fmt.Errorf("no output within %v", timeout)
		}
		switch f := strings.Fields(l.text); f[0] {
		case "out":
			return l.at, resumedMs, nil
		case "resumed":
			resumedMs, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
}

// waitCheckpointAfter waits for a checkpoint that started after this call
// to complete, and returns its duration.
func (p *proc) waitCheckpointAfter(timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	var want int64 = -1
	for {
		l, ok := p.next(time.Until(deadline))
		if !ok {
			return 0, fmt.Errorf("no checkpoint within %v", timeout)
		}
		f := strings.Fields(l.text)
		switch f[0] {
		case "started":
			if want < 0 {
				want, _ = strconv.ParseInt(f[1], 10, 64)
			}
		case "complete":
			if id, _ := strconv.ParseInt(f[1], 10, 64); want >= 0 && id >= want {
				d, _ := strconv.ParseInt(f[2], 10, 64)
				return time.Duration(d), nil
			}
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func runParent(dir string, keys int64, kills int, interval time.Duration, seed uint64) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "killrestart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	const patience = 5 * time.Minute
	p, _, err := start(dir, keys, interval)
	if err != nil {
		return err
	}
	defer func() { p.kill() }()
	// The first run takes in every key; a checkpoint that starts after
	// the first output holds them all.
	if _, _, err := p.waitFirstOutput(patience); err != nil {
		return fmt.Errorf("first run: %w", err)
	}
	d, err := p.waitCheckpointAfter(patience)
	if err != nil {
		return fmt.Errorf("first run: %w", err)
	}
	fmt.Printf("%d keys, checkpoints every %v; first checkpoint with all keys: %v\n", keys, interval, d.Round(time.Millisecond))
	var fromExec, fromKill, resumed []float64
	for k := 1; k <= kills; k++ {
		// Kill at a random moment up to two intervals on.
		p.idle(time.Duration(rng.Int64N(int64(2 * interval))))
		killed, err := p.kill()
		if err != nil {
			return err
		}
		np, execAt, err := start(dir, keys, interval)
		if err != nil {
			return err
		}
		p = np
		first, resumedMs, err := p.waitFirstOutput(patience)
		if err != nil {
			return fmt.Errorf("restart %d: %w", k, err)
		}
		if resumedMs < 0 {
			return fmt.Errorf("restart %d: the job did not resume from a checkpoint", k)
		}
		fe, fk := first.Sub(execAt), first.Sub(killed)
		fromExec = append(fromExec, float64(fe.Milliseconds()))
		fromKill = append(fromKill, float64(fk.Milliseconds()))
		resumed = append(resumed, float64(resumedMs))
		fmt.Printf("kill %2d: restart to first output %6d ms, kill to first output %6d ms, restored %6d ms after the process started\n",
			k, fe.Milliseconds(), fk.Milliseconds(), resumedMs)
		// Let it run into a checkpoint or two before the next kill.
		if _, err := p.waitCheckpointAfter(patience); err != nil {
			return fmt.Errorf("restart %d: %w", k, err)
		}
	}
	fmt.Printf("medians over %d kills: restart to first output %.0f ms, kill to first output %.0f ms, restored %.0f ms after the process started\n",
		kills, median(fromExec), median(fromKill), median(resumed))
	return nil
}
