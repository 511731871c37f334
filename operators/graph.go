package operators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/state"
)

// A Node is one operator of a job's logical graph. Package stream builds
// the graph; the runtime turns it into tasks. Element types are carried by
// the typed constructors (NewSourceNode, NewOpNode), so the graph itself is
// untyped while every record path stays typed.
type Node struct {
	Name string
	// Parallelism is the number of subtasks; 0 means the job's default.
	Parallelism int
	// MaxParallelism is fixed to 1 for operators that cannot run in
	// parallel (WindowAll, unsplittable sources).
	MaxParallelism int
	Inputs         []Edge
	// Timed reports whether the node's output carries event timestamps.
	Timed bool
	// NoChain keeps the node at the head of its own task.
	NoChain bool
	// InheritParallelism gives the node, when its Parallelism is 0, the
	// parallelism of its first input instead of the job's default, so that
	// it chains to it (as Flink's timestamp assigner does).
	InheritParallelism bool

	// Sides are side outputs (late elements, dead letters): nodes with no
	// input of their own, fed by this node's operator through
	// BuildContext.Side and always in its task.
	Sides []*Node
	// SideOf is the node a side output belongs to.
	SideOf *Node

	// UID identifies the operator's state in checkpoints. Empty means one
	// derived from the job's structure: the operator's name, its inputs'
	// ids and its place among operators of the same name and inputs, so
	// that adding or removing an unrelated operator leaves it unchanged.
	// Set it to keep state across changes that move an operator.
	UID string

	out    nodeType
	build  BuildFunc
	source sourceBinder
}

// An Edge is a logical input of a node: records of From flow into the
// node's input number Input, moved by Partition.
type Edge struct {
	From      *Node
	Input     int
	Partition Partitioner
}

// BuildFunc makes one subtask's instance of an operator. out is the
// operator's output, an Input[Out]; the result holds an Input[In_i] per
// logical input i. Sinks get a discarding out.
type BuildFunc func(bc *BuildContext, out any) ([]any, error)

// BuildContext is what an operator instance is told about its place in the
// job when it is built.
type BuildContext struct {
	Subtask, Parallelism, MaxParallelism int
	Clock                                Clock
	task                                 *task
	metrics                              *opMetrics
	sides                                []any
	uid                                  string
	closers                              *closers
	fs                                   vfs.FS
}

// FS is the filesystem of the job's checkpoints (CheckpointConfig.FS, the
// real disk by default): two-phase sinks write through it, so that tests
// can crash them with the checkpoints.
func (bc *BuildContext) FS() vfs.FS {
	if bc.fs == nil {
		return vfs.Default
	}
	return bc.fs
}

// Checkpointing reports whether the job takes checkpoints: operators with
// state then register it with AddSnapshotter.
func (bc *BuildContext) Checkpointing() bool { return bc.task.cp != nil }

// AddSnapshotter registers state of the operator for checkpoints. It does
// nothing when checkpoints are off.
func (bc *BuildContext) AddSnapshotter(s Snapshotter) {
	cp := bc.task.cp
	if cp == nil {
		return
	}
	lo, hi := 0, 0
	if bc.MaxParallelism > 0 {
		lo, hi = state.KeyGroupRange(bc.Subtask, bc.MaxParallelism, bc.Parallelism)
	}
	cp.snaps = append(cp.snaps, snapAt{s: s, uid: bc.uid, subtask: bc.Subtask, kgLo: lo, kgHi: hi, par: bc.Parallelism})
}

// Unsupported marks the operator as holding state that checkpoints cannot
// encode (what names it and why): a job with checkpoints then refuses to
// run, naming the operator, rather than lose that state in a restore.
func (bc *BuildContext) Unsupported(what string) {
	if cp := bc.task.cp; cp != nil {
		cp.unsupported = append(cp.unsupported, what)
	}
}

// AddCloser registers f to run once when the job has ended, after every
// task has stopped (and, for a job that finished, after the final commit),
// with the job's error (nil when it finished). A sink releases its
// resources there. An error it returns is logged.
func (bc *BuildContext) AddCloser(f func(jobErr error) error) {
	bc.closers.add(bc.metrics.name, bc.Subtask, f)
}

// AddCommitter registers an operator to be told when checkpoints
// complete. It does nothing when checkpoints are off.
func (bc *BuildContext) AddCommitter(c Committer) {
	cp := bc.task.cp
	if cp == nil {
		return
	}
	cp.committers = append(cp.committers, c)
}

