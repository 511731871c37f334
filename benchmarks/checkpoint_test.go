package benchmarks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// What exactly-once costs. Run with
//
//	go test -run '^$' -bench Checkpoint -count 6 ./benchmarks/ | tee cp.txt
//
// BenchmarkKeyedTumblingCheckpoints runs the job of
// BenchmarkKeyedTumblingCount without checkpoints and with a checkpoint
// every second (on the real disk, and in memory), in turn in the same
// process, and reports each one's speed and the ratio of their times.
// BenchmarkCheckpoint1MKeys takes checkpoints of a job holding 1,000,000
// keys (the first full, the next ones with 10 keys changed), restores it,
// and reports their durations and the bytes they wrote. The time from a
// kill to the first output after the restart is measured by the command
// benchmarks/cmd/killrestart, since it needs a process to kill.

// cpLog is a slog handler that hears what the runtime says of checkpoints:
// each completed checkpoint, with its duration (from the barriers'
// injection to the durable completion record) and the bytes it added on
// disk, and the moment the job resumed from one. fs, when set, counts the
// bytes written through the checkpoint filesystem; its count is taken with
// each record.
type cpLog struct {
	fs *countFS

	mu      sync.Mutex
	started map[int64]int64 // checkpoint id -> fs bytes when it started
	done    []cpDone
	failed  []string
	resumed time.Time
	// onDone, when set, is called (under mu) for each completed checkpoint.
	onDone func(n int, d cpDone)
}

// cpDone is one completed checkpoint.
type cpDone struct {
	id  int64
	at  time.Time
	dur time.Duration
	// bytes is what the store reports it added on disk (new table files,
	// the copied MANIFEST, the completion record).
	bytes int64
	// fsWhile is what went through the filesystem from the checkpoint's
	// start to its completion, and fsSince from the completion of the one
	// before (or the job's start): that includes the background
	// compactions the one before set off.
	fsWhile, fsSince int64
	fsAt             int64
}

func (l *cpLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *cpLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *cpLog) WithGroup(string) slog.Handler            { return l }

func (l *cpLog) Handle(_ context.Context, r slog.Record) error {
	switch r.Message {
	case "braid: checkpoint started", "braid: checkpoint complete", "braid: checkpoint failed", "braid: resuming from checkpoint":
	default:
		return nil
	}
	var fsAt int64
	if l.fs != nil {
		fsAt = l.fs.n.Load()
	}
	var d cpDone
	var errText string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "checkpoint":
			d.id = a.Value.Int64()
		case "duration":
			d.dur = a.Value.Duration()
		case "bytes":
			d.bytes = a.Value.Int64()
		case "err":
			errText = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Message {
	case "braid: checkpoint started":
		if l.started == nil {
			l.started = make(map[int64]int64)
		}
		l.started[d.id] = fsAt
	case "braid: checkpoint complete":
		d.at, d.fsAt = r.Time, fsAt
		d.fsWhile = fsAt - l.started[d.id]
		d.fsSince = fsAt
		if n := len(l.done); n > 0 {
			d.fsSince = fsAt - l.done[n-1].fsAt
		}
		l.done = append(l.done, d)
		if l.onDone != nil {
			l.onDone(len(l.done), d)
		}
	case "braid: checkpoint failed":
		l.failed = append(l.failed, errText)
	case "braid: resuming from checkpoint":
		l.resumed = r.Time
	}
	return nil
}

func (l *cpLog) completed() []cpDone {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.done)
}

// check fails the benchmark when a checkpoint failed.
func (l *cpLog) check(tb testing.TB) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failed) > 0 {
		tb.Fatalf("%d checkpoints failed, the first: %s", len(l.failed), l.failed[0])
	}
}

// countFS is a filesystem that counts the bytes written to its files.
type countFS struct {
	vfs.FS
	n atomic.Int64
}

func (fs *countFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return countFile{f, &fs.n}, nil
}

func (fs *countFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(name, c))
}

func (fs *countFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, c, opts...))
}

