package textsrc

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// DefaultMaxLineBytes is the line limit when none is set: 1 MiB.
const DefaultMaxLineBytes = 1 << 20

// readBufSize is the size of the readers' buffers; tests make it small to
// put buffer boundaries everywhere.
var readBufSize = 64 << 10

// PrefixBytes bounds the Line of a Reject for a line over the limit: its
// first PrefixBytes bytes (fewer, to end on a whole UTF-8 character).
const PrefixBytes = 256

var (
	// ErrLineTooLong marks a Reject for a line longer than MaxLineBytes.
	ErrLineTooLong = errors.New("braid: line over the length limit")
	// ErrLineCut marks a Reject for a line whose end never came: the
	// connection closed, or a followed file shrank, before its delimiter.
	ErrLineCut = errors.New("braid: line cut short")
)

// A Reject is a piece of input a reader set aside instead of returning it
// as a line; see FileReader.Rejected and SocketReader.Rejected.
type Reject struct {
	// Line is the start of the line: all that arrived of a line cut short
	// within the limit, or the first PrefixBytes of a line over it.
	Line string
	// Err says why and where: the file or address, the line and byte
	// offset, the line's length and the limit. errors.Is finds
	// ErrLineTooLong or ErrLineCut (or both) in it.
	Err error
}

// wrapped is an error whose message says all, wrapping causes (or marks
// such as ErrLineTooLong) that errors.Is and errors.As find without their
// text being repeated.
type wrapped struct {
	msg    string
	causes []error
}

func (e *wrapped) Error() string   { return e.msg }
func (e *wrapped) Unwrap() []error { return e.causes }

// lineBuf assembles one line from the pieces bufio.Reader.ReadSlice
// returns, within a length limit, holding at most limit+1 bytes of it: once
// the line is known to be over the limit only its first PrefixBytes are
// kept and the rest is counted, not stored.
//
// The length of a line excludes its delimiter and, when crlf is set, a
// "\r" just before it (or at the very end of the input), so "\r\n" and
// "\n" end lines alike.
type lineBuf struct {
	limit  int
	crlf   bool
	buf    []byte // the line so far; once over, only its prefix
	n      int64  // bytes of the line so far, a trailing "\r" included
	over   bool   // the line is longer than limit
	lastCR bool   // the last byte added is "\r"
}

// add appends a piece of the line in progress (no delimiter in it).
func (l *lineBuf) add(p []byte) {
	if len(p) == 0 {
		return
	}
	l.n += int64(len(p))
	l.lastCR = p[len(p)-1] == '\r'
	if !l.over {
		slack := 0
		if l.crlf {
			slack = 1 // the "\r" of a "\r\n" yet to come
		}
		if l.n <= int64(l.limit+slack) {
			l.buf = append(l.buf, p...)
			return
		}
		l.over = true
		l.buf = l.buf[:min(len(l.buf), PrefixBytes)]
	}
	if k := PrefixBytes - len(l.buf); k > 0 {
		l.buf = append(l.buf, p[:min(k, len(p))]...)
	}
}

// pending reports whether a line is in progress.
func (l *lineBuf) pending() bool { return l.n > 0 }

// size is the length of the line so far, a trailing "\r" excluded.
func (l *lineBuf) size() int64 {
	if l.crlf && l.lastCR {
		return l.n - 1
	}
	return l.n
}

// end ends the line in progress with its last piece (its delimiter, if
// any, removed). When the line is within the limit it returns it and true;
// the bytes are valid until the next add or end. Otherwise it returns
// false and the line stays for prefix and size until reset. Either way the
// caller calls reset before the next line.
func (l *lineBuf) end(last []byte) ([]byte, bool) {
	if l.n == 0 { // the whole line in one piece: no copy
		b := last
		if l.crlf && len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		if len(b) <= l.limit {
			return b, true
		}
	}
	l.add(last)
	if l.over || l.size() > int64(l.limit) {
		l.over = true
		return nil, false
	}
	return l.buf[:l.size()], true
}

// prefix is the start of the line in progress, for a Reject: all of it
// when within the limit, else at most PrefixBytes, ending on a whole UTF-8
// character.
func (l *lineBuf) prefix() string {
	b := l.buf[:min(int64(len(l.buf)), l.size())]
	if l.over && len(b) > PrefixBytes {
		b = b[:PrefixBytes]
	}
	if int64(len(b)) < l.size() {
		// Cut: drop a character split by the cut.
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return string(b)
}

// reject describes the line in progress, which is over the limit or cut
// short (or both), as a Reject. where names the input and the line's
// position, e.g. `braid: file source app.log: line 3 (byte offset 120)`;
// cut, when not empty, says what cut the line short.
func (l *lineBuf) reject(where, cut string) Reject {
	if l.size() > int64(l.limit) {
		l.over = true // a line cut short may be over too, by its "\r" slack
	}
	var msg string
	var marks []error
	switch {
	case l.over && cut == "":
		msg = fmt.Sprintf("%s: %d bytes, over the line limit of %d", where, l.size(), l.limit)
		marks = []error{ErrLineTooLong}
	case l.over:
		msg = fmt.Sprintf("%s: at least %d bytes, over the line limit of %d; cut short: %s", where, l.size(), l.limit, cut)
		marks = []error{ErrLineTooLong, ErrLineCut}
	default:
		msg = fmt.Sprintf("%s: cut short after %d bytes: %s", where, l.size(), cut)
		marks = []error{ErrLineCut}
	}
	return Reject{Line: l.prefix(), Err: &wrapped{msg: msg, causes: marks}}
}

// reset forgets the line in progress, keeping the buffer for the next.
func (l *lineBuf) reset() {
	l.buf, l.n, l.over, l.lastCR = l.buf[:0], 0, false, false
}

// takeRejects appends rejects to dst, then empties rejects (dropping its
// references, keeping its array) and returns both.
func takeRejects(dst, rejects []Reject) ([]Reject, []Reject) {
	dst = append(dst, rejects...)
	clear(rejects)
	return dst, rejects[:0]
}