// Side returns the Input[S] of the node's side output i (in the order of
// Node.Sides).
func (bc *BuildContext) Side(i int) any { return bc.sides[i] }

// AddTimed registers an operator for processing-time callbacks.
func (bc *BuildContext) AddTimed(op timed) { bc.task.timed = append(bc.task.timed, op) }

// AtBatchEnd registers f to run each time the task has handled a whole
// batch of its input (a source's read, a batch from another task), however
// the operators between took it. Timestamps emits its watermark there, so
// that watermarks come once per input batch even when a slow operator takes
// a batch in parts.
func (bc *BuildContext) AtBatchEnd(f func() error) { bc.task.batchEnd = append(bc.task.batchEnd, f) }

// CountLate adds n to the operator's late-record counter.
func (bc *BuildContext) CountLate(n int64) { bc.metrics.late.Add(n) }

// CountDeadLetters adds n to the operator's dead-letter counter.
func (bc *BuildContext) CountDeadLetters(n int64) { bc.metrics.dead.Add(n) }

// NewOpNode returns a node whose output element type is Out.
func NewOpNode[Out any](name string, build BuildFunc) *Node {
	return &Node{Name: name, out: typeOf[Out]{}, build: build}
}

// NewSideNode returns a side output of parent carrying elements of S.
func NewSideNode[S any](name string, parent *Node) *Node {
	n := &Node{Name: name, out: typeOf[S]{}, SideOf: parent}
	parent.Sides = append(parent.Sides, n)
	return n
}

// NewSourceNode returns a source node reading elements of T.
func NewSourceNode[T any](name string, open SourceFactory[T]) *Node {
	return &Node{Name: name, out: typeOf[T]{}, source: typedSource[T]{open}}
}

// A Partitioner says how records move along an edge.
type Partitioner interface{ partitioner() }

type forwardPart struct{}
type rebalancePart struct{}
type globalPart struct{}

func (forwardPart) partitioner()   {}
func (rebalancePart) partitioner() {}
func (globalPart) partitioner()    {}

// Forward keeps records in their subtask and chains the two operators into
// one goroutine when their parallelism is equal; otherwise it rebalances.
func Forward() Partitioner { return forwardPart{} }

// Rebalance spreads batches round-robin over the receiving subtasks.
func Rebalance() Partitioner { return rebalancePart{} }

// Global sends every record to the receiver's only subtask.
func Global() Partitioner { return globalPart{} }

type keyedPart interface {
	Partitioner
	wrap(x any, maxP int, name string) any
	// chain returns the Input[T] that keys records for in (an Input[T])
	// when the edge joins two operators of parallelism 1 in one task.
	chain(in any, t *task, name string) any
}

type keyPart[T any, K comparable] struct {
	key  func(T) K
	hash func(K) uint64
}

func (keyPart[T, K]) partitioner() {}
func (p keyPart[T, K]) wrap(x any, maxP int, name string) any {
	return newKeyedExchange(x.(*exchange[T]), p.key, p.hash, maxP, name)
}

func (p keyPart[T, K]) chain(in any, t *task, name string) any {
	return newKeyedChain(in.(Input[T]), t, p.key, name)
}

// KeyBy sends each record to the subtask that owns its key's key group.
func KeyBy[T any, K comparable](key func(T) K, hash func(K) uint64) Partitioner {
	return keyPart[T, K]{key, hash}
}

// nodeType holds what the runtime must do with a node's output type.
type nodeType interface {
	fanout(ins []any) any
	counted(m *opMetrics, out any) any
	withSides(out any, sides []any) any
	instrument(t *task, m *opMetrics, in any) any
	port(in any) inputPort
	link(to chan<- message, ch int32, credits, batchSize int, timed bool) (any, func(any))
	exchange(t *task, links []any, batchSize int, timed, rebalance bool) any
	discard() any
}

type typeOf[T any] struct{}

func (typeOf[T]) fanout(ins []any) any {
	if len(ins) == 1 {
		return ins[0]
	}
	f := make(fanout[T], len(ins))
	for i, in := range ins {
		f[i] = in.(Input[T])
	}
	return f
}

func (typeOf[T]) counted(m *opMetrics, out any) any {
	return &counted[T]{m: m, next: out.(Input[T])}
}

