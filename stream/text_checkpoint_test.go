package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/stream"
)

// tcRun is what one run of a job saw.
type tcRun struct {
	mu    sync.Mutex
	lines []int
	dead  []string
}

func (r *tcRun) line(i int) {
	r.mu.Lock()
	r.lines = append(r.lines, i)
	r.mu.Unlock()
}

func (r *tcRun) deadLetter(d stream.DeadLetter[string]) error {
	r.mu.Lock()
	r.dead = append(r.dead, d.Err.Error())
	r.mu.Unlock()
	return nil
}

func tcQuiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// A job reading a file, stopped after two checkpoints and run again on the
// same checkpoint directory, reads on from the checkpointed offset: every
// line reaches ForEach at least once, the second run does not start over,
// and the dead letters (lines over the limit) of the second run name their
// true line numbers and byte offsets, as one uninterrupted run would.
func TestTextFileResumesFromCheckpoint(t *testing.T) {
	const n, every, limit = 40_000, 5_000, 50
	var content strings.Builder
	var wantDead []string
	path := filepath.Join(t.TempDir(), "app.log")
	for i := 1; i <= n; i++ {
		if i%every == 0 {
			wantDead = append(wantDead, fmt.Sprintf("braid: file source %s: line %d (byte offset %d): 60 bytes, over the line limit of %d", path, i, content.Len(), limit))
			content.WriteString(strings.Repeat("x", 60) + "\n")
			continue
		}
		fmt.Fprintf(&content, "%d\n", i)
	}
	if err := os.WriteFile(path, []byte(content.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := vfs.NewMem()
	run := func(slow bool) (*tcRun, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r := &tcRun{}
		env := stream.NewEnv(stream.WithLogger(tcQuiet()), stream.WithBatchSize(100),
			stream.WithCheckpointing("/ck", 5*time.Millisecond, stream.CheckpointFS(fs)))
		src := stream.TextFile(env, path, stream.MaxLineBytes(limit))
		src.ForEach(func(s string) error {
			i, err := strconv.Atoi(s)
			if err != nil {
				return err
			}
			r.line(i)
			if slow && i > 1000 && i%10 == 0 {
				// Slow down until two checkpoints are complete, then stop:
				// however loaded the machine, the run is partial.
				time.Sleep(time.Millisecond)
				if completeCheckpoints(fs, "/ck") >= 2 {
					cancel()
				}
			}
			return nil
		})
		stream.DeadLetters(src).ForEach(r.deadLetter)
		return r, env.Execute(ctx)
	}
	first, err := run(true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it stopped after two checkpoints", err)
	}
	if len(first.lines) == 0 || len(first.lines) >= n-n/every {
		t.Fatalf("first run saw %d lines; the test needs a partial run", len(first.lines))
	}
	second, err := run(false)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]int)
	for _, i := range append(first.lines, second.lines...) {
		seen[i]++
	}
	for i := 1; i <= n; i++ {
		if seen[i] == 0 && i%every != 0 {
			t.Fatalf("line %d never reached ForEach", i)
		}
	}
	if slices.Min(second.lines) == 1 {
		t.Fatalf("the second run started over from line 1 (the first run saw %d lines)", len(first.lines))
	}
	again := 0
	for _, i := range second.lines {
		if i <= slices.Max(first.lines) {
			again++
		}
	}
	t.Logf("first run %d lines, second %d (%d seen again), dead letters %d+%d", len(first.lines), len(second.lines), again, len(first.dead), len(second.dead))
	if len(second.dead) == 0 {
		t.Fatal("no dead letter in the second run: the test does not check their line numbers after a resume")
	}
	gotDead := slices.Compact(slices.Sorted(slices.Values(append(first.dead, second.dead...))))
	slices.Sort(wantDead)
	if !slices.Equal(gotDead, wantDead) {
		t.Fatalf("dead letters\n%s\nwant\n%s", strings.Join(gotDead, "\n"), strings.Join(wantDead, "\n"))
	}
}

