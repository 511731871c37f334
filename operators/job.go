package operators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/braidstream/braid/state"
)

// Config is the runtime's configuration. Its zero value works: every zero
// field takes the default its comment gives.
type Config struct {
	// Parallelism is the number of subtasks of operators that do not set
	// their own, at most ParallelismLimit (256). Zero means 1.
	Parallelism int
	// MaxParallelism is the number of key groups. Zero means
	// state.DefaultMaxParallelism (128).
	MaxParallelism int
	// BatchSize is how many records a batch between tasks holds, at most
	// BatchSizeLimit (1<<20). Zero means DefaultBatchSize (4096).
	BatchSize int
	// BufferTimeout bounds how long a record may wait in a partly filled
	// batch while its task is busy (an idle task sends at once). Zero means
	// 100ms, as Flink.
	BufferTimeout time.Duration
	// Credits is the number of batches each link between two subtasks may
	// have in flight, at most CreditsLimit (1024). Zero means 4.
	Credits int
	// NoChaining puts every operator in a task of its own, as Flink's
	// disableOperatorChaining: slower, but useful to test and to see each
	// operator's busy time apart.
	NoChaining bool
	// Clock gives processing time. Nil means the system clock.
	Clock Clock
	// Logger receives the runtime's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Checkpoint, when set, turns on checkpoints.
	Checkpoint *CheckpointConfig
}