func (typeOf[T]) withSides(out any, sides []any) any {
	if len(sides) == 0 {
		return out
	}
	ws := &withSides[T]{Input: out.(Input[T])}
	for _, s := range sides {
		ws.sides = append(ws.sides, s.(watermarkInput))
	}
	return ws
}

func (typeOf[T]) instrument(t *task, m *opMetrics, in any) any {
	return &instrumented[T]{t: t, m: m, next: in.(Input[T])}
}

func (typeOf[T]) port(in any) inputPort { return newPort(in.(Input[T])) }

func (typeOf[T]) link(to chan<- message, ch int32, credits, batchSize int, timed bool) (any, func(any)) {
	l := newLink[T](to, ch, credits, batchSize, timed)
	return l, l.release
}

func (typeOf[T]) exchange(t *task, links []any, batchSize int, timed, rebalance bool) any {
	ls := make([]*link[T], len(links))
	for i, l := range links {
		ls[i] = l.(*link[T])
	}
	return newExchange(t, ls, batchSize, timed, rebalance)
}

func (typeOf[T]) discard() any { return discard[T]{} }

// sourceBinder opens a source subtask and runs its reader.
type sourceBinder interface {
	open(ctx context.Context, subtask, parallelism int) (readerRunner, error)
}

type readerRunner interface {
	// run reads until the end of input or ctx is done, sending batches over
	// the link (an *link[T]) and what the reader sets aside as msgRejects.
	run(ctx context.Context, l any, batchSize int) error
	// inline reports whether the reader can run inside its task.
	inline() bool
	// runInline reads in the task's own loop, pushing straight into the
	// chain (an Input[T]) and what it sets aside into rejects.
	runInline(ctx context.Context, t *task, in any, rejects func(any) error, batchSize int) error
	// rejectSink returns the function that takes what the reader set aside
	// (a []DeadLetter[T]): it counts them and pushes them into side (an
	// Input[DeadLetter[T]], or nil when nothing reads them).
	rejectSink(side any, count func(int64)) func(any) error
	close() error

	// For checkpoints: setTrigger gives the reader its barrier channel
	// and the id of the newest complete checkpoint (see CommitListener);
	// seek moves it to a position of an earlier run.
	setTrigger(c chan int64, completed *atomic.Int64)
	seek(pos []byte) error
	replayable() bool
}

type typedSource[T any] struct{ open_ SourceFactory[T] }

func (s typedSource[T]) open(ctx context.Context, subtask, parallelism int) (readerRunner, error) {
	r, err := s.open_(ctx, subtask, parallelism)
	if err != nil {
		return nil, err
	}
	tr := &typedReader[T]{r: r, lastWm: MinWatermark}
	tr.rej, _ = r.(RejectingReader[T])
	tr.et, _ = r.(EventTimeReader)
	tr.rp, _ = r.(ReplayableReader)
	return tr, nil
}

type typedReader[T any] struct {
	r   SourceReader[T]
	rej RejectingReader[T]
	et  EventTimeReader // nil for sources without event time
	rp  ReplayableReader
	cl  CommitListener // nil unless the reader wants to know (and checkpoints are on)

	// trigger takes checkpoint barriers, when checkpoints are on.
	trigger chan int64
	// For a CommitListener: the coordinator's newest complete checkpoint,
	// the last one told, and the positions given at barriers since.
	completed *atomic.Int64
	told      int64
	given     []givenPos

	lastWm int64
	idle   bool
}

// stampBatch copies an event-time reader's timestamps of the n elements
// just read into b.
func (tr *typedReader[T]) stampBatch(b *Batch[T], n int) error {
	ts := tr.et.Timestamps()
	if len(ts) != n {
		return fmt.Errorf("braid: the source's reader returned %d elements and %d timestamps (Timestamps must give one per element of the last Read)", n, len(ts))
	}
	b.Times = append(b.Times[:0], ts[:n]...)
	return nil
}

// progress is what an event-time reader says after a read: a watermark
// that advanced (or MinWatermark), and a change of idleness.
func (tr *typedReader[T]) progress() (wm int64, idleChanged bool) {
	w, idle := tr.et.Watermark()
	wm = MinWatermark
	if w > tr.lastWm {
		tr.lastWm, wm = w, w
		tr.idle = false // a watermark makes the source active
	}
	if idle != tr.idle && wm == MinWatermark {
		tr.idle, idleChanged = idle, true
	}
	return wm, idleChanged
}

