package stream

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/braidstream/braid/operators"
)

func (s *Stream[T]) addSink(name string, build func(bc *operators.BuildContext) *operators.Sink[T]) {
	n := operators.NewOpNode[struct{}](name, func(bc *operators.BuildContext, out any) ([]any, error) {
		return []any{build(bc)}, nil
	})
	n.Inputs = []operators.Edge{edge(s.node)}
	s.env.add(n)
}

// ForEach calls f for every element, in the subtask that produced it (so
// f runs concurrently at parallelism > 1). An error from f fails the job.
func (s *Stream[T]) ForEach(f func(T) error) {
	s.addSink("foreach", func(*operators.BuildContext) *operators.Sink[T] {
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
func (s *Stream[T]) ToChannel(ch chan<- T) {
	s.addSink("channel", func(bc *operators.BuildContext) *operators.Sink[T] {
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
// Subtasks share w under a lock, a batch at a time.
func (s *Stream[T]) WriteTo(w io.Writer, format func(T) string) {
	var mu sync.Mutex
	s.addSink("write", func(bc *operators.BuildContext) *operators.Sink[T] {
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
func (s *Stream[T]) Print() {
	s.WriteTo(os.Stdout, func(v T) string { return fmt.Sprint(v) })
}

// A Collector holds a stream's elements for reading after Execute.
type Collector[T any] struct {
	mu    sync.Mutex
	parts [][]T
}

// Collect gathers the stream's elements in memory: for tests and small
// jobs. Read them with Items once Execute has returned.
func Collect[T any](s *Stream[T]) *Collector[T] {
	c := &Collector[T]{}
	s.addSink("collect", func(bc *operators.BuildContext) *operators.Sink[T] {
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
