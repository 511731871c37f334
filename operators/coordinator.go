package operators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"
)

// FinalCheckpoint is the checkpoint id a task's last snapshot is taken
// with, when the task has finished: the coordinator writes every task's
// last state as the job's final checkpoint once all have finished, and
// committers are then told Committed(FinalCheckpoint). A two-phase sink
// stages what it holds at its end under this id.
const FinalCheckpoint = math.MaxInt64

const finalCheckpoint = FinalCheckpoint

// An ack is a task's answer to a barrier: its snapshot, or why it failed.
type ack struct {
	task int
	id   int64 // or finalCheckpoint
	e    *entries
	err  error
}

// checkpointMeta is what a checkpoint says about the job that took it,
// kept with its state.
type checkpointMeta struct {
	ID             int64        `json:"id"`
	Final          bool         `json:"final,omitempty"`
	MaxParallelism int          `json:"maxParallelism"`
	Operators      []operatorID `json:"operators"`
}

// operatorID names an operator that has state in a checkpoint.
type operatorID struct {
	UID         string `json:"uid"`
	Name        string `json:"name"`
	Parallelism int    `json:"parallelism"`
	Source      bool   `json:"source,omitempty"`
}

// The coordinator starts checkpoints, collects the tasks' snapshots and
// completes each checkpoint in the store, in a goroutine of its own: the
// tasks go on processing while a checkpoint is written.
type coordinator struct {
	cfg   CheckpointConfig
	store checkpointStore
	log   *slog.Logger
	ops   []operatorID
	maxP  int

	ntasks   int
	triggers []chan int64 // one per source subtask
	acks     chan ack
	notify   []chan struct{} // tasks with committers

	// completed is the id of the last complete checkpoint (0: none yet in
	// this run, or the one restored).
	completed atomic.Int64
	next      int64

	// The checkpoint in flight.
	cur     int64
	txn     checkpointTxn
	acked   []bool
	nacked  int
	started time.Time

	finished  []bool
	nfinished int
	finals    []*entries
	failures  int
	lastEnd   time.Time
}

func newCoordinator(cfg CheckpointConfig, log *slog.Logger, ntasks int, after int64) *coordinator {
	c := &coordinator{cfg: cfg, store: cfg.store, log: log, ntasks: ntasks,
		acks: make(chan ack, 2*ntasks), next: after + 1,
		acked: make([]bool, ntasks), finished: make([]bool, ntasks), finals: make([]*entries, ntasks)}
	c.completed.Store(after)
	return c
}

func (c *coordinator) metaFor(id int64, final bool) []byte {
	b, err := json.Marshal(checkpointMeta{ID: id, Final: final, MaxParallelism: c.maxP, Operators: c.ops})
	if err != nil {
		panic(err) // plain structs of strings and ints
	}
	return b
}

// run coordinates until every task has finished (then it writes the final
// checkpoint) or ctx is done. A failure that must fail the job is
// returned.
func (c *coordinator) run(ctx context.Context) error {
	trig := time.NewTimer(c.cfg.Interval)
	defer trig.Stop()
	timeout := time.NewTimer(time.Hour)
	timeout.Stop()
	defer timeout.Stop()
	c.lastEnd = time.Now()
	for {
		select {
		case <-ctx.Done():
			c.abandon("the job stopped")
			return nil
		case a := <-c.acks:
			done, err := c.onAck(ctx, a)
			if err != nil {
				return err
			}
			if done {
				return nil
			}
			if c.txn == nil && c.nfinished == 0 {
				timeout.Stop()
				trig.Reset(c.untilNext())
			}
		case <-trig.C:
			if c.nfinished > 0 {
				continue // a task has finished: only the final checkpoint is left
			}
			if c.txn != nil {
				continue
			}
			if err := c.trigger(); err != nil {
				return err
			}
			if c.txn != nil {
				timeout.Reset(c.cfg.Timeout)
			} else {
				trig.Reset(c.untilNext())
			}
		case <-timeout.C:
			if c.txn != nil {
				if err := c.failed(fmt.Errorf("braid: checkpoint %d timed out after %v", c.cur, c.cfg.Timeout)); err != nil {
					return err
				}
				trig.Reset(c.untilNext())
			}
		}
	}
}

// untilNext is the wait before the next checkpoint: an interval after the
// last one started, and at least the minimum pause after it ended.
func (c *coordinator) untilNext() time.Duration {
	now := time.Now()
	next := c.started.Add(c.cfg.Interval)
	if p := c.lastEnd.Add(c.cfg.MinPause); p.After(next) {
		next = p
	}
	return max(next.Sub(now), 0)
}

// trigger starts the next checkpoint: barriers at every source.
func (c *coordinator) trigger() error {
	id := c.next
	c.next++
	c.started = time.Now()
	txn, err := c.store.begin(id)
	if err != nil {
		c.cur = id
		return c.failed(fmt.Errorf("braid: starting checkpoint %d: %w", id, err))
	}
	c.cur, c.txn, c.nacked = id, txn, 0
	clear(c.acked)
	for _, t := range c.triggers {
		select {
		case t <- id:
		default:
			// The source has not taken an older, abandoned barrier yet:
			// replace it.
			select {
			case <-t:
			default:
			}
			t <- id
		}
	}
	c.log.Debug("braid: checkpoint started", "checkpoint", id)
	return nil
}

