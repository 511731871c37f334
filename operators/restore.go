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

// uids gives every node its operator id: Node.UID when set, else one
// derived from its name and what feeds it, so that the id of an operator
// does not depend on what else the job holds. Operators that share a name
// and an input (two filters of one stream, two sums on one keyed window)
// cannot be told apart that way: each of them is given its rank among
// them and their number, in the order the program declared them. Adding
// or removing one changes the number, so the state of all of them is
// refused at the next restore (ErrUnmappedState) rather than handed to
// the wrong one; what they feed derives its id from what they share, so
// it keeps its state. p.ranked holds the nodes so numbered.
func (p *plan) uids() {
	// key is the id a node would have if it had no twin: its name and
	// its inputs' keys.
	key := make(map[*Node]string, len(p.nodes))
	var keyOf func(n *Node) string
	keyOf = func(n *Node) string {
		if k, ok := key[n]; ok {
			return k
		}
		var k string
		switch {
		case n.UID != "":
			k = n.UID
		case n.SideOf != nil:
			k = keyOf(n.SideOf) + "/" + n.Name
		default:
			var b strings.Builder
			b.WriteString(n.Name)
			b.WriteString("<-")
			for _, e := range n.Inputs {
				b.WriteString(strconv.Itoa(e.Input))
				b.WriteByte(':')
				b.WriteString(keyOf(e.From))
				b.WriteByte(',')
			}
			k = hashID(b.String())
		}
		key[n] = k
		return k
	}
	twins := make(map[string][]*Node)
	for _, n := range p.nodes {
		k := keyOf(n)
		if n.UID == "" && n.SideOf == nil {
			twins[k] = append(twins[k], n)
		}
	}
	p.uid = make(map[*Node]string, len(p.nodes))
	p.ranked = make(map[*Node][]*Node)
	var uidOf func(n *Node) string
	uidOf = func(n *Node) string {
		if u, ok := p.uid[n]; ok {
			return u
		}
		u := key[n]
		switch tw := twins[u]; {
		case n.SideOf != nil:
			u = uidOf(n.SideOf) + "/" + n.Name
		case len(tw) > 1:
			p.ranked[n] = tw
			u = hashID(fmt.Sprintf("%s#%d/%d", u, slices.Index(tw, n), len(tw)))
		}
		p.uid[n] = u
		return u
	}
	for _, n := range p.nodes {
		uidOf(n)
	}
}

// hashID is a derived operator id: a hash of what identifies the operator.
func hashID(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%016x", h.Sum64())
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
	var ranked []string
	for _, n := range p.nodes {
		u := p.uid[n]
		if n.source != nil || has[u] {
			ops = append(ops, operatorID{UID: u, Name: n.Name, Parallelism: p.parallelism(n), Source: n.source != nil})
			if tw := p.ranked[n]; tw != nil {
				ranked = append(ranked, fmt.Sprintf("%q (%d of %d)", n.Name, slices.Index(tw, n)+1, len(tw)))
			}
		}
	}
	if len(ranked) > 0 {
		p.cfg.Logger.Warn("braid: operators with state share a name and an input with others, so checkpoints tell their state apart only by the order the program declares them in; give them Uids (Stream.Uid) or distinct names (Stream.Name) to keep it across changes to the job",
			"operators", strings.Join(ranked, ", "))
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
	// Ids go on above every id the directory gave out, not above the one
	// resumed from: newer checkpoints Latest skipped (damaged, cut short)
	// had their ids handed to sinks, which name what they staged and
	// published by them.
	c.next = cp.id() + 1
	if k, ok := c.store.(idKeeper); ok {
		c.next = max(c.next, k.lastID()+1)
	}
	p.cfg.Logger.Info("braid: resuming from checkpoint", "checkpoint", cp.id())
	return &meta, nil
}

// An idKeeper is a store that knows the greatest checkpoint id its
// directory ever gave out, also after a resume from an older checkpoint.
// (The method belongs with pebbleStore, in pebble_store.go, and in
// checkpointStore's resume; it is here until that file's owner moves it.)
type idKeeper interface{ lastID() int64 }

func (s *pebbleStore) lastID() int64 { return int64(s.c.LastID()) }

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
	if n := p.nodeOf(uid); n != nil {
		return n.Name
	}
	return uid
}

// nodeOf is the node of an operator id, or nil.
func (p *plan) nodeOf(uid string) *Node {
	for n, u := range p.uid {
		if u == uid {
			return n
		}
	}
	return nil
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
			hint := ""
			for _, op := range ops {
				if n := p.nodeOf(op.UID); n != nil && p.ranked[n] != nil && slices.ContainsFunc(meta.Operators, func(o operatorID) bool { return o.Name == op.Name && o.UID != op.UID }) {
					hint = fmt.Sprintf(" (%d operators named %q now share an input, so none keeps the id it had: give them Uids)", len(p.ranked[n]), op.Name)
					break
				}
			}
			errs = append(errs, fmt.Errorf("%w: checkpoint %d has state of %s%s; give the operators their old UID, or set DropUnmappedState to run without that state", ErrUnmappedState, meta.ID, strings.Join(unmapped, ", "), hint))
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
