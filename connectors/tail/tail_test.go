package tail_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/connectors/tail"
)

// A bounded read of access.log* reads the generations oldest first, as
// logrotate numbers them (access.log.10.gz before access.log.9.gz, and
// both before access.log.2 and access.log.1, the live access.log last),
// compressed ones through gzip, each line once, in order, with its file,
// its byte offset in the file's text and its number in the file; a last
// line without a newline counts; the progress ends at all bytes of all
// files.
func TestBoundedReadsGenerationsInOrder(t *testing.T) {
	dir := t.TempDir()
	// Generations as [from, to) ranges of line numbers, oldest first.
	gens := []struct {
		name     string
		from, to int
		gz       bool
	}{
		{"access.log.10.gz", 0, 300, true},
		{"access.log.9.gz", 300, 700, true},
		{"access.log.2", 700, 720, false},
		{"access.log.1", 720, 1500, false},
		{"access.log", 1500, 2000, false},
	}
	// Written newest first, so that modification times would give the
	// wrong order: the rotation numbers must decide.
	for _, g := range slices.Backward(gens) {
		b := lines(g.from, g.to)
		if g.name == "access.log.1" {
			b = b[:len(b)-1] // no final newline
		}
		if g.gz {
			b = gzipped(t, b)
		}
		writeFile(t, filepath.Join(dir, g.name), b)
	}
	// Not matched by the glob.
	writeFile(t, filepath.Join(dir, "error.log"), lines(5000, 5010))

	prog := &tail.Progress{}
	got, err := run(t, filepath.Join(dir, "access.log*"), tail.WithProgress(prog))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.lines) != 2000 {
		t.Fatalf("%d lines, want 2000", len(got.lines))
	}
	k := 0
	for _, g := range gens {
		offset := int64(0)
		for i := g.from; i < g.to; i++ {
			l := got.lines[k]
			want := line(i)
			if l.Text != want || l.Source != filepath.Join(dir, g.name) || l.Offset != offset || l.Number != int64(i-g.from+1) {
				t.Fatalf("line %d: %q from %s:%d (byte %d), want %q from %s:%d (byte %d)",
					k, l.Text, l.Source, l.Number, l.Offset, want, g.name, i-g.from+1, offset)
			}
			offset += int64(len(want)) + 1
			k++
		}
	}
	st := prog.Stats()
	if !st.Done || st.Bytes != st.TotalBytes || st.Files != len(gens) || st.TotalFiles != len(gens) || st.Lines != 2000 || st.Fraction() != 1 {
		t.Fatalf("progress at the end: %+v (%s)", st, st)
	}
	t.Logf("progress: %s", st)
}

// Lines over the limit go to the dead letters with their file, line and
// byte offset; the lines around them are all read, in a plain file and a
// compressed one, for a line longer than the read buffer too.
func TestLongLinesToDeadLetters(t *testing.T) {
	dir := t.TempDir()
	const limit = 200
	var plain, zipped strings.Builder
	var want []string
	type dead struct {
		file         string
		line, offset int64
		size         int
	}
	var wantDead []dead
	n := 0
	for f, b := range []*strings.Builder{&zipped, &plain} {
		name := []string{"app.log.1.gz", "app.log"}[f]
		for i := range 100 {
			if i%25 == 7 {
				size := limit + 1 + i*10
				if i == 82 {
					size = 200_000 // longer than the buffer
				}
				wantDead = append(wantDead, dead{name, int64(i + 1), int64(b.Len()), size})
				b.WriteString(strings.Repeat("x", size) + "\n")
				continue
			}
			b.WriteString(line(n) + "\n")
			want = append(want, line(n))
			n++
		}
	}
	writeFile(t, filepath.Join(dir, "app.log.1.gz"), gzipped(t, []byte(zipped.String())))
	writeFile(t, filepath.Join(dir, "app.log"), []byte(plain.String()))
	got, err := run(t, filepath.Join(dir, "app.log*"), tail.MaxLineBytes(limit))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range got.lines {
		texts = append(texts, l.Text)
	}
	if !slices.Equal(texts, want) {
		t.Fatalf("got %d lines, want the %d within the limit, in order", len(texts), len(want))
	}
	if len(got.dead) != len(wantDead) {
		t.Fatalf("%d dead letters, want %d", len(got.dead), len(wantDead))
	}
	for i, d := range got.dead {
		w := wantDead[i]
		path := filepath.Join(dir, w.file)
		msg := fmt.Sprintf("braid: tail source %s: line %d (byte offset %d): %d bytes, over the line limit of %d", path, w.line, w.offset, w.size, limit)
		if d.Err.Error() != msg || !errors.Is(d.Err, tail.ErrLineTooLong) || d.Value.Source != path ||
			d.Value.Offset != w.offset || d.Value.Number != w.line || d.Value.Text != strings.Repeat("x", 256) {
			t.Fatalf("dead letter %d: %v (value %s, %d bytes), want %s", i, d.Err, d.Value.Where(), len(d.Value.Text), msg)
		}
	}
}

