// Package deadletter is how the example commands write their dead letters:
// the file they go to, a writer their sinks share, one line per dead
// letter in text or JSON, and the place of a line that a dead letter
// names.
package deadletter

import (
	"encoding/json"
	"io"
	"os"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Create opens the dead-letter file path for writing: emptied, or, when
// resume is set (a job that resumes from its checkpoints), kept and
// added to.
func Create(path string, resume bool) (*os.File, error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resume {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	return os.OpenFile(path, flags, 0o644)
}

// A LockedWriter serialises the writes of the sinks that share a writer.
type LockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Locked returns a LockedWriter of w.
func Locked(w io.Writer) *LockedWriter { return &LockedWriter{w: w} }

// Writer is the writer l writes to (to ask, say, whether it is a
// terminal): a write to it directly is not serialised.
func (l *LockedWriter) Writer() io.Writer { return l.w }

// Write writes p to the writer, one call at a time.
func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A Format is how Line writes a dead letter.
type Format uint8

const (
	// Text is the place, the error and the line (quoted, left out when
	// there is none): `access.log:3 (byte 120): bad status: "..."`.
	Text Format = iota
	// JSON is an object of the three: "where", "error" and "line"
	// (left out when there is none). JSON strings are UTF-8: a line that
	// is not has its invalid bytes replaced.
	JSON
	// JSONRaw is JSON, and for a line that is not UTF-8 its bytes in
	// base64 too ("line_base64").
	JSONRaw
)

// Line is a dead letter in format f, without a newline: where it was
// read, what was wrong and the line.
func (f Format) Line(where, err, line string) string {
	if f == Text {
		s := where + ": " + err
		if line != "" {
			s += ": " + strconv.Quote(line)
		}
		return s
	}
	var raw []byte
	if f == JSONRaw && !utf8.ValidString(line) {
		raw = []byte(line)
	}
	b, _ := json.Marshal(struct {
		Where string `json:"where"`
		Error string `json:"error"`
		Line  string `json:"line,omitempty"`
		Raw   []byte `json:"line_base64,omitempty"`
	}{where, err, line, raw})
	return string(b)
}

// A Place is where a line was read, as in a connectors/logs Line: a file
// (or a generator's name), the line's byte offset (-1 when not known) and
// its number, from 1.
type Place struct {
	File   string
	Offset int64
	Line   int64
}

// Where is the place as logs.Line.Where writes it: "file:12 (byte 1033)",
// or "file line 12" without an offset.
func (p Place) Where() string {
	if p.Offset < 0 {
		return p.File + " line " + strconv.FormatInt(p.Line, 10)
	}
	return p.File + ":" + strconv.FormatInt(p.Line, 10) + " (byte " + strconv.FormatInt(p.Offset, 10) + ")"
}