func (fs *countFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname, c))
}

func (fs *countFS) Unwrap() vfs.FS { return fs.FS }

type countFile struct {
	vfs.File
	n *atomic.Int64
}

func (f countFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.n.Add(int64(n))
	return n, err
}

func (f countFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	f.n.Add(int64(n))
	return n, err
}

// median of xs (which it sorts); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpMode is where a benchmark job's checkpoints go: nowhere, a directory
// on the real disk, or Pebble's in-memory filesystem.
type cpMode string

const (
	cpNone cpMode = "none"
	cpDisk cpMode = "disk"
	cpMem  cpMode = "mem"
)

// cpRun is one run of a job.
type cpRun struct {
	took time.Duration
	cpu  time.Duration // user and system time of the process
	res  windowSum
	cps  []cpDone
}

// runCheckpointed runs job (which builds its Env with the options given
// and executes it) with checkpoints every interval as mode says, and
// times it. The time includes opening and closing the checkpoint store
// and the final checkpoint.
func runCheckpointed(tb testing.TB, mode cpMode, interval time.Duration, job func(opts ...stream.Option) windowSum) cpRun {
	var opts []stream.Option
	log := &cpLog{}
	switch mode {
	case cpDisk:
		dir, err := os.MkdirTemp("", "braid-bench-cp-")
		if err != nil {
			tb.Fatal(err)
		}
		defer os.RemoveAll(dir)
		opts = append(opts, stream.WithCheckpointing(dir, interval), stream.WithLogger(slog.New(log)))
	case cpMem:
		opts = append(opts, stream.WithCheckpointing("/cp", interval, stream.CheckpointFS(vfs.NewMem())),
			stream.WithLogger(slog.New(log)))
	}
	start, cpu0 := time.Now(), cpuTime(tb)
	res := job(opts...)
	took, cpu := time.Since(start), cpuTime(tb)-cpu0
	log.check(tb)
	return cpRun{took, cpu, res, log.completed()}
}

// runTumbling runs BenchmarkKeyedTumblingCount's job (a keyed tumbling
// count of 1 s over n events of 10,000 keys), checkpointed every interval
// as mode says.
func runTumbling(tb testing.TB, n int64, par int, mode cpMode, interval time.Duration) cpRun {
	return runCheckpointed(tb, mode, interval, func(opts ...stream.Option) windowSum {
		env := stream.NewEnv(append(opts, stream.WithParallelism(par))...)
		src := stream.Generate(env, gen(tumbleKeys, tumbleStep), stream.Limit(n)).
			WithTimestampsUnixNano(ts, stream.MonotonousTimestamps())
		var results, sum atomic.Int64
		stream.Count(stream.KeyBy(src, func(e Event) int64 { return e.Key }).Window(window.Tumbling(time.Second))).
			ForEach(func(r window.Result[int64, int64]) error {
				results.Add(1)
				sum.Add(r.Value)
				return nil
			})
		if err := env.Execute(context.Background()); err != nil {
			tb.Fatal(err)
		}
		return windowSum{results.Load(), sum.Load()}
	})
}

// cpuTime is the user and system time the process has used: on a shared
// machine, less disturbed by other processes than the wall clock.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pairRound alternates which of a pair runs first, from one call of
// b.Loop's body to the next (with -count, each count is one call).
var pairRound int