func (tr *typedReader[T]) close() error { return tr.r.Close() }

// position is the reader's position for a checkpoint: a []byte, or the
// error of a reader that cannot give one.
func (tr *typedReader[T]) position() any {
	if tr.rp == nil {
		return errNotReplayable
	}
	p, err := tr.rp.Position()
	if err != nil {
		return fmt.Errorf("braid: the source's reader has no position: %w", err)
	}
	return p
}

func (tr *typedReader[T]) checkpointed() bool { return tr.trigger != nil }

func (tr *typedReader[T]) setTrigger(c chan int64, completed *atomic.Int64) {
	tr.trigger, tr.completed = c, completed
	if tr.cl, _ = tr.r.(CommitListener); tr.cl != nil {
		tr.told = completed.Load() // a restored checkpoint is the reader's Seek
	}
}

// A givenPos is the position a reader gave at the barrier of checkpoint id.
type givenPos struct {
	id  int64
	pos []byte
}

// barrierPosition is position for the barrier of checkpoint id; a
// CommitListener's is kept until a checkpoint at or after id completes.
func (tr *typedReader[T]) barrierPosition(id int64) any {
	p := tr.position()
	if b, ok := p.([]byte); ok && tr.cl != nil {
		tr.given = append(tr.given, givenPos{id, b})
	}
	return p
}

// tellCommitted tells a CommitListener the position of the newest
// checkpoint that completed since it was last told, if there is one. It
// runs before each Read: one atomic load when nothing completed.
func (tr *typedReader[T]) tellCommitted() error {
	c := tr.completed.Load()
	if c <= tr.told {
		return nil
	}
	tr.told = c
	i := 0
	for i < len(tr.given) && tr.given[i].id <= c {
		i++
	}
	if i == 0 {
		return nil
	}
	g := tr.given[i-1]
	n := copy(tr.given, tr.given[i:])
	clear(tr.given[n:])
	tr.given = tr.given[:n]
	if err := tr.cl.Committed(g.pos); err != nil {
		return fmt.Errorf("braid: the source's reader, told that checkpoint %d completed: %w", g.id, err)
	}
	return nil
}

func (tr *typedReader[T]) seek(pos []byte) error {
	if tr.rp == nil {
		return errNotReplayable
	}
	return tr.rp.Seek(pos)
}

func (tr *typedReader[T]) replayable() bool { return tr.rp != nil }

func (tr *typedReader[T]) inline() bool {
	ir, ok := tr.r.(InlineReader)
	return ok && ir.Inline()
}

func (tr *typedReader[T]) rejectSink(side any, count func(int64)) func(any) error {
	var in Input[DeadLetter[T]]
	if side != nil {
		in = side.(Input[DeadLetter[T]])
	}
	var b Batch[DeadLetter[T]]
	return func(x any) error {
		d := x.([]DeadLetter[T])
		count(int64(len(d)))
		if in == nil {
			return nil
		}
		b.Values = d
		return in.Push(&b)
	}
}

// rejected returns what the reader set aside since the last call, in a
// fresh slice (it travels to another goroutine), or nil.
func (tr *typedReader[T]) rejected() []DeadLetter[T] {
	if tr.rej == nil {
		return nil
	}
	return tr.rej.Rejected(nil)
}

func (tr *typedReader[T]) runInline(ctx context.Context, t *task, ina any, rejects func(any) error, batchSize int) error {
	in := ina.(Input[T])
	b := &Batch[T]{Values: make([]T, batchSize)}
	if tr.et != nil {
		b.Times = make([]int64, 0, batchSize)
	}
	done := ctx.Done()
	for {
		select {
		case <-done:
			return context.Cause(ctx)
		case id := <-tr.trigger:
			if id > t.cp.lastSnap {
				if err := t.checkpoint(id, tr.barrierPosition(id)); err != nil {
					return t.stopped(ctx, err)
				}
			}
		default:
		}
		if tr.cl != nil {
			if err := tr.tellCommitted(); err != nil {
				return t.fail(err, nil)
			}
		}
		n, err := tr.r.Read(ctx, b.Values[:batchSize])
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return t.fail(err, nil)
		}
		if n > 0 {
			b.Values = b.Values[:n]
			if tr.et != nil {
				if err := tr.stampBatch(b, n); err != nil {
					return t.fail(err, nil)
				}
			}
			if err := in.Push(b); err != nil {
				return t.stopped(ctx, err)
			}
			if err := t.endBatch(); err != nil {
				return t.stopped(ctx, err)
			}
		}
		if tr.et != nil && !eof {
			wm, idleChanged := tr.progress()
			if wm != MinWatermark {
				err = in.Watermark(wm)
			} else if idleChanged {
				err = in.Idle(tr.idle)
			}
			if err != nil {
				return t.stopped(ctx, err)
			}
		}
		if d := tr.rejected(); d != nil {
			if err := rejects(d); err != nil {
				return t.stopped(ctx, err)
			}
		}
		if eof {
			if err := in.Watermark(MaxWatermark); err != nil {
				return t.stopped(ctx, err)
			}
			if err := in.Finish(); err != nil {
				return t.stopped(ctx, err)
			}
			if tr.checkpointed() {
				t.gate.pos = tr.position()
			}
			return t.finish(ctx)
		}
		if err := t.tick(); err != nil {
			return t.stopped(ctx, err)
		}
	}
}

