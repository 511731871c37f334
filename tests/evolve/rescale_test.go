package evolve_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
)

// resume runs first until a checkpoint holds its source at hold, then runs
// second from that checkpoint to the end, and returns what the first run
// had published and what is published at the end. second gets first's
// filesystem and a fresh source.
func resume(t *testing.T, first, second job, hold int64) (before, after []string) {
	t.Helper()
	first.fs, first.clock = vfs.NewMem(), clockBefore
	first.src = newSource()
	first.src.delay = 400 * time.Microsecond
	before = runHeld(t, first, hold)
	second.fs, second.clock = first.fs, clockAfter
	second.src = newSource()
	if err := execute(t, second.env()); err != nil {
		t.Fatalf("the resumed run: %v", err)
	}
	checkResumedAt(t, second.src, hold, srcPar)
	return before, published(t, second.fs)
}

// A checkpoint taken at parallelism p restores at parallelism q: key groups
// move between subtasks, operator state of the old subtasks is combined,
// and the job's published output equals that of one run that never
// stopped, for every stateful operator: time windows (tumbling, sliding),
// sessions, count and delta windows, a process function with value, list
// and map state and timers of both clocks, a window join, an interval
// join and a keyed co-process function. The stop point is drawn from the
// seed; the sink's parallelism changes with the job's.
func TestRescaleGivesTheUninterruptedResults(t *testing.T) {
	want := reference(t, job{par: 2})
	seed := testseed.Seed(t)
	type rescale struct {
		name   string
		p, q   int
		opPar  map[string]int // the resumed job's per-operator parallelism
		opPar1 map[string]int // the first job's
	}
	cases := []rescale{
		{name: "1to3", p: 1, q: 3},
		{name: "3to1", p: 3, q: 1},
		{name: "2to5", p: 2, q: 5},
		{name: "4to2", p: 4, q: 2},
		{name: "operators", p: 2, q: 2,
			opPar1: map[string]int{"process": 3, "session": 1},
			opPar:  map[string]int{"join": 3, "process": 1, "tumbling": 4, "coprocess": 5, "interval": 1}},
	}
	if testing.Short() {
		cases = slices.DeleteFunc(cases, func(c rescale) bool { return c.name == "4to2" || c.name == "1to3" })
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Somewhere in the middle third, so that windows of every kind
			// are open and some have fired.
			hold := nEvents/3 + int64((seed+uint64(i)*0x9e3779b97f4a7c15)%uint64(nEvents/3))
			t.Logf("held at event %d", hold)
			before, got := resume(t, job{par: c.p, opPar: c.opPar1}, job{par: c.q, opPar: c.opPar}, hold)
			if len(before) == 0 || len(before) >= len(want) {
				t.Fatalf("the first run published %d of %d lines: the test needs a partial run", len(before), len(want))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("after %s: %s", c.name, diff(got, want))
			}
			t.Logf("%d lines before the stop, %d in all, as the uninterrupted run", len(before), len(got))
		})
	}
}

// A chain of restores, each at another parallelism, each from a checkpoint
// taken by a job that was itself restored at another: state left over by
// old subtasks must not come back.
func TestRescaleChain(t *testing.T) {
	if testing.Short() {
		t.Skip("a chain of five runs; -short runs the pairs")
	}
	want := reference(t, job{par: 2})
	fs := vfs.NewMem()
	pars := []int{2, 5, 1, 3, 4}
	for i, p := range pars {
		j := job{par: p, fs: fs, clock: clockAfter, src: newSource()}
		if i == 0 {
			j.clock = clockBefore
		}
		if i == len(pars)-1 {
			if err := execute(t, j.env()); err != nil {
				t.Fatalf("last run at %d: %v", p, err)
			}
			break
		}
		j.src.delay = 400 * time.Microsecond
		runHeld(t, j, int64(i+1)*nEvents/int64(len(pars)))
	}
	if got := published(t, fs); !slices.Equal(got, want) {
		t.Fatalf("after runs at %v: %s", pars, diff(got, want))
	}
}