// benchPairs is the body of a benchmark that compares a job without
// checkpoints and with them (run(mode)): each iteration runs the pair,
// one after the other, the first of them alternating, and checks that
// both emitted the same results: the same number of results summing to
// the same total when countExact, else the same total (see
// BenchmarkKeyedProcessCheckpoints for a job whose number of results
// depends on timing). It reports the ratio of the checkpointed
// run's time to the unchecked one's (1.05 is 5% slower), the same for the
// process's CPU time, both modes' events/s (n events a run), the
// checkpoints per run and their duration: medians over the iterations.
func benchPairs(b *testing.B, n int64, mode cpMode, countExact bool, run func(cpMode) cpRun) {
	var ratio, cpuRatio, noneTook, modeTook, cps, cpMs []float64
	for b.Loop() {
		pair := [2]cpMode{cpNone, mode}
		if pairRound%2 == 1 {
			pair[0], pair[1] = pair[1], pair[0]
		}
		pairRound++
		runs := make(map[cpMode]cpRun)
		for _, m := range pair {
			runs[m] = run(m)
		}
		base, r := runs[cpNone], runs[mode]
		if r.res.sum != base.res.sum || countExact && r.res.results != base.res.results {
			b.Fatalf("with checkpoints: %+v, without: %+v", r.res, base.res)
		}
		if len(r.cps) < 2 {
			b.Fatalf("%d checkpoints in a run of %v: too few to measure their cost", len(r.cps), r.took)
		}
		ratio = append(ratio, r.took.Seconds()/base.took.Seconds())
		cpuRatio = append(cpuRatio, r.cpu.Seconds()/base.cpu.Seconds())
		noneTook = append(noneTook, base.took.Seconds())
		modeTook = append(modeTook, r.took.Seconds())
		cps = append(cps, float64(len(r.cps)))
		for _, c := range r.cps {
			cpMs = append(cpMs, ms(c.dur))
		}
	}
	b.ReportMetric(median(ratio), "ratio")
	b.ReportMetric(median(cpuRatio), "cpu-ratio")
	b.ReportMetric(float64(n)/median(noneTook), "none-events/s")
	b.ReportMetric(float64(n)/median(modeTook), "checkpointed-events/s")
	b.ReportMetric(median(cps), "checkpoints/run")
	b.ReportMetric(median(cpMs), "ms/checkpoint")
}

// BenchmarkKeyedTumblingCheckpoints: the keyed tumbling count of
// BenchmarkKeyedTumblingCount over 128M events (about 4 s, so that 3 or 4
// checkpoints happen), without checkpoints and with one every second, on
// the real disk (a temporary directory) or in memory (vfs.NewMem), in
// pairs (see benchPairs). Run with -count 10 and compare medians (e.g.
// with benchstat): the machine's noise is larger than the 5% asked for.
func BenchmarkKeyedTumblingCheckpoints(b *testing.B) {
	const n = 128_000_000
	for _, par := range []int{1, 2} {
		for _, mode := range []cpMode{cpDisk, cpMem} {
			b.Run(fmt.Sprintf("keys=10000/parallelism=%d/fs=%s", par, mode), func(b *testing.B) {
				benchPairs(b, n, mode, true, func(m cpMode) cpRun { return runTumbling(b, n, par, m, time.Second) })
			})
		}
	}
}

// BenchmarkKeyedProcessCheckpoints: the process function job of
// BenchmarkKeyedProcess (a ValueState and a ListState per key, an event
// timer per key and second) over 32M events (about 3 s), without
// checkpoints and with one every second, in pairs (see benchPairs).
//
// Only the total of the results is the same from run to run at every
// parallelism; their number is too at parallelism 1 alone. A key's timer
// fires when the watermark passes its first element's time plus 1 s, and
// emits the sum of the elements the key got until then. At parallelism 1
// the watermark follows each batch of the one source (4096 events, less
// than the 10,000 between two elements of a key), so every key's timer
// fires after the same elements in every run, checkpointed or not
// (TestKeyedProcessJobSumsEveryPrice checks that count against a loop).
// At parallelism 2 the process subtasks' watermark is the least of the
// two sources', and the source ahead delivers elements past a timer's
// time before the one behind lets it fire: how many, and so how the
// elements group into results, depends on how the two sources' goroutines
// ran. Every element is still summed once (the final watermark fires the
// timers left), so the total is exact.
func BenchmarkKeyedProcessCheckpoints(b *testing.B) {
	const n = 32_000_000
	for _, par := range []int{1, 2} {
		for _, mode := range []cpMode{cpDisk, cpMem} {
			b.Run(fmt.Sprintf("keys=10000/parallelism=%d/fs=%s", par, mode), func(b *testing.B) {
				benchPairs(b, n, mode, par == 1, func(m cpMode) cpRun {
					return runCheckpointed(b, m, time.Second, func(opts ...stream.Option) windowSum {
						return runProcess(b, n, tumbleKeys, tumbleStep, par, opts...)
					})
				})
			})
		}
	}
}

