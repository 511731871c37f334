package tail_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/connectors/tail"
	"github.com/braidstream/braid/stream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// line is the text of numbered line i: its number, then padding that
// varies in length so that lines do not all end at the same offsets.
func line(i int) string {
	return fmt.Sprintf("%07d %s", i, strings.Repeat("abcdefghij", 1+i%7))
}

// lines is the text of lines from to to-1, each with its newline.
func lines(from, to int) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		b.WriteString(line(i))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// number is the number of a line made by line, or -1.
func number(s string) int {
	i, err := strconv.Atoi(strings.SplitN(s, " ", 2)[0])
	if err != nil || line(i) != s {
		return -1
	}
	return i
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// collector is what a job's sinks saw.
type collector struct {
	mu    sync.Mutex
	lines []logs.Line
	dead  []stream.DeadLetter[logs.Line]
	count map[int]int // by line number; bad lines under -1
	// gate, when set, is called with each line before it is kept, outside
	// the lock: it may wait (holding the job back).
	gate func(i int)
}

func newCollector() *collector { return &collector{count: map[int]int{}} }

func (c *collector) add(l logs.Line) error {
	if c.gate != nil {
		c.gate(number(l.Text))
	}
	c.mu.Lock()
	c.lines = append(c.lines, l)
	c.count[number(l.Text)]++
	c.mu.Unlock()
	return nil
}

func (c *collector) addDead(d stream.DeadLetter[logs.Line]) error {
	c.mu.Lock()
	c.dead = append(c.dead, d)
	c.mu.Unlock()
	return nil
}

func (c *collector) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// exactly checks that the lines seen are 0 to n-1, each once.
func (c *collector) exactly(t *testing.T, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing, twice []int
	for i := range n {
		switch c.count[i] {
		case 0:
			missing = append(missing, i)
		case 1:
		default:
			twice = append(twice, i)
		}
	}
	bad := c.count[-1]
	if len(missing) > 0 || len(twice) > 0 || bad > 0 || len(c.lines) != n {
		var badText []string
		for _, l := range c.lines {
			if number(l.Text) < 0 && len(badText) < 3 {
				badText = append(badText, fmt.Sprintf("%s: %q", l.Where(), l.Text))
			}
		}
		t.Fatalf("%d lines read, want %d: %d missing (%v), %d read twice (%v), %d not lines written (%v)",
			len(c.lines), n, len(missing), head(missing), len(twice), head(twice), bad, badText)
	}
}

func head(xs []int) []int { return xs[:min(len(xs), 8)] }

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		// (what may say how far it got)
		time.Sleep(time.Millisecond)
	}
}

// A running job, following.
type job struct {
	cancel context.CancelFunc
	done   chan error
	got    *collector
	prog   *tail.Progress
}

// follow runs a job reading glob with Follow(poll) into a collector,
// until stop.
func follow(t *testing.T, glob string, poll time.Duration, opts ...tail.Option) *job {
	t.Helper()
	return followGated(t, glob, poll, nil, opts...)
}

// followGated is follow with a gate on the sink (collector.gate).
func followGated(t *testing.T, glob string, poll time.Duration, gate func(int), opts ...tail.Option) *job {
	t.Helper()
	j := &job{done: make(chan error, 1), got: newCollector(), prog: &tail.Progress{}}
	j.got.gate = gate
	env := stream.NewEnv(stream.WithLogger(quiet()), stream.WithBatchSize(64))
	opts = append([]tail.Option{tail.Follow(poll), tail.Logger(quiet()), tail.WithProgress(j.prog)}, opts...)
	src := tail.Lines(env, glob, opts...)
	src.ForEach(j.got.add)
	stream.DeadLetters(src).ForEach(j.got.addDead)
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel = cancel
	go func() { j.done <- env.Execute(ctx) }()
	t.Cleanup(func() { j.stop(t) })
	return j
}

// settle waits until the job has read n lines and then polled its files
// three times more with nothing new: any line it would read twice, or
// any other, would have come by then.
func (j *job) settle(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%d lines", n), func() bool { j.alive(t); return j.got.n() >= n })
	p := j.prog.Stats().Polls
	waitFor(t, 20*time.Second, "three polls more", func() bool { j.alive(t); return j.prog.Stats().Polls >= p+3 })
}

// alive fails the test if the job ended.
func (j *job) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-j.done:
		j.cancel()
		j.cancel = nil
		t.Fatalf("the job ended: %v (%d lines read)", err, j.got.n())
	default:
	}
}

func (j *job) stop(t *testing.T) {
	t.Helper()
	if j.cancel == nil {
		return
	}
	j.cancel()
	j.cancel = nil
	if err := <-j.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("job: %v", err)
	}
}

// run reads glob to its end (no Follow) and returns what it saw.
func run(t *testing.T, glob string, opts ...tail.Option) (*collector, error) {
	t.Helper()
	c := newCollector()
	env := stream.NewEnv(stream.WithLogger(quiet()), stream.WithBatchSize(64))
	src := tail.Lines(env, glob, append([]tail.Option{tail.Logger(quiet())}, opts...)...)
	src.ForEach(c.add)
	stream.DeadLetters(src).ForEach(c.addDead)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c, env.Execute(ctx)
}

// appendTo appends b to the file at path (creating it).
func appendTo(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := appendFile(path, b); err != nil {
		t.Fatal(err)
	}
}

func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func sortedNumbers(ls []logs.Line) []int {
	var out []int
	for _, l := range ls {
		out = append(out, number(l.Text))
	}
	return slices.Sorted(slices.Values(out))
}
