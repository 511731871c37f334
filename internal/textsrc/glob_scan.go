package textsrc

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// An entry is a file of the glob as a scan found it.
type entry struct {
	path        string
	id          FileIdentity
	gz          bool
	size, mtime int64
	num         int
}

// maxGone bounds the heads kept of files that left the glob, to know
// their compressed copies.
const maxGone = 64

// errLost is locate's report that a file is nowhere in the glob.
var errLost = errors.New("no file of the glob is that file any more")

// maxListings bounds how many times scan lists the glob before it takes
// what it has.
const maxListings = 4

// scan lists the regular files matching the glob. A directory listing is
// no snapshot: a file renamed while the directory is read (a rotation
// shifting access.log.1 to access.log.2 ...) can be missing from it, and
// a file listed can be renamed before it is stat'ed. Missed while the
// reader is behind, and deleted before the next poll, such a file would
// be skipped without a word. So the glob is listed again until two
// listings in a row find the same files at the same paths with none
// vanishing in between (at most maxListings times), and the scan is the
// union of the listings: every file any of them found, at the path the
// latest found it at.
func (g *GlobReader) scan() ([]entry, error) {
	es, clean, err := g.listOnce()
	if err != nil {
		return nil, err
	}
	for range maxListings - 1 {
		again, cleanAgain, err := g.listOnce()
		if err != nil {
			return nil, err
		}
		same := clean && cleanAgain && sameListing(es, again)
		es, clean = unionListing(again, es), cleanAgain
		if same {
			break
		}
	}
	return es, nil
}

// listOnce lists the glob once; clean is false when a file listed was
// gone (renamed or deleted) by the time it was stat'ed.
func (g *GlobReader) listOnce() (es []entry, clean bool, err error) {
	list := g.list
	if list == nil {
		list = filepath.Glob
	}
	paths, err := list(g.glob)
	if err != nil {
		return nil, false, fmt.Errorf("braid: tail source %s: %w", g.glob, err)
	}
	es = make([]entry, 0, len(paths))
	clean = true
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			clean = false // gone since the listing: being rotated
			continue
		}
		if !st.Mode().IsRegular() {
			continue
		}
		es = append(es, entry{path: p, id: identityOf(st), gz: strings.HasSuffix(p, ".gz"),
			size: st.Size(), mtime: st.ModTime().UnixNano(), num: rotationNumber(filepath.Base(p))})
	}
	return es, clean, nil
}

// sameListing reports whether two listings found the same files at the
// same paths.
func sameListing(a, b []entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].path != b[i].path || a[i].id != b[i].id {
			return false
		}
	}
	return true
}

// unionListing is latest with the files of older it lacks appended (a
// file is the same as another by identity, or by path where the system
// has none).
func unionListing(latest, older []entry) []entry {
	for _, o := range older {
		in := false
		for _, l := range latest {
			if o.id.Known && l.id == o.id || !o.id.Known && !l.id.Known && l.path == o.path {
				in = true
				break
			}
		}
		if !in {
			latest = append(latest, o)
		}
	}
	return latest
}

func (e entry) gen() *genFile {
	return &genFile{path: e.path, id: e.id, gz: e.gz, size: e.size, mtime: e.mtime, num: e.num}
}

