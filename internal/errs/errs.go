// Package errs words Braid's errors: each says "braid:" once, at its
// start, however many layers wrap it.
package errs

import (
	"fmt"
	"strings"
)

// Prefix starts every error message of Braid.
const Prefix = "braid: "

// Wrapf returns an error that says format (which starts with Prefix),
// then ": ", then err's message without its own Prefix. It unwraps to err,
// for errors.Is and errors.As.
func Wrapf(err error, format string, args ...any) error {
	return &wrapped{msg: fmt.Sprintf(format, args...), err: err}
}

// Trim is err's message without a leading Prefix, to follow a message
// that has its own.
func Trim(err error) string { return strings.TrimPrefix(err.Error(), Prefix) }

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg + ": " + Trim(w.err) }
func (w *wrapped) Unwrap() error { return w.err }