func (c Config) withDefaults() Config {
	if c.Parallelism == 0 {
		c.Parallelism = 1
	}
	if c.MaxParallelism == 0 {
		c.MaxParallelism = state.DefaultMaxParallelism
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BufferTimeout == 0 {
		c.BufferTimeout = 100 * time.Millisecond
	}
	if c.Credits == 0 {
		c.Credits = 4
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Limits of the configuration. A job runs in one process: more subtasks
// than a few per core only add goroutines and links (a keyed exchange
// links every sender to every receiver: p*p links, each with its credits,
// about 40 MB and half a second to start at 256, ten times that at 1024),
// and a batch beyond a million records only adds memory.
const (
	ParallelismLimit = 256
	BatchSizeLimit   = 1 << 20
	CreditsLimit     = 1024
)

// gateCapacity sizes a task's input channel: room for every sender's
// credits and a few control messages, so senders rarely wait on it, but
// bounded, so that thousands of senders do not allocate a huge channel (a
// sender that finds it full waits: backpressure).
func gateCapacity(senders, credits int) int {
	return min(senders*(credits+2), max(credits+2, 4096))
}

// Validate reports every bad setting at once.
func (c Config) Validate() error {
	var errs []error
	if c.Parallelism < 0 || c.Parallelism > ParallelismLimit {
		errs = append(errs, fmt.Errorf("braid: parallelism must lie in [1, %d], got %d", ParallelismLimit, c.Parallelism))
	}
	if c.MaxParallelism < 0 || c.MaxParallelism > 1<<15 {
		errs = append(errs, fmt.Errorf("braid: max parallelism must lie in [1, 32768], got %d", c.MaxParallelism))
	}
	if c.Parallelism > 0 && c.MaxParallelism > 0 && c.Parallelism > c.MaxParallelism {
		errs = append(errs, fmt.Errorf("braid: parallelism %d exceeds max parallelism %d", c.Parallelism, c.MaxParallelism))
	}
	if c.BatchSize < 0 || c.BatchSize > BatchSizeLimit {
		errs = append(errs, fmt.Errorf("braid: batch size must lie in [1, %d], got %d", BatchSizeLimit, c.BatchSize))
	}
	if c.BufferTimeout < 0 {
		errs = append(errs, fmt.Errorf("braid: buffer timeout must not be negative, got %v", c.BufferTimeout))
	}
	if c.Credits < 0 || c.Credits > CreditsLimit {
		errs = append(errs, fmt.Errorf("braid: credits must lie in [1, %d], got %d", CreditsLimit, c.Credits))
	}
	if c.Checkpoint != nil {
		if err := c.Checkpoint.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// A Job is one run of a logical graph.
type Job struct {
	cfg   Config
	nodes []*Node

	mu      sync.Mutex
	metrics []*opMetrics
}

// NewJob prepares a run of the graph made of nodes (in any order; every
// node reachable as an input must be listed).
func NewJob(nodes []*Node, cfg Config) *Job {
	return &Job{cfg: cfg, nodes: nodes}
}

// Metrics returns every operator subtask's counters. It may be called while
// the job runs (the figures are live) and after it ends.
func (j *Job) Metrics() []Metrics {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Metrics, len(j.metrics))
	for i, m := range j.metrics {
		out[i] = m.snapshot()
	}
	return out
}

// plan is the physical layout: which nodes head tasks, which are chained.
type plan struct {
	cfg       Config
	nodes     []*Node
	consumers map[*Node][]consumer
	chained   map[*Node]bool
	tasks     map[*Node][]*task // head node -> task per subtask
	// chanIndex[edge][from subtask][to subtask] = channel index at receiver
	chanIndex map[*Edge][][]int32
	metrics   []*opMetrics
	uid       map[*Node]string
	ranked    map[*Node][]*Node        // nodes told apart from their twins by rank (see uids)
	readers   map[*Node][]readerRunner // with checkpoints: each source subtask's reader
	closers   closers
}

type consumer struct {
	node *Node
	edge *Edge
}

func (p *plan) validate() error {
	var errs []error
	if err := p.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(p.nodes) == 0 {
		errs = append(errs, errors.New("braid: the job has no operators"))
	}
	if err := p.validateUIDs(); err != nil {
		errs = append(errs, err)
	}
	for _, n := range p.nodes {
		if n.Parallelism < 0 || n.Parallelism > ParallelismLimit {
			errs = append(errs, fmt.Errorf("braid: operator %q: parallelism must lie in [1, %d], got %d", n.Name, ParallelismLimit, n.Parallelism))
		}
		for _, e := range n.Inputs {
			if _, keyed := e.Partition.(keyedPart); keyed && p.cfg.MaxParallelism > 0 && p.parallelism(n) > p.cfg.MaxParallelism {
				errs = append(errs, fmt.Errorf("braid: operator %q: parallelism %d exceeds max parallelism %d, the number of key groups", n.Name, p.parallelism(n), p.cfg.MaxParallelism))
			}
		}
		if n.source == nil && len(n.Inputs) == 0 && n.SideOf == nil {
			errs = append(errs, fmt.Errorf("braid: operator %q has no input", n.Name))
		}
	}
	return errors.Join(errs...)
}

func (p *plan) parallelism(n *Node) int {
	if n.SideOf != nil {
		return p.parallelism(n.SideOf)
	}
	par := n.Parallelism
	if par == 0 && n.InheritParallelism && len(n.Inputs) > 0 {
		return p.parallelism(n.Inputs[0].From)
	}
	if par == 0 {
		par = p.cfg.Parallelism
	}
	if n.MaxParallelism > 0 {
		par = min(par, n.MaxParallelism)
	}
	return par
}

// forwardable reports whether an edge keeps records in their subtask.
func (p *plan) forwardable(e *Edge, to *Node) bool {
	_, fwd := e.Partition.(forwardPart)
	return fwd && p.parallelism(e.From) == p.parallelism(to)
}

// keyedLocal reports whether a keyed edge joins two operators of
// parallelism 1: every key group has the one receiver, so records need no
// routing, and the two chain into one task (the keys are computed there,
// by a keyedChain, for the keyed operator).
func (p *plan) keyedLocal(e *Edge, to *Node) bool {
	_, keyed := e.Partition.(keyedPart)
	return keyed && p.parallelism(e.From) == 1 && p.parallelism(to) == 1
}

func (p *plan) layout() {
	p.consumers = make(map[*Node][]consumer)
	p.chained = make(map[*Node]bool)
	for _, n := range p.nodes {
		for i := range n.Inputs {
			e := &n.Inputs[i]
			p.consumers[e.From] = append(p.consumers[e.From], consumer{n, e})
		}
	}
	p.uids()
	for _, n := range p.nodes {
		p.chained[n] = n.SideOf != nil ||
			!p.cfg.NoChaining && len(n.Inputs) == 1 && !n.NoChain && n.source == nil &&
				(p.forwardable(&n.Inputs[0], n) || p.keyedLocal(&n.Inputs[0], n))
	}
}

// Run executes the job. It returns nil when every source has ended and all
// results are out, ctx's error when ctx is done first, or the first
// failure, as an *OperatorError naming the operator. No goroutine it starts
// outlives it.
func (j *Job) Run(ctx context.Context) error {
	p := &plan{cfg: j.cfg.withDefaults(), nodes: j.nodes}
	if err := p.validate(); err != nil {
		return err
	}
	p.layout()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Tasks and gates first, so exchanges can link to them.
	p.tasks = make(map[*Node][]*task)
	p.chanIndex = make(map[*Edge][][]int32)
	for _, n := range p.nodes {
		if p.chained[n] {
			continue
		}
		par := p.parallelism(n)
		ts := make([]*task, par)
		for k := range ts {
			ts[k] = &task{name: n.Name, subtask: k, parallelism: par, done: runCtx.Done(),
				clock: p.cfg.Clock, log: p.cfg.Logger, bufferTimeout: p.cfg.BufferTimeout, gate: &gate{}}
		}
		p.tasks[n] = ts
		p.allocChannels(n, ts)
	}

	var coord *coordinator
	if p.cfg.Checkpoint != nil {
		coord = p.checkpointing()
		if coord.store == nil {
			st, err := openPebbleStore(p.cfg.Checkpoint, state.CheckpointOptions{
				FS: p.cfg.Checkpoint.FS, Retain: p.cfg.Checkpoint.Retain, Logger: p.cfg.Logger})
			if err != nil {
				return err
			}
			coord.store = st
			defer func() {
				if err := st.close(); err != nil {
					p.cfg.Logger.Warn("braid: closing the checkpoint store", "dir", p.cfg.Checkpoint.Dir, "err", err)
				}
			}()
		}
	}

	// Operators, chains and readers.
	type reader struct {
		r    readerRunner
		link any
		t    *task
	}
	var readers []reader
	var opened []readerRunner
	closeReaders := func() {
		for _, r := range opened {
			r.close()
		}
	}
	for _, n := range p.nodes {
		if p.chained[n] {
			continue
		}
		for k, t := range p.tasks[n] {
			if n.source != nil {
				in, side, m, err := p.buildSource(n, k, t)
				if err != nil {
					closeReaders()
					return err
				}
				openCtx := runCtx
				if t.cp != nil {
					openCtx = context.WithValue(runCtx, sourceDirKey{}, SourceDir{
						FS: p.cfg.Checkpoint.fs(), Dir: p.cfg.Checkpoint.sourceDir(p.uid[n], k), Fresh: p.cfg.Checkpoint.Fresh,
						Retain: p.cfg.Checkpoint.retained()})
				}
				rr, err := n.source.open(openCtx, k, len(p.tasks[n]))
				if err != nil {
					closeReaders()
					return &OperatorError{Operator: n.Name, Subtask: k, Parallelism: len(p.tasks[n]), Err: err}
				}
				opened = append(opened, rr)
				if t.cp != nil {
					if !rr.replayable() {
						closeReaders()
						return &OperatorError{Operator: n.Name, Subtask: k, Parallelism: len(p.tasks[n]), Err: errNotReplayable}
					}
					rr.setTrigger(t.cp.trigger, &t.cp.coord.completed)
					if p.readers == nil {
						p.readers = make(map[*Node][]readerRunner)
					}
					if p.readers[n] == nil {
						p.readers[n] = make([]readerRunner, len(p.tasks[n]))
					}
					p.readers[n][k] = rr
				}
				rejects := rr.rejectSink(side, func(n int64) { m.dead.Add(n) })
				if rr.inline() {
					batchSize := p.cfg.BatchSize
					t.inline = func(ctx context.Context) error {
						defer func() {
							if err := rr.close(); err != nil {
								p.cfg.Logger.Warn("closing source", "source", t.name, "subtask", t.subtask+1, "err", err)
							}
						}()
						return rr.runInline(ctx, t, in, rejects, batchSize)
					}
					continue
				}
				l, release := n.out.link(t.gate.c, 0, p.cfg.Credits, p.cfg.BatchSize, n.Timed)
				t.gate.chans[0].release = release
				t.gate.inputs[0].port = n.out.port(in)
				t.gate.rejects = rejects
				readers = append(readers, reader{rr, l, t})
				continue
			}
			ins, err := p.build(n, k, t)
			if err != nil {
				closeReaders()
				return err
			}
			for i := range t.gate.inputs {
				t.gate.inputs[i].port = p.inputType(n, i).port(ins[i])
			}
		}
	}
	if coord != nil {
		if err := p.unsupported(); err != nil {
			closeReaders()
			p.closers.run(err, p.cfg.Logger)
			return err
		}
		resumed, err := p.restore(coord, p.readers)
		if err != nil {
			closeReaders()
			p.closers.run(err, p.cfg.Logger)
			return err
		}
		if resumed != nil && resumed.Final {
			closeReaders()
			p.closers.run(nil, p.cfg.Logger)
			p.cfg.Logger.Info("braid: the job already ran to its end in this checkpoint directory; start fresh to run it again",
				"checkpoint", resumed.ID)
			return nil
		}
	}
	j.mu.Lock()
	j.metrics = p.metrics
	j.mu.Unlock()
	ntasks := 0
	for _, ts := range p.tasks {
		ntasks += len(ts)
	}
	start := time.Now()
	p.cfg.Logger.Debug("braid: job starting", "operators", len(p.nodes), "tasks", ntasks,
		"parallelism", p.cfg.Parallelism, "maxParallelism", p.cfg.MaxParallelism,
		"batchSize", p.cfg.BatchSize, "bufferTimeout", p.cfg.BufferTimeout, "credits", p.cfg.Credits)

	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	failed := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel(err)
	}
	for _, r := range readers {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					// Not r.t.fail: the task's goroutine sets the operator
					// it is in as it runs; the panic is the source's.
					failed(&OperatorError{Operator: r.t.name, Subtask: r.t.subtask, Parallelism: r.t.parallelism,
						Err: panicError{v}, Stack: debug.Stack()})
					p.cfg.Logger.Error("operator panicked", "operator", r.t.name, "subtask", r.t.subtask+1, "panic", v)
				}
				if err := r.r.close(); err != nil {
					p.cfg.Logger.Warn("closing source", "source", r.t.name, "subtask", r.t.subtask+1, "err", err)
				}
			}()
			if err := r.r.run(runCtx, r.link, p.cfg.BatchSize); err != nil {
				failed(&OperatorError{Operator: r.t.name, Subtask: r.t.subtask, Parallelism: r.t.parallelism, Err: err})
			}
		})
	}
	for _, ts := range p.tasks {
		for _, t := range ts {
			wg.Go(func() {
				if err := t.run(runCtx); err != nil {
					failed(err)
				}
			})
		}
	}
	if coord != nil {
		wg.Go(func() {
			if err := coord.run(runCtx); err != nil {
				failed(err)
			}
		})
	}
	wg.Wait()
	if coord != nil && firstErr == nil && ctx.Err() == nil {
		// The final checkpoint is durable: the committers publish what they
		// staged last.
		if err := p.commitFinal(); err != nil {
			failed(err)
		}
	}
	err := firstErr
	if err == nil {
		err = ctx.Err()
	}
	p.closers.run(err, p.cfg.Logger)
	p.cfg.Logger.Debug("braid: job stopped", "duration", time.Since(start), "err", err)
	return err
}