// The checkpointed job of the benchmark emits exactly what the plain loop
// computes, with checkpoints taken (every millisecond here, so as soon as
// the one before is done) while it runs, through both filesystems, and
// the benchmark's log handler hears of them. A run too short for a
// checkpoint to complete in it (on a busy machine one can take 100 ms) is
// run again on four times as many events.
func TestCheckpointedTumblingMatchesHandLoop(t *testing.T) {
	for _, mode := range []cpMode{cpDisk, cpMem} {
		for n := correctnessN(200_000); ; n *= 4 {
			want := handLoop(n, tumbleKeys, tumbleStep, int64(time.Second))
			r := runTumbling(t, n, 1, mode, time.Millisecond)
			if r.res.results != want || r.res.sum != n {
				t.Fatalf("%s, %d events: %d results summing to %d, want %d summing to %d", mode, n, r.res.results, r.res.sum, want, n)
			}
			if len(r.cps) > 0 {
				break
			}
			if n > 10_000_000 {
				t.Fatalf("%s: no checkpoint completed in a run of %d events (%v)", mode, n, r.took)
			}
		}
	}
}

// bigKeys is the state of the large-state benchmarks: one count per key.
const bigKeys = 1_000_000

// bigJob is a job whose state holds keys keys. Its source makes one event
// for each key as fast as it can, then, while slow is set, an event every
// 5 ms for keys 0 to 9 in turn (so that each checkpoint after the first
// finds 10 keys changed), to limit events in all. op is "window" (a count
// per key in a 24-hour tumbling window, which fires at the end) or
// "process" (a process function keeping the count in a ValueState with an
// event timer per key, which fires at the end). The sink counts results
// and adds up their values: at the end, one result per key summing to
// limit. first records when the first event passed the source.
type bigJob struct {
	op       string
	interval time.Duration // between checkpoints
	keys     int64
	limit    int64
	slow     atomic.Bool
	fastAt   atomic.Int64 // unix ns when the source read the last key's first event
	first    atomic.Int64 // unix ns when the first event passed the source in this run
	onFirst  func()

	results, sum atomic.Int64
}

func (j *bigJob) event(i int64) Event {
	if i < j.keys {
		return Event{Key: i, Ts: i, Price: 1}
	}
	return Event{Key: (i - j.keys) % 10, Ts: i, Price: 1}
}

// bigReader is bigJob's source: a reader of its own rather than Generate,
// whose pacing, after a fast start, would run thousands of the slow
// events in one Read before the source looked for a barrier again.
type bigReader struct {
	j     *bigJob
	next  int64
	timer *time.Timer
}

func (r *bigReader) Read(ctx context.Context, buf []Event) (int, error) {
	j := r.j
	n := 0
	if r.next >= j.keys && j.slow.Load() {
		if r.timer == nil {
			r.timer = time.NewTimer(5 * time.Millisecond)
		} else {
			r.timer.Reset(5 * time.Millisecond)
		}
		select {
		case <-r.timer.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		buf = buf[:1]
	}
	for ; n < len(buf) && r.next < j.limit; n++ {
		buf[n] = j.event(r.next)
		if r.next == j.keys-1 {
			j.fastAt.Store(time.Now().UnixNano())
		}
		r.next++
	}
	if r.next >= j.limit {
		return n, io.EOF
	}
	return n, nil
}

func (r *bigReader) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	return nil
}

func (r *bigReader) Position() ([]byte, error) { return binary.AppendUvarint(nil, uint64(r.next)), nil }

func (r *bigReader) Seek(pos []byte) error {
	p, n := binary.Uvarint(pos)
	if n <= 0 || n != len(pos) {
		return fmt.Errorf("bigReader: position %x", pos)
	}
	r.next = int64(p)
	return nil
}