func (c *coordinator) onAck(ctx context.Context, a ack) (done bool, err error) {
	if a.id == finalCheckpoint {
		if !c.finished[a.task] {
			c.finished[a.task] = true
			c.nfinished++
		}
		c.finals[a.task] = a.e
		if a.err != nil {
			return false, a.err
		}
		if c.txn != nil && !c.acked[a.task] {
			c.abandon("a task finished before it was reached")
		}
		if c.nfinished < c.ntasks {
			return false, nil
		}
		return true, c.finish(ctx)
	}
	if c.txn == nil || a.id != c.cur || c.acked[a.task] {
		return false, nil // a checkpoint already abandoned
	}
	if a.err != nil {
		return false, c.failed(fmt.Errorf("braid: checkpoint %d: %w", c.cur, a.err))
	}
	if err := c.txn.apply(a.e); err != nil {
		return false, c.failed(fmt.Errorf("braid: checkpoint %d: %w", c.cur, err))
	}
	c.acked[a.task] = true
	c.nacked++
	if c.nacked < c.ntasks {
		return false, nil
	}
	st, err := c.txn.commit(c.metaFor(c.cur, false))
	c.txn = nil
	if mc := (*maybeComplete)(nil); errors.As(err, &mc) {
		// Neither failed nor complete: going on could commit or discard
		// output that a restore would see otherwise. Stop; the restart
		// settles it.
		return false, fmt.Errorf("braid: completing checkpoint %d: %w", c.cur, err)
	}
	if err != nil {
		return false, c.failed(fmt.Errorf("braid: completing checkpoint %d: %w", c.cur, err))
	}
	c.completed.Store(c.cur)
	c.failures = 0
	c.lastEnd = time.Now()
	c.log.Debug("braid: checkpoint complete", "checkpoint", c.cur, "duration", c.lastEnd.Sub(c.started),
		"bytes", st.bytes, "files", st.files)
	for _, n := range c.notify {
		select {
		case n <- struct{}{}:
		default: // a notice is already waiting; the task reads the latest id
		}
	}
	return false, nil
}

// failed abandons the checkpoint in flight as a failure, and fails the job
// when too many have failed in a row.
func (c *coordinator) failed(err error) error {
	if c.txn != nil {
		if aerr := c.txn.abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		c.txn = nil
	}
	c.failures++
	c.lastEnd = time.Now()
	c.log.Warn("braid: checkpoint failed", "checkpoint", c.cur, "failuresInARow", c.failures, "err", err)
	if c.cfg.TolerableFailures >= 0 && c.failures > c.cfg.TolerableFailures {
		return fmt.Errorf("braid: %d checkpoints failed in a row (tolerable: %d), the last: %w", c.failures, c.cfg.TolerableFailures, err)
	}
	return nil
}

// abandon gives up the checkpoint in flight without counting a failure.
func (c *coordinator) abandon(why string) {
	if c.txn == nil {
		return
	}
	if err := c.txn.abort(); err != nil {
		c.log.Warn("braid: abandoning checkpoint", "checkpoint", c.cur, "err", err)
	}
	c.txn = nil
	c.lastEnd = time.Now()
	c.log.Debug("braid: checkpoint abandoned", "checkpoint", c.cur, "reason", why)
}

// finish writes the final checkpoint: every task's state at its end. A
// failure is retried as the tolerable failures allow, when a checkpoint
// would be due (an interval after the last attempt started, and at least
// the minimum pause after it ended); the tasks' states stay in memory
// meanwhile. When ctx is done first, finish gives up and returns nil (the
// job stops with ctx's error).
func (c *coordinator) finish(ctx context.Context) error {
	for {
		c.started = time.Now()
		err := c.tryFinish()
		if err == nil {
			return nil
		}
		if ferr := c.failed(err); ferr != nil {
			return ferr
		}
		t := time.NewTimer(c.untilNext())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			c.log.Debug("braid: final checkpoint abandoned", "checkpoint", c.cur, "reason", "the job stopped")
			return nil
		}
	}
}

func (c *coordinator) tryFinish() error {
	id := c.next
	c.next++
	c.cur = id
	txn, err := c.store.begin(id)
	if err != nil {
		return fmt.Errorf("braid: final checkpoint %d: %w", id, err)
	}
	// A failed final checkpoint may have applied part of these; every
	// attempt builds on the last complete checkpoint, and a task whose
	// snapshot before was not part of it wrote all its state.
	for _, e := range c.finals {
		if err := txn.apply(e); err != nil {
			return errors.Join(fmt.Errorf("braid: final checkpoint %d: %w", id, err), txn.abort())
		}
	}
	if _, err := txn.commit(c.metaFor(id, true)); err != nil {
		return fmt.Errorf("braid: completing final checkpoint %d: %w", id, err)
	}
	c.completed.Store(id)
	c.log.Debug("braid: final checkpoint complete", "checkpoint", id)
	return nil
}
