package evolve_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// The job of these tests reads generated events from a replayable source
// of its own and runs them through every kind of stateful operator, each
// on a branch of its own, into one exactly-once file sink. Its output is
// a function of the events alone, whatever the parallelism, the batches
// and the moments of checkpoints and restores:
//   - the source has two subtasks; subtask j gives the events j, j+2, ...
//     in order, with timestamps that never go back, so no element is ever
//     late (a watermark is the least of its inputs');
//   - key k's events all come from subtask k%2, so each key sees its
//     events in one order in every run: count and delta windows and the
//     process function's per-element output depend on that order;
//   - processing time is a FakeClock that does not move while the job
//     runs: the process function's processing timers are set for one hour
//     after the first run's clock and before the clock of every other run,
//     so that they are pending in the first run's checkpoints and fire,
//     each once, in the others (a timer due when it is set fires after the
//     batch that set it; one restored due fires at the first chance).

// ev is one generated event.
type ev struct {
	I, Key, Val int64
	At          int64 // ms of event time
}

func (e ev) time() time.Time { return time.UnixMilli(e.At) }

const (
	nKeys  = 12 // even: key k comes from source subtask k%2
	srcPar = 2
)

// nEvents is the number of events: 6000, 3000 with -short (see TestMain).
var nEvents int64 = 6000

// gen is event i: 12 keys, values 0..100, 10 ms of event time apart with
// a pause of 3 s after every 600 events, so that sessions end.
func gen(i int64) ev {
	return ev{I: i, Key: i % nKeys, Val: (i * 7919) % 101, At: i*10 + (i/600)*3000}
}

// Processing time: the first run's clock, the timers' base, and the clock
// of every later (and the reference) run.
var (
	clockBefore = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	timerBase   = clockBefore.Add(time.Hour)
	clockAfter  = clockBefore.Add(2 * time.Hour)
)

// source is the job's replayable source. Events at or beyond hold wait:
// Read then returns nothing now and then, so that a test can stop a job
// at a known point. Every checkpoint taken while both subtasks wait holds
// the position hold.
type source struct {
	from  int64 // the first event (a later job's new branch starts here)
	hold  atomic.Int64
	delay time.Duration // sleep before each read, to spread a run over several checkpoints

	// onHold, if set, is called once every subtask has come to hold, from
	// the Read of the last one, before any barrier it takes there.
	onHold func()

	mu      sync.Mutex
	waiting map[int]int   // subtask -> positions taken while it waited at hold
	atHold  int           // subtasks that have come to hold
	ends    *ends         // of the run whose readers are open
	seeks   map[int]int64 // subtask -> position restored
	reads   atomic.Int64
}

func newSource() *source {
	s := &source{waiting: map[int]int{}, seeks: map[int]int64{}}
	s.hold.Store(math.MaxInt64)
	return s
}

// waitedTwice reports whether every subtask of par has taken two barriers
// while waiting at hold: the coordinator starts a checkpoint only when the
// one before has ended, so the first checkpoint that found all subtasks
// waiting is complete.
func (s *source) waitedTwice(par int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for j := range par {
		if s.waiting[j] < 2 {
			return false
		}
	}
	return true
}

func (s *source) stream(env *stream.Env, par int) *stream.Stream[ev] {
	return stream.FromSource(env, "events", true, func(ctx context.Context, sub, par int) (stream.SourceReader[ev], error) {
		first := s.from + (int64(sub)-s.from%int64(par)+int64(par))%int64(par)
		s.mu.Lock()
		if sub == 0 {
			// A run opens its readers in subtask order.
			s.ends = &ends{par: par, at: map[int]bool{}, barriers: map[int]int{}}
		}
		e := s.ends
		s.mu.Unlock()
		return &reader{src: s, sub: sub, step: int64(par), next: first, ends: e}, nil
	}).SetParallelism(par)
}

type reader struct {
	src     *source
	sub     int
	step    int64
	next    int64
	waiting bool
	atHold  bool
	ends    *ends // shared by the subtasks of one run
}

