package textsrc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A globPos is what GlobReader.Position records.
type globPos struct {
	fresh        bool // taken before the first Read: nothing read
	hasCur       bool
	cur          posFile
	offset, line int64
	// done are the files read, and the copies of files read: known by
	// identity and head while in the glob, by head only once gone.
	done []posFile
}

type posFile struct {
	path string
	id   FileIdentity
	gz   bool
	head []byte
}

const globPosVersion = 1

const (
	posFresh = 1 << iota
	posHasCur
)

func appendPosFile(b []byte, f posFile) []byte {
	var flags uint64
	if f.id.Known {
		flags |= 1
	}
	if f.gz {
		flags |= 2
	}
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendUvarint(b, f.id.Dev)
	b = binary.AppendUvarint(b, f.id.Ino)
	b = binary.AppendUvarint(b, uint64(len(f.path)))
	b = append(b, f.path...)
	b = binary.AppendUvarint(b, uint64(len(f.head)))
	return append(b, f.head...)
}

func (p *globPos) encode() []byte {
	b := []byte{'G', globPosVersion}
	var flags uint64
	if p.fresh {
		flags |= posFresh
	}
	if p.hasCur {
		flags |= posHasCur
	}
	b = binary.AppendUvarint(b, flags)
	if p.hasCur {
		b = appendPosFile(b, p.cur)
		b = binary.AppendVarint(b, p.offset)
		b = binary.AppendVarint(b, p.line)
	}
	b = binary.AppendUvarint(b, uint64(len(p.done)))
	for _, d := range p.done {
		b = appendPosFile(b, d)
	}
	return b
}

// posDecoder reads a position, remembering the first failure.
type posDecoder struct {
	b   []byte
	bad bool
}

func (d *posDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *posDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *posDecoder) bytes(limit int) []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) || n > uint64(limit) {
		d.bad, d.b = true, nil
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *posDecoder) file() posFile {
	flags := d.uvarint()
	f := posFile{id: FileIdentity{Known: flags&1 != 0}, gz: flags&2 != 0}
	f.id.Dev, f.id.Ino = d.uvarint(), d.uvarint()
	f.path = string(d.bytes(1 << 16))
	f.head = d.bytes(headMax)
	return f
}

func decodeGlobPos(b []byte) (globPos, error) {
	var p globPos
	if len(b) < 2 || b[0] != 'G' {
		return p, errBadPos
	}
	if b[1] != globPosVersion {
		return p, fmt.Errorf("position format %d, this version reads %d", b[1], globPosVersion)
	}
	d := posDecoder{b: b[2:]}
	flags := d.uvarint()
	p.fresh, p.hasCur = flags&posFresh != 0, flags&posHasCur != 0
	if p.hasCur {
		p.cur = d.file()
		p.offset, p.line = d.varint(), d.varint()
	}
	n := d.uvarint()
	for i := uint64(0); i < n && !d.bad; i++ {
		p.done = append(p.done, d.file())
	}
	if d.bad || len(d.b) != 0 || p.offset < 0 || p.line < 0 {
		return p, errBadPos
	}
	return p, nil
}

// Position records where the reader is, for a checkpoint: the current
// file (its identity, path, whether compressed, its first bytes), the
// byte offset just after the last line Read returned or set aside (never
// inside a line held back) and the number of lines before it, and the
// files read (identity and first bytes, to know them and their copies
// again). Call it between Reads, from the goroutine that calls Read. It
// costs no I/O; its size grows with the number of files in the glob (up
// to about 530 bytes each).
func (g *GlobReader) Position() ([]byte, error) {
	if !g.started {
		p := globPos{fresh: true}
		return p.encode(), nil
	}
	var p globPos
	if g.cur != nil {
		p.hasCur = true
		p.cur = posFile{path: g.cur.path, id: g.cur.id, gz: g.cur.gz, head: g.cur.head}
		p.offset, p.line = g.offset, g.line
	}
	for _, k := range g.known {
		if k.state == finished || k.state == copied {
			p.done = append(p.done, posFile{path: k.path, id: k.id, gz: k.gz, head: k.head})
		}
	}
	for _, h := range g.gone {
		p.done = append(p.done, posFile{head: h})
	}
	return p.encode(), nil
}

