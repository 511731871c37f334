package evolve_test

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/stream"
)

// panics makes user functions panic at chosen events, each event at most
// once over all restarts of a job: the record is kept outside the job.
type panics struct {
	mu   sync.Mutex
	done map[string]bool
}

// at returns a hook that panics at the events for which due is true, once
// each; where names the function in the panic's message.
func (p *panics) at(where string, due func(ev) bool) func(ev) {
	return func(e ev) {
		if !due(e) {
			return
		}
		msg := fmt.Sprintf("planned panic in %s at event %d", where, e.I)
		p.mu.Lock()
		again := p.done[msg]
		p.done[msg] = true
		p.mu.Unlock()
		if !again {
			panic(msg)
		}
	}
}

func (p *panics) messages() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for m := range p.done {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// A user function that panics now and then (the process function every
// 1000th event, the session window's every 1700th from event 850, every
// 1500th with -short), each event once, restarts the job
// inside Execute from its last checkpoint under the restart strategy; the
// job completes, and its published output is the uninterrupted run's,
// record for record. Each restart is logged with its number, its wait (as
// the strategy says: fixed, or doubling up to the limit) and the panic
// that caused it. (Two panics in two subtasks at about the same time fail
// the job once: a restart is logged for the first.)
func TestRestartsAfterPanicsGiveTheUninterruptedResults(t *testing.T) {
	want := reference(t, job{par: 2})
	everyProcess, everySession := int64(1000), int64(1700)
	if testing.Short() {
		everySession = 1500
	}
	nPanics := nEvents/everyProcess + (nEvents-850+everySession-1)/everySession
	for _, c := range []struct {
		name     string
		strategy stream.RestartStrategy
		waits    []time.Duration // of each restart in order; the last repeats
	}{
		{"fixed", stream.FixedDelayRestart(12, time.Millisecond), []time.Duration{time.Millisecond}},
		{"backoff", stream.ExponentialBackoffRestart(time.Millisecond, 4*time.Millisecond, 12),
			[]time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &panics{done: map[string]bool{}}
			lg := &logs{}
			j := job{par: 3, fs: vfs.NewMem(), clock: clockAfter, src: newSource(), log: lg.logger(),
				interval: 5 * time.Millisecond, restart: c.strategy,
				onElement: p.at("process", func(e ev) bool { return e.I%everyProcess == everyProcess-1 }),
				onSession: p.at("session", func(e ev) bool { return e.I%everySession == 850 })}
			j.src.delay = 300 * time.Microsecond
			if err := execute(t, j.env()); err != nil {
				t.Fatal(err)
			}
			planned := p.messages()
			if int64(len(planned)) != nPanics {
				t.Fatalf("%d panics (%v), want %d: every planned one, once", len(planned), planned, nPanics)
			}
			if got := published(t, j.fs); !slices.Equal(got, want) {
				t.Fatalf("after %d restarts: %s", len(planned), diff(got, want))
			}
			restarts := lg.find("braid: job failed; restarting from the last checkpoint")
			var logged []string
			for i, r := range restarts {
				if r.level != slog.LevelWarn || r.attrs["restart"] != strconv.Itoa(i+1) {
					t.Errorf("restart %d logged as %v", i+1, r)
				}
				wait := c.waits[min(i, len(c.waits)-1)]
				if r.attrs["in"] != wait.String() {
					t.Errorf("restart %d logged a wait of %s, want %v", i+1, r.attrs["in"], wait)
				}
				m := r.attrs["err"]
				if k := strings.Index(m, "planned panic"); k >= 0 {
					m = m[k:]
					m = m[:strings.IndexAny(m+"\n", "\n")]
				}
				logged = append(logged, m)
			}
			slices.Sort(logged)
			if len(logged) == 0 || len(slices.Compact(slices.Clone(logged))) != len(logged) ||
				slices.ContainsFunc(logged, func(m string) bool { return !slices.Contains(planned, m) }) {
				t.Errorf("restarts logged for %q, want one for each of some of the panics %q", logged, planned)
			}
			resumed := len(lg.find("braid: resuming from checkpoint"))
			if resumed == 0 {
				t.Error("no restart resumed from a checkpoint: the test needs checkpoints between the panics")
			}
			t.Logf("%d panics, %d restarts, %d of them from a checkpoint; %d lines as the uninterrupted run", len(planned), len(restarts), resumed, len(want))
		})
	}
}

// A job whose user function panics again after every restart fails once
// the strategy gives up, with the panic as its cause (ErrPanic, in an
// OperatorError naming the process function) and the number of restarts
// made; each of them is logged.
func TestRestartsGiveUp(t *testing.T) {
	for _, c := range []struct {
		name     string
		strategy stream.RestartStrategy
		restarts int
	}{
		{"fixed", stream.FixedDelayRestart(3, 0), 3},
		{"backoff", stream.ExponentialBackoffRestart(time.Millisecond, time.Second, 2), 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			lg := &logs{}
			j := job{par: 2, fs: vfs.NewMem(), clock: clockAfter, src: newSource(), log: lg.logger(), restart: c.strategy,
				onElement: func(e ev) {
					if e.I == 100 {
						panic("always at event 100")
					}
				}}
			err := execute(t, j.env())
			if !errors.Is(err, stream.ErrPanic) || !strings.Contains(err.Error(), "always at event 100") {
				t.Fatalf("got %v, want the panic", err)
			}
			if oe, ok := errors.AsType[*stream.OperatorError](err); !ok || oe.Operator != "process" {
				t.Errorf("got %v, want an OperatorError naming the process function", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("after %d restarts", c.restarts)) {
				t.Errorf("got %v, want it to say it failed after %d restarts", err, c.restarts)
			}
			if n := len(lg.find("braid: job failed; restarting from the last checkpoint")); n != c.restarts {
				t.Errorf("%d restarts logged, want %d", n, c.restarts)
			}
		})
	}
}
