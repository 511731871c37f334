package textsrc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
)

// A FileIdentity names a file independently of its path: its device and
// inode, where the system has them (Known), so that a checkpoint can tell
// the file it read from another one put at the same path.
type FileIdentity struct {
	Dev, Ino uint64
	Known    bool // false where the system gives no inode
}

// String describes the file for error messages: its device and inode.
func (id FileIdentity) String() string {
	if !id.Known {
		return "unknown identity"
	}
	return fmt.Sprintf("device %d inode %d", id.Dev, id.Ino)
}

// guardBytes is how many bytes at the start of the file, and just before
// the offset, a position hashes, to tell the file it was taken in from a
// file rewritten in place (where the inode stays) or, where there is no
// inode, from another file.
const guardBytes = 4096

var crcTable = crc64.MakeTable(crc64.ECMA)

// filePos is what FileReader.Position records.
type filePos struct {
	id                 FileIdentity
	offset, line       int64
	headLen, tailLen   int64
	headHash, tailHash uint64
	size, mtime        int64 // when taken: for messages
}

const filePosVersion = 1

func (p *filePos) encode() []byte {
	b := make([]byte, 0, 80)
	b = append(b, 'F', filePosVersion)
	known := uint64(0)
	if p.id.Known {
		known = 1
	}
	b = binary.AppendUvarint(b, known)
	b = binary.AppendUvarint(b, p.id.Dev)
	b = binary.AppendUvarint(b, p.id.Ino)
	for _, v := range []int64{p.offset, p.line, p.headLen, p.tailLen, p.size, p.mtime} {
		b = binary.AppendVarint(b, v)
	}
	b = binary.BigEndian.AppendUint64(b, p.headHash)
	b = binary.BigEndian.AppendUint64(b, p.tailHash)
	return b
}

var errBadPos = errors.New("not a position of this source")

func decodeFilePos(b []byte) (filePos, error) {
	var p filePos
	if len(b) < 2 || b[0] != 'F' {
		return p, errBadPos
	}
	if b[1] != filePosVersion {
		return p, fmt.Errorf("position format %d, this version reads %d", b[1], filePosVersion)
	}
	b = b[2:]
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	known := uv()
	p.id = FileIdentity{Dev: uv(), Ino: uv(), Known: known == 1}
	for _, v := range []*int64{&p.offset, &p.line, &p.headLen, &p.tailLen, &p.size, &p.mtime} {
		x, n := binary.Varint(b)
		if n <= 0 {
			return p, errBadPos
		}
		*v, b = x, b[n:]
	}
	if len(b) != 16 || p.offset < 0 || p.line < 0 || p.headLen < 0 || p.tailLen < 0 ||
		p.headLen > min(p.offset, guardBytes) || p.tailLen > min(p.offset, guardBytes) {
		return p, errBadPos
	}
	p.headHash = binary.BigEndian.Uint64(b)
	p.tailHash = binary.BigEndian.Uint64(b[8:])
	return p, nil
}

// Position records where the reader is, for a checkpoint: the file's
// identity (device and inode where the system has them), the byte offset
// just after the last line Read returned or set aside (never inside a
// line held back while following), the number of lines before it, and
// hashes of the first 4 KiB of the file and of the 4 KiB before the
// offset, so that Seek can tell a file replaced or rewritten since. Call
// it between Reads, from the goroutine that calls Read. It costs one stat
// and one or two reads of 4 KiB.
func (r *FileReader) Position() ([]byte, error) {
	st, err := r.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("braid: file source %s: %w", r.path, err)
	}
	p := filePos{id: identityOf(st), offset: r.offset, line: r.line, size: st.Size(), mtime: st.ModTime().UnixNano()}
	p.headLen = min(r.offset, guardBytes)
	if r.headValid && r.headLen == p.headLen {
		p.headHash = r.headHash
	} else {
		if p.headHash, err = r.hashAt(r.f, 0, p.headLen); err != nil {
			return nil, err
		}
		r.headHash, r.headLen, r.headValid = p.headHash, p.headLen, true
	}
	p.tailLen = min(r.offset, guardBytes)
	if p.tailHash, err = r.hashAt(r.f, r.offset-p.tailLen, p.tailLen); err != nil {
		return nil, err
	}
	return p.encode(), nil
}

// hashAt hashes n bytes of f at off, without moving the reader.
func (r *FileReader) hashAt(f *os.File, off, n int64) (uint64, error) {
	if n == 0 {
		return 0, nil
	}
	if r.scratch == nil {
		r.scratch = make([]byte, guardBytes)
	}
	b := r.scratch[:n]
	if _, err := f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, errShort
		}
		return 0, fmt.Errorf("braid: file source %s: %w", r.path, err)
	}
	return crc64.Checksum(b, crcTable), nil
}

var errShort = errors.New("the file is shorter")

