package textsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/testseed"
)

// replayAll reads every record of the log in fs from its first segment.
func replayAll(t *testing.T, fs vfs.FS, dir string, logger *slog.Logger) []string {
	t.Helper()
	l, err := openLog(fs, dir, 300, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if len(l.segs) == 0 {
		return nil
	}
	if err := l.seek(logPos{seg: l.segs[0].n}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		p, ok, err := l.nextRecord()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, string(p[1:]))
	}
}

// A process that crashes at any moment leaves a log holding every record
// a commit returned for, in order, and nothing else: the crash clone
// keeps what was synced plus a random part of the rest (none, some, all),
// including records written but never synced and records cut in the
// middle; opening the log cuts such a torn tail off and the next run
// writes on. A record the crash interrupted after it was written whole
// may survive the crash (the disk kept the unsynced write): it is then a
// record of the log like the others, never handed on before, so
// replaying it once is still exactly once. Forty crashes in a row, each
// on the last one's remains.
func TestLogCrashClonesKeepWhatWasCommitted(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	fs := vfs.NewCrashableMem()
	logs := &records{}
	logger := slog.New(logs)
	var committed []string
	torn := 0
	whole := "" // the record the last crash interrupted, when it was written whole
	for round := range 40 {
		got := replayAll(t, fs, "/ck/src", logger)
		if whole != "" && len(got) == len(committed)+1 && got[len(committed)] == whole {
			committed = append(committed, whole)
		}
		whole = ""
		if !slices.Equal(got, committed) {
			t.Fatalf("after crash %d: the log holds %d records, want the %d committed:\n got %s\nwant %s",
				round, len(got), len(committed), brief(got), brief(committed))
		}
		l, err := openLog(fs, "/ck/src", 300, logger)
		if err != nil {
			t.Fatal(err)
		}
		for range rng.IntN(6) {
			var batch []string
			for range 1 + rng.IntN(8) {
				s := fmt.Sprintf("r%d-%s", len(committed)+len(batch), strings.Repeat("x", rng.IntN(120)))
				l.addString(recLine, s)
				batch = append(batch, s)
			}
			if _, err := l.commit(); err != nil {
				t.Fatal(err)
			}
			committed = append(committed, batch...)
		}
		if l.w != nil && rng.IntN(2) == 0 {
			// A commit the crash interrupts: written, in part or whole,
			// never synced nor handed on.
			rec := "never committed " + strings.Repeat("y", rng.IntN(5000))
			l.addString(recLine, rec)
			n := 1 + rng.IntN(len(l.wbuf))
			l.w.Write(l.wbuf[:n])
			if n == len(l.wbuf) {
				whole = rec
			}
			l.wbuf = l.wbuf[:0]
		}
		pct := []int{0, 100, rng.IntN(100)}[rng.IntN(3)]
		fs = fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
		l.close()
	}
	for _, line := range logs.lines() {
		if strings.Contains(line, "cut a torn record") {
			torn++
		}
	}
	if torn == 0 {
		t.Fatalf("no torn tail was ever cut: the test did not crash mid-commit")
	}
	t.Logf("%d records committed, %d torn tails cut", len(committed), torn)
}