// A file replaced between two runs (another file put at the path) is not
// read from the old file's offset: the second run fails at once, naming
// the path and saying why.
func TestTextFileReplacedBetweenRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	var content strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&content, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(content.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := vfs.NewMem()
	run := func(slow bool) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var lines atomic.Int64
		env := stream.NewEnv(stream.WithLogger(tcQuiet()), stream.WithBatchSize(100),
			stream.WithCheckpointing("/ck", 5*time.Millisecond, stream.CheckpointFS(fs)))
		stream.TextFile(env, path).ForEach(func(string) error {
			if k := lines.Add(1); slow && k > 1000 && k%10 == 0 {
				time.Sleep(time.Millisecond)
				if completeCheckpoints(fs, "/ck") >= 2 {
					cancel()
				}
			}
			return nil
		})
		err := env.Execute(ctx)
		return int(lines.Load()), err
	}
	if _, err := run(true); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it stopped after two checkpoints", err)
	}
	// Replace the file: a new one, renamed over the path.
	if err := os.WriteFile(path+".new", []byte(content.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	n, err := run(false)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not the one the checkpoint read") {
		t.Fatalf("second run: %v, want a refusal naming %s", err, path)
	}
	if n != 0 {
		t.Fatalf("the second run delivered %d lines of the other file", n)
	}
}

// With checkpoints, SocketText without Durable is refused before anything
// is read, and the error says what to do.
func TestSocketTextWithCheckpointsNeedsDurable(t *testing.T) {
	env := stream.NewEnv(stream.WithLogger(tcQuiet()),
		stream.WithCheckpointing("/ck", time.Second, stream.CheckpointFS(vfs.NewMem())))
	stream.SocketText(env, "127.0.0.1:1").ForEach(func(string) error { return nil })
	err := env.Execute(context.Background())
	if err == nil || !strings.Contains(err.Error(), "socket 127.0.0.1:1") || !strings.Contains(err.Error(), "stream.Durable()") {
		t.Fatalf("got %v, want the socket source refused, naming Durable", err)
	}
}

// tcLogs keeps the messages logged.
type tcLogs struct {
	mu   sync.Mutex
	msgs []string
}

func (h *tcLogs) Enabled(context.Context, slog.Level) bool { return true }
func (h *tcLogs) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}
func (h *tcLogs) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *tcLogs) WithGroup(string) slog.Handler      { return h }

func (h *tcLogs) has(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.msgs, func(m string) bool { return strings.Contains(m, s) })
}

// A durable socket source logs what it receives before the job sees it.
// The server sends 300 lines, then (once two checkpoints are complete)
// 300 more; the job is stopped while its sink is still on the second
// part, the process "crashes" (a crash clone of the checkpoint filesystem
// keeps only what was synced), a torn record is left at the end of the
// log, and the job runs again with the server gone: it replays the lines
// received before the stop from the log, cuts the torn tail, and ends.
// Every line reaches ForEach; the second run includes lines the first
// never processed, which only the log had.
func TestSocketTextDurableReplaysAfterStop(t *testing.T) {
	const half = 300
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	second := make(chan struct{})
	stop := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var b strings.Builder
		for i := range half {
			fmt.Fprintf(&b, "%d\n", i)
		}
		c.Write([]byte(b.String()))
		select {
		case <-second:
		case <-stop:
			return
		}
		b.Reset()
		for i := half; i < 2*half; i++ {
			fmt.Fprintf(&b, "%d\n", i)
		}
		c.Write([]byte(b.String()))
		<-stop
	}()

	fs := vfs.NewCrashableMem()
	logs := &tcLogs{}
	run := func(fs vfs.FS, first bool) (*tcRun, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r := &tcRun{}
		env := stream.NewEnv(stream.WithLogger(slog.New(logs)), stream.WithoutChaining(), stream.WithBatchSize(1000),
			stream.WithCheckpointing("/ck", 5*time.Millisecond, stream.CheckpointFS(fs)))
		var got atomic.Int64
		stream.SocketText(env, l.Addr().String(), stream.Durable(), stream.MaxRetries(1), stream.EndQuietly(true)).
			ForEach(func(s string) error {
				i, err := strconv.Atoi(s)
				if err != nil {
					return err
				}
				r.line(i)
				got.Add(1)
				if first && i >= half {
					time.Sleep(2 * time.Millisecond) // the source reads ahead of the sink
					if i == half+10 {
						cancel()
					}
				}
				return nil
			})
		var wg sync.WaitGroup
		if first {
			// The second part once the first is processed and two
			// checkpoints are complete (the sink must not wait for them:
			// the barriers pass through it).
			wg.Go(func() {
				for got.Load() < half || completeCheckpoints(fs, "/ck") < 2 {
					if ctx.Err() != nil {
						return
					}
					time.Sleep(time.Millisecond)
				}
				close(second)
			})
		}
		err := env.Execute(ctx)
		cancel()
		wg.Wait()
		return r, err
	}
	first, err := run(fs, true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it stopped", err)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	close(stop)
	<-served
	l.Close()
	tearLog(t, crashed)

	secondRun, err := run(crashed, false)
	if err != nil {
		t.Fatalf("second run, the server gone: %v", err)
	}
	seen := make(map[int]bool)
	for _, i := range append(first.lines, secondRun.lines...) {
		seen[i] = true
	}
	for i := range 2 * half {
		if !seen[i] {
			t.Fatalf("line %d lost (first run saw %d lines up to %d, the second %d)", i, len(first.lines), slices.Max(first.lines), len(secondRun.lines))
		}
	}
	if len(secondRun.lines) == 0 || slices.Max(secondRun.lines) <= slices.Max(first.lines) {
		t.Fatalf("the second run replayed nothing the first had not processed")
	}
	if !logs.has("cut a torn record") {
		t.Fatalf("the torn record at the log's end was not reported as cut")
	}
	t.Logf("first run %d lines (up to %d), second %d replayed from the log", len(first.lines), slices.Max(first.lines), len(secondRun.lines))
}

