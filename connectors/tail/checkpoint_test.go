package tail_test

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/connectors/tail"
	"github.com/braidstream/braid/stream"
)

// lastCheckpoint is the number of the newest complete checkpoint in dir
// (0 when none), as the store lays them out: chk-<n>/COMPLETE.
func lastCheckpoint(fs vfs.FS, dir string) int {
	names, _ := fs.List(dir)
	last := 0
	for _, name := range names {
		n, err := strconv.Atoi(strings.TrimLeft(strings.TrimPrefix(name, "chk-"), "0"))
		if !strings.HasPrefix(name, "chk-") || err != nil {
			continue
		}
		if _, err := fs.Stat(fs.PathJoin(dir, name, "COMPLETE")); err == nil {
			last = max(last, n)
		}
	}
	return last
}

// published reads the lines of the part files the file sink published.
func published(fs vfs.FS, dir string) []string {
	names, _ := fs.List(dir)
	slices.Sort(names)
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, "part-") {
			continue
		}
		f, err := fs.Open(fs.PathJoin(dir, n))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		f.Close()
	}
	return out
}

// ckJob runs a following job with checkpoints into the file sink until
// stop says so (checked every millisecond), and returns Execute's error.
func ckJob(t *testing.T, fs vfs.FS, glob string, stop func() bool, opts ...tail.Option) error {
	t.Helper()
	return ckJobHooked(t, fs, glob, stop, nil, nil, opts...)
}

// ckJobHooked is ckJob with a hook the sink calls on each line, and one
// called once the job is cancelled.
func ckJobHooked(t *testing.T, fs vfs.FS, glob string, stop func() bool, onLine func(string), cancelled func(), opts ...tail.Option) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := stream.NewEnv(stream.WithLogger(quiet()), stream.WithBatchSize(50),
		stream.WithCheckpointing("/ck", 5*time.Millisecond, stream.CheckpointFS(fs)))
	src := tail.Lines(env, glob, append([]tail.Option{tail.Follow(2 * time.Millisecond), tail.Logger(quiet())}, opts...)...)
	filesink.Lines(src, "/out", func(l logs.Line) string {
		if onLine != nil {
			onLine(l.Text)
		}
		return l.Text
	})
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(time.Millisecond):
			if stop() {
				cancel()
				if cancelled != nil {
					cancelled()
				}
				return <-done
			}
		}
	}
}

// exactlyOnce checks that the published lines are lines 0 to n-1, each
// once.
func exactlyOnce(t *testing.T, got []string, n int) {
	t.Helper()
	c := newCollector()
	for _, s := range got {
		c.add(logs.Line{Text: s})
	}
	c.exactly(t, n)
}

