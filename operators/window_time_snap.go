package operators

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"slices"

	"github.com/braidstream/braid/internal/swag"
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

// Checkpoints.
//
// A snapshot writes, per key group, one entry per key of each pane that
// holds it and one per key with sealed slices (sliding windows):
//
//	'p' start:8 key   ->  slot (uvarint), accumulator    open or fired pane
//	's' key           ->  seq, qFrom, the key's slices   sliding key
//
// and the subtask's scalars under the operator name "time". A pane's
// entry does not say whether the pane has fired: a pane has fired exactly
// when its start lies before firedUpTo (or every window has fired), as
// paneFor decides, so a fired tumbling window kept for its lateness needs
// no rewrite. The slot keeps the order in which the pane met its keys, and
// seq the order of the sliding keys, so that a restored operator emits
// what the uninterrupted one would, in the same order.
//
// Change tracking costs nothing per element beyond a compare: a pane
// marks, in a bitset by slot, the keys it had written that change since
// (new keys are those after saved); a sliding key that changes off the
// firing path (a late element) goes on a list once; a window firing
// changes every sliding key, so it sets one flag that rewrites them all.
// Panes and keys that leave the operator are remembered (start and key)
// until the next snapshot deletes their entries.
//
// A buffering function (Apply: a list per pane and key, which Gather
// appends to) writes a pane's lists in append-only chunks, as the delta
// window does, so that a snapshot writes the elements added since the
// last one, not the lists again:
//
//	'P' start:8 key       ->  slot (uvarint), chunks (uvarint)
//	'Q' start:8 key i:4   ->  the elements the i-th chunk added
//
// A pane's list only grows while the pane lives (a pane that leaves and
// comes back at the same start is a new one: its entries went first), so
// a list is written anew (its old chunks deleted) only when it got
// shorter than the chunks hold (never, but cheap to check), and when it
// has maxTimeChunks chunks, so that a restore reads few entries per key.
// How much of each slot's list the store holds lives here, per pane
// start, not in the pane: the hot path does not see it.

// timeSnap is a TimeWindow's checkpoint state.
type timeSnap[K comparable, A any] struct {
	on   bool
	err  error // a codec refused the key or accumulator type
	keyc state.Codec[K]
	accc state.Codec[A]
	hash state.Hasher[K]
	maxP int
	sub  int
	par  int

	seq   uint64              // the last sliding key's seq
	fired bool                // a window fired since the last snapshot
	dirty []*slidingKey[K, A] // sliding keys changed off the firing path

	gonePanes []gonePane // panes that left, with entries in the store
	goneKeys  []K        // their keys, run after run
	goneSlide []K        // sliding keys that left, with an entry

	kbuf, vbuf []byte

	// Chunked lists (buffering functions), decided at the first snapshot
	// or restore: chunk is 0 before, 1 when chunked, -1 when not.
	chunk int8
	lists map[int64]*savedLists // by pane start
	gen   uint64                // the snapshot's number, to sweep lists of panes gone
	sfx   [4]byte
	// legacy are restored lists that the checkpoint held whole (under
	// 'p'), whose entries the next snapshot deletes.
	legacy     []gonePane
	legacyKeys []K
}

// savedLists is what the store holds of one pane's lists, by slot.
type savedLists struct {
	n      []int32 // elements
	chunks []int32
	gen    uint64 // the last snapshot that saw the pane
}

// maxTimeChunks is the most chunks a list is kept in before it is
// written anew in one.
const maxTimeChunks = 32

const (
	paneTag       = 'p'
	chunkHeadTag  = 'P'
	chunkElemsTag = 'Q'
)

type gonePane struct {
	start int64
	n     int
}

func (c *timeSnap[K, A]) init(bc *BuildContext, hash state.Hasher[K]) {
	c.on, c.hash, c.maxP, c.sub, c.par = true, hash, bc.MaxParallelism, bc.Subtask, bc.Parallelism
	var errs []error
	if hash == nil {
		errs = append(errs, errors.New("the window has no key hash"))
	}
	var err error
	if c.keyc, err = state.KeyCodecFor[K](); err != nil {
		errs = append(errs, err)
	}
	if c.accc, err = state.CodecFor[A](); err != nil {
		errs = append(errs, err)
	}
	c.err = errors.Join(errs...)
}

