package logs

import (
	"strconv"
	"unicode/utf8"
)

// A ParseError says what was wrong with a line: which format it was read
// as, which field could not be read, where in the line, and why. Every
// parser of this package returns its errors as a *ParseError (find it with
// errors.As or errors.AsType, through a LineError too).
//
// Its message quotes at most a few dozen bytes of the line, so that a
// 10 MB line of garbage makes a short error, not a 10 MB one.
type ParseError struct {
	Format string // "access log", "syslog", "sshd", "netfilter", "audit event", "json", "csv"
	Field  string // the field that could not be read: "time", "status", "SRC", ...
	Pos    int    // the byte offset in the line where the trouble starts; -1 when unknown
	Reason string // what was wrong, in words, quoting the offending text
	Err    error  // the underlying error, if any (from encoding/json, strconv, ...)
}

// Error reads "format: field at byte n: reason".
func (e *ParseError) Error() string {
	s := e.Format + ": " + e.Field
	if e.Pos >= 0 {
		s += " at byte " + strconv.Itoa(e.Pos)
	}
	return s + ": " + e.Reason
}

// Unwrap returns the underlying error, if any.
func (e *ParseError) Unwrap() error { return e.Err }

// quote quotes a piece of a bad line for an error, cut to a readable
// length at a rune boundary.
func quote(s string) string {
	const max = 40
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}
