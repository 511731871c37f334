package stream_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// slow is a user function of 50 ms an element: a batch of 4,096 of them
// takes over three minutes.
func slow[T any](v T) T { time.Sleep(50 * time.Millisecond); return v }

// Cancelling a job whose user code is slow takes effect within about one
// element's time, wherever the slow code is: a source's function, an
// iterator, a map, a sink. (The bound below is generous for a busy
// machine; without pacing each case takes minutes.)
func TestCancelWithSlowUserCode(t *testing.T) {
	const bound = 5 * time.Second
	jobs := map[string]func(env *stream.Env){
		"generate": func(env *stream.Env) {
			stream.Generate(env, slow[int64]).ForEach(func(int64) error { return nil })
		},
		"seq": func(env *stream.Env) {
			seq := func(yield func(int) bool) {
				for i := 0; ; i++ {
					if !yield(slow(i)) {
						return
					}
				}
			}
			stream.FromSeq(env, iter.Seq[int](seq)).ForEach(func(int) error { return nil })
		},
		"map": func(env *stream.Env) {
			stream.Map(stream.FromSlice(env, make([]int, 10_000)), slow[int]).ForEach(func(int) error { return nil })
		},
		"foreach": func(env *stream.Env) {
			stream.FromSlice(env, make([]int, 10_000)).ForEach(func(v int) error { slow(v); return nil })
		},
		// Cheap on a key's first element, slow on its second: the cost of
		// the first must not size the next run.
		"reduce": func(env *stream.Env) {
			ks := stream.KeyBy(stream.Generate(env, func(i int64) int64 { return i }), func(v int64) int64 { return v % 4 })
			stream.Reduce(ks.Window(window.TumblingCount(2)), func(a, b int64) int64 { return slow(a) }).
				ForEach(func(window.Result[int64, int64]) error { return nil })
		},
		"foreach after exchange": func(env *stream.Env) {
			stream.FromSlice(env, make([]int, 10_000)).Rebalance().ForEach(func(v int) error { slow(v); return nil })
		},
	}
	for name, build := range jobs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := stream.NewEnv()
			build(env)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- env.Execute(ctx) }()
			time.Sleep(300 * time.Millisecond)
			cancel()
			start := time.Now()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Execute = %v, want context.Canceled", err)
				}
				took := time.Since(start)
				t.Logf("stopped %v after the cancel", took.Round(time.Millisecond))
				if name == "reduce" && took > time.Second {
					// 20 slow elements: the pacer sized a run by cheap ones.
					t.Fatalf("Execute took %v after the cancel", took)
				}
			case <-time.After(bound):
				t.Fatalf("Execute still running %v after the cancel", bound)
			}
		})
	}
}

// A slow source's elements leave within the buffer timeout, not when a
// whole batch is full.
func TestSlowSourceFlushes(t *testing.T) {
	env := stream.NewEnv()
	out := make(chan int64, 1)
	stream.Generate(env, func(i int64) int64 { time.Sleep(20 * time.Millisecond); return i }).Rebalance().ToChannel(out)
	firstThenCancel(t, env, out, 5*time.Second, "the source filled a whole batch (80 s) before sending")
}

// firstThenCancel runs env until its first element, 0, comes out of out
// (failing with why when it takes longer than wait), then cancels it.
func firstThenCancel(t *testing.T, env *stream.Env, out <-chan int64, wait time.Duration, why string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(ctx) }()
	select {
	case v := <-out:
		if v != 0 {
			t.Fatalf("first element %d", v)
		}
	case <-time.After(wait):
		cancel()
		<-errc
		t.Fatalf("no element after %v: %s", wait, why)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute = %v", err)
	}
}

// Rates too slow for a time.Duration are refused, not turned into no pacing.
func TestGenerateRateTooSlow(t *testing.T) {
	env := stream.NewEnv()
	stream.Generate(env, func(i int64) int64 { return i }, stream.Rate(1e-12)).ForEach(func(int64) error { return nil })
	if err := env.Execute(context.Background()); err == nil || !strings.Contains(err.Error(), "rate") {
		t.Fatalf("Execute = %v, want an error about the rate", err)
	}
}
