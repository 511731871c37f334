package tail_test

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
)

// A logWriter writes numbered lines to a log as an application does (one
// handle, opened for appending, reopened when told) and rotates the log
// as logrotate does. Its methods return errors rather than fail the test,
// since it runs in a goroutine of its own.
type logWriter struct {
	dir, name string
	f         *os.File
	next      int // the number of the next line
	gens      int // rotated generations: name.1 ... name.gens
	liveFirst int // the number of the first line of the live log
	rnd       *rand.Rand
	// caughtUp reports whether the reader has read every line written.
	caughtUp func(written int) bool
}

func newLogWriter(dir, name string, seed uint64) (*logWriter, error) {
	w := &logWriter{dir: dir, name: name, rnd: rand.New(rand.NewPCG(seed, 7))}
	return w, w.reopen()
}

func (w *logWriter) live() string       { return filepath.Join(w.dir, w.name) }
func (w *logWriter) gen(i int) string   { return fmt.Sprintf("%s.%d", w.live(), i) }
func (w *logWriter) gzGen(i int) string { return w.gen(i) + ".gz" }

// reopen is the application reopening its log (after a rotation).
func (w *logWriter) reopen() error {
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(w.live(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	w.f = f
	if st, serr := os.Stat(w.live()); err == nil && serr == nil && st.Size() == 0 {
		w.liveFirst = w.next
	}
	return err
}

// write writes k lines, in pieces: some lines in two writes, so that a
// reader sees lines without their newline yet.
func (w *logWriter) write(k int) error {
	b := lines(w.next, w.next+k)
	w.next += k
	for len(b) > 0 {
		n := min(len(b), 1+w.rnd.IntN(400))
		if _, err := w.f.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// shift renames name.i to name.i+1, oldest first, compressed or not.
func (w *logWriter) shift() error {
	for i := w.gens; i >= 1; i-- {
		for _, p := range [][2]string{{w.gen(i), w.gen(i + 1)}, {w.gzGen(i), w.gzGen(i + 1)}} {
			if err := os.Rename(p[0], p[1]); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	w.gens++
	return nil
}

// compress gzips name.i into name.i.gz and removes name.i, as logrotate's
// compress (with delaycompress, for generation 2) does.
func (w *logWriter) compress(i int) error {
	in, err := os.Open(w.gen(i))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(w.gzGen(i))
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(w.gen(i))
}

// renameRotate is logrotate's create: the log renamed to name.1, a new
// empty log created; the application writes a few more lines to the
// renamed file before it reopens its log.
func (w *logWriter) renameRotate() error {
	if err := w.shift(); err != nil {
		return err
	}
	if err := os.Rename(w.live(), w.gen(1)); err != nil {
		return err
	}
	if err := os.WriteFile(w.live(), nil, 0o644); err != nil {
		return err
	}
	if err := w.write(w.rnd.IntN(20)); err != nil {
		return err
	}
	return w.reopen()
}

// copyTruncate is logrotate's copytruncate: the log copied to name.1,
// then truncated; the application writes on with its handle.
func (w *logWriter) copyTruncate() error {
	if err := w.shift(); err != nil {
		return err
	}
	if err := copyPlain(w.live(), w.gen(1)); err != nil {
		return err
	}
	w.liveFirst = w.next
	return w.f.Truncate(0)
}

// deleteRecreate removes the log; the application writes a few lines
// more to the deleted file, then creates the log anew. The log is
// removed once the reader has read a line of it: a file created and
// deleted between two polls is never seen (by tail -F either).
func (w *logWriter) deleteRecreate() error {
	if w.next > w.liveFirst {
		deadline := time.Now().Add(20 * time.Second)
		for !w.caughtUp(w.liveFirst + 1) {
			if time.Now().After(deadline) {
				return fmt.Errorf("the reader did not reach line %d", w.liveFirst)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := os.Remove(w.live()); err != nil {
		return err
	}
	if err := w.write(w.rnd.IntN(20)); err != nil {
		return err
	}
	return w.reopen()
}

// rewritePastEnd is a copy-truncate followed, before the reader's next
// poll, by writes that take the log past its old size: the log is copied
// to name.1, truncated, and given at once new lines longer than it was,
// so that a poll after the write never sees it shorter than before. The
// new lines are appended to the truncated file, as an application does,
// not written over the old bytes in place: a reader reading while such
// a write is under way can see new bytes at the start and old ones past
// the first page, which no reader can tell from a log (a torn write the
// test made, not a rotation).
func (w *logWriter) rewritePastEnd() error {
	if err := w.shift(); err != nil {
		return err
	}
	if err := copyPlain(w.live(), w.gen(1)); err != nil {
		return err
	}
	st, err := w.f.Stat()
	if err != nil {
		return err
	}
	from := w.next
	for int64(len(lines(from, w.next))) <= st.Size() {
		w.next++
	}
	w.liveFirst = from
	if err := w.f.Truncate(0); err != nil {
		return err
	}
	_, err = w.f.Write(lines(from, w.next))
	return err
}

func copyPlain(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// waitCaughtUp waits until the reader read every line written.
func (w *logWriter) waitCaughtUp() error {
	deadline := time.Now().Add(20 * time.Second)
	for !w.caughtUp(w.next) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the reader did not catch up with %d lines", w.next)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// rotationRun follows a log that a writer goroutine writes n lines to,
// rotating it with rotate every so many lines (at random, sometimes while
// the reader lags, sometimes once it has caught up), and checks that each
// line is read exactly once.
func rotationRun(t *testing.T, n int, rotate func(w *logWriter) error) {
	seed := testseed.Seed(t)
	dir := t.TempDir()
	w, err := newLogWriter(dir, "app.log", seed)
	if err != nil {
		t.Fatal(err)
	}
	defer w.f.Close()
	if err := w.write(100); err != nil {
		t.Fatal(err)
	}
	j := follow(t, filepath.Join(dir, "app.log*"), 5*time.Millisecond)
	w.caughtUp = func(k int) bool { return j.got.n() >= k }
	errc := make(chan error, 1)
	go func() {
		errc <- func() error {
			rotations := 0
			for w.next < n {
				if err := w.write(min(n-w.next, 1+w.rnd.IntN(150))); err != nil {
					return err
				}
				if w.rnd.IntN(3) == 0 && w.next < n {
					if w.rnd.IntN(2) == 0 {
						if err := w.waitCaughtUp(); err != nil {
							return err
						}
					}
					if err := rotate(w); err != nil {
						return err
					}
					rotations++
				}
			}
			if rotations == 0 {
				return errors.New("no rotation happened: the test checks nothing")
			}
			t.Logf("%d lines, %d rotations", w.next, rotations)
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	j.settle(t, w.next)
	j.stop(t)
	j.got.exactly(t, w.next)
}

// Rotation by rename (logrotate's create), with generations compressed
// from the second on (delaycompress): each line read once, those the
// application wrote to the renamed file before reopening included.
func TestFollowRenameRotation(t *testing.T) {
	rotationRun(t, 3000, func(w *logWriter) error {
		if err := w.renameRotate(); err != nil {
			return err
		}
		return w.compress(2)
	})
}

// Rotation by copy-truncate: the copy is not read again, and what the
// reader had not read before the truncation is read from the copy.
func TestFollowCopyTruncate(t *testing.T) {
	rotationRun(t, 3000, (*logWriter).copyTruncate)
}

// The log deleted and created again: the lines written to the deleted
// file before the new one is created are read, then the new file's.
func TestFollowDeleteRecreate(t *testing.T) {
	rotationRun(t, 3000, (*logWriter).deleteRecreate)
}

// A copy-truncate after which the log grows past its old size before the
// reader's next poll: the reader must see the truncation by the log's
// first bytes, not its size, read the new lines from the start and read
// none of the copy again.
func TestFollowTruncatedGrowsPastOldSize(t *testing.T) {
	rotationRun(t, 3000, func(w *logWriter) error {
		if err := w.waitCaughtUp(); err != nil {
			return err
		}
		return w.rewritePastEnd()
	})
}

// Every kind of rotation, in a random order.
func TestFollowMixedRotations(t *testing.T) {
	rotationRun(t, 4000, func(w *logWriter) error {
		switch w.rnd.IntN(4) {
		case 0:
			if err := w.renameRotate(); err != nil {
				return err
			}
			return w.compress(2)
		case 1:
			return w.copyTruncate()
		case 2:
			return w.deleteRecreate()
		default:
			return w.rewritePastEnd()
		}
	})
}

// New files matching the glob appear (a log per day): each is read
// after the one before, which is finished first; lines written to the
// old one before the new one has any are read.
func TestFollowNewFileAppears(t *testing.T) {
	dir := t.TempDir()
	write := func(day, from, to int) error {
		return appendFile(filepath.Join(dir, fmt.Sprintf("app-%02d.log", day)), lines(from, to))
	}
	if err := write(1, 0, 100); err != nil {
		t.Fatal(err)
	}
	j := follow(t, filepath.Join(dir, "app-*.log"), 5*time.Millisecond)
	next := 100
	errc := make(chan error, 1)
	go func() {
		errc <- func() error {
			for day := 1; day <= 6; day++ {
				// Lines to the day's file, the next day's file created
				// empty (it must wait), a few lines more to the day's,
				// then the next day's first lines.
				if day > 1 {
					if err := write(day, next, next+50); err != nil {
						return err
					}
					next += 50
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("app-%02d.log", day+1)), nil, 0o644); err != nil {
					return err
				}
				if err := write(day, next, next+30); err != nil {
					return err
				}
				next += 30
			}
			next += 10
			return write(7, next-10, next)
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	j.settle(t, next)
	j.stop(t)
	j.got.exactly(t, next)
}

// A copy-truncate while the reader is far behind: the lines it had not
// read when the log was truncated are read from the copy, then the log
// anew. The sink holds the job back at line 200 (so the reader, whose
// read-ahead is bounded, is behind the 2000 lines written) until the
// log was copied and truncated.
func TestFollowCopyTruncateWhileBehind(t *testing.T) {
	dir := t.TempDir()
	w, err := newLogWriter(dir, "app.log", testseed.Seed(t))
	if err != nil {
		t.Fatal(err)
	}
	defer w.f.Close()
	if err := w.write(2000); err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release) // a failure before the release must not leave the sink waiting
		}
	}()
	var once sync.Once
	gate := func(i int) {
		if i == 200 {
			once.Do(func() { close(held) })
			<-release
		}
	}
	j := followGated(t, filepath.Join(dir, "app.log*"), 5*time.Millisecond, gate)
	<-held
	if err := w.copyTruncate(); err != nil {
		t.Fatal(err)
	}
	if err := w.write(500); err != nil {
		t.Fatal(err)
	}
	close(release)
	j.settle(t, w.next)
	j.stop(t)
	j.got.exactly(t, w.next)
}