// rotationNumber is the number logrotate gives a generation: the decimal
// number after the last "." once ".gz" is removed (access.log.3.gz: 3),
// of at most 5 digits so that a date is not taken for one; 0 without.
func rotationNumber(name string) int {
	name = strings.TrimSuffix(name, ".gz")
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return 0
	}
	d := name[i+1:]
	if len(d) == 0 || len(d) > 5 {
		return 0
	}
	n := 0
	for _, c := range []byte(d) {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// sortOldestFirst orders generations as they are read: by rotation
// number, highest first; then modification time, oldest first; then path.
func sortOldestFirst(fs []*genFile) {
	slices.SortStableFunc(fs, func(a, b *genFile) int {
		if c := cmp.Compare(b.num, a.num); c != 0 {
			return c
		}
		if c := cmp.Compare(a.mtime, b.mtime); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
}

// headOf reads the first bytes of e's text, up to headMax (fewer when the
// file is shorter, or a .gz being written).
func headOf(e entry) ([]byte, error) {
	f, err := os.Open(e.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return headOfFile(f, e.gz)
}

func headOfFile(f *os.File, gz bool) ([]byte, error) {
	b := make([]byte, headMax)
	var k int
	var err error
	if gz {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(io.NewSectionReader(f, 0, 1<<62)); err != nil {
			return nil, err
		}
		k, err = io.ReadFull(zr, b)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
	} else {
		k, err = f.ReadAt(b, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	return b[:k], nil
}

// openEntry opens e, checking that the file opened is the one listed
// (not renamed away, or replaced, since), and reads its head.
func openEntry(e entry) (*os.File, []byte, bool) {
	f, err := os.Open(e.path)
	if err != nil {
		return nil, nil, false
	}
	st, err := f.Stat()
	if err != nil || e.id.Known && identityOf(st) != e.id {
		f.Close()
		return nil, nil, false
	}
	h, err := headOfFile(f, e.gz)
	if err != nil {
		f.Close()
		return nil, nil, false
	}
	return f, h, true
}

// How a file's head relates to that of a file known.
type relation uint8

const (
	unrelated relation = iota
	prefixOf           // its bytes so far are the first of the known one's: too short to tell
	copyOf             // it starts with all of the known file's head
)

func relate(h, known []byte) relation {
	m := min(len(h), len(known))
	if m == 0 || !bytes.Equal(h[:m], known[:m]) {
		return unrelated
	}
	if len(h) >= len(known) {
		return copyOf
	}
	return prefixOf
}

// classify relates a new file's head to every head known: the closest
// relation found.
func (g *GlobReader) classify(h []byte) relation {
	best := unrelated
	see := func(known []byte) {
		best = max(best, relate(h, known))
	}
	if g.cur != nil {
		see(g.cur.head)
	}
	for _, k := range g.known {
		see(k.head)
	}
	for _, q := range g.queue {
		see(q.head)
	}
	for _, k := range g.gone {
		see(k)
	}
	return best
}

// start finds the files at the first Read.
func (g *GlobReader) start() error {
	g.started = true
	g.lastPoll = time.Now()
	es, err := g.scan()
	if err != nil {
		return err
	}
	if len(es) == 0 && !g.opts.Follow {
		return fmt.Errorf("braid: tail source %s: no file matches", g.glob)
	}
	files := make([]*genFile, 0, len(es))
	for _, e := range es {
		if e.size == 0 && g.opts.Follow {
			// Nothing to read, nor to tell it by, yet: an empty new log
			// waits for its writer, who may still be writing to the one
			// it replaces (update takes it in once it has bytes).
			continue
		}
		gf := e.gen()
		gf.head, err = headOf(e)
		if g.opts.Follow && e.gz && (len(gf.head) == 0 && err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			// A .gz being written (logrotate compressing a generation,
			// whose plain file may still be in the glob) that yields no
			// text yet: nothing to tell it by. update takes it in once it
			// has a head, and knows it then for a copy of the generation.
			continue
		}
		if err != nil && e.gz && gzDamage(err) {
			// Not gzip, or damaged in its first bytes: read in its turn,
			// where its damage is set aside (a FileReject) and the next
			// file read.
			gf.head, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("braid: tail source %s: %w", e.path, err)
		}
		files = append(files, gf)
		g.stats.TotalBytes += e.size
		if e.id.Known {
			g.known[e.id] = gf
		}
	}
	g.stats.TotalFiles = len(files)
	sortOldestFirst(files)
	// A file that begins as a newer one does holds the same lines: a
	// copy-truncate's copy made, the log not yet truncated (or a .gz made
	// of a generation, the generation not yet removed). Only the newer is
	// read; the copy is known, for when the log is truncated.
	kept := files[:0]
	for i, f := range files {
		copyOfNewer := false
		for _, n := range files[i+1:] {
			if relate(f.head, n.head) != unrelated || relate(n.head, f.head) != unrelated {
				copyOfNewer = true
				break
			}
		}
		if copyOfNewer {
			f.state = copied
			g.stats.TotalFiles--
			g.stats.TotalBytes -= f.size
			continue
		}
		kept = append(kept, f)
	}
	files = kept
	if !g.opts.FromEnd || len(files) == 0 {
		g.queue = files
		if len(files) > 1 {
			g.hold(files[len(files)-1])
		}
		if len(g.queue) == 0 {
			return nil
		}
		return g.openNext()
	}
	newest := files[len(files)-1]
	for _, gf := range files[:len(files)-1] {
		gf.state, gf.endAt, gf.counted = finished, gf.size, true
		g.done += gf.size
		g.stats.Files++
	}
	if newest.gz {
		newest.state, newest.counted = finished, true
		g.done += newest.size
		g.stats.Files++
		return nil
	}
	off, line, err := lastLineEnd(newest.path)
	if err != nil {
		return fmt.Errorf("braid: tail source %s: %w", newest.path, err)
	}
	return g.openAt(newest, off, line)
}

// lastLineEnd is the offset just after the last newline of the file at
// path, and the number of lines before it: one read of the file.
func lastLineEnd(path string) (off, lines int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	var pos int64
	for {
		k, err := f.Read(buf)
		b := buf[:k]
		if c := bytes.Count(b, []byte{'\n'}); c > 0 {
			lines += int64(c)
			off = pos + int64(bytes.LastIndexByte(b, '\n')) + 1
		}
		pos += int64(k)
		if errors.Is(err, io.EOF) {
			return off, lines, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// poll checks, at the end of the newest file, whether it was truncated,
// and looks for new files. The glob is listed before cur is checked: a
// file listed then holds only what was written before the check, so when
// cur was not truncated by then, a file with another start than cur's is
// truly new, not a copy of cur's next content.
func (g *GlobReader) poll() error {
	g.lastPoll = time.Now()
	g.stats.Polls++
	es, err := g.scan()
	if err != nil {
		return err
	}
	if g.cur != nil && !g.cur.gz {
		st, err := g.cur.f.Stat()
		if err != nil {
			return fmt.Errorf("braid: tail source %s: %w", g.cur.path, err)
		}
		if st.Size() < g.src.pos || !g.src.headIntact() {
			return g.truncated()
		}
	}
	g.update(es)
	if len(g.awaited) > 0 {
		g.expireAwaited()
	}
	return nil
}

// update takes in a scan: new paths of the files known, files that left
// the glob, and new files, which are queued: after cur when newer (a
// rotation number no higher than cur's: the file that replaced a renamed
// or deleted log, a new log of the glob), before it when older (a higher
// number: a generation rotated off the log by copy-truncate while the
// reader had not seen its content). A file read to its end that grew
// since (a writer writing on to a renamed log, a copy still being
// written when it was read) is read on from where it was left, before
// cur too. cur, when files go before it, is read on from its offset
// after them.
func (g *GlobReader) update(es []entry) {
	g.refreshHeads()
	seen := make(map[FileIdentity]bool, len(es))
	var fresh, before []*genFile
	for _, e := range es {
		if k := g.known[e.id]; e.id.Known && k != nil {
			if g.sameFile(k, e) {
				if k.state == finished && (!k.gz && e.size > k.endAt || k.partial && e.size != k.size) {
					k.partial = false
					g.opts.Logger.Info("braid: tail: a file read to its end grew since; reading on from where it was left",
						"file", e.path, "offset", k.endAt, "size", e.size)
					k.state, k.resumeAt, k.resumeLine = queued, k.endAt, k.endLine
					k.path = e.path // where hold opens it
					g.hold(k)
					before = append(before, k)
				}
				k.path, k.size, k.mtime, k.num = e.path, e.size, e.mtime, e.num
				seen[e.id] = true
				continue
			}
			// Another file with a recycled inode.
			g.forget(k)
		}
		if e.size == 0 {
			continue // nothing to tell it by, nor to read, yet
		}
		// Opened now, and held while following, so that the file whose
		// head is read is the one read, renamed or deleted since or not.
		f, h, ok := openEntry(e)
		if !ok || len(h) == 0 {
			if f != nil {
				f.Close()
			}
			continue // gone, replaced or unreadable for now (a .gz being written): next poll
		}
		gf := e.gen()
		gf.head = h
		i, r := g.awaitedOf(h)
		resumed := r == copyOf
		if resumed {
			// The copy of a file truncated when it was not in the glob
			// (or not readable): its lines after where the file was read
			// to are read from it, before the file's new content.
			w := g.awaited[i]
			g.awaited = slices.Delete(g.awaited, i, i+1)
			g.opts.Logger.Info("braid: tail: the copy of a truncated file appeared; reading the rest of its lines from the copy",
				"file", w.path, "copy", gf.path, "offset", w.off, "line", w.line+1)
			gf.resumeAt, gf.resumeLine = w.off, w.line
		} else if r == unrelated {
			r = g.classify(h)
		}
		switch {
		case r == prefixOf:
			f.Close()
			continue // maybe a copy being written (of a truncated file's, too): next poll
		case r == copyOf && !resumed:
			f.Close()
			gf.state = copied
		default:
			if g.opts.Follow {
				gf.f = f
			} else {
				f.Close()
			}
			fresh = append(fresh, gf)
		}
		if e.id.Known {
			g.known[e.id] = gf
			seen[e.id] = true
		}
	}
	for id, k := range g.known {
		if !seen[id] && k != g.cur && k.state != queued {
			g.forget(k)
		}
	}
	sortOldestFirst(fresh)
	var after []*genFile
	for _, gf := range fresh {
		g.opts.Logger.Info("braid: tail: a new file to read", "glob", g.glob, "file", gf.path)
		g.hold(gf)
		g.stats.TotalFiles++
		g.stats.TotalBytes += gf.size
		if g.cur != nil && gf.num > g.cur.num {
			before = append(before, gf)
		} else {
			after = append(after, gf)
		}
	}
	if len(before) > 0 && g.cur != nil {
		sortOldestFirst(before)
		before = append(before, g.pause())
		g.queue = append(before, g.queue...)
	} else {
		g.queue = append(before, g.queue...)
	}
	g.queue = append(g.queue, after...)
}

// sameFile reports whether the file e, at the inode of k, is still k:
// unchanged, or beginning as k did (k grew, or is being read).
func (g *GlobReader) sameFile(k *genFile, e entry) bool {
	if k == g.cur || k.state == queued || k.size == e.size && k.mtime == e.mtime {
		return true
	}
	h, err := headOf(e)
	return err == nil && (len(k.head) == 0 || relate(h, k.head) != unrelated)
}

// remember makes gf the file known at its identity. A file known there
// before is another one whose inode the system recycled (a generation
// deleted, its inode given to a new copy): it is forgotten, its head
// kept, so that a copy of it (its .gz) is still known for one.
func (g *GlobReader) remember(gf *genFile) {
	if !gf.id.Known {
		return
	}
	if k := g.known[gf.id]; k != nil && k != gf {
		g.forget(k)
	}
	g.known[gf.id] = gf
}

// forget drops a file known (gone, or its inode recycled), keeping its
// head to know copies of it.
func (g *GlobReader) forget(k *genFile) {
	if g.known[k.id] == k {
		delete(g.known, k.id)
	}
	if len(k.head) > 0 {
		if len(g.gone) == maxGone {
			g.gone = slices.Delete(g.gone, 0, 1)
		}
		g.gone = append(g.gone, k.head)
	}
}

// truncated deals with cur found shorter than what was read, or with its
// first bytes changed: a copy-truncate.
func (g *GlobReader) truncated() error {
	a := g.cur
	oldHead := slices.Clone(a.head)
	off, line := g.offset, g.line
	var cut *FileReject
	if g.lb.pending() {
		g.reject("the file was truncated before its newline")
		cut = &g.rejects[len(g.rejects)-1]
	}
	g.done += g.src.consumed()
	g.cur = nil
	g.src.reset(nil, nil, nil)
	g.lb.reset()
	return g.recover(a, oldHead, off, line, cut)
}

// recover deals with a file truncated in place: a, which held oldHead at
// its start, was read up to off (line lines). The lines after off are
// read from its copy when the glob holds one (a file whose first bytes
// are oldHead: access.log.1, or a .gz of it), then the files new to the
// reader (copies of what a held between truncations the reader did not
// see), then a from its start. cut is the partial line a had at off, set
// aside as cut short: it is taken back when the copy is found, which
// holds it whole.
func (g *GlobReader) recover(a *genFile, oldHead []byte, off, line int64, cut *FileReject) error {
	es, err := g.scan()
	if err != nil {
		return err
	}
	var copyE entry
	var copyHead []byte
	// copyF is the copy, opened when its head was read: the file read
	// from is the one whose head matched, even if a rotation renames it
	// (or puts another file at its name) before it is read.
	var copyF *os.File
	found := false
	for _, e := range es {
		if e.id.Known && e.id == a.id || e.size == 0 || len(oldHead) == 0 {
			continue
		}
		if k := g.known[e.id]; e.id.Known && k != nil && k.state != copied && g.sameFile(k, e) {
			continue // read, or to read: not a copy (unless its inode was recycled)
		}
		f, h, ok := openEntry(e)
		if !ok || relate(h, oldHead) == unrelated {
			if f != nil {
				f.Close()
			}
			continue
		}
		// Prefer a plain copy to a compressed one, then the longer.
		if !found || copyE.gz && !e.gz || copyE.gz == e.gz && e.size > copyE.size {
			if copyF != nil {
				copyF.Close()
			}
			copyE, copyHead, copyF, found = e, h, f, true
		} else {
			f.Close()
		}
	}
	// a is read again from its start: what it holds now is known by its
	// head, so that a copy of it (made before a truncation yet to come)
	// is not read as new, and a truncation before its turn is seen.
	a.state, a.anew, a.resumeAt, a.resumeLine = queued, true, 0, 0
	a.head = nil
	if a.f != nil {
		if err := readHeadAt(a.f, &a.head); err != nil {
			if copyF != nil {
				copyF.Close()
			}
			return fmt.Errorf("braid: tail source %s: %w", a.path, err)
		}
	}
	rest := g.queue
	g.queue = nil
	if !found {
		w := awaited{path: a.path, head: oldHead, off: off, line: line, poll: g.stats.Polls, at: time.Now()}
		if len(oldHead) == 0 {
			g.warnNoCopy(w, "it had no bytes to know a copy by")
		} else {
			// The copy may come later: not yet renamed into the glob, or
			// a .gz still being written. update reads it from off.
			g.opts.Logger.Info("braid: tail: a followed file was truncated and no copy of it is in the glob yet; reading it again from its start, and a copy that appears later from the offset reached",
				"file", a.path, "offset", off, "line", line)
			if cut != nil {
				w.cut = new(*cut)
				g.rejects = g.rejects[:len(g.rejects)-1]
			}
			if len(g.awaited) == maxGone {
				g.warnNoCopy(g.awaited[0], "too many truncated files await a copy")
				if c := g.awaited[0].cut; c != nil {
					g.rejects = append(g.rejects, *c)
				}
				g.awaited = slices.Delete(g.awaited, 0, 1)
			}
			g.awaited = append(g.awaited, w)
		}
		g.update(es)
		g.requeue(a, rest)
		return nil
	}
	if cut != nil {
		g.rejects = g.rejects[:len(g.rejects)-1]
	}
	g.opts.Logger.Info("braid: tail: a followed file was truncated (copy-truncate); reading the rest of its lines from the copy, then it again from its start",
		"file", a.path, "copy", copyE.path, "offset", off)
	c := copyE.gen()
	c.head, c.f = copyHead, copyF
	g.remember(c)
	// Files new to the reader now are generations between the copy and
	// what the truncated file holds now (rotated while the reader was
	// behind): they come before it.
	g.update(es)
	g.requeue(a, rest)
	if err := g.openAt(c, off, line); err != nil && !errors.Is(err, errPastEnd) {
		return err
	}
	return nil
}

// awaitedPolls and awaitedWait are how long a truncated file's copy is
// waited for: both that many polls and that long after the truncation
// was seen.
const (
	awaitedPolls = 10
	awaitedWait  = 5 * time.Second
)

// awaitedOf relates a new file's head to those of the files truncated
// with no copy in the glob: the index of the first it is a copy of, or of
// the first it may be the start of (prefixOf), and the relation.
func (g *GlobReader) awaitedOf(h []byte) (int, relation) {
	at, best := -1, unrelated
	for i, w := range g.awaited {
		if r := relate(h, w.head); r > best {
			at, best = i, r
			if r == copyOf {
				break
			}
		}
	}
	return at, best
}

// expireAwaited gives up waiting for the copies of truncated files that
// did not appear in time: their lines after the offset reached, if any,
// are lost, and a warning says so.
func (g *GlobReader) expireAwaited() {
	now := time.Now()
	kept := g.awaited[:0]
	for _, w := range g.awaited {
		if g.stats.Polls-w.poll >= awaitedPolls && now.Sub(w.at) >= awaitedWait {
			g.warnNoCopy(w, "none appeared")
			if w.cut != nil {
				g.rejects = append(g.rejects, *w.cut)
			}
			continue
		}
		kept = append(kept, w)
	}
	clear(g.awaited[len(kept):])
	g.awaited = kept
}

// warnNoCopy logs that the copy of a file truncated in place was not
// found, and why the reader stopped looking.
func (g *GlobReader) warnNoCopy(w awaited, why string) {
	g.opts.Logger.Warn("braid: tail: a followed file was truncated and no copy of it was found in the glob ("+why+"); lines written after the offset reached and before the truncation, if any, are lost",
		"file", w.path, "offset", w.off, "line", w.line+1)
}

// requeue puts a, truncated, back in the queue: among the files update
// just queued, in their order (it was renamed by a rotation since, maybe),
// and before rest, the files queued before.
func (g *GlobReader) requeue(a *genFile, rest []*genFile) {
	q := append(g.queue, a)
	sortOldestFirst(q)
	g.queue = append(q, rest...)
}

// changed reports whether a queued plain file no longer holds what it
// held when it was queued (its head, and the bytes up to where it is to
// be read from): truncated in place before its turn.
func changed(q *genFile) bool {
	if q.gz || len(q.head) == 0 || q.f == nil && q.path == "" {
		return false
	}
	f := q.f
	if f == nil {
		var err error
		if f, err = os.Open(q.path); err != nil {
			return false // openAt reports it
		}
		defer f.Close()
	}
	st, err := f.Stat()
	if err != nil || st.Size() < q.resumeAt {
		return err == nil
	}
	var h []byte
	if err := readHeadAt(f, &h); err != nil {
		return false
	}
	return relate(h, q.head) == unrelated
}

// hold opens a queued file when following, so that it is read even if
// it is deleted (or renamed out of the glob) before its turn: new files
// and the newest at the start, which writers and rotations touch while
// the files before them are read. It leaves the file closed when the path
// no longer holds it.
func (g *GlobReader) hold(gf *genFile) {
	if !g.opts.Follow || gf.f != nil {
		return
	}
	f, err := os.Open(gf.path)
	if err != nil {
		return
	}
	if st, err := f.Stat(); err != nil || gf.id.Known && identityOf(st) != gf.id {
		f.Close()
		return
	}
	gf.f = f
}

// locate makes sure q's path holds q, which may have been renamed (a
// rotation) or compressed since it was found; errLost when it is
// nowhere.
func (g *GlobReader) locate(q *genFile) error {
	if q.f != nil {
		return nil
	}
	if st, err := os.Stat(q.path); err == nil && q.id.Known && identityOf(st) == q.id {
		return nil
	}
	es, err := g.scan()
	if err != nil {
		return err
	}
	for _, e := range es {
		if q.id.Known && e.id == q.id {
			q.path = e.path
			return nil
		}
	}
	if len(q.head) > 0 {
		for _, e := range es {
			if k := g.known[e.id]; e.id.Known && k != nil && k != q {
				continue
			}
			if h, err := headOf(e); err == nil && relate(h, q.head) == copyOf {
				delete(g.known, q.id)
				q.path, q.id, q.gz = e.path, e.id, e.gz
				g.remember(q)
				return nil
			}
		}
	}
	return errLost
}

// refreshHeads extends the heads of the files being read or to read that
// are held open and shorter than headMax with what their files hold now:
// a copy of a log made before the reader read that far (of an empty log
// reopened for reading, of lines not read yet) is then known for a copy,
// not read as a new file and again in the log. A head is only extended,
// never replaced: a file whose start changed is left to the truncation
// check.
func (g *GlobReader) refreshHeads() {
	refresh := func(gf *genFile) {
		if gf == nil || gf.gz || gf.f == nil || len(gf.head) >= headMax {
			return
		}
		var h []byte
		if err := readHeadAt(gf.f, &h); err != nil || len(h) <= len(gf.head) || !bytes.HasPrefix(h, gf.head) {
			return
		}
		gf.head = h
	}
	refresh(g.cur)
	for _, q := range g.queue {
		refresh(q)
	}
}
