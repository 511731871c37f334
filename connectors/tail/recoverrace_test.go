package tail_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidstream/braid/connectors/tail"
)

// rotateOnRecover is a slog.Handler that, the first time the source says
// it reads a truncated log's rest from a copy, runs do: a rotation that
// lands between the moment the source picked the copy and the moment it
// reads from it, in the source's own goroutine, so the test is
// deterministic.
type rotateOnRecover struct {
	once sync.Once
	do   func()
}

func (h *rotateOnRecover) Enabled(context.Context, slog.Level) bool { return true }
func (h *rotateOnRecover) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *rotateOnRecover) WithGroup(string) slog.Handler            { return h }
func (h *rotateOnRecover) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "reading the rest of its lines from the copy") {
		h.once.Do(h.do)
	}
	return nil
}

// A copy-truncate, then a second one while the source recovers from the
// first: the copy it picked (app.log.1) is renamed to app.log.2 and a new
// app.log.1 made before it reads from it. The source must read the rest
// from the copy it picked, whatever its name now, then the new copy, then
// the log: each line once. Before the fix it opened app.log.1 by name,
// the newer copy, and read it from the old copy's offset: a piece of a
// line, then lines read twice.
func TestFollowRotationDuringCopyRecovery(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "app.log")
	appendTo(t, live, lines(0, 100))
	var hookErr error
	h := &rotateOnRecover{do: func() {
		hookErr = func() error {
			// The second rotation: lines to the truncated log, then
			// app.log.1 -> app.log.2, the log copied to app.log.1 and
			// truncated, and lines after.
			if err := appendFile(live, lines(150, 250)); err != nil {
				return err
			}
			if err := os.Rename(live+".1", live+".2"); err != nil {
				return err
			}
			if err := copyPlain(live, live+".1"); err != nil {
				return err
			}
			if err := os.Truncate(live, 0); err != nil {
				return err
			}
			return appendFile(live, lines(250, 300))
		}()
	}}
	j := follow(t, filepath.Join(dir, "app.log*"), 5*time.Millisecond, tail.Logger(slog.New(h)))
	waitFor(t, 20*time.Second, "100 lines", func() bool { j.alive(t); return j.got.n() >= 100 })
	// The first copy-truncate, with 50 lines the source has not read in
	// the copy only.
	appendTo(t, live, lines(100, 150))
	if err := copyPlain(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(live, 0); err != nil {
		t.Fatal(err)
	}
	j.settle(t, 300)
	j.stop(t)
	if hookErr != nil {
		t.Fatal(hookErr)
	}
	j.got.exactly(t, 300)
}
