package operators

import (
	"errors"
	"fmt"

	"github.com/braidstream/braid/internal/errs"
)

// ErrPanic marks the error a job fails with when a user function panics.
// Test for it with errors.Is; errors.AsType[*OperatorError] gives the
// operator.
var ErrPanic = errors.New("braid: user function panicked")

// ErrTimestampRange marks the error of a dead letter whose event timestamp
// lies outside what int64 nanoseconds since 1970 can hold,
// 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z.
var ErrTimestampRange = errors.New("braid: timestamp outside the range of event time")

// ErrNaNKey marks the failure of a job whose KeyBy met a key that is NaN
// or holds one: NaN is not equal to itself, so such a key would match no
// other, and its windows and state would never combine.
var ErrNaNKey = errors.New("braid: key is NaN (NaN != NaN), so it cannot group elements; map it to a value of its own before KeyBy")

// An OperatorError is a failure inside one subtask of one operator: a user
// function's error or panic, or a source's read error. Its message says
// where, e.g. `braid: operator "map parse" subtask 1/4: ...`.
type OperatorError struct {
	Operator    string
	Subtask     int // 0-based
	Parallelism int
	Err         error
	// Stack is the goroutine stack at a panic, nil otherwise.
	Stack []byte
}

// Error says where the failure happened and what it was.
func (e *OperatorError) Error() string {
	return fmt.Sprintf("braid: operator %q subtask %d/%d: %s", e.Operator, e.Subtask+1, e.Parallelism, errs.Trim(e.Err))
}

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *OperatorError) Unwrap() error { return e.Err }

// panicError is the error of a recovered panic.
type panicError struct{ value any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }
func (p panicError) Is(target error) bool {
	return target == ErrPanic
}
