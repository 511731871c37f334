package listen

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// PrefixBytes bounds the Text of a dead letter for a message over the
// limit, or a bad frame: its first PrefixBytes bytes (fewer, to end on a
// whole UTF-8 character).
const PrefixBytes = 256

// maxCountDigits bounds an octet count (RFC 6587, 3.4.1): ten digits, up
// to 9,999,999,999 bytes. A longer count is a bad frame.
const maxCountDigits = 10

// Framer states.
const (
	stStart = iota // between messages
	stCount        // in an octet count: the digits before the space
	stBody         // in an octet-counted message: want bytes in all
	stLine         // in a message ended by "\n"
)

// What framer.next found.
type event uint8

const (
	evMore     event = iota // all of p consumed, no message ended
	evMsg                   // a message ended: msg
	evTooLong               // a message over the limit ended: msg is its prefix, framer.size its length
	evBadFrame              // an octet count that cannot be read: msg is its digits and the byte after them; nothing after it can be framed
)

// A framer cuts the bytes of one connection into messages, in one of two
// ways:
//
//   - lines (TCPLines): a message ends with "\n"; a "\r" before it is
//     dropped too, so "\r\n" and "\n" end lines alike.
//   - syslog (Syslog over TCP, RFC 6587): each frame's first byte says how
//     it is framed. A digit 1 to 9 starts an octet count, "LEN SP MSG"
//     (3.4.1), and MSG is the next LEN bytes, newlines and all. Any other
//     byte starts a message ended by "\n" (non-transparent framing,
//     3.4.2; a syslog message starts with "<", its PRI). So the two can
//     follow each other on one connection, frame by frame. Empty messages
//     (a "\n" or "\r\n" alone, as some senders put after a counted frame)
//     are skipped; one trailing "\n" or "\r\n" inside a counted frame is
//     dropped, as it is from a datagram.
//
// A message is bounded by limit bytes (its line end excluded): the framer
// keeps at most limit+1 bytes of one, and once it is known to be longer,
// only its first PrefixBytes; the rest is counted, not stored.
//
// The framer does no I/O and holds no connection: the reader feeds it what
// it read, acts on what it returns, and asks cut when the connection ends.
type framer struct {
	syslog bool
	limit  int

	state  uint8
	buf    []byte // the message so far: within the limit, or its prefix once over
	size   int64  // bytes of the message so far (a line's trailing "\r" included)
	over   bool   // the message is longer than limit
	cr     bool   // the last byte added is "\r"
	want   int64  // stCount: the count so far; stBody: the frame's length
	digits int    // stCount: digits read
	ended  bool   // the last call returned a message; forget it at the next
}

func newFramer(syslog bool, limit int) framer { return framer{syslog: syslog, limit: limit} }

// next consumes bytes of p up to the end of the next message and returns
// how many it consumed and what it found. A message (evMsg) is valid until
// the next call: it may point into p or into the framer's buffer. After
// evBadFrame the framer takes no more input: close the connection.
func (f *framer) next(p []byte) (int, event, []byte) {
	if f.ended {
		f.reset()
	}
	i := 0
	for i < len(p) {
		switch f.state {
		case stStart:
			if f.syslog && p[i] >= '1' && p[i] <= '9' {
				f.state, f.want, f.digits = stCount, 0, 0
			} else {
				f.state = stLine
			}
		case stCount:
			c := p[i]
			switch {
			case c >= '0' && c <= '9' && f.digits < maxCountDigits:
				f.want = f.want*10 + int64(c-'0')
				f.digits++
				f.buf = append(f.buf, c)
				i++
			case c == ' ':
				i++
				f.state, f.buf, f.size = stBody, f.buf[:0], 0
				f.over = f.want > int64(f.limit)
			default:
				f.buf = append(f.buf, c)
				return i, evBadFrame, f.buf // the count so far and the byte that ends it
			}
		case stBody:
			k := int(min(int64(len(p)-i), f.want-f.size))
			chunk := p[i : i+k]
			i += k
			if f.size == 0 && int64(k) == f.want && !f.over {
				f.state = stStart // the whole frame in p: no copy
				if msg := trimEOL(chunk); len(msg) > 0 {
					f.ended = true
					return i, evMsg, msg
				}
				continue // an empty frame
			}
			f.add(chunk, 0)
			if f.size == f.want {
				f.state = stStart
				if f.over {
					f.ended = true
					return i, evTooLong, prefix(f.buf)
				}
				if msg := trimEOL(f.buf); len(msg) > 0 {
					f.ended = true
					return i, evMsg, msg
				}
				f.reset() // an empty frame
			}
		case stLine:
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				f.add(p[i:], 1)
				i = len(p)
				continue
			}
			seg := p[i : i+j]
			i += j + 1
			f.state = stStart
			line, ev := f.lineEnd(seg)
			if ev == evMsg && f.syslog && len(line) == 0 {
				f.reset()
				continue // an empty frame
			}
			f.ended = true
			return i, ev, line
		}
	}
	return i, evMore, nil
}

