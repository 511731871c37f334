package operators

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"time"
)

// timed is implemented by operators that act on processing time (window
// ends, idleness, buffer timeouts). The task asks for the next deadline after
// every message and sets one clock timer for the earliest, so wakeups
// coalesce instead of queueing.
type timed interface {
	// nextTimer is the processing time (Unix nanoseconds) at which the
	// operator wants onTimer, or math.MaxInt64.
	nextTimer() int64
	onTimer(now int64) error
}

// flusher is an exchange with records waiting in partly filled batches.
type flusher interface {
	flush() error
	// barrier sends what waits, then checkpoint barrier id, to every
	// receiver.
	barrier(id int64) error
}

// A task is one goroutine: a gate (or a source reader's channel) feeding a
// chain of operators. It is a thin loop around synchronous operators.
type task struct {
	name        string
	subtask     int
	parallelism int
	gate        *gate
	done        <-chan struct{}
	clock       Clock
	log         *slog.Logger

	flushers      []flusher
	timed         []timed
	batchEnd      []func() error
	bufferTimeout time.Duration

	// Set while an operator runs, for panic attribution and busy time.
	cur   *opMetrics
	child int64
	// blockedNs is the time the task has spent blocked on full outputs.
	blockedNs int64

	lastFlush int64

	// inline, when set, is the task's loop: a source that never waits,
	// read in the task itself.
	inline func(ctx context.Context) error
	timer  Timer
	armed  int64

	// cp is the task's part in checkpoints, nil when they are off.
	cp *taskCP
}

func (t *task) fail(err error, stack []byte) error {
	name, sub, par := t.name, t.subtask, t.parallelism
	if t.cur != nil {
		name, sub, par = t.cur.name, t.cur.subtask, t.cur.parallelism
	}
	return &OperatorError{Operator: name, Subtask: sub, Parallelism: par, Err: err, Stack: stack}
}

// run is the task's loop. It returns nil when every input has ended and the
// chain has finished, ctx's cause when the job is cancelled, or the first
// error of an operator.
func (t *task) run(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = t.fail(panicError{r}, debug.Stack())
			t.log.Error("operator panicked", "operator", err.(*OperatorError).Operator, "subtask", t.subtask+1, "panic", r)
		}
	}()
	t.timer = t.clock.NewTimer(time.Hour)
	t.timer.Stop()
	defer t.timer.Stop()
	t.armed = math.MaxInt64
	t.lastFlush = nanotime()
	// Operators may want time before any input (an idleness timeout on an
	// input that never sends, a periodic watermark).
	t.rearm()
	if t.inline != nil {
		return t.inline(ctx)
	}
	var notify chan struct{}
	if t.cp != nil {
		notify = t.cp.notify
	}
	g := t.gate
	for {
		m, ok := g.next()
		if !ok {
			select {
			case m = <-g.c:
			default:
				// Nothing waiting: send what the outputs hold before blocking,
				// so a slow stream still flows.
				if err := t.flushAll(); err != nil {
					return err
				}
				select {
				case m = <-g.c:
				case <-t.timer.C():
					t.armed = math.MaxInt64
					if err := t.fireTimers(); err != nil {
						return err
					}
					t.rearm()
					continue
				case <-notify:
					if err := t.commit(); err != nil {
						return t.stopped(ctx, err)
					}
					continue
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
		}
		select {
		case <-ctx.Done():
			// Messages keep coming: stop without draining them.
			return context.Cause(ctx)
		default:
		}
		if g.hold(m) {
			continue
		}
		switch m.kind {
		case msgBarrier:
			if t.cp != nil && g.barrier(m, t.cp.lastSnap) {
				if err := t.checkpoint(m.wm, g.pos); err != nil {
					return t.stopped(ctx, err)
				}
			}
			continue
		case msgEnd:
			if m.batch != nil {
				g.pos = m.batch // a source's final position
			}
			if t.cp != nil && g.aligning != 0 {
				// A sender that ends during an alignment has sent all it
				// ever will before the barrier it will never send: its end
				// counts as that barrier (as Flink's end of partition), so
				// that the checkpoint completes here as it does in the
				// siblings that saw the end first, and no task downstream
				// waits for ever on a barrier this one swallowed.
				g.chans[m.ch].blocked = true
				g.waiting--
				if g.waiting == 0 {
					id := g.aligning
					g.unalign()
					if err := t.checkpoint(id, g.pos); err != nil {
						return t.stopped(ctx, err)
					}
				}
			}
		}
		done, err := g.handle(m)
		if err == nil && m.kind == msgData {
			err = t.endBatch()
		}
		if err != nil {
			return t.stopped(ctx, err)
		}
		if done {
			return t.finish(ctx)
		}
		if err := t.tick(); err != nil {
			return err
		}
	}
}

// finish ends a task whose inputs have all finished: what the outputs
// hold goes out, and with checkpoints the task's last state goes to the
// coordinator for the final checkpoint.
func (t *task) finish(ctx context.Context) error {
	if err := t.flushAll(); err != nil {
		return err
	}
	if t.cp == nil {
		return nil
	}
	if err := t.checkpoint(finalCheckpoint, t.gate.pos); err != nil {
		return t.stopped(ctx, err)
	}
	return nil
}

// stopped is the error to end the task with: the job's cancellation cause
// when it is stopping (a blocked send gave up), else err naming the
// operator.
func (t *task) stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return t.wrap(err)
}