func (tr *typedReader[T]) run(ctx context.Context, la any, batchSize int) error {
	l := la.(*link[T])
	for {
		var b *Batch[T]
		select {
		case b = <-l.free:
		case id := <-tr.trigger:
			if !tr.sendBarrier(ctx, l, id) {
				return nil
			}
			continue
		case <-ctx.Done():
			return nil
		}
		select {
		case id := <-tr.trigger:
			if !tr.sendBarrier(ctx, l, id) {
				l.free <- b
				return nil
			}
		default:
		}
		if cap(b.Values) < batchSize {
			b.Values = make([]T, 0, batchSize) // once per credit
		}
		if tr.cl != nil {
			if err := tr.tellCommitted(); err != nil {
				l.free <- b
				return err
			}
		}
		n, err := tr.r.Read(ctx, b.Values[:batchSize])
		if ctx.Err() != nil {
			return nil
		}
		if n > 0 {
			b.Values = b.Values[:n]
			if tr.et != nil {
				if err := tr.stampBatch(b, n); err != nil {
					l.free <- b
					return err
				}
			}
			select {
			case l.to <- message{kind: msgData, ch: l.ch, batch: b}:
			case <-ctx.Done():
				return nil
			}
		} else {
			l.free <- b
		}
		if tr.et != nil && !errors.Is(err, io.EOF) {
			var m message
			wm, idleChanged := tr.progress()
			switch {
			case wm != MinWatermark:
				m = message{kind: msgWatermark, ch: l.ch, wm: wm}
			case idleChanged && tr.idle:
				m = message{kind: msgIdle, ch: l.ch}
			case idleChanged:
				m = message{kind: msgWatermark, ch: l.ch, wm: tr.lastWm} // active again, at the watermark it had
			}
			if m.kind != msgData {
				select {
				case l.to <- m:
				case <-ctx.Done():
					return nil
				}
			}
		}
		if d := tr.rejected(); d != nil {
			select {
			case l.to <- message{kind: msgRejects, ch: l.ch, batch: d}:
			case <-ctx.Done():
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			end := message{kind: msgEnd, ch: l.ch}
			if tr.checkpointed() {
				end.batch = tr.position()
			}
			select {
			case l.to <- end:
			case <-ctx.Done():
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// sendBarrier sends checkpoint barrier id, with the reader's position, to
// the source's task. It reports false when the job stopped first.
func (tr *typedReader[T]) sendBarrier(ctx context.Context, l *link[T], id int64) bool {
	select {
	case l.to <- message{kind: msgBarrier, ch: l.ch, wm: id, batch: tr.barrierPosition(id)}:
		return true
	case <-ctx.Done():
		return false
	}
}

// errNotReplayable is the checkpoint error of a source whose reader cannot
// say where it is.
var errNotReplayable = errors.New("braid: the source cannot replay (its reader is not a ReplayableReader), so it cannot take part in checkpoints")

// String is the node's name, quoted.
func (n *Node) String() string { return fmt.Sprintf("%q", n.Name) }

// IsSource reports whether n is a source.
func (n *Node) IsSource() bool { return n.source != nil }

// SetBuild sets the function that builds n's operator, for nodes whose
// side outputs must exist before it can be written.
func (n *Node) SetBuild(b BuildFunc) { n.build = b }

// Done is closed when the job stops; sinks that wait select on it.
func (bc *BuildContext) Done() <-chan struct{} { return bc.task.done }
