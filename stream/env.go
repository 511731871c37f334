package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/braidstream/braid/operators"
)

// Env builds a job: sources, transformations and sinks are added to it,
// and Execute runs them. An Env is not safe for concurrent building; run
// Execute once at a time.
type Env struct {
	cfg        operators.Config
	wmInterval time.Duration
	writers    map[io.Writer]*sync.Mutex // the lock of each writer sinks write to
	restart    RestartStrategy
	nodes      []*operators.Node
	errs       []error

	mu  sync.Mutex
	job *operators.Job
}

// An Option configures an Env.
type Option interface{ apply(*Env) }

type optionFunc func(*Env)

func (f optionFunc) apply(e *Env) { f(e) }

// Limits of the configuration, checked by Execute: a job runs in one
// process, where more subtasks than a few per core only add goroutines and
// links, and bigger batches only add memory.
const (
	ParallelismLimit = operators.ParallelismLimit // 256
	BatchSizeLimit   = operators.BatchSizeLimit   // 1<<20 records
)

// WithParallelism sets the number of subtasks of operators that do not set
// their own (Stream.SetParallelism), at most ParallelismLimit. Default 1;
// 0 means the default.
func WithParallelism(n int) Option { return optionFunc(func(e *Env) { e.cfg.Parallelism = n }) }

// WithMaxParallelism sets the number of key groups, the largest parallelism
// a keyed operator can have, at most 32768. Default 128; 0 means the
// default. Keyed state is checkpointed by key group, so a job resumes
// from a checkpoint only with the number it was taken with: choose it
// for the largest parallelism the job will ever need.
func WithMaxParallelism(n int) Option {
	return optionFunc(func(e *Env) { e.cfg.MaxParallelism = n })
}

// WithBatchSize sets how many records travel together between tasks, at
// most BatchSizeLimit. Default 4096 (0 means the default): larger batches
// cost fewer hand-offs between goroutines; smaller ones use less memory per
// link.
func WithBatchSize(n int) Option { return optionFunc(func(e *Env) { e.cfg.BatchSize = n }) }

// WithBufferTimeout bounds how long a record waits in a partly filled batch
// while its task is busy. Default 100ms (0 means the default); an idle
// task sends at once.
func WithBufferTimeout(d time.Duration) Option {
	return optionFunc(func(e *Env) { e.cfg.BufferTimeout = d })
}

// WithoutChaining runs every operator in a goroutine of its own instead of
// chaining operators into one (see Stream.StartNewChain for when they
// chain), as Flink's disableOperatorChaining. Results are the same; it
// costs a hand-off per operator.
func WithoutChaining() Option { return optionFunc(func(e *Env) { e.cfg.NoChaining = true }) }

// WithClock sets the clock of processing time, e.g. a FakeClock in tests.
// Default (and nil): the system clock.
func WithClock(c Clock) Option { return optionFunc(func(e *Env) { e.cfg.Clock = c }) }

// WithWatermarkInterval sets how often, in processing time, the periodic
// hook of WatermarkGenerators runs (WithWatermarks): at least
// MinWatermarkInterval. Zero means the default, 200ms, as Flink's
// autoWatermarkInterval.
func WithWatermarkInterval(d time.Duration) Option {
	return optionFunc(func(e *Env) { e.wmInterval = d })
}

// MinWatermarkInterval is the shortest watermark interval: a shorter one
// would keep a task busy calling the periodic hook.
const MinWatermarkInterval = time.Millisecond

// A Clock tells processing time and makes timers. The runtime takes all
// processing time from it (processing-time windows and timers, idleness,
// rates, periodic watermarks), so a test can drive them with a FakeClock
// instead of sleeping.
type Clock = operators.Clock

// A Timer is a one-shot timer made by a Clock, as time.Timer: no stale
// value is received after Reset or Stop.
type Timer = operators.Timer

// SystemClock is the real clock, the default.
type SystemClock = operators.SystemClock

// FakeClock is a Clock that moves only when told to (Set, Advance), for
// tests of processing-time behaviour; its timers fire as it moves, in
// deadline order. It is safe for concurrent use.
type FakeClock = operators.FakeClock

// WithLogger sets where the runtime logs. Default (and nil):
// slog.Default().
func WithLogger(l *slog.Logger) Option { return optionFunc(func(e *Env) { e.cfg.Logger = l }) }

// NewEnv returns an environment configured by opts.
func NewEnv(opts ...Option) *Env {
	e := &Env{}
	for _, o := range opts {
		o.apply(e)
	}
	return e
}

func (e *Env) add(n *operators.Node) *operators.Node {
	e.nodes = append(e.nodes, n)
	return n
}

func (e *Env) fail(err error) { e.errs = append(e.errs, err) }

func (e *Env) clock() Clock {
	if e.cfg.Clock == nil {
		return operators.SystemClock{}
	}
	return e.cfg.Clock
}

// Execute runs the job. It returns nil when every source has ended and
// every result is out; ctx's error, promptly, when ctx is done first; or the
// first failure, an error naming the operator and subtask (a panic in a user
// function is such a failure: errors.Is(err, ErrPanic)). Mistakes in
// building the job are reported together before anything runs. No
// goroutine outlives Execute.
func (e *Env) Execute(ctx context.Context) error {
	errs := slices.Clone(e.errs)
	if err := e.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if e.wmInterval < 0 || e.wmInterval > 0 && e.wmInterval < MinWatermarkInterval {
		errs = append(errs, fmt.Errorf("braid: the watermark interval must be at least %v (or 0 for the default), got %v", MinWatermarkInterval, e.wmInterval))
	}
	for _, n := range e.nodes {
		if n.SideOf == nil && len(n.Inputs) == 0 && !n.IsSource() {
			errs = append(errs, fmt.Errorf("braid: %q has no input: a late-element stream needs a window function applied to its windowed stream", n.Name))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return e.run(ctx)
}

func (e *Env) logger() *slog.Logger {
	if e.cfg.Logger == nil {
		return slog.Default()
	}
	return e.cfg.Logger
}

// Metrics returns the counters of every operator subtask of the running or
// last job: records in and out, late records, dead letters, time busy and
// time blocked on a full output. The operator with the most Busy time and
// little Blocked time is the one holding the job back.
func (e *Env) Metrics() []Metrics {
	e.mu.Lock()
	job := e.job
	e.mu.Unlock()
	if job == nil {
		return nil
	}
	return job.Metrics()
}

// Metrics are one operator subtask's counters.
//
// Its fields and methods: go doc github.com/braidstream/braid/operators.Metrics
type Metrics = operators.Metrics

// ErrPanic marks the failure of a job whose user function panicked.
var ErrPanic = operators.ErrPanic

// ErrTimestampRange marks the dead letters of WithTimestamps and
// WithWatermarks: elements whose timestamp lies outside
// 1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z (UTC), which event time
// (int64 nanoseconds since 1970) cannot hold.
var ErrTimestampRange = operators.ErrTimestampRange

// ErrNaNKey marks the failure of a job whose KeyBy met a NaN key.
var ErrNaNKey = operators.ErrNaNKey

// OperatorError is a failure in one operator subtask.
type OperatorError = operators.OperatorError

// NewFakeClock returns a clock for tests that moves only when told to.
func NewFakeClock(start time.Time) *FakeClock { return operators.NewFakeClock(start) }