func (r *reader) Read(ctx context.Context, buf []ev) (int, error) {
	r.src.reads.Add(1)
	if r.src.delay > 0 {
		time.Sleep(r.src.delay)
	}
	hold := r.src.hold.Load()
	k := 0
	for k < min(len(buf), 25) && r.next < nEvents && r.next < hold {
		buf[k] = gen(r.next)
		r.next += r.step
		k++
	}
	r.waiting = k == 0
	if !r.waiting {
		return k, nil
	}
	if r.next >= nEvents {
		if r.ends.mayEnd(r.sub) {
			return 0, io.EOF
		}
	} else if !r.atHold {
		r.atHold = true
		r.src.mu.Lock()
		r.src.atHold++
		all := r.src.atHold == int(r.step)
		r.src.mu.Unlock()
		if all && r.src.onHold != nil {
			r.src.onHold()
		}
	}
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-t.C:
	}
	return 0, nil
}

// ends makes the source's subtasks end together, in one run of the job:
// each at its last event waits until every one is there, and then ends
// right after the next barrier they all take, so that no subtask ends
// while a checkpoint it has not taken is in flight. (A source subtask that
// ends while another has sent a checkpoint's barrier can hang the job:
// see TestSourceEndDuringAlignment.) Barriers are counted per subtask: all
// take the same ones, in order, within a run.
type ends struct {
	mu       sync.Mutex
	par      int
	at       map[int]bool // subtasks at their last event
	barriers map[int]int  // barriers taken, per subtask
	target   int          // the barrier to end after, once all are at the end
}

func (e *ends) barrier(sub int) {
	e.mu.Lock()
	e.barriers[sub]++
	e.mu.Unlock()
}

// mayEnd reports whether subtask sub, at its last event, may end.
func (e *ends) mayEnd(sub int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.at[sub] = true
	if e.target == 0 && len(e.at) == e.par {
		for _, n := range e.barriers {
			e.target = max(e.target, n)
		}
		e.target++
	}
	return e.target > 0 && e.barriers[sub] >= e.target
}

func (r *reader) Close() error { return nil }

func (r *reader) Position() ([]byte, error) {
	r.ends.barrier(r.sub)
	if r.waiting && r.next < nEvents {
		r.src.mu.Lock()
		r.src.waiting[r.sub]++
		r.src.mu.Unlock()
	}
	return binary.AppendVarint(nil, r.next), nil
}

func (r *reader) Seek(pos []byte) error {
	next, n := binary.Varint(pos)
	if n <= 0 || n != len(pos) || next < 0 || (next-int64(r.sub))%r.step != 0 {
		return fmt.Errorf("events: position %x is not one of subtask %d's", pos, r.sub)
	}
	r.next = next
	r.src.mu.Lock()
	r.src.seeks[r.sub] = next
	r.src.mu.Unlock()
	return nil
}

// The branches of the job, in the order they are declared.
var allBranches = []string{"tumbling", "sliding", "session", "count", "delta", "process", "join", "interval", "coprocess"}

// job describes one run of the job.
type job struct {
	par      int            // the job's parallelism (WithParallelism)
	maxPar   int            // WithMaxParallelism, 0 for the default
	srcPar   int            // the source's parallelism, 0 for srcPar
	opPar    map[string]int // SetParallelism of a branch's stateful operator
	uids     map[string]string
	names    map[string]string
	branches []string // nil: allBranches
	// extra adds branches to the job, before (first) or after the others;
	// their results go into the sink too.
	extra func(env *stream.Env, events *stream.Stream[ev]) []*stream.Stream[string]
	first bool

	src      *source
	fs       vfs.FS
	clock    time.Time
	log      *slog.Logger
	interval time.Duration
	ckOpts   []stream.CheckpointOption
	restart  stream.RestartStrategy
	// onElement runs first in the process function for each element, and
	// onSession in the session window's sum function.
	onElement, onSession func(ev)
}

// isWhole reports whether j is the whole job, with no more than a
// parallelism set: its results are the same at any.
func (j *job) isWhole() bool {
	return j.branches == nil && j.extra == nil && j.src == nil && j.opPar == nil && j.uids == nil && j.names == nil &&
		j.maxPar == 0 && j.srcPar == 0 && j.onElement == nil && j.onSession == nil
}

