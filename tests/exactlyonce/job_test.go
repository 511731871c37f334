package exactlyonce_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/goleak"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Every test checks that no goroutine outlives Execute.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Where the job keeps its checkpoints and publishes its output, on the
// in-memory filesystems.
const (
	ckDir  = "/ck"
	outDir = "/out"
)

// event is one generated event: a key, a value and an event time.
type event struct {
	Key, Val int64
	At       int64 // ms of event time
}

func (e event) time() time.Time { return time.UnixMilli(e.At) }

const events = 1000

// gen is the job's input: keys 0..4, 10 ms of event time apart, with a
// pause of 1.5 s after every 100 events so that sessions end.
func gen(i int64) event {
	return event{Key: i % 5, Val: (i * 7919) % 101, At: i*10 + (i/100)*1500}
}

// run describes one execution of the job.
type run struct {
	fs       vfs.FS // nil: no checkpoints, output on the real disk in out
	out      string
	interval time.Duration // between checkpoints
	rate     float64       // events per second; 0: as fast as it goes
	log      *slog.Logger  // nil: discard
	opts     []stream.CheckpointOption
	restart  stream.RestartStrategy
}

// job builds the checkpointed job: one source subtask with timestamps in
// order (so nothing is late however batches, barriers and watermarks fall,
// and the output depends on event time only), and, at parallelism 2, a
// keyed tumbling window, a session window, a process function with event
// timers and keyed map state, and a window join, all into the exactly-once
// file sink.
func job(r run) *stream.Env {
	log := r.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []stream.Option{stream.WithLogger(log), stream.WithParallelism(2)}
	if r.fs != nil {
		copts := append([]stream.CheckpointOption{stream.CheckpointFS(r.fs)}, r.opts...)
		opts = append(opts, stream.WithCheckpointing(ckDir, r.interval, copts...))
	}
	if r.restart != nil {
		opts = append(opts, stream.WithRestartStrategy(r.restart))
	}
	env := stream.NewEnv(opts...)
	var gopts []stream.GenerateOption
	gopts = append(gopts, stream.Limit(events))
	if r.rate > 0 {
		gopts = append(gopts, stream.Rate(r.rate))
	}
	evs := stream.Generate(env, gen, gopts...).SetParallelism(1).
		WithTimestamps(event.time, stream.MonotonousTimestamps())
	key := func(e event) int64 { return e.Key }
	val := func(e event) int64 { return e.Val }
	ks := stream.KeyBy(evs, key)
	str := func(r window.Result[int64, int64]) string { return r.String() }

	tumbling := stream.Map(stream.Sum(ks.Window(window.Tumbling(time.Second)), val), str)
	sessions := stream.Map(stream.Count(ks.Window(window.Session(500*time.Millisecond))), str)
	timers := stream.Process(ks, func(st *state.Store) (stream.ProcessFunc[int64, event, string], error) {
		// Sums per 700 ms of event time, each emitted by an event timer
		// at its bucket's end.
		sums, err := state.NewMap[int64, int64, int64](st, "sums")
		if err != nil {
			return stream.ProcessFunc[int64, event, string]{}, err
		}
		return stream.ProcessFunc[int64, event, string]{
			OnElement: func(c *stream.ProcessContext[int64, string], e event) {
				b := e.At / 700
				v, _ := sums.Get(c.Key(), b)
				sums.Put(c.Key(), b, v+e.Val)
				c.SetEventTimer(time.UnixMilli((b + 1) * 700))
			},
			OnTimer: func(c *stream.ProcessContext[int64, string], ti stream.TimerInfo) {
				b := ti.At.UnixMilli()/700 - 1
				v, _ := sums.Get(c.Key(), b)
				sums.Delete(c.Key(), b)
				c.Emit(fmt.Sprintf("%d %d %d", c.Key(), ti.At.UnixMilli(), v))
			},
		}, nil
	})
	evens := stream.KeyBy(evs.Filter(func(e event) bool { return e.Val%2 == 0 }), key)
	odds := stream.KeyBy(evs.Filter(func(e event) bool { return e.Val%2 == 1 }), key)
	joined := stream.Join(evens, odds, window.Tumbling(200*time.Millisecond), func(a, b event) string {
		return fmt.Sprintf("%d %d %d", a.Key, a.At, b.At)
	})
	all := prefix("tumbling ", tumbling).Merge(prefix("session ", sessions), prefix("timer ", timers), prefix("join ", joined))
	out := r.out
	if out == "" {
		out = outDir
	}
	filesink.Lines(all, out, func(s string) string { return s })
	return env
}

func prefix(p string, s *stream.Stream[string]) *stream.Stream[string] {
	return stream.Map(s, func(v string) string { return p + v })
}

// reference is the output of one uninterrupted run without checkpoints,
// sorted.
func reference(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	if err := job(run{out: dir}).Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines, err := published(vfs.Default, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 500 {
		t.Fatalf("the reference run published %d lines: too few for the test to mean much", len(lines))
	}
	return lines
}

// published reads the lines of every published part file in dir, sorted:
// what a reader of the output sees (it ignores .staging).
func published(fs vfs.FS, dir string) ([]string, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, n := range names {
		if !strings.HasPrefix(n, "part-") {
			continue
		}
		f, err := fs.Open(fs.PathJoin(dir, n))
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	slices.Sort(lines)
	return lines, nil
}

// diff says how two sorted outputs differ: lines lost and lines repeated
// or invented, with a few of each.
func diff(got, want []string) string {
	var lost, extra []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			extra = append(extra, got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			lost = append(lost, want[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(lost) == 0 && len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf("%d lines published, want %d: %d lost %q, %d extra (repeated or wrong) %q",
		len(got), len(want), len(lost), lost[:min(len(lost), 3)], len(extra), extra[:min(len(extra), 3)])
}

// checkOutput fails unless fs's published output equals want, line for
// line, and, if emptyStaging, nothing is left staged.
func checkOutput(fs vfs.FS, want []string, emptyStaging bool) error {
	got, err := published(fs, outDir)
	if err != nil {
		return err
	}
	if d := diff(got, want); d != "" {
		return fmt.Errorf("output differs from the uninterrupted run: %s", d)
	}
	if !emptyStaging {
		return nil
	}
	staged, err := fs.List(filepath.Join(outDir, ".staging"))
	if err != nil {
		return err
	}
	if len(staged) != 0 {
		return fmt.Errorf("the job ended with files left in .staging: %v", staged)
	}
	return nil
}

// logBuf collects what a job logs, for tests that check what it said.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the logged lines that contain every one of parts.
func (l *logBuf) lines(parts ...string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		ok := line != ""
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// tail is the end of the log, for failure messages.
func (l *logBuf) tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

func newLog(level slog.Level) (*slog.Logger, *logBuf) {
	b := &logBuf{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level})), b
}