// Seek moves a freshly opened reader, before its first Read, to a
// position of an earlier reader of the same glob (Position), so that the
// lines after it are read, and numbered, as they would have been.
//
// The checkpointed file is looked for by identity (device and inode),
// whatever its name now (access.log may be access.log.1 since); then,
// when no file has that identity, by its first bytes (it was compressed
// into a .gz since, or the system has no inodes). When its first bytes
// changed (truncated in place, as by copy-truncate), its copy in the glob
// is read from the offset, then the file from its start. The files the
// earlier reader had read, and copies of them, are not read again; every
// other file of the glob is read after the checkpointed one, oldest
// first.
//
// When the checkpointed file is nowhere (rotated away and deleted while
// the job was down), Seek fails, naming it and the offset from which its
// lines are lost, unless GlobOptions.AllowLoss is set: then it logs a
// warning saying the same and reads on with the other files.
func (g *GlobReader) Seek(pos []byte) error {
	p, err := decodeGlobPos(pos)
	if err != nil {
		return fmt.Errorf("braid: tail source %s: the checkpointed position is unreadable: %w", g.glob, err)
	}
	if p.fresh {
		return nil
	}
	g.started = true
	g.lastPoll = time.Now()
	es, err := g.scan()
	if err != nil {
		return err
	}
	heads := make([][]byte, len(es))
	headErr := make([]error, len(es))
	loaded := make([]bool, len(es))
	head := func(i int) ([]byte, error) {
		if !loaded[i] {
			heads[i], headErr[i] = headOf(es[i])
			loaded[i] = true
		}
		return heads[i], headErr[i]
	}
	used := make([]bool, len(es))
	byContent := func(want []byte) int {
		best := -1
		for i, e := range es {
			if used[i] || len(want) == 0 || e.size == 0 {
				continue
			}
			if h, err := head(i); err == nil && relate(h, want) == copyOf {
				if best < 0 || es[best].gz && !e.gz || es[best].gz == e.gz && e.size > es[best].size {
					best = i
				}
			}
		}
		return best
	}

	cur, anew := -1, -1
	if p.hasCur {
		for i, e := range es {
			if p.cur.id.Known && e.id == p.cur.id {
				cur = i
			}
		}
		if cur >= 0 {
			used[cur] = true
			h, err := head(cur)
			if err != nil {
				return fmt.Errorf("braid: tail source %s: %w", es[cur].path, err)
			}
			if relate(h, p.cur.head) == unrelated && len(p.cur.head) > 0 || !es[cur].gz && es[cur].size < p.offset {
				// Truncated in place while the job was down: read on in
				// its copy, then it anew.
				anew, cur = cur, byContent(p.cur.head)
			}
		} else {
			cur = byContent(p.cur.head)
		}
		if cur >= 0 {
			used[cur] = true
		} else {
			msg := fmt.Sprintf("braid: tail source %s: the checkpointed file (%s then, %s, %s) is in the glob neither by identity nor by its first bytes: it was rotated away and deleted, or truncated without a copy, while the job was down; its lines from byte offset %d (line %d) on are lost",
				g.glob, p.cur.path, p.cur.id, headNote(p.cur), p.offset, p.line+1)
			if !g.opts.AllowLoss {
				return errors.New(msg + "; to go on without them, allow the loss (tail.AllowLoss)")
			}
			g.opts.Logger.Warn(msg+"; going on with the other files", "glob", g.glob)
		}
	}

	// The files read before, and their copies.
	for _, d := range p.done {
		if d.id.Known {
			for i, e := range es {
				if !used[i] && e.id == d.id {
					if h, err := head(i); err == nil && (relate(h, d.head) != unrelated || len(d.head) == 0) {
						gf := e.gen()
						gf.head, gf.state, gf.endAt, gf.counted = h, finished, e.size, true
						g.known[e.id] = gf
						used[i] = true
					}
				}
			}
		}
	}
	var fresh []*genFile
	for i, e := range es {
		if used[i] || i == anew {
			continue
		}
		h, err := head(i)
		if err != nil || len(h) == 0 {
			continue // nothing in it yet (or unreadable now): the next poll sees it
		}
		rel := unrelated
		if p.hasCur {
			rel = relate(h, p.cur.head)
		}
		for _, d := range p.done {
			rel = max(rel, relate(h, d.head))
		}
		gf := e.gen()
		gf.head = h
		switch rel {
		case prefixOf:
			continue
		case copyOf:
			gf.state = copied
		default:
			fresh = append(fresh, gf)
		}
		if e.id.Known {
			g.known[e.id] = gf
		}
	}
	for _, d := range p.done {
		if !d.id.Known || g.known[d.id] == nil {
			if len(d.head) > 0 && len(g.gone) < maxGone {
				g.gone = append(g.gone, d.head)
			}
		}
	}
	sortOldestFirst(fresh)
	if anew >= 0 {
		a := es[anew].gen()
		a.anew = true
		fresh = append([]*genFile{a}, fresh...)
		if a.id.Known {
			g.known[a.id] = a
		}
	}
	g.queue = fresh
	for _, gf := range fresh {
		g.hold(gf)
	}
	for _, e := range es {
		g.stats.TotalBytes += e.size
	}
	g.stats.TotalFiles = len(es)
	for _, k := range g.known {
		if k.state == finished || k.state == copied {
			g.done += k.size
			g.stats.Files++
		}
	}
	if cur < 0 {
		return nil
	}
	c := es[cur].gen()
	c.head = heads[cur]
	if c.id.Known {
		g.known[c.id] = c
	}
	if err := g.openAt(c, p.offset, p.line); err != nil {
		if errors.Is(err, errPastEnd) {
			return fmt.Errorf("braid: tail source %s: the checkpointed file, now %s, holds less text than the checkpointed offset %d", g.glob, c.path, p.offset)
		}
		return err
	}
	if anew >= 0 {
		g.opts.Logger.Info("braid: tail: the checkpointed file was truncated since; resuming in its copy, then reading it from its start",
			"file", es[anew].path, "copy", c.path, "offset", p.offset)
	} else if c.path != p.cur.path {
		g.opts.Logger.Info("braid: tail: resuming the checkpointed file where it was rotated to", "was", p.cur.path, "now", c.path)
	}
	return nil
}

func headNote(f posFile) string {
	if len(f.head) == 0 {
		return "empty when checkpointed"
	}
	return fmt.Sprintf("its first %d bytes %q...", len(f.head), f.head[:min(len(f.head), 40)])
}