// Seek moves a freshly opened reader, before its first Read, to a
// position of an earlier reader of the same path (Position), so that the
// lines after it are read and numbered as they would have been.
//
// The file now at the path must be the one the position was taken in:
//
//   - Another file (another inode) fails, naming the path, unless
//     following: then the checkpointed file was likely rotated away, and
//     FileOptions.Relocate, when set, is asked where it went; without it,
//     or when it does not find it, Seek fails saying that the file is no
//     longer at its path and which lines cannot be replayed.
//   - The same file, but shorter than the offset or with other bytes in
//     the first 4 KiB or the 4 KiB before the offset, was truncated or
//     rewritten: when following, as when the file shrinks while followed,
//     it is read again from its start with a warning; otherwise Seek fails
//     naming the path.
//
// Where the system has no inode, only the second check is made.
func (r *FileReader) Seek(pos []byte) error {
	p, err := decodeFilePos(pos)
	if err != nil {
		return fmt.Errorf("braid: file source %s: the checkpointed position is unreadable: %w", r.path, err)
	}
	st, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("braid: file source %s: %w", r.path, err)
	}
	if cur := identityOf(st); p.id.Known && cur.Known && cur != p.id {
		return r.otherFile(p, cur)
	}
	return r.seekChecked(p, st.Size())
}

// seekChecked moves to p in r.f, the checkpointed file, after checking
// that its bytes before the offset are those the checkpoint saw.
func (r *FileReader) seekChecked(p filePos, size int64) error {
	why, err := r.differs(p, size)
	if err != nil {
		return err
	}
	if why == "" {
		return r.seekTo(p.offset, p.line)
	}
	if !r.opts.Follow {
		return fmt.Errorf("braid: file source %s: the file changed since the checkpoint (%s); refusing to resume at byte offset %d (line %d) of a file that is no longer the one read; to read it anew, start the job afresh", r.path, why, p.offset, p.line+1)
	}
	r.opts.Logger.Warn("braid: followed file changed since the checkpoint (truncated or rewritten); reading it again from the start",
		"file", r.path, "why", why, "offset", p.offset)
	return r.seekTo(0, 0)
}

// differs says how r.f's bytes before p.offset differ from those p saw,
// or "" when they do not.
func (r *FileReader) differs(p filePos, size int64) (string, error) {
	if size < p.offset {
		return fmt.Sprintf("it is %d bytes long, shorter than the checkpointed offset %d", size, p.offset), nil
	}
	h, err := r.hashAt(r.f, 0, p.headLen)
	if err != nil && !errors.Is(err, errShort) {
		return "", err
	}
	if err != nil || h != p.headHash {
		return fmt.Sprintf("its first %d bytes differ", p.headLen), nil
	}
	h, err = r.hashAt(r.f, p.offset-p.tailLen, p.tailLen)
	if err != nil && !errors.Is(err, errShort) {
		return "", err
	}
	if err != nil || h != p.tailHash {
		return fmt.Sprintf("its %d bytes before the offset differ", p.tailLen), nil
	}
	return "", nil
}

// otherFile deals with a path that holds another file than the
// checkpointed one.
func (r *FileReader) otherFile(p filePos, cur FileIdentity) error {
	if !r.opts.Follow {
		return fmt.Errorf("braid: file source %s: the file at this path is not the one the checkpoint read (%s then, %s now: it was replaced); refusing to resume at byte offset %d (line %d) of another file; to read the new file, start the job afresh",
			r.path, p.id, cur, p.offset, p.line+1)
	}
	if r.opts.Relocate != nil {
		if old, ok := r.opts.Relocate(r.path, p.id); ok {
			return r.resumeIn(old, p)
		}
	}
	return fmt.Errorf("braid: file source %s: the followed file the checkpoint read (%s) is no longer at this path, which now holds another file (%s): it was rotated away or replaced, and the old file was not found (resuming in a rotated file is not supported yet), so its lines after byte offset %d (line %d) cannot be replayed",
		r.path, p.id, cur, p.offset, p.line+1)
}

// resumeIn switches to path, where Relocate found the checkpointed file,
// and seeks there.
func (r *FileReader) resumeIn(path string, p filePos) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("braid: file source %s: the checkpointed file, rotated to %s: %w", r.path, path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("braid: file source %s: %w", path, err)
	}
	if id := identityOf(st); id != p.id {
		f.Close()
		return fmt.Errorf("braid: file source %s: Relocate gave %s, which is %s, not the checkpointed %s", r.path, path, id, p.id)
	}
	r.f.Close()
	r.f = f
	r.opts.Logger.Info("braid: resuming the followed file where it was rotated to", "file", r.path, "rotated_to", path)
	r.path = path
	return r.seekChecked(p, st.Size())
}

// seekTo moves to offset, with line lines before it.
func (r *FileReader) seekTo(offset, line int64) error {
	if _, err := r.f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("braid: file source %s: seek to %d: %w", r.path, offset, err)
	}
	r.br.Reset(r.f)
	r.lb.reset()
	r.offset, r.read, r.line = offset, offset, line
	r.absLine, r.headValid = true, false
	return nil
}