// touch notes that a sliding key changed outside a window's firing.
func (c *timeSnap[K, A]) touch(sk *slidingKey[K, A]) {
	if c.on && !sk.dirty {
		sk.dirty = true
		c.dirty = append(c.dirty, sk)
	}
}

// dropPane notes that p leaves the operator: its entries go.
func (c *timeSnap[K, A]) dropPane(p *pane[K, A]) {
	if p.saved > 0 {
		c.gonePanes = append(c.gonePanes, gonePane{p.start, int(p.saved)})
		c.goneKeys = append(c.goneKeys, p.keys[:p.saved]...)
		p.saved = 0
	}
}

// dropKey notes that a sliding key leaves the operator.
func (c *timeSnap[K, A]) dropKey(sk *slidingKey[K, A]) {
	if sk.saved {
		c.goneSlide = append(c.goneSlide, sk.key)
		sk.saved = false
	}
}

func (c *timeSnap[K, A]) kg(k K) int { return state.KeyGroup(c.hash(k), c.maxP) }

func (c *timeSnap[K, A]) paneKey(start int64, k K) []byte { return c.taggedKey(paneTag, start, k) }

func (c *timeSnap[K, A]) taggedKey(tag byte, start int64, k K) []byte {
	c.kbuf = append(c.kbuf[:0], tag)
	c.kbuf = binary.BigEndian.AppendUint64(c.kbuf, uint64(start)^1<<63)
	c.kbuf = c.keyc.Append(c.kbuf, k)
	return c.kbuf
}

// chunkKey is the key of chunk i of k's list in the pane at start.
func (c *timeSnap[K, A]) chunkKey(start int64, k K, i int32) []byte {
	binary.BigEndian.PutUint32(c.sfx[:], uint32(i))
	return append(c.taggedKey(chunkElemsTag, start, k), c.sfx[:]...)
}

// chunking decides, once, whether lists are chunked: for a buffering
// function whose accumulator is a slice.
func (c *timeSnap[K, A]) chunking(gather bool) bool {
	if c.chunk == 0 {
		c.chunk = -1
		if gather && reflect.TypeFor[A]().Kind() == reflect.Slice {
			c.chunk = 1
			c.lists = make(map[int64]*savedLists)
		}
	}
	return c.chunk == 1
}

// listLen is the length of a list accumulator, and its elements from
// from on (a snapshot's work, not an element's: reflection will do).
func listTail[A any](a A, from int) (n int, tail A) {
	v := reflect.ValueOf(&a).Elem()
	n = v.Len()
	if from < n {
		tail = v.Slice(from, n).Interface().(A)
	}
	return n, tail
}

// goneChunked deletes the entries of a pane that left (unless the store
// holds nothing: full), and forgets its lists.
func (c *timeSnap[K, A]) goneChunked(w *StateWriter, g gonePane, keys []K, full bool) {
	sl := c.lists[g.start]
	delete(c.lists, g.start)
	if full {
		return
	}
	for j, k := range keys {
		kg := c.kg(k)
		w.Delete(kg, c.taggedKey(chunkHeadTag, g.start, k))
		if sl != nil && j < len(sl.chunks) {
			for i := range sl.chunks[j] {
				w.Delete(kg, c.chunkKey(g.start, k, i))
			}
		}
	}
}

