package operators

import (
	"math"

	"github.com/braidstream/braid/internal/invariants"
)

type msgKind uint8

const (
	msgData msgKind = iota
	msgWatermark
	msgIdle
	msgEnd
	msgRejects // what a source's reader set aside: a []DeadLetter[T]
	// msgBarrier is checkpoint barrier wm; from a source's reader, batch
	// holds the reader's position ([]byte) or why it has none (error).
	// msgEnd from a source's reader carries its final position the same
	// way when checkpoints are on.
	msgBarrier
)

// A message is what travels on a task's input channel: a batch, a
// watermark, an idleness notice, a checkpoint barrier or the end of one
// sender's stream. ch is the
// sender's channel index at the receiver, so the receiver can keep
// per-sender watermarks (and, for checkpoints, align barriers per sender).
type message struct {
	kind  msgKind
	ch    int32
	wm    int64
	batch any // *Batch[T] of the channel's element type
}

// A link joins one sending subtask to one receiving task. Its free list
// holds the batches the sender may fill: credits, in the manner of Flink's
// credit-based flow control. The receiver hands each batch back after
// processing it, so a sender whose receiver falls behind runs out of
// batches and waits (backpressure), and memory per link is bounded by
// credits * batch size.
type link[T any] struct {
	to   chan<- message
	ch   int32
	free chan *Batch[T]
}

// newLink makes a link with its credits. The batches start empty and grow
// as records fill them (up to the batch size, then they are sent), so
// memory follows the records in flight, not parallelism squared times the
// batch size; batches are reused, so a steady job allocates nothing.
func newLink[T any](to chan<- message, ch int32, credits, batchSize int, timed bool) *link[T] {
	l := &link[T]{to: to, ch: ch, free: make(chan *Batch[T], credits)}
	for range credits {
		b := &Batch[T]{}
		if timed {
			b.Times = []int64{} // not nil: the batch carries timestamps
		}
		l.free <- b
	}
	return l
}

// release gives a processed batch back to its sender. It never blocks: a
// link's free list has room for all its batches.
func (l *link[T]) release(b any) {
	bb := b.(*Batch[T])
	bb.reset()
	l.free <- bb
}

// channel state at the receiver.
type inChannel struct {
	input int // logical input of the head operator
	wm    int64
	idle  bool
	ended bool
	// blocked: the channel has delivered the barrier being aligned; what
	// it sends next waits in the gate's stash.
	blocked bool
	release func(any)
}

// An inputPort is a logical input of a task's head operator, with the
// element type erased once per batch (a type assertion), never per record.
type inputPort interface {
	pushAny(b any) error
	in() watermarkInput
}

type watermarkInput interface {
	Watermark(wm int64) error
	Idle(idle bool) error
	Finish() error
}

type typedPort[T any] struct{ input Input[T] }

func (p typedPort[T]) pushAny(b any) error { return p.input.Push(b.(*Batch[T])) }
func (p typedPort[T]) in() watermarkInput  { return p.input }
func newPort[T any](in Input[T]) inputPort { return typedPort[T]{in} }

// A gate is a task's input side: one channel shared by all senders, a
// state per sender, and per logical input the combined watermark (the
// minimum over its active senders, never going back, as Flink's
// StatusWatermarkValve).
type gate struct {
	c      chan message
	chans  []inChannel
	inputs []gateInput
	// rejects takes a source reader's msgRejects (source tasks only).
	rejects func(any) error

	// Barrier alignment. aligning is the checkpoint whose barrier some
	// channels have delivered (0: none), waiting how many open channels
	// have not. Messages of blocked channels are stashed in arrival order
	// (so each channel's order is kept) and replayed, before anything new
	// is read, once the barrier is aligned or abandoned. The shared channel
	// is never left unread, so a sender blocked on it cannot hold back the
	// barrier of another: alignment cannot deadlock with the credits.
	aligning int64
	waiting  int
	pos      any // a source's position, from its reader's barrier or end
	stash    []message
	replay   []message
}

// next returns a message to replay, if any.
func (g *gate) next() (message, bool) {
	if len(g.replay) == 0 {
		return message{}, false
	}
	m := g.replay[0]
	g.replay[0] = message{}
	g.replay = g.replay[1:]
	return m, true
}