// lineEnd ends the line in progress with its last piece seg (its "\n"
// removed).
func (f *framer) lineEnd(seg []byte) ([]byte, event) {
	if f.size == 0 { // the whole line in one piece: no copy
		if b := trimCR(seg); len(b) <= f.limit {
			return b, evMsg
		}
	}
	f.add(seg, 1)
	size := f.lineSize()
	if f.over || size > int64(f.limit) {
		b := f.buf
		if int64(len(b)) == f.size && f.cr { // all of it kept: without its "\r"
			b = b[:len(b)-1]
		}
		f.size, f.over = size, true
		return prefix(b), evTooLong
	}
	return f.buf[:size], evMsg
}

// lineSize is the length of the line so far, a trailing "\r" excluded.
func (f *framer) lineSize() int64 {
	if f.cr {
		return f.size - 1
	}
	return f.size
}

// add appends a piece of the message in progress; slack is how many bytes
// beyond the limit may be the line end yet to be removed (the "\r" of a
// "\r\n").
func (f *framer) add(p []byte, slack int) {
	if len(p) == 0 {
		return
	}
	f.size += int64(len(p))
	f.cr = p[len(p)-1] == '\r'
	if !f.over && f.size <= int64(f.limit+slack) {
		f.buf = append(f.buf, p...)
		return
	}
	if !f.over {
		f.over = true
		f.buf = f.buf[:min(len(f.buf), PrefixBytes)]
	}
	if k := PrefixBytes - len(f.buf); k > 0 {
		f.buf = append(f.buf, p[:min(k, len(p))]...)
	}
}

// cut says what was pending when the connection ended: false when it ended
// between messages; else the start of the message (all that arrived
// within the limit, or its prefix), how it was cut and whether it was
// over the limit, for a dead letter. The framer is then between messages
// again.
func (f *framer) cut() (pending bool, text []byte, how string, over bool) {
	if f.ended {
		f.reset()
	}
	defer func() { f.state = stStart; f.reset() }()
	switch f.state {
	case stCount:
		return true, f.buf, fmt.Sprintf("cut short in its octet count %q", f.buf), false
	case stBody:
		if f.over {
			return true, prefix(f.buf), fmt.Sprintf("%d bytes by its octet count, over the limit of %d; cut short after %d", f.want, f.limit, f.size), true
		}
		return true, f.buf, fmt.Sprintf("cut short after %d of the %d bytes its octet count gave", f.size, f.want), false
	case stLine:
		if f.size == 0 {
			return false, nil, "", false
		}
		size := f.lineSize()
		if f.over || size > int64(f.limit) {
			b := f.buf
			if int64(len(b)) == f.size && f.cr {
				b = b[:len(b)-1]
			}
			return true, prefix(b), fmt.Sprintf("at least %d bytes, over the limit of %d; cut short before its newline", size, f.limit), true
		}
		return true, f.buf[:size], fmt.Sprintf("cut short after %d bytes, before its newline", size), false
	}
	return false, nil, "", false
}

// reset forgets the message in progress, keeping the buffer.
func (f *framer) reset() {
	f.buf, f.size, f.over, f.cr, f.ended = f.buf[:0], 0, false, false, false
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// trimEOL drops one trailing "\n" or "\r\n" of a counted frame or a
// datagram.
func trimEOL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return trimCR(b[:len(b)-1])
	}
	return b
}

// prefix is the start of a message over the limit, as kept: at most
// PrefixBytes, without a UTF-8 character that the cut split.
func prefix(b []byte) []byte {
	b = b[:min(len(b), PrefixBytes)]
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return b
}
