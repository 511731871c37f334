package textsrc

import (
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// behindReader opens a following reader of dir/app.log* that polls only
// when a test says so (pollNow), logging into recs.
func behindReader(t *testing.T, dir string, recs *records) *GlobReader {
	t.Helper()
	g, err := OpenGlob(filepath.Join(dir, "app.log*"), GlobOptions{Follow: true, PollInterval: time.Hour,
		Logger: slog.New(recs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// pollNow reads what there is, with exactly one poll at its end.
func pollNow(t *testing.T, g *GlobReader) []string {
	t.Helper()
	g.lastPoll = time.Time{}
	var out []string
	buf := make([]FileLine, 64)
	for {
		n, err := g.Read(context.Background(), buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range buf[:n] {
			out = append(out, l.Text)
		}
		if n == 0 {
			return out
		}
	}
}

func seqLines(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "seq %d %s\n", i, strings.Repeat("x", i%50))
	}
	return b.String()
}

func writeBehind(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeGz(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(s))
	zw.Close()
	f.Close()
}

// checkOnce fails unless got holds each of lines 0..n-1 exactly once.
func checkOnce(t *testing.T, got []string, n int) {
	t.Helper()
	seen := make([]int, n)
	for _, l := range got {
		f := strings.Fields(l)
		k, err := strconv.Atoi(f[1])
		if err != nil || k >= n {
			t.Fatalf("unexpected line %q", l)
		}
		seen[k]++
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("seq %d read %d times", k, c)
		}
	}
}

// A copy-truncate's copy can get the inode of a generation read before
// and deleted since (the system recycles inodes). That generation's head
// must still be known then, so that its .gz, found later, is known for a
// copy and not read again (the t1 repro's duplicates: a generation read
// as app.log, then again as app.log.3.gz).
func TestGlobBehindRecycledInodeKeepsCopyKnown(t *testing.T) {
	dir := t.TempDir()
	recs := &records{}
	log := filepath.Join(dir, "app.log")
	gen1, gen2, gen3 := seqLines(0, 100), seqLines(100, 200), seqLines(200, 300)
	writeBehind(t, log, gen2)
	g := behindReader(t, dir, recs)
	got := pollNow(t, g)
	// Copy-truncate: app.log.1 is the copy of what app.log held.
	writeBehind(t, log+".1", gen2)
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	// Before the reader sees it: as if app.log.1 had the inode of a
	// generation read before (gen1), finished and deleted since.
	st, err := os.Stat(log + ".1")
	if err != nil {
		t.Fatal(err)
	}
	g.known[identityOf(st)] = &genFile{path: log + ".2", id: identityOf(st), head: []byte(gen1)[:headMax], state: finished}
	got = append(got, strings.Split(strings.TrimSuffix(gen1, "\n"), "\n")...) // read before
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(gen3)
	f.Close()
	got = append(got, pollNow(t, g)...)
	// gen1's generation, compressed, appears.
	writeGz(t, log+".3.gz", gen1)
	got = append(got, pollNow(t, g)...)
	checkOnce(t, got, 300)
}

// missOnce lists the glob as filepath.Glob does, except that its first
// listing after arm misses the paths named: as a directory listing
// racing a rotation's renames can.
type missOnce struct {
	mu    sync.Mutex
	armed []string
}

func (m *missOnce) list(glob string) ([]string, error) {
	ps, err := filepath.Glob(glob)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.armed) > 0 {
		kept := ps[:0]
		for _, p := range ps {
			miss := false
			for _, a := range m.armed {
				miss = miss || p == a
			}
			if !miss {
				kept = append(kept, p)
			}
		}
		ps, m.armed = kept, nil
	}
	return ps, err
}

// A file that a poll's listing misses (being renamed while the directory
// was read) and that is deleted before the next poll must not be
// skipped: the glob is listed until two listings agree (the t1 repro's
// missing file, in rename rotation).
func TestGlobBehindListingMissesARenamedFile(t *testing.T) {
	dir := t.TempDir()
	recs := &records{}
	log := filepath.Join(dir, "app.log")
	writeBehind(t, log, seqLines(0, 50))
	g := behindReader(t, dir, recs)
	m := &missOnce{}
	g.list = m.list
	got := pollNow(t, g)
	// Rename rotation, twice between polls: the first generation is at
	// app.log.2, the second at app.log.1, the third at app.log.
	if err := os.Rename(log, log+".2"); err != nil {
		t.Fatal(err)
	}
	writeBehind(t, log+".1", seqLines(50, 100))
	writeBehind(t, log, seqLines(100, 150))
	m.armed = []string{log + ".1"}
	got = append(got, pollNow(t, g)...)
	// app.log.1 is rotated off and deleted before the next poll.
	os.Remove(log + ".1")
	got = append(got, pollNow(t, g)...)
	checkOnce(t, got, 150)
	for _, l := range recs.lines() {
		if strings.HasPrefix(l, "WARN") {
			t.Errorf("unexpected warning: %s", l)
		}
	}
}

// A queued file deleted before its turn (rotated off while the reader
// was behind, never held open) is lost, and said to be: a warning names
// it and where its lost lines start.
func TestGlobBehindLossIsLogged(t *testing.T) {
	dir := t.TempDir()
	recs := &records{}
	log := filepath.Join(dir, "app.log")
	writeBehind(t, log+".2", seqLines(0, 50))
	writeBehind(t, log+".1", seqLines(50, 100))
	writeBehind(t, log, seqLines(100, 150))
	g := behindReader(t, dir, recs)
	buf := make([]FileLine, 10)
	if _, err := g.Read(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	// app.log.1, found at the start and not held open, is deleted before
	// its turn.
	os.Remove(log + ".1")
	pollNow(t, g)
	warned := false
	for _, l := range recs.lines() {
		if strings.HasPrefix(l, "WARN") && strings.Contains(l, "file="+log+".1") && strings.Contains(l, "offset=0") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning names the lost file; logged:\n%s", strings.Join(recs.lines(), "\n"))
	}
}

// behindRun is the t1 repro in small: a writer appends numbered lines to
// app.log and rotates it every rot (mode: rename, copytrunc, recreate,
// or mix of the three; not delete, whose file can be created and deleted
// between two polls, unseen: a limit the docs state), compressing app.log.2 into
// app.log.2.gz when gz, keeping 5 generations; the reader pauses every
// 1000 lines for slow. It reports the lines read twice, and those never
// read, which only a warning may excuse.
func behindRun(t *testing.T, seed uint64, mode string, gz bool, n int, rot, slow, poll time.Duration) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	rng := rand.New(rand.NewPCG(seed, 1))
	shift := func() {
		for k := 5; k >= 1; k-- {
			for _, ext := range []string{"", ".gz"} {
				src := p(fmt.Sprintf("app.log.%d%s", k, ext))
				if _, err := os.Stat(src); err != nil {
					continue
				}
				if k == 5 {
					os.Remove(src)
					continue
				}
				os.Rename(src, p(fmt.Sprintf("app.log.%d%s", k+1, ext)))
			}
		}
	}
	f, err := os.OpenFile(p("app.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		i, r := 0, 0
		last := time.Now()
		for i < n {
			for k := 0; k < 20 && i < n; k++ {
				fmt.Fprintf(f, "seq %d %s\n", i, strings.Repeat("x", i%50))
				i++
			}
			written.Store(int64(i))
			time.Sleep(time.Millisecond)
			if time.Since(last) < rot {
				continue
			}
			last = time.Now()
			m := mode
			if m == "mix" {
				m = []string{"rename", "copytrunc", "recreate"}[rng.IntN(3)]
			}
			r++
			shift()
			switch m {
			case "rename":
				os.Rename(p("app.log"), p("app.log.1"))
				for k := 0; k < 5 && i < n; k++ {
					fmt.Fprintf(f, "seq %d old-fd\n", i)
					i++
				}
				nf, _ := os.OpenFile(p("app.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				f.Close()
				f = nf
			case "copytrunc":
				data, _ := os.ReadFile(p("app.log"))
				os.WriteFile(p("app.log.1"), data, 0o644)
				f.Truncate(0)
			case "recreate":
				data, _ := os.ReadFile(p("app.log"))
				os.WriteFile(p("app.log.1"), data, 0o644)
				os.Remove(p("app.log"))
				nf, _ := os.OpenFile(p("app.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				f.Close()
				f = nf
			}
			if gz {
				if in, err := os.ReadFile(p("app.log.2")); err == nil {
					out, _ := os.Create(p("app.log.2.gz"))
					zw := gzip.NewWriter(out)
					zw.Write(in)
					zw.Close()
					out.Close()
					os.Remove(p("app.log.2"))
				}
			}
			written.Store(int64(i))
		}
		f.Close()
	}()
	recs := &records{}
	g, err := OpenGlob(p("app.log*"), GlobOptions{Follow: true, PollInterval: poll, Logger: slog.New(recs)})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	seen := make([]int, n)
	where := make([]string, n)
	buf := make([]FileLine, 256)
	got, dups := 0, 0
	ctx := context.Background()
	var quiet time.Time
	for {
		k, err := g.Read(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range buf[:k] {
			fs := strings.Fields(l.Text)
			s, err := strconv.Atoi(fs[1])
			if err != nil || s >= n {
				t.Fatalf("bad line %q at %s:%d", l.Text, l.Path, l.Number)
			}
			if seen[s] > 0 && dups < 5 {
				t.Errorf("seq %d read again at %s:%d, first at %s", s, filepath.Base(l.Path), l.Number, where[s])
			}
			if seen[s] > 0 {
				dups++
			}
			seen[s]++
			where[s] = fmt.Sprintf("%s:%d", filepath.Base(l.Path), l.Number)
			got++
			if got%1000 == 0 && slow > 0 {
				time.Sleep(slow)
			}
		}
		select {
		case <-done:
			if k > 0 {
				quiet = time.Time{}
			} else if quiet.IsZero() {
				quiet = time.Now()
			}
		default:
		}
		if !quiet.IsZero() && time.Since(quiet) > 4*poll+200*time.Millisecond {
			break
		}
	}
	missing := 0
	for _, c := range seen {
		if c == 0 {
			missing++
		}
	}
	warned := 0
	for _, l := range recs.lines() {
		if strings.HasPrefix(l, "WARN") {
			warned++
			t.Log(l)
		}
	}
	t.Logf("seed %d mode %s: written %d, read %d, missing %d, read twice %d, warnings %d", seed, mode, written.Load(), got, missing, dups, warned)
	if dups > 0 {
		t.Errorf("%d lines read twice", dups)
	}
	if missing > 0 && warned == 0 {
		t.Errorf("%d lines never read, and no warning said so", missing)
	}
}

// The t1 kind, short: fast rotations, a slow reader.
func TestGlobBehindRotations(t *testing.T) {
	runs := []struct {
		mode string
		gz   bool
		slow time.Duration
	}{
		{"copytrunc", true, 5 * time.Millisecond},
		{"rename", false, 0},
		{"mix", true, 5 * time.Millisecond},
	}
	seeds := 1
	if os.Getenv("BRAID_TAIL_SOAK") != "" {
		seeds = 20
	}
	for seed := range seeds {
		for _, r := range runs {
			t.Run(fmt.Sprintf("%s/seed%d", r.mode, seed), func(t *testing.T) {
				behindRun(t, uint64(seed), r.mode, r.gz, 12000, 15*time.Millisecond, r.slow, 20*time.Millisecond)
			})
		}
	}
}

func gzBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b strings.Builder
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return []byte(b.String())
}

// A copy-truncate's copy that is not in the glob when the reader sees
// the truncation (not renamed into it yet, or a .gz still being written,
// unreadable) is read from the offset the truncated file was read to
// when it appears: the soak's copytrunc/seed3, 180 lines read twice after
// a warning that lines may be lost.
func TestGlobBehindCopyAppearsAfterTruncation(t *testing.T) {
	for _, kind := range []string{"renamed-in-later", "cut-line", "gz-being-written", "gz-short-of-offset"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			recs := &records{}
			log := filepath.Join(dir, "app.log")
			first := seqLines(0, 100)
			if kind == "cut-line" {
				first += "seq 100" // its end not written yet
			}
			writeBehind(t, log, first)
			g := behindReader(t, dir, recs)
			got := pollNow(t, g)
			// Lines 100-149 are written, not read; then the copy is made
			// and app.log truncated and written again.
			old := seqLines(0, 150)
			gz := gzBytes(t, old)
			switch kind {
			case "renamed-in-later", "cut-line":
				writeBehind(t, filepath.Join(dir, "copy.tmp"), old)
			default:
				writeBehind(t, log+".1.gz", string(gz[:10])) // its header only, yet
			}
			writeBehind(t, log, seqLines(150, 200))
			got = append(got, pollNow(t, g)...)
			switch kind {
			case "renamed-in-later", "cut-line":
				if err := os.Rename(filepath.Join(dir, "copy.tmp"), log+".1"); err != nil {
					t.Fatal(err)
				}
			case "gz-being-written":
				writeBehind(t, log+".1.gz", string(gz))
			case "gz-short-of-offset":
				// More than its head, less than what was read.
				writeBehind(t, log+".1.gz", string(gz[:len(gz)/3]))
				got = append(got, pollNow(t, g)...)
				writeBehind(t, log+".1.gz", string(gz))
			}
			got = append(got, pollNow(t, g)...)
			got = append(got, pollNow(t, g)...)
			checkOnce(t, got, 200)
			for _, l := range recs.lines() {
				if strings.HasPrefix(l, "WARN") {
					t.Errorf("unexpected warning: %s", l)
				}
			}
			// The line cut by the truncation came whole from the copy.
			for _, j := range g.Rejected(nil) {
				t.Errorf("unexpected reject: %q: %v", j.Line.Text, j.Err)
			}
		})
	}
}

// With no copy appearing, the reader gives up waiting for one after
// awaitedPolls polls and awaitedWait, and warns then that lines may be
// lost, naming the file and the offset.
func TestGlobBehindNoCopyWarnsWhenGivenUp(t *testing.T) {
	dir := t.TempDir()
	recs := &records{}
	log := filepath.Join(dir, "app.log")
	writeBehind(t, log, seqLines(0, 100))
	g := behindReader(t, dir, recs)
	got := pollNow(t, g)
	writeBehind(t, log, seqLines(100, 120))
	got = append(got, pollNow(t, g)...)
	warned := func() bool {
		for _, l := range recs.lines() {
			if strings.HasPrefix(l, "WARN") && strings.Contains(l, "file="+log) && strings.Contains(l, "line=101") {
				return true
			}
		}
		return false
	}
	if warned() || len(g.awaited) != 1 {
		t.Fatalf("warned at the truncation, or not waiting for a copy (%d awaited); logged:\n%s", len(g.awaited), strings.Join(recs.lines(), "\n"))
	}
	g.awaited[0].at = g.awaited[0].at.Add(-awaitedWait)
	for range awaitedPolls {
		pollNow(t, g)
	}
	if !warned() || len(g.awaited) != 0 {
		t.Errorf("no warning after giving up (%d awaited); logged:\n%s", len(g.awaited), strings.Join(recs.lines(), "\n"))
	}
	checkOnce(t, got, 120)
}
