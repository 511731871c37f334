// Package operators is Braid's runtime: it turns a job's logical graph
// (Nodes and Edges, built by package stream) into tasks and runs them.
//
// The pieces, from the bottom:
//
//  1. Operators are synchronous: an Input[T] takes batches (Push),
//     watermarks, idleness and the end of input, in stream order, and
//     writes to the Input of what follows. Map, Filter, FlatMap, MapErr,
//     Timestamps, Sink, and the window operators TimeWindow, SessionWindow
//     and CountWindow are all of this kind, so a test drives one by calling
//     its methods.
//  2. A task is one goroutine: a thin loop that receives messages from its
//     gate (or reads its source), hands them to the first operator of its
//     chain, and fires processing-time timers from one coalesced clock
//     timer. Operators joined by forward edges at equal parallelism are
//     chained into one task and call each other directly.
//  3. Between tasks, an exchange fills one batch per receiving subtask
//     (by key group for keyed edges) and sends it when full, at a watermark,
//     at the end, when the task's input runs dry, or when the buffer timeout
//     passes. Each link between two subtasks has a fixed number of batches
//     (credits) that the receiver hands back after use, so a slow operator
//     slows its producers and memory stays bounded; batches grow as they
//     first fill and are then reused, not allocated. A slow operator takes
//     a batch in runs (internal/pace), and between runs its task looks at
//     cancellation and the buffer timeout.
//  4. Watermarks, idleness and end-of-input travel in-band with the data,
//     to side outputs too (withSides). A gate keeps each sender's watermark
//     and passes on the least of the active ones, never going back.
//     Checkpoint barriers will travel the same way.
//  4. Watermarks, idleness and end-of-input travel in-band with the data.
//     A gate keeps each sender's watermark and passes on the least of the
//     active ones, never going back. Checkpoint barriers will travel the
//     same way.
//  5. Job.Run starts every task under one context: the first failure
//     cancels the rest with its cause, Run returns after all have stopped,
//     and a panic in user code becomes an *OperatorError naming the
//     operator and subtask (errors.Is(err, ErrPanic)).
//
// Types are erased only where the runtime holds operators of different
// element types (a node, a channel message); each batch's type is asserted
// once, and records are never boxed.
package operators