// run runs the job once, with checkpoints into dir through fs every
// interval, until ctx is done or the input ends.
func (j *bigJob) run(ctx context.Context, dir string, fs vfs.FS, log *cpLog) error {
	j.first.Store(0)
	j.results.Store(0)
	j.sum.Store(0)
	env := stream.NewEnv(stream.WithCheckpointing(dir, j.interval, stream.CheckpointFS(fs)),
		stream.WithLogger(slog.New(log)))
	read := stream.FromSource(env, "big", false, func(context.Context, int, int) (stream.SourceReader[Event], error) {
		return &bigReader{j: j}, nil
	})
	src := stream.Map(read, func(e Event) Event {
		if j.first.Load() == 0 {
			j.first.Store(time.Now().UnixNano())
			if j.onFirst != nil {
				j.onFirst()
			}
		}
		return e
	}).WithTimestampsUnixNano(ts, stream.MonotonousTimestamps())
	keyed := stream.KeyBy(src, func(e Event) int64 { return e.Key })
	sink := func(v int64) error {
		j.results.Add(1)
		j.sum.Add(v)
		return nil
	}
	switch j.op {
	case "window":
		stream.Count(keyed.Window(window.Tumbling(24 * time.Hour))).
			ForEach(func(r window.Result[int64, int64]) error { return sink(r.Value) })
	case "process":
		stream.Process(keyed, func(st *state.Store) (stream.ProcessFunc[int64, Event, int64], error) {
			count, err := state.NewValue[int64, int64](st, "count")
			if err != nil {
				return stream.ProcessFunc[int64, Event, int64]{}, err
			}
			return stream.ProcessFunc[int64, Event, int64]{
				OnElement: func(c *stream.ProcessContext[int64, int64], e Event) {
					n, ok := count.Get(c.Key())
					if !ok {
						c.SetEventTimer(time.Unix(0, 0).Add(23 * time.Hour))
					}
					count.Set(c.Key(), n+1)
				},
				OnTimer: func(c *stream.ProcessContext[int64, int64], _ stream.TimerInfo) {
					n, _ := count.Get(c.Key())
					count.Clear(c.Key())
					c.Emit(n)
				},
			}, nil
		}).ForEach(sink)
	default:
		panic("bigJob: op " + j.op)
	}
	return env.Execute(ctx)
}

// checkpoints runs the job into dir, from empty state, until n
// checkpoints have completed, and returns them: the first full, holding
// every key (its barriers reached the source after the last key's first
// event), the others with 10 keys changed since the one before. When the
// job took in its keys more slowly than the interval (a process function
// under load), it starts again with twice the interval.
func (j *bigJob) checkpoints(b *testing.B, dir string, n int) []cpDone {
	for {
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		j.slow.Store(true)
		j.fastAt.Store(0)
		fs := &countFS{FS: vfs.Default}
		log := &cpLog{fs: fs}
		ctx, cancel := context.WithCancel(context.Background())
		log.onDone = func(done int, _ cpDone) {
			if done == n {
				cancel()
			}
		}
		err := j.run(ctx, dir, fs, log)
		cancel()
		if !errors.Is(err, context.Canceled) {
			b.Fatalf("the checkpointed run ended with %v, want it cancelled", err)
		}
		log.check(b)
		cps := log.completed()
		if len(cps) != n {
			b.Fatalf("%d checkpoints, want %d", len(cps), n)
		}
		fast := j.fastAt.Load()
		if fast != 0 && time.Unix(0, fast).Before(cps[0].at.Add(-cps[0].dur)) {
			return cps
		}
		if j.interval >= 16*time.Second {
			b.Fatalf("the first checkpoint, %v after the start, came before the last key", j.interval)
		}
		j.interval *= 2
	}
}