// A damaged record that is not at the end of the log cannot be a torn
// write: the replay fails, naming the file and the offset, rather than
// skip lines.
func TestLogDamageFailsReplay(t *testing.T) {
	fs := vfs.NewMem()
	l, err := openLog(fs, "/d", 50, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		l.addString(recLine, fmt.Sprintf("line %d, long enough to fill a segment", i))
		if _, err := l.commit(); err != nil {
			t.Fatal(err)
		}
	}
	l.close()
	seg := "/d/" + segName(2)
	b := readFS(t, fs, seg)
	b[20] ^= 0x40
	writeFS(t, fs, seg, b)

	l, err = openLog(fs, "/d", 50, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if err := l.seek(logPos{seg: 1}); err != nil {
		t.Fatal(err)
	}
	for {
		_, ok, err := l.nextRecord()
		if err != nil {
			if !strings.Contains(err.Error(), seg) || !strings.Contains(err.Error(), "offset 0 is damaged") {
				t.Fatalf("got %v, want the damaged record named", err)
			}
			return
		}
		if !ok {
			t.Fatal("the replay read past a damaged record")
		}
	}
}

func readFS(t *testing.T, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFS(t *testing.T, fs vfs.FS, name string, b []byte) {
	t.Helper()
	f, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// A durable socket hands on only what is in its log: after a crash clone
// that keeps nothing unsynced, a reader on the clone, resumed at a
// position taken mid-stream, replays every line (and every reject) the
// first reader returned after it, with the server gone, then ends
// (EndQuietly), though it never connected itself.
func TestDurableSocketReplaysAfterCrash(t *testing.T) {
	l := listen(t)
	long := strings.Repeat("z", 40)
	var first, second strings.Builder
	for i := range 50 {
		fmt.Fprintf(&first, "a%d\n", i)
		fmt.Fprintf(&second, "b%d\n", i)
	}
	second.WriteString(long + "\nlast\n")
	step := make(chan struct{})
	wait := serve(t, l, func(c net.Conn) {
		c.Write([]byte(first.String()))
		<-step
		c.Write([]byte(second.String()))
		<-step
	})
	fs := vfs.NewCrashableMem()
	opts := fastRetries(1)
	opts.EndQuietly, opts.MaxLineBytes = true, 30
	r, err := OpenDurableSocket(l.Addr().String(), opts, fs, "/ck/sources/s-0", DurableOptions{SegmentBytes: 200})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := readN(t, ctx, r, 50)
	if got[49] != "a49" {
		t.Fatalf("first part ends with %q", got[49])
	}
	pos, err := r.Position()
	if err != nil {
		t.Fatal(err)
	}
	step <- struct{}{}
	after := readN(t, ctx, r, 51)
	rejects := r.Rejected(nil)
	if len(rejects) != 1 || !errors.Is(rejects[0].Err, ErrLineTooLong) {
		t.Fatalf("rejects %v, want the long line", rejects)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	step <- struct{}{}
	r.Close()
	wait()
	l.Close()

	r2, err := OpenDurableSocket(l.Addr().String(), opts, crashed, "/ck/sources/s-0", DurableOptions{SegmentBytes: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := r2.Seek(pos); err != nil {
		t.Fatal(err)
	}
	replayed, err := readAll(t, r2, ctx, 7)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("resumed reader: %v, want the end of the stream once the server is found gone", err)
	}
	if !slices.Equal(replayed, after) {
		t.Fatalf("replayed %s, want what followed the position: %s", brief(replayed), brief(after))
	}
	re := r2.Rejected(nil)
	if len(re) != 1 || re[0].Line != rejects[0].Line || re[0].Err.Error() != rejects[0].Err.Error() || !errors.Is(re[0].Err, ErrLineTooLong) {
		t.Fatalf("replayed rejects %v, want %v", re, rejects)
	}
}

func readN(t *testing.T, ctx context.Context, r interface {
	Read(context.Context, []string) (int, error)
}, n int) []string {
	t.Helper()
	var out []string
	buf := make([]string, 16)
	for len(out) < n {
		k, err := r.Read(ctx, buf[:min(16, n-len(out))])
		out = append(out, buf[:k]...)
		if err != nil {
			t.Fatalf("after %d lines: %v", len(out), err)
		}
	}
	return out
}

// Old segments go only as checkpoints complete (Committed): a segment
// goes once it lies wholly before the position told the time before the
// last. Positions given for checkpoints that never complete delete
// nothing, so a reader resumed at either of the last two positions told
// replays the rest, however many positions came after them; one resumed
// at an older position fails saying its segment is gone.
func TestDurableSocketDeletesOldSegments(t *testing.T) {
	l := listen(t)
	var all strings.Builder
	for i := range 60 {
		fmt.Fprintf(&all, "line %02d\n", i)
	}
	wait := serve(t, l, write(all.String()))
	fs := vfs.NewMem()
	opts := fastRetries(0)
	dopts := DurableOptions{SegmentBytes: 40}
	r, err := OpenDurableSocket(l.Addr().String(), opts, fs, "/d", dopts)
	if err != nil {
		t.Fatal(err)
	}
	segments := func() int { return segmentsIn(fs, "/d") }
	var positions [][]byte
	var counts []int // lines read when each position was taken
	var got []string
	buf := make([]string, 3)
	for {
		n, err := r.Read(context.Background(), buf)
		got = append(got, buf[:n]...)
		p, perr := r.Position()
		if perr != nil {
			t.Fatal(perr)
		}
		positions = append(positions, p)
		counts = append(counts, len(got))
		if err != nil {
			break
		}
	}
	if len(got) != 60 {
		t.Fatalf("read %d lines", len(got))
	}
	before := segments()
	if before < len(positions)-1 {
		t.Fatalf("%d segments for %d batches: the test wants a segment a batch", before, len(positions))
	}
	// Checkpoints 3 and 8 complete, every later one fails.
	for _, k := range []int{3, 8} {
		if err := r.Committed(positions[k]); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Committed(positions[1]); err != nil { // older than the last told: ignored
		t.Fatal(err)
	}
	if err := r.Committed([]byte("junk")); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("told an unreadable position: %v", err)
	}
	if after := segments(); after >= before || after < before-3 {
		t.Fatalf("%d segments before the checkpoints were told, %d after: want those before position 3 gone, no more", before, after)
	}
	r.Close()
	wait()
	l.Close() // resumed readers find the server gone after their replay

	resume := func(pos []byte) ([]string, error) {
		r, err := OpenDurableSocket(l.Addr().String(), opts, fs, "/d", dopts)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.Seek(pos); err != nil {
			return nil, err
		}
		out, err := readAll(t, r, context.Background(), 3)
		if err == nil || !strings.Contains(err.Error(), "could not connect") {
			t.Fatalf("after the replay: %v, want the server gone", err)
		}
		return out, nil
	}
	for _, k := range []int{3, 8} {
		replayed, err := resume(positions[k])
		if err != nil {
			t.Fatalf("resuming at told position %d: %v", k, err)
		}
		if n := counts[k]; !slices.Equal(replayed, got[n:]) {
			t.Fatalf("resumed at %d: replayed %s, want %s", k, brief(replayed), brief(got[n:]))
		}
	}
	if _, err := resume(positions[0]); err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Fatalf("resuming at a deleted position: %v, want its segment said gone", err)
	}
}

// With Retain 3, nothing goes until three positions have been told, and
// then only what lies before the oldest of the last three.
func TestDurableKeepsWhatRetainedCheckpointsNeed(t *testing.T) {
	l := listen(t)
	var all strings.Builder
	for i := range 30 {
		fmt.Fprintf(&all, "line %02d\n", i)
	}
	wait := serve(t, l, write(all.String()))
	defer l.Close()
	fs := vfs.NewMem()
	r, err := OpenDurableSocket(l.Addr().String(), fastRetries(0), fs, "/d", DurableOptions{SegmentBytes: 40, Retain: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var positions [][]byte
	buf := make([]string, 3)
	for read := 0; read < 30; {
		n, err := r.Read(context.Background(), buf)
		read += n
		p, _ := r.Position()
		positions = append(positions, p)
		if err != nil {
			t.Fatalf("after %d lines: %v", read, err)
		}
	}
	wait()
	segs := func() int { return segmentsIn(fs, "/d") }
	before := segs()
	for _, k := range []int{4, 6} {
		if err := r.Committed(positions[k]); err != nil {
			t.Fatal(err)
		}
	}
	if n := segs(); n != before {
		t.Fatalf("told 2 positions with Retain 3: %d segments left of %d, want all", n, before)
	}
	if err := r.Committed(positions[8]); err != nil {
		t.Fatal(err)
	}
	first, _ := parsePos(positions[4])
	names, _ := fs.List("/d")
	for _, name := range names {
		if n, ok := parseSegName(name); ok && n < first.seg {
			t.Fatalf("segment %s is left, before the oldest retained position (segment %d)", name, first.seg)
		}
	}
	if n := segs(); n >= before {
		t.Fatalf("told 3 positions with Retain 3: %d segments of %d left, want those before the first told gone", n, before)
	}
}

// segmentsIn counts the segment files of the log in dir.
func segmentsIn(fs vfs.FS, dir string) int {
	names, _ := fs.List(dir)
	n := 0
	for _, name := range names {
		if _, ok := parseSegName(name); ok {
			n++
		}
	}
	return n
}