// writeChunked writes slot j of p, chunked: the elements added to its
// list since the last snapshot as a new chunk, and its head.
func (c *timeSnap[K, A]) writeChunked(w *StateWriter, p *pane[K, A], sl *savedLists, j int) {
	k := p.keys[j]
	kg := c.kg(k)
	n, _ := listTail(p.accs[j], 0)
	if n < int(sl.n[j]) || sl.chunks[j] >= maxTimeChunks {
		for i := range sl.chunks[j] {
			w.Delete(kg, c.chunkKey(p.start, k, i))
		}
		sl.n[j], sl.chunks[j] = 0, 0
	}
	if n > int(sl.n[j]) {
		_, added := listTail(p.accs[j], int(sl.n[j]))
		c.vbuf = c.accc.Append(c.vbuf[:0], added)
		w.Set(kg, c.chunkKey(p.start, k, sl.chunks[j]), c.vbuf)
		sl.n[j] = int32(n)
		sl.chunks[j]++
	}
	c.vbuf = binary.AppendUvarint(c.vbuf[:0], uint64(j))
	c.vbuf = binary.AppendUvarint(c.vbuf, uint64(sl.chunks[j]))
	w.Set(kg, c.taggedKey(chunkHeadTag, p.start, k), c.vbuf)
}

func (c *timeSnap[K, A]) slideKey(k K) []byte {
	c.kbuf = append(c.kbuf[:0], 's')
	c.kbuf = c.keyc.Append(c.kbuf, k)
	return c.kbuf
}

// writePane writes the entries of p that changed since the last
// snapshot, or all of them.
func (c *timeSnap[K, A]) writePane(w *StateWriter, p *pane[K, A], full bool) {
	set := func(j int) {
		k := p.keys[j]
		c.vbuf = binary.AppendUvarint(c.vbuf[:0], uint64(j))
		c.vbuf = c.accc.Append(c.vbuf, p.accs[j])
		w.Set(c.kg(k), c.paneKey(p.start, k), c.vbuf)
	}
	if c.chunk == 1 {
		sl := c.lists[p.start]
		if sl == nil || full {
			sl = &savedLists{}
			c.lists[p.start] = sl
		}
		sl.gen = c.gen
		if grow := len(p.keys) - len(sl.n); grow > 0 {
			sl.n = append(sl.n, make([]int32, grow)...)
			sl.chunks = append(sl.chunks, make([]int32, grow)...)
		}
		set = func(j int) { c.writeChunked(w, p, sl, j) }
	}
	from := int(p.saved)
	if full {
		from = 0
	} else {
		for i, word := range p.dirty[:(from+63)/64] {
			for word != 0 {
				set(i*64 + bits.TrailingZeros64(word))
				word &= word - 1
			}
		}
	}
	for j := from; j < len(p.keys); j++ {
		set(j)
	}
	clear(p.dirty)
	p.saved = int32(len(p.keys))
	if need := (len(p.keys) + 63) / 64; len(p.dirty) < need {
		p.dirty = append(p.dirty, make([]uint64, need-len(p.dirty))...)
	}
}

func (c *timeSnap[K, A]) appendSlices(dst []byte, es []sliceAcc[A]) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(es)))
	for _, e := range es {
		dst = binary.AppendVarint(dst, e.start)
		dst = c.accc.Append(dst, e.acc)
	}
	return dst
}