// hold stashes m when its channel is blocked by the barrier being aligned.
func (g *gate) hold(m message) bool {
	if g.aligning == 0 || !g.chans[m.ch].blocked {
		return false
	}
	g.stash = append(g.stash, m)
	return true
}

// unalign ends the alignment in progress: every channel flows again, the
// stashed messages first.
func (g *gate) unalign() {
	for i := range g.chans {
		g.chans[i].blocked = false
	}
	if len(g.stash) > 0 {
		g.replay = append(g.stash, g.replay...)
		g.stash = nil
	}
	g.aligning = 0
}

// barrier takes barrier id from m's channel. It reports whether the
// barrier is now aligned: every open channel has delivered it. A barrier
// older than the one aligned is stale (its checkpoint was abandoned); a
// newer one abandons the alignment in progress.
func (g *gate) barrier(m message, last int64) (aligned bool) {
	id := m.wm
	if id <= last || id < g.aligning {
		return false
	}
	if g.aligning != 0 && id > g.aligning {
		g.unalign()
	}
	if g.aligning == 0 {
		g.aligning, g.waiting, g.pos = id, 0, nil
		for i := range g.chans {
			if !g.chans[i].ended {
				g.waiting++
			}
		}
	}
	g.chans[m.ch].blocked = true
	g.waiting--
	if m.batch != nil {
		g.pos = m.batch
	}
	if g.waiting > 0 {
		return false
	}
	g.unalign()
	return true
}

type gateInput struct {
	port     inputPort
	wm       int64 // last watermark passed to the operator
	idle     bool  // every open sender is idle
	open     int   // senders not yet ended
	finished bool
}

// handle applies one message. It reports whether every logical input has
// now finished.
func (g *gate) handle(m message) (done bool, err error) {
	c := &g.chans[m.ch]
	in := &g.inputs[c.input]
	switch m.kind {
	case msgData:
		if invariants.Enabled {
			invariants.Check(!c.ended, "data on channel %d after its end", m.ch)
		}
		err = in.port.pushAny(m.batch)
		c.release(m.batch)
		if err != nil {
			return false, err
		}
		if c.idle {
			c.idle = false
			err = g.advance(c.input)
		}
	case msgWatermark:
		c.idle = false
		if m.wm > c.wm {
			c.wm = m.wm
		}
		err = g.advance(c.input)
	case msgIdle:
		c.idle = true
		err = g.advance(c.input)
	case msgRejects:
		err = g.rejects(m.batch)
	case msgEnd:
		if !c.ended {
			c.ended = true
			c.wm = math.MaxInt64
			in.open--
			err = g.advance(c.input)
			if err == nil && in.open == 0 && !in.finished {
				in.finished = true
				err = in.port.in().Finish()
			}
		}
	}
	if err != nil {
		return false, err
	}
	for i := range g.inputs {
		if !g.inputs[i].finished {
			return false, nil
		}
	}
	return true, nil
}

// advance recomputes input i's watermark and idleness and tells the
// operator when either changes.
func (g *gate) advance(i int) error {
	in := &g.inputs[i]
	// As Flink's StatusWatermarkValve: idle senders do not count; an ended
	// sender counts with the final watermark. When every sender is idle,
	// the input is idle and the watermark waits.
	wm, active := int64(math.MaxInt64), false
	for k := range g.chans {
		c := &g.chans[k]
		if c.input != i || c.idle && !c.ended {
			continue
		}
		active = true
		wm = min(wm, c.wm)
	}
	if !active {
		if !in.idle {
			// The last active sender has gone idle: as Flink's valve, event
			// time first moves to the furthest any sender has reached, so
			// that what that sender's watermark allowed still fires.
			far := int64(MinWatermark)
			for k := range g.chans {
				if c := &g.chans[k]; c.input == i {
					far = max(far, c.wm)
				}
			}
			if far > in.wm {
				in.wm = far
				if err := in.port.in().Watermark(far); err != nil {
					return err
				}
			}
			in.idle = true
			return in.port.in().Idle(true)
		}
		return nil
	}
	if in.idle {
		in.idle = false
		if err := in.port.in().Idle(false); err != nil {
			return err
		}
	}
	if wm > in.wm {
		if invariants.Enabled {
			invariants.Check(!in.finished, "watermark %d after the end of input %d", wm, i)
		}
		in.wm = wm
		return in.port.in().Watermark(wm)
	}
	return nil
}