// A source's positions cannot be split anew: a job whose source runs at
// another parallelism than in the checkpoint is refused before it runs,
// with an error that names the source and both parallelisms. The same for
// another number of key groups (max parallelism): keyed state cannot be
// remapped. Neither refusal touches the checkpoint: the job with its old
// source parallelism and key groups then resumes (at another parallelism)
// and finishes as if never stopped.
func TestRescaleRefusals(t *testing.T) {
	want := reference(t, job{par: 2})
	first := job{par: 2, fs: vfs.NewMem(), clock: clockBefore, src: newSource()}
	hold := int64(nEvents / 2)
	before := runHeld(t, first, hold)
	for _, c := range []struct {
		name string
		j    job
		want []string
	}{
		{"source", job{par: 2, srcPar: 3}, []string{`source "events" ran at parallelism 2, the job runs it at 3`}},
		{"maxParallelism", job{par: 2, maxPar: 64}, []string{"max parallelism 128", "the job has 64", "key groups cannot be remapped"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.j.fs, c.j.clock, c.j.src = first.fs, clockAfter, newSource()
			err := execute(t, c.j.env())
			if err == nil {
				t.Fatal("the job ran")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, ok := errors.AsType[*stream.OperatorError](err); ok {
				t.Errorf("a refusal is a failure of the job's set-up, not of an operator (which a restart strategy would retry): %v", err)
			}
			if n := c.j.src.reads.Load(); n != 0 {
				t.Errorf("the source was read %d times before the refusal", n)
			}
			if got := published(t, first.fs); !slices.Equal(got, before) {
				t.Errorf("the refused job changed the published output: %s", diff(got, before))
			}
		})
	}
	last := job{par: 3, fs: first.fs, clock: clockAfter, src: newSource()}
	if err := execute(t, last.env()); err != nil {
		t.Fatal(err)
	}
	if got := published(t, first.fs); !slices.Equal(got, want) {
		t.Fatalf("after the refusals: %s", diff(got, want))
	}
}

// stallFS is a filesystem whose sink commits stall once stall is set: a
// rename that publishes a part file waits until release is closed and then
// fails, as if the process had died after a checkpoint completed and
// before the sink published what it staged for it.
type stallFS struct {
	vfs.FS
	stall   atomic.Bool
	stuck   atomic.Int64
	release chan struct{}
}

func (f *stallFS) Rename(from, to string) error {
	if f.stall.Load() && strings.HasPrefix(to, "/out/part-") {
		f.stuck.Add(1)
		<-f.release
		return errors.New("evolve: publishing stopped by the test")
	}
	return f.FS.Rename(from, to)
}

// A checkpoint holds the transactions its sink subtasks staged but had not
// published when the job stopped; a restore at another parallelism (the
// sink's too) must publish every old subtask's, or their output is lost.
// The first run's commits stall from the moment its source has come to
// the hold, so the checkpoint it is stopped at has pending transactions.
func TestRescalePublishesWhatTheCheckpointStaged(t *testing.T) {
	want := reference(t, job{par: 2})
	for _, c := range []struct{ p, q int }{{4, 1}, {3, 2}, {2, 5}} {
		t.Run(fmt.Sprintf("%dto%d", c.p, c.q), func(t *testing.T) {
			fs := &stallFS{FS: vfs.NewMem(), release: make(chan struct{})}
			first := job{par: c.p, fs: fs, clock: clockBefore, src: newSource()}
			first.src.hold.Store(nEvents / 2)
			first.src.onHold = func() { fs.stall.Store(true) }
			ctx, cancel := context.WithTimeout(context.Background(), runLimit)
			defer cancel()
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				for ctx.Err() == nil && fs.stuck.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
				cancel()
				close(fs.release)
			}()
			stop := watchdog(t)
			err := first.env().Execute(ctx)
			stop()
			<-stopped
			if fs.stuck.Load() == 0 {
				t.Fatalf("the first run ended (%v) without a commit pending", err)
			}
			staged, _ := fs.List("/out/.staging")
			if !slices.ContainsFunc(staged, func(n string) bool { return strings.HasPrefix(n, "part-") }) {
				t.Fatalf("nothing staged and unpublished after the first run: %v", staged)
			}
			before := published(t, fs)
			second := job{par: c.q, fs: fs.FS, clock: clockAfter, src: newSource()}
			if err := execute(t, second.env()); err != nil {
				t.Fatal(err)
			}
			if got := published(t, fs); !slices.Equal(got, want) {
				t.Fatalf("%d staged files of %d old sink subtasks: %s", len(staged), c.p, diff(got, want))
			}
			t.Logf("%d lines published before the stop, %d staged files left pending", len(before), len(staged))
		})
	}
}