// env builds the job.
func (j *job) env() *stream.Env {
	interval := j.interval
	if interval == 0 {
		interval = 10 * time.Millisecond
	}
	log := j.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []stream.Option{
		stream.WithParallelism(j.par), stream.WithMaxParallelism(j.maxPar),
		stream.WithClock(stream.NewFakeClock(j.clock)), stream.WithLogger(log),
		stream.WithCheckpointing("/ck", interval, append([]stream.CheckpointOption{stream.CheckpointFS(j.fs)}, j.ckOpts...)...),
	}
	if j.restart != nil {
		opts = append(opts, stream.WithRestartStrategy(j.restart))
	}
	env := stream.NewEnv(opts...)
	sp := j.srcPar
	if sp == 0 {
		sp = srcPar
	}
	events := j.src.stream(env, sp).WithTimestamps(ev.time, stream.MonotonousTimestamps())
	var outs []*stream.Stream[string]
	if j.extra != nil && j.first {
		outs = append(outs, j.extra(env, events)...)
	}
	branches := j.branches
	if branches == nil {
		branches = allBranches
	}
	for _, b := range branches {
		outs = append(outs, j.branch(b, events))
	}
	if j.extra != nil && !j.first {
		outs = append(outs, j.extra(env, events)...)
	}
	// The merge has a Uid: the sink's id derives from it, and a Sink has
	// no Uid of its own, so without it adding or removing a branch would
	// leave the sink's pending transactions unmapped.
	all := outs[0].Merge(outs[1:]...).Uid("results")
	filesink.Lines(all, "/out", func(s string) string { return s })
	return env
}

// tune applies the job's name, uid and parallelism for branch b to the
// stream of its stateful operator.
func tune[T any](j *job, b string, s *stream.Stream[T]) *stream.Stream[T] {
	if n, ok := j.names[b]; ok {
		s.Name(n)
	}
	if u, ok := j.uids[b]; ok {
		s.Uid(u)
	}
	if p, ok := j.opPar[b]; ok {
		s.SetParallelism(p)
	}
	return s
}

func results[V any](b string, s *stream.Stream[window.Result[int64, V]]) *stream.Stream[string] {
	return stream.Map(s, func(r window.Result[int64, V]) string { return b + " " + r.String() })
}

func val(e ev) int64 { return e.Val }
func key(e ev) int64 { return e.Key }

// branch builds one branch: a stateful operator and what formats its
// results.
func (j *job) branch(b string, events *stream.Stream[ev]) *stream.Stream[string] {
	ks := stream.KeyBy(events, key)
	// Each branch makes only the operators it uses: a derived id counts
	// the operators declared before it with the same name and input (see
	// TestSiblings).
	parity := func(k func(ev) int64) (evens, odds *stream.KeyedStream[int64, ev]) {
		return stream.KeyBy(events.Filter(func(e ev) bool { return e.Val%2 == 0 }), k),
			stream.KeyBy(events.Filter(func(e ev) bool { return e.Val%2 == 1 }), k)
	}
	switch b {
	case "tumbling":
		return results(b, tune(j, b, stream.Sum(ks.Window(window.Tumbling(time.Second)), val)))
	case "sliding":
		return results(b, tune(j, b, stream.Count(ks.Window(window.Sliding(2*time.Second, 500*time.Millisecond)))))
	case "session":
		return results(b, tune(j, b, stream.Sum(ks.Window(window.Session(time.Second)), func(e ev) int64 {
			if j.onSession != nil {
				j.onSession(e)
			}
			return e.Val
		})))
	case "count":
		return results(b, tune(j, b, stream.Sum(ks.Window(window.TumblingCount(7)), val)))
	case "delta":
		return results(b, tune(j, b, stream.Count(ks.Window(window.Delta(300, func(a, b ev) float64 { return float64(b.At - a.At) }, ev{})))))
	case "process":
		return tune(j, b, stream.Process(ks, j.process))
	case "join":
		evens, odds := parity(key)
		return tune(j, b, stream.Join(evens, odds, window.Tumbling(500*time.Millisecond), func(a, b ev) string {
			return fmt.Sprintf("join %d %d %d", a.Key, a.I, b.I)
		}))
	case "interval":
		// Keyed by source subtask, so that partners are 20 ms apart.
		evens, odds := parity(func(e ev) int64 { return e.Key % 2 })
		within, _, _ := stream.IntervalJoin(evens, odds, -30*time.Millisecond, 30*time.Millisecond, func(a, b ev) string {
			return fmt.Sprintf("interval %d %d", a.I, b.I)
		})
		return tune(j, b, within)
	case "coprocess":
		evens, odds := parity(key)
		return tune(j, b, stream.CoProcess(stream.ConnectKeyed(evens, odds), coSums))
	}
	panic("no branch " + b)
}

