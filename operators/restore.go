package operators

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
)

// uids gives every node its operator id: Node.UID when set, else a hash
// of its name, its inputs' ids and its rank among the nodes that share
// both, so that the id of an operator depends on what feeds it, not on
// what else the job holds.
func (p *plan) uids() {
	p.uid = make(map[*Node]string, len(p.nodes))
	seen := make(map[string]int)
	var uidOf func(n *Node) string
	uidOf = func(n *Node) string {
		if u, ok := p.uid[n]; ok {
			return u
		}
		var u string
		switch {
		case n.UID != "":
			u = n.UID
		case n.SideOf != nil:
			u = uidOf(n.SideOf) + "/" + n.Name
		default:
			var b strings.Builder
			b.WriteString(n.Name)
			b.WriteString("<-")
			for _, e := range n.Inputs {
				b.WriteString(strconv.Itoa(e.Input))
				b.WriteByte(':')
				b.WriteString(uidOf(e.From))
				b.WriteByte(',')
			}
			base := b.String()
			rank := seen[base]
			seen[base]++
			h := fnv.New64a()
			h.Write([]byte(base))
			h.Write([]byte{'#', byte(rank), byte(rank >> 8)})
			u = fmt.Sprintf("%016x", h.Sum64())
		}
		p.uid[n] = u
		return u
	}
	for _, n := range p.nodes {
		uidOf(n)
	}
}

// validateUIDs refuses two operators with the same user-given id.
func (p *plan) validateUIDs() error {
	by := make(map[string]*Node)
	var errs []error
	for _, n := range p.nodes {
		if n.UID == "" {
			continue
		}
		if o, ok := by[n.UID]; ok {
			errs = append(errs, fmt.Errorf("braid: operators %q and %q have the same UID %q", o.Name, n.Name, n.UID))
			continue
		}
		by[n.UID] = n
	}
	return errors.Join(errs...)
}

// unsupported refuses a job with checkpoints that holds state they cannot
// encode.
func (p *plan) unsupported() error {
	var names []string
	for _, n := range p.nodes {
		for _, t := range p.tasks[n] {
			for _, u := range t.cp.unsupported {
				if !slices.Contains(names, u) {
					names = append(names, u)
				}
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrCheckpointUnsupported, strings.Join(names, ", "))
}

// ErrCheckpointUnsupported marks the error of a job with checkpoints whose
// operators hold state of a type checkpoints cannot encode (a window's
// elements or accumulator, or a key, with a channel or a function in it:
// see state.CodecFor for what can be). The job fails before it runs; the
// error names each operator and what in its type cannot be encoded.
var ErrCheckpointUnsupported = errors.New("braid: checkpoints cannot hold the state of these operators, so the job cannot run with checkpoints")

// checkpointing gives every task its part in checkpoints and returns the
// coordinator.
func (p *plan) checkpointing() *coordinator {
	cfg := p.cfg.Checkpoint.withDefaults()
	ntasks := 0
	for _, n := range p.nodes {
		ntasks += len(p.tasks[n])
	}
	c := newCoordinator(cfg, p.cfg.Logger, ntasks, 0)
	c.maxP = p.cfg.MaxParallelism
	i := 0
	for _, n := range p.nodes {
		for _, t := range p.tasks[n] {
			t.cp = &taskCP{coord: c, index: i}
			i++
			if n.source != nil {
				t.cp.sourceUID = p.uid[n]
				t.cp.trigger = make(chan int64, 1)
				c.triggers = append(c.triggers, t.cp.trigger)
			}
		}
	}
	return c
}

// stateful lists the operators with state in checkpoints: sources (their
// positions) and every operator that registered a Snapshotter.
func (p *plan) stateful() []operatorID {
	has := make(map[string]bool)
	for _, n := range p.nodes {
		for _, t := range p.tasks[n] {
			for _, s := range t.cp.snaps {
				has[s.uid] = true
			}
		}
	}
	var ops []operatorID
	for _, n := range p.nodes {
		u := p.uid[n]
		if n.source != nil || has[u] {
			ops = append(ops, operatorID{UID: u, Name: n.Name, Parallelism: p.parallelism(n), Source: n.source != nil})
		}
	}
	return ops
}

// restore resumes the job's state from the newest intact checkpoint, if
// there is one, and readies the store for the next checkpoints. It returns
// the checkpoint's description, or nil for a fresh start.
func (p *plan) restore(c *coordinator, readers map[*Node][]readerRunner) (*checkpointMeta, error) {
	c.ops = p.stateful()
	for _, ts := range p.tasks {
		for _, t := range ts {
			if len(t.cp.committers) > 0 {
				t.cp.notify = make(chan struct{}, 1)
				c.notify = append(c.notify, t.cp.notify)
			}
		}
	}
	var cp restoredCheckpoint
	if !c.cfg.Fresh {
		var err error
		if cp, err = c.store.latest(); err != nil {
			return nil, err
		}
	}
	if cp == nil {
		last, err := c.store.fresh()
		if err != nil {
			return nil, err
		}
		c.next = last + 1
		return nil, nil
	}
	defer cp.close()
	var meta checkpointMeta
	if err := json.Unmarshal(cp.meta(), &meta); err != nil {
		return nil, fmt.Errorf("braid: checkpoint %d: its description is unreadable: %w", cp.id(), err)
	}
	meta.ID = cp.id()
	if err := p.mapState(&meta, cp, c.ops); err != nil {
		return nil, err
	}
	oldPar := make(map[string]int, len(meta.Operators))
	for _, op := range meta.Operators {
		oldPar[op.UID] = op.Parallelism
	}
	for _, n := range p.nodes {
		for k, t := range p.tasks[n] {
			for _, s := range t.cp.snaps {
				r := &StateReader{uid: s.uid, subtask: s.subtask, kgLo: s.kgLo, kgHi: s.kgHi, cp: cp, oldPar: oldPar[s.uid]}
				if err := restoreOne(s.s, r); err != nil {
					return nil, &OperatorError{Operator: p.nameOf(s.uid), Subtask: s.subtask, Parallelism: t.parallelism,
						Err: fmt.Errorf("braid: restoring checkpoint %d: %w", cp.id(), err)}
				}
			}
			t.cp.restored = true
			if n.source == nil || meta.Final {
				continue
			}
			pos, ok, err := cp.get(operatorKey(nil, p.uid[n], k, "position"))
			if err != nil {
				return nil, fmt.Errorf("braid: restoring checkpoint %d: %w", cp.id(), err)
			}
			if ok {
				if err := readers[n][k].seek(pos); err != nil {
					return nil, &OperatorError{Operator: n.Name, Subtask: k, Parallelism: t.parallelism,
						Err: fmt.Errorf("braid: moving the source to its position in checkpoint %d: %w", cp.id(), err)}
				}
			}
		}
	}
	if meta.Final {
		// The job ran to its end: restoring its last state lets two-phase
		// sinks publish what the final checkpoint recorded, if the crash
		// came before they did. Nothing runs.
		return &meta, nil
	}
	if err := c.store.resume(cp); err != nil {
		return nil, err
	}
	c.completed.Store(cp.id())
	c.next = cp.id() + 1
	p.cfg.Logger.Info("braid: resuming from checkpoint", "checkpoint", cp.id())
	return &meta, nil
}

// restoreOne restores one operator's state, turning a panic into an
// error.
func restoreOne(s Snapshotter, r *StateReader) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w\n%s", panicError{v}, debug.Stack())
		}
	}()
	return s.Restore(r)
}