// writeKey writes a sliding key's entry: its slices and, for incremental
// functions, how its queue splits them between its stacks.
func (c *timeSnap[K, A]) writeKey(w *StateWriter, sk *slidingKey[K, A]) {
	v := binary.AppendUvarint(c.vbuf[:0], sk.seq)
	v = binary.AppendVarint(v, sk.qFrom)
	if sk.q == nil {
		v = append(v, 0)
		v = c.appendSlices(v, sk.entries)
	} else {
		last, pushed := sk.q.LastID()
		v = append(v, 1)
		v = binary.AppendVarint(v, last)
		v = append(v, b2u(pushed))
		front := 0
		sk.q.Entries(func(_ int64, _ A, inFront bool) {
			if inFront {
				front++
			}
		})
		v = binary.AppendUvarint(v, uint64(front))
		v = binary.AppendUvarint(v, uint64(sk.q.Len()))
		sk.q.Entries(func(id int64, acc A, _ bool) {
			v = binary.AppendVarint(v, id)
			v = c.accc.Append(v, acc)
		})
		v = c.appendSlices(v, sk.hist)
	}
	c.vbuf = v
	w.Set(c.kg(sk.key), c.slideKey(sk.key), v)
	sk.saved = true
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// timeScalars is a subtask's state that is not keyed.
type timeScalars struct {
	cp                 int64 // the checkpoint that wrote them
	sub, par           int
	wm, firedUpTo      int64
	topFired, gridDone bool
	next               gridWin
	seq                uint64
	holds              bool // it had open panes or sliding keys
}

func (s *timeScalars) append(dst []byte) []byte {
	dst = binary.AppendVarint(dst, s.cp)
	dst = binary.AppendUvarint(dst, uint64(s.sub))
	dst = binary.AppendUvarint(dst, uint64(s.par))
	dst = binary.AppendVarint(dst, s.wm)
	dst = binary.AppendVarint(dst, s.firedUpTo)
	dst = append(dst, b2u(s.topFired), b2u(s.gridDone))
	dst = binary.AppendVarint(dst, s.next.w.Start)
	dst = binary.AppendVarint(dst, s.next.w.End)
	dst = append(dst, b2u(s.next.lo), b2u(s.next.hi), b2u(s.holds))
	return binary.AppendUvarint(dst, s.seq)
}

func (s *timeScalars) decode(d *snapDec) {
	s.cp = d.varint()
	s.sub, s.par = int(d.uvarint()), int(d.uvarint())
	s.wm, s.firedUpTo = d.varint(), d.varint()
	s.topFired, s.gridDone = d.bool(), d.bool()
	s.next.w.Start, s.next.w.End = d.varint(), d.varint()
	s.next.lo, s.next.hi, s.holds = d.bool(), d.bool(), d.bool()
	s.seq = d.uvarint()
	d.end()
}

// sealedAt reports whether a pane at start had fired in this subtask.
func (s *timeScalars) sealedAt(start int64) bool { return s.topFired || start < s.firedUpTo }

// snapDec reads a snapshot entry, keeping the first error.
type snapDec struct {
	b   []byte
	err error
}

func (d *snapDec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("braid: time window: a checkpoint entry is damaged (%s)", what)
	}
	d.b = nil
}

func (d *snapDec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *snapDec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *snapDec) bool() bool {
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail("bool")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *snapDec) end() {
	if len(d.b) != 0 {
		d.fail("bytes left over")
	}
}

// count reads a length, no more than the bytes left could hold.
func (d *snapDec) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length")
		return 0
	}
	return int(n)
}

func decodeWith[V any](d *snapDec, c state.Codec[V]) V {
	var zero V
	if d.err != nil {
		return zero
	}
	v, rest, err := c.Decode(d.b)
	if err != nil {
		if d.err == nil {
			d.err = err
		}
		d.b = nil
		return zero
	}
	d.b = rest
	return v
}

func (c *timeSnap[K, A]) decodeSlices(d *snapDec) []sliceAcc[A] {
	n := d.count()
	es := make([]sliceAcc[A], 0, n)
	for range n {
		s := d.varint()
		es = append(es, sliceAcc[A]{s, decodeWith(d, c.accc)})
	}
	return es
}

