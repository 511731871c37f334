package stream

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sync"

	"github.com/braidstream/braid/operators"
)

// A Sink is the end of a stream. Name it to tell it apart in metrics,
// errors and logs (the default names are "foreach", "channel", "write",
// "print" and "collect").
type Sink struct{ node *operators.Node }

// Name names the sink.
func (k *Sink) Name(name string) *Sink { k.node.Name = name; return k }

// Uid fixes the id under which checkpoints keep the sink's state (a
// two-phase sink's pending transactions, see SinkTo), as Stream.Uid does
// for an operator. Uids must be unique in a job.
func (k *Sink) Uid(uid string) *Sink { k.node.UID = uid; return k }

// SetParallelism sets the number of the sink's subtasks; by default it has
// the parallelism of the job (its input's, for WriteTo and Print).
func (k *Sink) SetParallelism(n int) *Sink { k.node.Parallelism = n; return k }

func (s *Stream[T]) addSink(name string, build func(bc *operators.BuildContext) *operators.Sink[T]) *Sink {
	n := operators.NewOpNode[struct{}](name, func(bc *operators.BuildContext, out any) ([]any, error) {
		return []any{build(bc)}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	s.env.add(n)
	return &Sink{n}
}

// ForEach calls f for every element, in the subtask that produced it (so
// f runs concurrently at parallelism > 1). An error from f fails the job.
func (s *Stream[T]) ForEach(f func(T) error) *Sink {
	return s.addSink("foreach", func(*operators.BuildContext) *operators.Sink[T] {
		return operators.NewSink(func(b *operators.Batch[T]) error {
			for _, v := range b.Values {
				if err := f(v); err != nil {
					return err
				}
			}
			return nil
		}, nil)
	})
}

// ToChannel sends every element to ch, waiting while ch is full (or until
// the job is cancelled). ch is not closed.
func (s *Stream[T]) ToChannel(ch chan<- T) *Sink {
	return s.addSink("channel", func(bc *operators.BuildContext) *operators.Sink[T] {
		done := bc.Done()
		return operators.NewSink(func(b *operators.Batch[T]) error {
			for _, v := range b.Values {
				select {
				case ch <- v:
				case <-done:
					return nil
				}
			}
			return nil
		}, nil)
	})
}

// WriteTo writes format(element) and a newline to w for every element.
// Every sink of the job that writes to the same w (the same value:
// os.Stdout, one *os.File, one *bytes.Buffer) takes one lock around each
// batch it writes, so their lines never interleave, even from several
// subtasks and several WriteTo or Print calls.
func (s *Stream[T]) WriteTo(w io.Writer, format func(T) string) *Sink {
	mu := s.env.writerLock(w)
	return s.addSink("write", func(bc *operators.BuildContext) *operators.Sink[T] {
		bw := bufio.NewWriter(w)
		prefix := ""
		if bc.Parallelism > 1 {
			prefix = fmt.Sprintf("%d> ", bc.Subtask+1)
		}
		return operators.NewSink(func(b *operators.Batch[T]) error {
			mu.Lock()
			defer mu.Unlock()
			for _, v := range b.Values {
				bw.WriteString(prefix)
				bw.WriteString(format(v))
				bw.WriteByte('\n')
			}
			return bw.Flush()
		}, nil)
	})
}

// Print writes every element to standard output, one per line (with the
// subtask, "2> ", at parallelism > 1), as Flink's print().
func (s *Stream[T]) Print() *Sink {
	return s.WriteTo(os.Stdout, func(v T) string { return fmt.Sprint(v) }).Name("print")
}

// writerLock returns the lock of w, shared by every sink of the job that
// writes to w. A writer whose type cannot be a map key gets a lock of its
// own.
func (e *Env) writerLock(w io.Writer) *sync.Mutex {
	if w == nil || !reflect.TypeOf(w).Comparable() {
		return new(sync.Mutex)
	}
	if e.writers == nil {
		e.writers = make(map[io.Writer]*sync.Mutex)
	}
	mu := e.writers[w]
	if mu == nil {
		mu = new(sync.Mutex)
		e.writers[w] = mu
	}
	return mu
}

// A Collector holds a stream's elements for reading after Execute.
type Collector[T any] struct {
	mu    sync.Mutex
	parts [][]T
	sink  *Sink
}

// Name names the collecting sink.
func (c *Collector[T]) Name(name string) *Collector[T] { c.sink.Name(name); return c }

// Collect gathers the stream's elements in memory: for tests and small
// jobs. Read them with Items once Execute has returned.
func Collect[T any](s *Stream[T]) *Collector[T] {
	c := &Collector[T]{}
	c.sink = s.addSink("collect", func(bc *operators.BuildContext) *operators.Sink[T] {
		c.mu.Lock()
		c.parts = append(c.parts, nil)
		i := len(c.parts) - 1
		c.mu.Unlock()
		var part []T
		return operators.NewSink(func(b *operators.Batch[T]) error {
			part = append(part, b.Values...)
			c.mu.Lock()
			c.parts[i] = part
			c.mu.Unlock()
			return nil
		}, nil)
	})
	return c
}

// Items returns the collected elements: each subtask's in the order it
// received them, subtask after subtask.
func (c *Collector[T]) Items() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Concat(c.parts...)
}