// process keeps per key a count (value state), the last three values (list
// state) and sums per 2 s of event time (map state). It emits the count
// and the last values every 50th element of a key, each bucket's sum from
// an event timer at the bucket's end, and, for every 97th event, a line
// from a processing timer.
func (j *job) process(st *state.Store) (stream.ProcessFunc[int64, ev, string], error) {
	var none stream.ProcessFunc[int64, ev, string]
	count, err := state.NewValue[int64, int64](st, "count")
	if err != nil {
		return none, err
	}
	recent, err := state.NewList[int64, int64](st, "recent")
	if err != nil {
		return none, err
	}
	sums, err := state.NewMap[int64, int64, int64](st, "sums")
	if err != nil {
		return none, err
	}
	return stream.ProcessFunc[int64, ev, string]{
		OnElement: func(c *stream.ProcessContext[int64, string], e ev) {
			if j.onElement != nil {
				j.onElement(e)
			}
			k := c.Key()
			n, _ := count.Get(k)
			n++
			count.Set(k, n)
			r := append(slices.Clone(recent.Get(k)), e.Val)
			if len(r) > 3 {
				r = r[len(r)-3:]
			}
			recent.Set(k, r)
			if n%50 == 0 {
				c.Emit(fmt.Sprintf("process %d n=%d last=%v", k, n, r))
			}
			b := e.At / 2000
			v, _ := sums.Get(k, b)
			sums.Put(k, b, v+e.Val)
			c.SetEventTimer(time.UnixMilli((b + 1) * 2000))
			if e.I%97 == 0 {
				c.SetProcessingTimer(timerBase.Add(time.Duration(e.I) * time.Millisecond))
			}
		},
		OnTimer: func(c *stream.ProcessContext[int64, string], ti stream.TimerInfo) {
			k := c.Key()
			if ti.Domain == stream.ProcessingTime {
				c.Emit(fmt.Sprintf("process %d ptimer %d", k, ti.At.Sub(timerBase).Milliseconds()))
				return
			}
			b := ti.At.UnixMilli()/2000 - 1
			v, _ := sums.Get(k, b)
			sums.Delete(k, b)
			c.Emit(fmt.Sprintf("process %d bucket %d sum %d", k, b, v))
		},
	}, nil
}

// coSums sums each side's values per key and 500 ms of event time, and
// emits both sums from an event timer at the bucket's end.
func coSums(st *state.Store) (stream.CoProcessFunc[int64, ev, ev, string], error) {
	sums, err := state.NewMap[int64, int64, [2]int64](st, "sums")
	if err != nil {
		return stream.CoProcessFunc[int64, ev, ev, string]{}, err
	}
	add := func(side int) func(c *stream.ProcessContext[int64, string], e ev) {
		return func(c *stream.ProcessContext[int64, string], e ev) {
			b := e.At / 500
			v, _ := sums.Get(c.Key(), b)
			v[side] += e.Val
			sums.Put(c.Key(), b, v)
			c.SetEventTimer(time.UnixMilli((b + 1) * 500))
		}
	}
	return stream.CoProcessFunc[int64, ev, ev, string]{
		OnA: add(0),
		OnB: add(1),
		OnTimer: func(c *stream.ProcessContext[int64, string], ti stream.TimerInfo) {
			b := ti.At.UnixMilli()/500 - 1
			v, _ := sums.Get(c.Key(), b)
			sums.Delete(c.Key(), b)
			c.Emit(fmt.Sprintf("coprocess %d bucket %d sums %d %d", c.Key(), b, v[0], v[1]))
		},
	}, nil
}

