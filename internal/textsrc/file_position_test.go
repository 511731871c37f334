package textsrc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
)

// A reader stopped anywhere and resumed from its Position by a new reader
// gives the lines and rejects of one uninterrupted reader, rejects named
// with the same line numbers and offsets, at any buffer size.
func TestFilePositionResumesExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	old := readBufSize
	defer func() { readBufSize = old }()
	for range 30 {
		readBufSize = 16 + rng.IntN(200)
		content := randomText(rng, 3000)
		if rng.IntN(2) == 0 {
			content = strings.Repeat("h", 5000) + "\n" + content // past the 4 KiB guards
		}
		path := writeFile(t, content)
		opts := FileOptions{MaxLineBytes: 1 + rng.IntN(60)}
		whole, wrej := readWith(t, path, opts, nil, -1)
		stopAt := rng.IntN(len(whole) + 1)
		var pos []byte
		first, frej := readWith(t, path, opts, nil, stopAt, &pos)
		rest, rrej := readWith(t, path, opts, pos, -1)
		if got := append(first, rest...); !slices.Equal(got, whole) {
			t.Fatalf("buffer %d, stopped after %d lines: resumed reading gives\n %s\nwant\n %s", readBufSize, stopAt, brief(got), brief(whole))
		}
		if got := append(frej, rrej...); !slices.Equal(got, wrej) {
			t.Fatalf("buffer %d, stopped after %d lines: rejects\n %q\nwant\n %q", readBufSize, stopAt, got, wrej)
		}
	}
}

// readWith reads path with opts from pos (if any), stopping once it has
// at least stop lines (stop < 0: at the end), and stores its Position in
// *out if given. It returns the lines and the rejects' messages.
func readWith(t *testing.T, path string, opts FileOptions, pos []byte, stop int, out ...*[]byte) ([]string, []string) {
	t.Helper()
	r, err := OpenFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if pos != nil {
		if err := r.Seek(pos); err != nil {
			t.Fatal(err)
		}
	}
	var lines, rejects []string
	buf := make([]string, 3)
	for stop < 0 || len(lines) < stop {
		k := len(buf)
		if stop >= 0 {
			k = min(k, stop-len(lines))
		}
		n, err := r.Read(context.Background(), buf[:k])
		lines = append(lines, buf[:n]...)
		for _, j := range r.Rejected(nil) {
			rejects = append(rejects, j.Err.Error())
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) > 0 {
		p, err := r.Position()
		if err != nil {
			t.Fatal(err)
		}
		*out[0] = p
	}
	return lines, rejects
}

func positionAfter(t *testing.T, path string, opts FileOptions, lines int) []byte {
	t.Helper()
	var pos []byte
	readWith(t, path, opts, nil, lines, &pos)
	return pos
}

// Another file put at the path (a new inode) is refused, naming the path;
// when following, the error says the checkpointed file is no longer there,
// and the Relocate hook, given, resumes in the file where it went.
func TestFileSeekRefusesAnotherFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	os.WriteFile(path, []byte("one\ntwo\nthree\nfour\n"), 0o644)
	pos := positionAfter(t, path, FileOptions{}, 2)
	posF := positionAfter(t, path, FileOptions{Follow: true}, 2)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("one\ntwo\nthree\nfour\n"), 0o644) // same bytes, another file
	if identityOf(mustStat(t, path)) == (FileIdentity{}) {
		t.Skip("no inodes here")
	}

	r, _ := OpenFile(path, FileOptions{})
	err := r.Seek(pos)
	r.Close()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not the one the checkpoint read") {
		t.Fatalf("got %v, want a refusal naming %s", err, path)
	}

	quiet := slog.New(slog.DiscardHandler)
	r, _ = OpenFile(path, FileOptions{Follow: true, Logger: quiet})
	err = r.Seek(posF)
	r.Close()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no longer at this path") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("following: got %v, want the old file said gone, from line 3", err)
	}

	var asked FileIdentity
	r, _ = OpenFile(path, FileOptions{Follow: true, PollInterval: time.Millisecond, Logger: quiet,
		Relocate: func(p string, old FileIdentity) (string, bool) { asked = old; return p + ".1", true }})
	defer r.Close()
	if err := r.Seek(posF); err != nil {
		t.Fatal(err)
	}
	if asked != identityOf(mustStat(t, path+".1")) {
		t.Fatalf("Relocate asked for %v", asked)
	}
	buf := make([]string, 10)
	n, err := r.Read(context.Background(), buf)
	if err != nil || !slices.Equal(buf[:n], []string{"three", "four"}) {
		t.Fatalf("after relocating: %q %v", buf[:n], err)
	}
}

func mustStat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The same file rewritten before the offset (same inode) or cut shorter
// than it is refused when read once, and read again from the top, with a
// warning, when followed, as a followed file that shrinks is.
func TestFileSeekChangedInPlace(t *testing.T) {
	head := strings.Repeat("h", 5000) + "\n"
	for name, c := range map[string]struct{ after, why string }{
		"shorter":           {"one\n", "shorter than the checkpointed offset"},
		"first bytes":       {"X" + head[1:] + "one\ntwo\nthree\n", "first 4096 bytes differ"},
		"before the offset": {head + "ONE\ntwo\nthree\n", "bytes before the offset differ"},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, head+"one\ntwo\nthree\n")
			pos := positionAfter(t, path, FileOptions{}, 3)
			// Rewrite in place: the inode stays.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(c.after)
			f.Close()
			r, _ := OpenFile(path, FileOptions{})
			err = r.Seek(pos)
			r.Close()
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("got %v, want %q", err, c.why)
			}
			logs := &records{}
			r, _ = OpenFile(path, FileOptions{Follow: true, PollInterval: time.Millisecond, Logger: slog.New(logs)})
			defer r.Close()
			if err := r.Seek(pos); err != nil {
				t.Fatal(err)
			}
			buf := make([]string, 1)
			n, err := r.Read(context.Background(), buf)
			if n != 1 || err != nil || buf[0] != strings.SplitN(c.after, "\n", 2)[0] {
				t.Fatalf("following: %q %v, want the first line again", buf[:n], err)
			}
			if l := logs.lines(); len(l) != 1 || !strings.Contains(l[0], "reading it again from the start") {
				t.Fatalf("logged %q", l)
			}
		})
	}
}

// A followed file's position never points into a line whose newline has
// not come: the resumed reader returns the whole line once it is ended.
func TestFollowPositionExcludesPartialLine(t *testing.T) {
	path := writeFile(t, "one\ntw")
	opts := FileOptions{Follow: true, PollInterval: time.Millisecond}
	r, _ := OpenFile(path, opts)
	buf := make([]string, 4)
	n, err := r.Read(context.Background(), buf)
	if n != 1 || err != nil {
		t.Fatalf("%q %v", buf[:n], err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	r.Read(ctx, buf) // reads "tw" and waits for its newline
	cancel()
	pos, err := r.Position()
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("o\nthree\n")
	f.Close()
	r, _ = OpenFile(path, opts)
	defer r.Close()
	if err := r.Seek(pos); err != nil {
		t.Fatal(err)
	}
	n, err = r.Read(context.Background(), buf)
	if err != nil || !slices.Equal(buf[:n], []string{"two", "three"}) {
		t.Fatalf("resumed: %q %v, want [two three]", buf[:n], err)
	}
}