// Snapshot implements Snapshotter: the entries of the panes and sliding
// keys that changed since the last snapshot (all of them when the writer
// asks), deletions of those that left, and the scalars.
func (o *TimeWindow[T, K, A, R]) Snapshot(w *StateWriter) error {
	c := &o.cp
	if c.err != nil {
		return c.err
	}
	full := w.Full()
	chunked := c.chunking(o.spec.Agg.Gather != nil)
	c.gen++
	if chunked {
		// Deletions first, as below.
		i := 0
		for _, g := range c.gonePanes {
			c.goneChunked(w, g, c.goneKeys[i:i+g.n], full)
			i += g.n
		}
		for i, g := range c.legacy {
			if k := c.legacyKeys[i]; !full {
				w.Delete(c.kg(k), c.paneKey(g.start, k))
			}
		}
		clear(c.legacyKeys)
		c.legacy, c.legacyKeys = c.legacy[:0], c.legacyKeys[:0]
	}
	if !full {
		// Deletions first: a key may have left and come back. (Chunked
		// panes' went above.)
		i := 0
		for _, g := range c.gonePanes {
			if chunked {
				break
			}
			for _, k := range c.goneKeys[i : i+g.n] {
				w.Delete(c.kg(k), c.paneKey(g.start, k))
			}
			i += g.n
		}
		for _, k := range c.goneSlide {
			w.Delete(c.kg(k), c.slideKey(k))
		}
	}
	clear(c.goneKeys)
	clear(c.goneSlide)
	c.gonePanes, c.goneKeys, c.goneSlide = c.gonePanes[:0], c.goneKeys[:0], c.goneSlide[:0]
	for _, p := range o.open {
		c.writePane(w, p, full)
	}
	for _, p := range o.fired {
		c.writePane(w, p, full)
	}
	for start, sl := range c.lists {
		if sl.gen != c.gen {
			delete(c.lists, start) // a pane gone that the store never held
		}
	}
	if full || c.fired {
		for _, sk := range o.active {
			c.writeKey(w, sk)
		}
	} else {
		for _, sk := range c.dirty {
			if o.keys[sk.key] == sk {
				c.writeKey(w, sk)
			}
		}
	}
	for _, sk := range c.dirty {
		sk.dirty = false
	}
	clear(c.dirty)
	c.dirty, c.fired = c.dirty[:0], false
	s := timeScalars{cp: w.Checkpoint(), sub: c.sub, par: c.par, wm: o.wm, firedUpTo: o.firedUpTo, topFired: o.topFired,
		gridDone: o.gridDone, next: o.next, seq: c.seq, holds: len(o.open) > 0 || len(o.active) > 0}
	c.vbuf = s.append(c.vbuf[:0])
	w.SetOperator("time", c.vbuf)
	return nil
}