// closers are what runs when the job has ended (BuildContext.AddCloser).
type closers []closer

type closer struct {
	name    string
	subtask int
	f       func(error) error
}

func (c *closers) add(name string, subtask int, f func(error) error) {
	*c = append(*c, closer{name, subtask, f})
}

func (c closers) run(jobErr error, log *slog.Logger) {
	for _, cl := range c {
		func() {
			defer func() {
				if v := recover(); v != nil {
					log.Error("braid: closing an operator panicked", "operator", cl.name, "subtask", cl.subtask+1, "panic", v)
				}
			}()
			if err := cl.f(jobErr); err != nil {
				log.Warn("braid: closing an operator", "operator", cl.name, "subtask", cl.subtask+1, "err", err)
			}
		}()
	}
}

// inputType is the element type of node n's logical input i.
func (p *plan) inputType(n *Node, i int) nodeType {
	for _, e := range n.Inputs {
		if e.Input == i {
			return e.From.out
		}
	}
	panic(fmt.Sprintf("braid: operator %q has no edge into input %d", n.Name, i))
}

// allocChannels numbers the senders of each head task and sizes its gate.
func (p *plan) allocChannels(n *Node, ts []*task) {
	nInputs := 1
	for _, e := range n.Inputs {
		nInputs = max(nInputs, e.Input+1)
	}
	for _, t := range ts {
		t.gate.inputs = make([]gateInput, nInputs)
		for i := range t.gate.inputs {
			t.gate.inputs[i].wm = MinWatermark
		}
	}
	if n.source != nil {
		for _, t := range ts {
			t.gate.chans = []inChannel{{input: 0, wm: MinWatermark}}
			t.gate.inputs[0].open = 1
			t.gate.c = make(chan message, p.cfg.Credits+2)
		}
		return
	}
	for ei := range n.Inputs {
		e := &n.Inputs[ei]
		from := p.parallelism(e.From)
		idx := make([][]int32, from)
		for j := range idx {
			idx[j] = make([]int32, len(ts))
			for k := range idx[j] {
				idx[j][k] = -1
			}
		}
		for k, t := range ts {
			for j := 0; j < from; j++ {
				if p.forwardable(e, n) && j != k {
					continue
				}
				idx[j][k] = int32(len(t.gate.chans))
				t.gate.chans = append(t.gate.chans, inChannel{input: e.Input, wm: MinWatermark})
				t.gate.inputs[e.Input].open++
			}
		}
		p.chanIndex[e] = idx
	}
	for _, t := range ts {
		t.gate.c = make(chan message, gateCapacity(len(t.gate.chans), p.cfg.Credits))
	}
}