func (p *plan) nameOf(uid string) string {
	for n, u := range p.uid {
		if u == uid {
			return n.Name
		}
	}
	return uid
}

// ErrUnmappedState marks the error of a job that resumes from a checkpoint
// holding state of operators it does not have.
var ErrUnmappedState = errors.New("braid: the checkpoint holds state this job has no operator for")

// mapState checks, before anything runs, that the checkpoint's state maps
// onto this job: every operator with state in it is still there (or the
// user agreed to drop its state), sources at their old parallelism, the
// same number of key groups.
func (p *plan) mapState(meta *checkpointMeta, cp restoredCheckpoint, ops []operatorID) error {
	cur := make(map[string]operatorID)
	for _, op := range ops {
		cur[op.UID] = op
	}
	var errs []error
	if meta.MaxParallelism != p.cfg.MaxParallelism {
		errs = append(errs, fmt.Errorf("braid: checkpoint %d was taken with max parallelism %d, the job has %d: key groups cannot be remapped", meta.ID, meta.MaxParallelism, p.cfg.MaxParallelism))
	}
	var unmapped []string
	for _, op := range meta.Operators {
		c, ok := cur[op.UID]
		if !ok {
			unmapped = append(unmapped, fmt.Sprintf("%q (uid %s)", op.Name, op.UID))
			continue
		}
		if op.Source && c.Parallelism != op.Parallelism {
			errs = append(errs, fmt.Errorf("braid: checkpoint %d: source %q ran at parallelism %d, the job runs it at %d: a source's positions cannot be split anew; keep its parallelism", meta.ID, op.Name, op.Parallelism, c.Parallelism))
			continue
		}
	}
	if len(unmapped) > 0 {
		if !p.cfg.Checkpoint.DropUnmappedState {
			errs = append(errs, fmt.Errorf("%w: checkpoint %d has state of %s; give the operators their old UID, or set DropUnmappedState to run without that state", ErrUnmappedState, meta.ID, strings.Join(unmapped, ", ")))
		} else {
			p.cfg.Logger.Warn("braid: dropping state the job has no operator for", "checkpoint", meta.ID, "operators", strings.Join(unmapped, ", "))
		}
	}
	var fresh []string
	for _, op := range cur {
		if !slices.ContainsFunc(meta.Operators, func(o operatorID) bool { return o.UID == op.UID }) {
			fresh = append(fresh, op.Name)
		}
	}
	if len(fresh) > 0 && len(errs) == 0 {
		slices.Sort(fresh)
		p.cfg.Logger.Info("braid: operators without state in the checkpoint start empty", "checkpoint", meta.ID, "operators", strings.Join(fresh, ", "))
	}
	return errors.Join(errs...)
}

// commitFinal tells every committer that the final checkpoint is durable.
// The tasks have ended: this runs in Run's goroutine.
func (p *plan) commitFinal() (err error) {
	for _, ts := range p.tasks {
		for _, t := range ts {
			if t.cp == nil || len(t.cp.committers) == 0 {
				continue
			}
			func() {
				defer func() {
					if v := recover(); v != nil {
						err = t.fail(panicError{v}, debug.Stack())
					}
				}()
				for _, c := range t.cp.committers {
					if cerr := c.Committed(FinalCheckpoint); cerr != nil && err == nil {
						err = t.wrap(cerr)
					}
				}
			}()
			if err != nil {
				return err
			}
		}
	}
	return nil
}