// tick runs the work due after each message: timers and the buffer
// timeout.
func (t *task) tick() error {
	if len(t.timed) > 0 {
		if err := t.fireTimers(); err != nil {
			return err
		}
		t.rearm()
	}
	if t.cp != nil && t.cp.notify != nil {
		select {
		case <-t.cp.notify:
			if err := t.commit(); err != nil {
				return err
			}
		default:
		}
	}
	if now := nanotime(); now-t.lastFlush > int64(t.bufferTimeout) {
		return t.flushAll()
	}
	return nil
}

func (t *task) wrap(err error) error {
	if _, ok := err.(*OperatorError); ok {
		return err
	}
	return t.fail(err, nil)
}

func (t *task) flushAll() error {
	t.lastFlush = nanotime()
	for _, f := range t.flushers {
		if err := f.flush(); err != nil {
			return t.wrap(err)
		}
	}
	return nil
}

// fireTimers calls every operator whose deadline has passed.
func (t *task) fireTimers() error {
	if len(t.timed) == 0 {
		return nil
	}
	now := t.clock.Now().UnixNano()
	for _, op := range t.timed {
		if op.nextTimer() <= now {
			if err := op.onTimer(now); err != nil {
				return t.wrap(err)
			}
		}
	}
	return nil
}

// rearm points the clock timer at the earliest deadline.
func (t *task) rearm() {
	next := int64(math.MaxInt64)
	for _, op := range t.timed {
		next = min(next, op.nextTimer())
	}
	if next == t.armed {
		return
	}
	t.armed = next
	if next == math.MaxInt64 {
		t.timer.Stop()
		return
	}
	t.timer.Reset(time.Duration(next - t.clock.Now().UnixNano()))
}

func (t *task) String() string { return fmt.Sprintf("%s (%d/%d)", t.name, t.subtask+1, t.parallelism) }

// chargeBlocked books time spent waiting on a full output to the running
// operator, and keeps it out of that operator's busy time.
func (t *task) chargeBlocked(ns int64) {
	if t.cur != nil {
		t.cur.blocked.Add(ns)
	}
	t.child += ns
	t.blockedNs += ns
}

// endBatch runs the operators' work due after a whole input batch.
func (t *task) endBatch() error {
	for _, f := range t.batchEnd {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// between is called between two runs of a batch that an operator takes in
// parts (see instrumented): it stops the task when the job is cancelled,
// and sends what the outputs hold when the buffer timeout has passed.
func (t *task) between() error {
	select {
	case <-t.done:
		return errStopped
	default:
	}
	if nanotime()-t.lastFlush > int64(t.bufferTimeout) {
		return t.flushAll()
	}
	return nil
}

// sendMsg puts a message on a receiver's channel, waiting while it is full.
func (t *task) sendMsg(to chan<- message, m message) error {
	select {
	case to <- m:
		return nil
	default:
	}
	start := nanotime()
	select {
	case to <- m:
		t.chargeBlocked(nanotime() - start)
		return nil
	case <-t.done:
		return errStopped
	}
}