// Without Follow, a glob that matches nothing fails the job, naming it;
// a bad option too.
func TestBoundedErrors(t *testing.T) {
	glob := filepath.Join(t.TempDir(), "none*.log")
	if _, err := run(t, glob); err == nil || !strings.Contains(err.Error(), glob) || !strings.Contains(err.Error(), "no file matches") {
		t.Fatalf("got %v, want the empty glob named", err)
	}
	if _, err := run(t, glob, tail.MaxLineBytes(0)); err == nil || !strings.Contains(err.Error(), "MaxLineBytes(0)") {
		t.Fatalf("got %v, want MaxLineBytes(0) refused", err)
	}
	if _, err := run(t, glob, tail.FromEnd()); err == nil || !strings.Contains(err.Error(), "FromEnd needs Follow") {
		t.Fatalf("got %v, want FromEnd without Follow refused", err)
	}
	if _, err := run(t, filepath.Join(t.TempDir(), "[x")); err == nil || !strings.Contains(err.Error(), "syntax error in pattern") {
		t.Fatalf("got %v, want the bad pattern refused", err)
	}
}

// Following, a last line without its newline is held until the newline
// comes: not delivered cut, not lost.
func TestFollowHoldsPartialLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	first := line(0) + "\n" + line(1)
	writeFile(t, path, []byte(first[:len(first)-5]))
	j := follow(t, filepath.Join(dir, "app.log"), 2*time.Millisecond)
	j.settle(t, 1)
	if n := j.got.n(); n != 1 {
		t.Fatalf("%d lines before the newline, want 1: %v", n, j.got.lines)
	}
	appendTo(t, path, []byte(first[len(first)-5:]))
	p := j.prog.Stats().Polls
	waitFor(t, 10*time.Second, "two polls", func() bool { return j.prog.Stats().Polls >= p+2 })
	if n := j.got.n(); n != 1 {
		t.Fatalf("%d lines, still without a newline, want 1", n)
	}
	appendTo(t, path, []byte("\n"+line(2)+"\n"))
	j.settle(t, 3)
	j.stop(t)
	j.got.exactly(t, 3)
	if len(j.got.dead) != 0 {
		t.Fatalf("dead letters: %v", j.got.dead)
	}
}

// FromEnd starts after the last newline of the newest file: the older
// files and the lines before are not read, a partial last line is read
// whole once completed, and numbers count the lines before.
func TestFromEnd(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.log.1"), lines(0, 100))
	b := append(lines(100, 200), line(200)[:3]...)
	writeFile(t, filepath.Join(dir, "app.log"), b)
	j := follow(t, filepath.Join(dir, "app.log*"), 2*time.Millisecond, tail.FromEnd())
	waitFor(t, 10*time.Second, "a poll", func() bool { return j.prog.Stats().Polls >= 2 })
	appendTo(t, filepath.Join(dir, "app.log"), append([]byte(line(200)[3:]+"\n"), lines(201, 210)...))
	j.settle(t, 10)
	j.stop(t)
	if got := sortedNumbers(j.got.lines); !slices.Equal(got, []int{200, 201, 202, 203, 204, 205, 206, 207, 208, 209}) {
		t.Fatalf("read %v, want 200 to 209", got)
	}
	if l := j.got.lines[0]; l.Number != 101 || l.Offset != int64(len(lines(100, 200))) {
		t.Fatalf("first line %s, want line 101 at byte %d", l.Where(), len(lines(100, 200)))
	}
}
