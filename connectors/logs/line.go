package logs

import (
	"strconv"
)

// A Line is one line of a log and where it came from: what Braid's log
// sources (the file source of connectors/tail, the listeners of
// connectors/listen) deliver, so that the dead letter of a line that does
// not parse names its file and line, or its peer.
type Line struct {
	Text string
	// Source is the file the line was read from, or the address of the
	// peer that sent it.
	Source string
	// Offset is the byte offset of the line's start in its file; -1 for a
	// line received from a peer.
	Offset int64
	// Number is the line's number in its file, or in its connection or
	// datagram stream, from 1.
	Number int64
}

// Where is the line's place: "file:line (byte offset)" for a line of a
// file, "peer line n" for one received.
func (l Line) Where() string {
	if l.Offset < 0 {
		return l.Source + " line " + strconv.FormatInt(l.Number, 10)
	}
	return l.Source + ":" + strconv.FormatInt(l.Number, 10) + " (byte " + strconv.FormatInt(l.Offset, 10) + ")"
}

// String is the line's text.
func (l Line) String() string { return l.Text }

// At makes a parser of text a parser of Lines, for stream.MapErr: its
// errors say where the line was ("access.log:12 (byte 1033): ...").
func At[T any](parse func(string) (T, error)) func(Line) (T, error) {
	return func(l Line) (T, error) {
		v, err := parse(l.Text)
		if err != nil {
			return v, &LineError{Where: l.Where(), Err: err}
		}
		return v, nil
	}
}

// A LineError is the error of a line that did not parse, with its place.
type LineError struct {
	Where string
	Err   error
}

// Error is the place, then the parser's error.
func (e *LineError) Error() string { return e.Where + ": " + e.Err.Error() }

// Unwrap returns the parser's error.
func (e *LineError) Unwrap() error { return e.Err }