// BenchmarkCheckpoint1MKeys: a job holding 1,000,000 keys (a window count
// per key, or a process function's ValueState and a timer per key) on the
// real disk, checkpointed every second (or every 2, 4... seconds when
// the job takes longer to take in its keys, as a process function on a
// busy machine does: metric interval-s): the first checkpoint, full, holds
// every key; the next four find 10 keys changed. Then the job is restored
// from the last of them three times (each stopped at its first event) and
// once run to its end, which must give every key its whole count.
// Metrics (medians): each checkpoint's duration from the injection of its
// barriers to its durable completion and the bytes written (as the store
// counts them, and as the filesystem saw them from the checkpoint's start
// to its end); the restore's time from Execute to the state restored, and
// to the first event processed.
func BenchmarkCheckpoint1MKeys(b *testing.B) {
	const incrementals = 4
	for _, op := range []string{"window", "process"} {
		b.Run(fmt.Sprintf("op=%s/keys=%d", op, bigKeys), func(b *testing.B) {
			var intervals, fullMs, fullBytes, fullFS, incMs, incBytes, incFS, incFSSince, restoreState, restoreFirst []float64
			for b.Loop() {
				dir, err := os.MkdirTemp("", "braid-bench-1m-")
				if err != nil {
					b.Fatal(err)
				}
				defer os.RemoveAll(dir)
				j := &bigJob{op: op, interval: time.Second, keys: bigKeys, limit: bigKeys + 1_000_000}

				// Checkpoints: one full, then incremental ones.
				cps := j.checkpoints(b, dir, 1+incrementals)
				intervals = append(intervals, j.interval.Seconds())
				fullMs = append(fullMs, ms(cps[0].dur))
				fullBytes = append(fullBytes, float64(cps[0].bytes))
				fullFS = append(fullFS, float64(cps[0].fsWhile))
				for _, c := range cps[1:] {
					incMs = append(incMs, ms(c.dur))
					incBytes = append(incBytes, float64(c.bytes))
					incFS = append(incFS, float64(c.fsWhile))
					incFSSince = append(incFSSince, float64(c.fsSince))
				}

				// Restores, each stopped at its first event.
				for range 3 {
					log := &cpLog{}
					ctx, cancel := context.WithCancel(context.Background())
					j.onFirst = cancel
					start := time.Now()
					err := j.run(ctx, dir, vfs.Default, log)
					cancel()
					if !errors.Is(err, context.Canceled) {
						b.Fatalf("the restored run ended with %v, want it cancelled", err)
					}
					if log.resumed.IsZero() || j.first.Load() == 0 {
						b.Fatalf("the job did not resume (resumed at %v, first event at %d)", log.resumed, j.first.Load())
					}
					restoreState = append(restoreState, ms(log.resumed.Sub(start)))
					restoreFirst = append(restoreFirst, ms(time.Unix(0, j.first.Load()).Sub(start)))
				}

				// The restored state is whole: run to the end.
				j.onFirst = nil
				j.slow.Store(false)
				log := &cpLog{}
				if err := j.run(context.Background(), dir, vfs.Default, log); err != nil {
					b.Fatal(err)
				}
				if r, s := j.results.Load(), j.sum.Load(); r != bigKeys || s != j.limit {
					// Windows and timers fire only at the end: this run
					// emits every result once.
					b.Fatalf("restored and run to the end: %d results summing to %d, want %d summing to %d", r, s, bigKeys, j.limit)
				}
				os.RemoveAll(dir)
			}
			b.ReportMetric(median(intervals), "interval-s")
			b.ReportMetric(median(fullMs), "full-ms")
			b.ReportMetric(median(fullBytes), "full-bytes")
			b.ReportMetric(median(fullFS), "full-fs-bytes")
			b.ReportMetric(median(incMs), "incr-ms")
			b.ReportMetric(median(incBytes), "incr-bytes")
			b.ReportMetric(median(incFS), "incr-fs-bytes")
			b.ReportMetric(median(incFSSince), "incr-fs-bytes-since-last")
			b.ReportMetric(median(restoreState), "restore-state-ms")
			b.ReportMetric(median(restoreFirst), "restore-first-event-ms")
		})
	}
}