// A job stopped after some checkpoints, its log rotated while it was down
// (renamed to app.log.1, which the application wrote a few lines more to
// before a new app.log; on the second stop, app.log.1 renamed to
// app.log.2 and compressed, so only its first bytes tell it), resumes in
// the rotated file at the checkpointed offset, then reads the new one:
// the published output holds every line exactly once.
func TestResumeAfterRotation(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "app.log")
	writeFile(t, live, lines(0, 3000))
	fs := vfs.NewMem()
	glob := filepath.Join(dir, "app.log*")
	next := 3000

	// First run: stopped once two checkpoints are complete, lines being
	// appended meanwhile, so that it stops in the middle of the log.
	appendWhile := func(until func() bool) func() bool {
		return func() bool {
			if until() {
				return true
			}
			appendTo(t, live, lines(next, next+5))
			next += 5
			return false
		}
	}
	err := ckJob(t, fs, glob, appendWhile(func() bool { return lastCheckpoint(fs, "/ck") >= 2 }))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it stopped", err)
	}
	first := len(published(fs, "/out"))
	if first == 0 {
		t.Fatalf("first run published nothing")
	}

	// Rotated while the job is down: rename, lines more to the renamed
	// file, then the new log.
	if err := os.Rename(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, live+".1", lines(next, next+20_000))
	hold := next + 5000 // deep in the renamed file
	next += 20_000
	writeFile(t, live, lines(next, next+500))
	next += 500

	// Second run: stopped while still in the renamed file, with a
	// checkpoint taken there: from the line hold on, once a checkpoint
	// of this run is complete, the sink waits until the job is stopped,
	// so that no later checkpoint completes.
	ckBefore := lastCheckpoint(fs, "/ck")
	held, release := make(chan struct{}), make(chan struct{})
	onLine := func(s string) {
		select {
		case <-held:
			<-release
			return
		default:
		}
		if n := number(s); n >= hold && n < hold+10_000 && lastCheckpoint(fs, "/ck") > ckBefore {
			close(held)
			<-release
		}
	}
	err = ckJobHooked(t, fs, glob, func() bool {
		select {
		case <-held:
			return true
		default:
			return false
		}
	}, onLine, func() { close(release) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("second run: %v, want it stopped", err)
	}
	second := published(fs, "/out")

	// Rotated again: app.log.1 compressed into app.log.2.gz (a new
	// inode), app.log renamed to app.log.1, a new app.log.
	b, err := os.ReadFile(live + ".1")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, live+".2.gz", gzipped(t, b))
	if err := os.Remove(live + ".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, live, lines(next, next+300))
	next += 300

	// Third run: to the end, and a few checkpoints more, in which no line
	// may come again.
	var ckAtEnd int
	logs := &logRecords{}
	err = ckJob(t, fs, glob, func() bool {
		if ckAtEnd == 0 && len(published(fs, "/out")) >= next {
			ckAtEnd = lastCheckpoint(fs, "/ck") + 3
		}
		return ckAtEnd > 0 && lastCheckpoint(fs, "/ck") >= ckAtEnd
	}, tail.Logger(slog.New(logs)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("third run: %v (published %d of %d lines)", err, len(published(fs, "/out")), next)
	}
	t.Logf("published %d lines after the first run, %d after the second, %d at the end", first, len(second), next)
	exactlyOnce(t, published(fs, "/out"), next)
	// The second run stopped in app.log.1, compressed since: the third
	// found it by its first bytes (its inode may be the new app.log's now,
	// which reads as the file truncated in place: the same outcome).
	if !logs.has("resuming", live+".2.gz") {
		t.Fatalf("the third run did not resume in %s.2.gz: %v", live, logs.all())
	}
}

// logRecords keeps what is logged: each record's message and attributes.
type logRecords struct {
	mu   sync.Mutex
	recs []string
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	s := r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	h.mu.Lock()
	h.recs = append(h.recs, s)
	h.mu.Unlock()
	return nil
}
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecords) WithGroup(string) slog.Handler      { return h }

func (h *logRecords) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.recs)
}

// has reports whether a record holds every one of parts.
func (h *logRecords) has(parts ...string) bool {
	return slices.ContainsFunc(h.all(), func(r string) bool {
		for _, p := range parts {
			if !strings.Contains(r, p) {
				return false
			}
		}
		return true
	})
}

// A job whose checkpointed file was deleted while it was down fails when
// resumed, naming the file and the offset from which lines are lost; with
// AllowLoss, it goes on with the new file.
func TestResumeFileGone(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "app.log")
	writeFile(t, live, lines(0, 2000))
	fs := vfs.NewMem()
	glob := filepath.Join(dir, "app.log*")
	err := ckJob(t, fs, glob, func() bool { return lastCheckpoint(fs, "/ck") >= 2 })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it stopped", err)
	}
	if err := os.Remove(live); err != nil {
		t.Fatal(err)
	}
	writeFile(t, live, lines(5000, 5100))
	err = ckJob(t, fs, glob, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "rotated away and deleted") || !strings.Contains(err.Error(), live) ||
		!strings.Contains(err.Error(), "byte offset") || !strings.Contains(err.Error(), "tail.AllowLoss") {
		t.Fatalf("second run: %v, want a refusal naming %s", err, live)
	}
	before := len(published(fs, "/out"))
	err = ckJob(t, fs, glob, func() bool { return len(published(fs, "/out")) >= before+100 }, tail.AllowLoss())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("with AllowLoss: %v", err)
	}
	got := published(fs, "/out")
	if !slices.Equal(got[before:], strings.Split(strings.TrimSuffix(string(lines(5000, 5100)), "\n"), "\n")) {
		t.Fatalf("with AllowLoss, published %d lines after the loss, want the new file's 100", len(got)-before)
	}
}