// published reads every line of the sink's published part files, sorted.
func published(t *testing.T, fs vfs.FS) []string {
	t.Helper()
	names, err := fs.List("/out")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, name := range names {
		if !strings.HasPrefix(name, "part-") {
			continue
		}
		f, err := fs.Open(fs.PathJoin("/out", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(lines)
	return lines
}

// whole is the published output of the whole job run once without a stop,
// which most tests compare with.
var whole struct {
	sync.Mutex
	lines []string
}

// reference runs j from fresh state without a stop, in a filesystem of its
// own, at the clock of later runs, and returns its published output. The
// whole job's is computed once.
func reference(t *testing.T, j job) []string {
	t.Helper()
	if j.isWhole() {
		whole.Lock()
		defer whole.Unlock()
		if whole.lines == nil {
			whole.lines = reference(t, job{par: 2, branches: allBranches})
		}
		return whole.lines
	}
	j.fs, j.clock = vfs.NewMem(), clockAfter
	if j.src == nil {
		j.src = newSource()
	}
	if err := execute(t, j.env()); err != nil {
		t.Fatalf("reference run: %v", err)
	}
	return published(t, j.fs)
}

// runLimit bounds a run of a job: one takes a second or two, under -race
// on a loaded machine tens of seconds.
const runLimit = 2 * time.Minute

// execute runs env to its end, or stops it after runLimit.
func execute(t *testing.T, env *stream.Env) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	defer watchdog(t)()
	return env.Execute(ctx)
}

// watchdog logs every goroutine's stack if the returned function is not
// called within half of runLimit: a run that long is likely stuck, and the
// stacks say where when it then times out.
func watchdog(t *testing.T) (stop func()) {
	timer := time.AfterFunc(runLimit/2, func() {
		var b strings.Builder
		pprof.Lookup("goroutine").WriteTo(&b, 2)
		t.Logf("a run has taken %v; the goroutines:\n%s", runLimit/2, b.String())
	})
	return func() { timer.Stop() }
}

// runHeld runs j with its source holding at hold, and stops it once a
// checkpoint taken while every source subtask waited there is complete.
// It returns the lines published by then.
func runHeld(t *testing.T, j job, hold int64) []string {
	t.Helper()
	j.src.hold.Store(hold)
	defer j.src.hold.Store(math.MaxInt64)
	sp := j.srcPar
	if sp == 0 {
		sp = srcPar
	}
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	defer watchdog(t)()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for ctx.Err() == nil && !j.src.waitedTwice(sp) {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := j.env().Execute(ctx)
	<-stopped
	if !j.src.waitedTwice(sp) {
		t.Fatalf("the first run ended (%v) before a checkpoint held its source at %d", err, hold)
	}
	if err == nil || ctx.Err() == nil {
		t.Fatalf("the first run: %v, want it stopped", err)
	}
	return published(t, j.fs)
}

// heldAt is where subtask sub of par resumes when held at hold: its first
// event at or after hold.
func heldAt(hold int64, sub, par int) int64 {
	return hold + (int64(sub)-hold%int64(par)+int64(par))%int64(par)
}

// checkResumedAt fails unless the last run restored every source subtask
// at hold.
func checkResumedAt(t *testing.T, src *source, hold int64, par int) {
	t.Helper()
	src.mu.Lock()
	defer src.mu.Unlock()
	for j := range par {
		if got, ok := src.seeks[j]; !ok || got != heldAt(hold, j, par) {
			t.Fatalf("source subtask %d resumed at %d (restored: %v), want %d: the test needs the checkpoint taken at the hold", j, got, ok, heldAt(hold, j, par))
		}
	}
}

// diff describes how two sorted line lists differ: counts and the first
// few lines only one of them has.
func diff(got, want []string) string {
	var extra, missing []string
	i, k := 0, 0
	for i < len(got) || k < len(want) {
		switch {
		case k == len(want) || i < len(got) && got[i] < want[k]:
			extra = append(extra, got[i])
			i++
		case i == len(got) || got[i] > want[k]:
			missing = append(missing, want[k])
			k++
		default:
			i++
			k++
		}
	}
	return fmt.Sprintf("%d lines, want %d; %d missing (e.g. %q), %d extra (e.g. %q)",
		len(got), len(want), len(missing), missing[:min(4, len(missing))], len(extra), extra[:min(4, len(extra))])
}

// logs records what the runtime logs, for tests that check it.
type logs struct {
	mu   sync.Mutex
	recs []logRec
}

type logRec struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (l *logs) logger() *slog.Logger { return slog.New(&logHandler{l: l}) }

// find returns the records whose message is msg.
func (l *logs) find(msg string) []logRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logRec
	for _, r := range l.recs {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

type logHandler struct {
	l     *logs
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRec{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.l.mu.Lock()
	h.l.recs = append(h.l.recs, rec)
	h.l.mu.Unlock()
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{l: h.l, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