// tearLog appends a record cut short to the last segment of the one
// source log under /ck/sources: what a crash in the middle of a write
// leaves when the bytes it wrote did reach the disk.
func tearLog(t *testing.T, fs vfs.FS) {
	t.Helper()
	srcs, err := fs.List("/ck/sources")
	if err != nil || len(srcs) != 1 {
		t.Fatalf("source directories %v, %v: want one", srcs, err)
	}
	dir := fs.PathJoin("/ck/sources", srcs[0])
	names, _ := fs.List(dir)
	var segs []string
	for _, n := range names {
		if strings.HasSuffix(n, ".log") {
			segs = append(segs, n)
		}
	}
	if len(segs) == 0 {
		t.Fatalf("no log segment in %s: %v", dir, names)
	}
	slices.Sort(segs)
	name := fs.PathJoin(dir, segs[len(segs)-1])
	st, err := fs.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fs.OpenReadWrite(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	// A header claiming 100 bytes, then 10 of them.
	if _, err := f.WriteAt([]byte("\x00\x00\x00\x64\x12\x34\x56\x78L123456789"), st.Size()); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// A job started with StartFresh over a checkpoint directory whose durable
// socket log holds an earlier run's lines replays none of them: it sees
// only what the server sends it. (A job that merely finds no checkpoint
// to resume from replays the log: TestSocketTextDurableReplaysAfterStop.)
func TestSocketTextDurableStartFreshReplaysNothing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	serve := func(from, to int) {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "%d\n", i)
		}
		c.Write([]byte(b.String()))
	}
	fs := vfs.NewMem()
	run := func(from, to int, opts ...stream.CheckpointOption) (*tcRun, error) {
		served := make(chan struct{})
		go func() { defer close(served); serve(from, to) }()
		defer func() { <-served }()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r := &tcRun{}
		env := stream.NewEnv(stream.WithLogger(tcQuiet()), stream.WithBatchSize(10),
			stream.WithCheckpointing("/ck", 5*time.Millisecond, append(opts, stream.CheckpointFS(fs))...))
		stream.SocketText(env, l.Addr().String(), stream.Durable(), stream.MaxRetries(0), stream.EndQuietly(true)).
			ForEach(func(s string) error {
				i, err := strconv.Atoi(s)
				if err != nil {
					return err
				}
				r.line(i)
				return nil
			})
		return r, env.Execute(ctx)
	}
	first, err := run(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.lines) != 100 {
		t.Fatalf("first run saw %d lines, want 100", len(first.lines))
	}
	second, err := run(100, 150, stream.StartFresh())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(second.lines)
	want := make([]int, 0, 50)
	for i := 100; i < 150; i++ {
		want = append(want, i)
	}
	if !slices.Equal(second.lines, want) {
		t.Fatalf("the fresh run saw %d lines (%v...), want the 50 the server sent it, none replayed", len(second.lines), second.lines[:min(5, len(second.lines))])
	}
}