func (p *plan) newMetrics(n *Node, k int) *opMetrics {
	m := &opMetrics{name: n.Name, subtask: k, parallelism: p.parallelism(n)}
	p.metrics = append(p.metrics, m)
	return m
}

// build makes subtask k of node n and everything chained after it, inside
// task t, and returns n's inputs.
func (p *plan) build(n *Node, k int, t *task) ([]any, error) {
	m := p.newMetrics(n, k)
	out, sides, err := p.outputs(n, k, t, m)
	if err != nil {
		return nil, err
	}
	bc := &BuildContext{Subtask: k, Parallelism: p.parallelism(n), MaxParallelism: p.cfg.MaxParallelism,
		Clock: p.cfg.Clock, task: t, metrics: m, sides: sides, uid: p.uid[n], closers: &p.closers}
	if p.cfg.Checkpoint != nil {
		bc.fs = p.cfg.Checkpoint.FS
	}
	ins, err := n.build(bc, out)
	if err != nil {
		return nil, &OperatorError{Operator: n.Name, Subtask: k, Parallelism: p.parallelism(n), Err: err}
	}
	for i := range ins {
		ins[i] = p.inputType(n, i).instrument(t, m, ins[i])
	}
	return ins, nil
}

// buildSource makes subtask k of source n and everything chained after it,
// inside task t. in is what its reader delivers to (an Input[T]); side is
// the Input[DeadLetter[T]] of its dead letters, or nil when nothing reads
// them.
func (p *plan) buildSource(n *Node, k int, t *task) (in, side any, m *opMetrics, err error) {
	m = p.newMetrics(n, k)
	out, sides, err := p.outputs(n, k, t, m)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(sides) > 0 {
		side = sides[0]
	}
	return n.out.instrument(t, m, out), side, m, nil
}