// Restore implements Snapshotter. At another parallelism the subtask
// takes the panes and keys of its key groups from every old subtask; each
// pane is told fired or open by the scalars of the subtask that wrote it.
// The scalars combine: the least watermark and firedUpTo, the earliest
// next window. In event time every subtask has the same watermark at a
// barrier, so this is exact; in processing time, where subtasks' clocks
// differ, a window of keys from a subtask that was ahead may fire once
// more.
func (o *TimeWindow[T, K, A, R]) Restore(r *StateReader) error {
	c := &o.cp
	if c.err != nil {
		return c.err
	}
	chunked := c.chunking(o.spec.Agg.Gather != nil)
	raw, err := r.OperatorAll("time")
	if err != nil || len(raw) == 0 {
		return err
	}
	// After a restore at another parallelism the store may still hold
	// the scalars of old subtasks the job no longer has: the subtasks of
	// the last parallelism are those that wrote in the newest checkpoint.
	var all []*timeScalars
	newest := int64(math.MinInt64)
	for _, b := range raw {
		s := &timeScalars{}
		d := snapDec{b: b}
		s.decode(&d)
		if d.err != nil {
			return d.err
		}
		all = append(all, s)
		newest = max(newest, s.cp)
	}
	olds := make(map[int]*timeScalars, len(raw))
	oldPar := 0
	i := 0
	for _, s := range all {
		if s.cp != newest {
			continue
		}
		if oldPar != 0 && s.par != oldPar || s.sub >= s.par || olds[s.sub] != nil {
			return fmt.Errorf("braid: time window: the checkpoint's subtasks disagree (subtask %d of %d after %d)", s.sub, s.par, oldPar)
		}
		oldPar = s.par
		olds[s.sub] = s
		if i == 0 {
			o.wm, o.firedUpTo, o.topFired, o.gridDone, o.next = s.wm, s.firedUpTo, s.topFired, s.gridDone, noWin
		}
		o.wm, o.firedUpTo = min(o.wm, s.wm), min(o.firedUpTo, s.firedUpTo)
		o.topFired, o.gridDone = o.topFired && s.topFired, o.gridDone && s.gridDone
		if s.holds {
			o.next = earlier(o.next, s.next)
		}
		c.seq = max(c.seq, s.seq)
		i++
	}
	type slot struct {
		slot   int
		key    K
		acc    A
		chunks int32 // chunked: how many
		legacy bool  // chunked, but the checkpoint held the list whole
	}
	type paneAt struct {
		start  int64
		sealed bool
	}
	type listAt struct {
		start int64
		key   K
	}
	type head struct {
		at     paneAt
		s      slot
		chunks int32
	}
	var heads []head
	parts := map[listAt][]A{}
	have := map[listAt][]bool{}
	panes := map[paneAt][]slot{}
	var keys []*slidingKey[K, A]
	err = r.Keyed(func(kg int, key, val []byte) error {
		if len(key) == 0 {
			return errors.New("braid: time window: an empty key in the checkpoint")
		}
		d := snapDec{b: val}
		var k K
		switch key[0] {
		case 'p':
			if len(key) < 9 {
				return errors.New("braid: time window: a pane entry's key is short")
			}
			start := int64(binary.BigEndian.Uint64(key[1:9]) ^ 1<<63)
			if k, err = state.DecodeExact(c.keyc, key[9:]); err != nil {
				return err
			}
			old := olds[state.SubtaskOf(kg, c.maxP, oldPar)]
			if old == nil {
				return fmt.Errorf("braid: time window: key group %d has state but its subtask no scalars", kg)
			}
			j := d.uvarint()
			acc := decodeWith(&d, c.accc)
			d.end()
			at := paneAt{start, old.sealedAt(start)}
			panes[at] = append(panes[at], slot{slot: int(j), key: k, acc: acc, legacy: chunked})
		case chunkHeadTag, chunkElemsTag:
			if !chunked || len(key) < 9 {
				return fmt.Errorf("braid: time window: a chunked list entry, for a window function that does not keep lists")
			}
			start := int64(binary.BigEndian.Uint64(key[1:9]) ^ 1<<63)
			if key[0] == chunkElemsTag {
				var suffix []byte
				if k, suffix, err = c.keyc.Decode(key[9:]); err != nil {
					return err
				}
				if len(suffix) != 4 {
					return errors.New("braid: time window: a chunk entry's key is damaged")
				}
				elems, err := state.DecodeExact(c.accc, val)
				if err != nil {
					return err
				}
				i := int(binary.BigEndian.Uint32(suffix))
				if i >= maxTimeChunks {
					return fmt.Errorf("braid: time window: chunk %d of key %v (at most %d)", i, k, maxTimeChunks)
				}
				la := listAt{start, k}
				if parts[la] == nil {
					parts[la], have[la] = make([]A, maxTimeChunks), make([]bool, maxTimeChunks)
				}
				if have[la][i] {
					return fmt.Errorf("braid: time window: chunk %d of key %v twice", i, k)
				}
				parts[la][i], have[la][i] = elems, true
				break
			}
			if k, err = state.DecodeExact(c.keyc, key[9:]); err != nil {
				return err
			}
			old := olds[state.SubtaskOf(kg, c.maxP, oldPar)]
			if old == nil {
				return fmt.Errorf("braid: time window: key group %d has state but its subtask no scalars", kg)
			}
			j, n := d.uvarint(), d.uvarint()
			d.end()
			if n > maxTimeChunks {
				d.fail("a list's chunks")
			}
			heads = append(heads, head{paneAt{start, old.sealedAt(start)}, slot{slot: int(j), key: k}, int32(n)})
		case 's':
			if k, err = state.DecodeExact(c.keyc, key[1:]); err != nil {
				return err
			}
			keys = append(keys, o.decodeKey(&d, k))
		default:
			return fmt.Errorf("braid: time window: an entry of unknown kind %q", key[0])
		}
		if d.err != nil {
			return d.err
		}
		if want := c.kg(k); want != kg {
			return fmt.Errorf("braid: time window: key %v is in key group %d, its hash says %d", k, kg, want)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range heads {
		la := listAt{h.at.start, h.s.key}
		ps, hs := parts[la], have[la]
		for i := range maxTimeChunks {
			if i < int(h.chunks) != (hs != nil && hs[i]) {
				return fmt.Errorf("braid: time window: key %v's list at %d has chunk %d missing or too many (%d in all)", h.s.key, h.at.start, i, h.chunks)
			}
			if i < int(h.chunks) {
				h.s.acc = o.spec.Agg.Gather(h.s.acc, ps[i])
			}
		}
		delete(parts, la)
		h.s.chunks = h.chunks
		panes[h.at] = append(panes[h.at], h.s)
	}
	for la := range parts {
		return fmt.Errorf("braid: time window: chunks of key %v's list at %d without their head", la.key, la.start)
	}
	for at, slots := range panes {
		slots = sortBySlot(slots, func(s *slot) int { return s.slot })
		p := &pane[K, A]{start: at.start}
		p.width = uint64(o.slice - window.SinceStart(at.start, o.offset, o.slice))
		p.dirty = make([]uint64, (len(slots)+63)/64)
		p.saved = int32(len(slots))
		var sl *savedLists
		if chunked {
			sl = &savedLists{n: make([]int32, len(slots)), chunks: make([]int32, len(slots)), gen: c.gen}
			c.lists[at.start] = sl
		}
		for j, s := range slots {
			p.keys = append(p.keys, s.key)
			p.accs = append(p.accs, s.acc)
			if s.slot != j {
				p.mark(int32(j)) // renumbered (another parallelism): rewrite
			}
			if sl == nil {
				continue
			}
			if s.legacy {
				// Written whole by an older version: the next snapshot
				// deletes that entry and writes the list in a chunk.
				c.legacy = append(c.legacy, gonePane{at.start, 1})
				c.legacyKeys = append(c.legacyKeys, s.key)
				p.mark(int32(j))
				continue
			}
			n, _ := listTail(s.acc, 0)
			sl.n[j], sl.chunks[j] = int32(n), s.chunks
		}
		if at.sealed {
			o.fired[at.start] = p
		} else {
			o.open = append(o.open, p)
		}
	}
	slices.SortFunc(o.open, func(a, b *pane[K, A]) int { return cmp.Compare(a.start, b.start) })
	slices.SortStableFunc(keys, func(a, b *slidingKey[K, A]) int { return cmp.Compare(a.seq, b.seq) })
	for _, sk := range keys {
		o.keys[sk.key] = sk
		o.active = append(o.active, sk)
	}
	if len(o.open) > 0 && len(o.active) == 0 {
		o.next = o.firstWin(o.open[0].start)
	}
	return nil
}

// decodeKey reads a sliding key's entry.
func (o *TimeWindow[T, K, A, R]) decodeKey(d *snapDec, k K) *slidingKey[K, A] {
	c := &o.cp
	sk := &slidingKey[K, A]{key: k, saved: true}
	sk.seq = d.uvarint()
	sk.qFrom = d.varint()
	queue := d.bool()
	if queue != (o.spec.Agg.Gather == nil) {
		d.fail("a sliding key of another window function")
		return sk
	}
	if !queue {
		sk.entries = c.decodeSlices(d)
		d.end()
		return sk
	}
	last, pushed := d.varint(), d.bool()
	front, n := d.count(), d.count()
	ids, accs := make([]int64, 0, n), make([]A, 0, n)
	for range n {
		ids = append(ids, d.varint())
		accs = append(accs, decodeWith(d, c.accc))
	}
	sk.hist = c.decodeSlices(d)
	d.end()
	if d.err != nil {
		return sk
	}
	ok := front <= n && (n == 0 || pushed && ids[n-1] <= last)
	for i := 1; i < n; i++ {
		ok = ok && ids[i-1] < ids[i]
	}
	if !ok {
		d.fail("a sliding key's queue")
		return sk
	}
	sk.q = swag.New(o.spec.Agg.Merge)
	sk.q.Rebuild(ids, accs, front, last, pushed)
	return sk
}