// outputs builds everything downstream of subtask k of n, side outputs
// included, and returns n's output (which passes watermarks, idleness and
// the end of input on to the side outputs too) and each side output's
// Input.
func (p *plan) outputs(n *Node, k int, t *task, m *opMetrics) (out any, sides []any, err error) {
	if out, err = p.output(n, k, t, m); err != nil {
		return nil, nil, err
	}
	for _, s := range n.Sides {
		so, err := p.output(s, k, t, p.newMetrics(s, k))
		if err != nil {
			return nil, nil, err
		}
		sides = append(sides, so)
	}
	return n.out.withSides(out, sides), sides, nil
}

// output builds everything downstream of subtask k of n and returns n's
// output, an Input[Out] that counts records out.
func (p *plan) output(n *Node, k int, t *task, m *opMetrics) (any, error) {
	var outs []any
	for _, c := range p.consumers[n] {
		if p.chained[c.node] {
			ins, err := p.build(c.node, k, t)
			if err != nil {
				return nil, err
			}
			in := ins[c.edge.Input]
			if kp, ok := c.edge.Partition.(keyedPart); ok {
				in = kp.chain(in, t, "keyBy after "+n.Name)
			}
			outs = append(outs, in)
			continue
		}
		recv := p.tasks[c.node]
		idx := p.chanIndex[c.edge]
		var links []any
		for r, rt := range recv {
			ch := idx[k][r]
			if ch < 0 {
				continue
			}
			l, release := n.out.link(rt.gate.c, ch, p.cfg.Credits, p.cfg.BatchSize, n.Timed)
			rt.gate.chans[ch].release = release
			links = append(links, l)
		}
		_, rebalance := c.edge.Partition.(rebalancePart)
		if !rebalance && !p.forwardable(c.edge, c.node) && len(links) > 1 {
			if _, keyed := c.edge.Partition.(keyedPart); !keyed {
				rebalance = true // forward between different parallelisms
			}
		}
		x := n.out.exchange(t, links, p.cfg.BatchSize, n.Timed, rebalance)
		t.flushers = append(t.flushers, x.(flusher))
		if kp, ok := c.edge.Partition.(keyedPart); ok {
			x = kp.wrap(x, p.cfg.MaxParallelism, "keyBy after "+n.Name)
		}
		outs = append(outs, x)
	}
	var out any
	if len(outs) == 0 {
		out = n.out.discard()
	} else {
		out = n.out.fanout(outs)
	}
	return n.out.counted(m, out), nil
}
