package stream_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
)

// A generator function fast for its first elements and then slow (as one
// that starts to wait for its own pace) does not hold the job for a whole
// batch of slow calls: a cancelled job ends within a few hundred of them,
// not the 4096 of a batch (8 s here).
func TestGenerateFastThenSlowStopsSoon(t *testing.T) {
	const fast, slow = 50_000, 2 * time.Millisecond
	var calls atomic.Int64
	env := stream.NewEnv(stream.WithLogger(quiet()), stream.WithBatchSize(4096))
	stream.Generate(env, func(i int64) int64 {
		if calls.Add(1) > fast {
			time.Sleep(slow)
		}
		return i
	}).ForEach(func(int64) error { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx) }()
	for calls.Load() < fast+50 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	at := calls.Load()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Execute: %v, want context.Canceled", err)
		}
		if extra := calls.Load() - at; extra > 1000 {
			t.Fatalf("%d calls of the slow function after the cancel", extra)
		}
	case <-time.After(4 * time.Second):
		t.Fatalf("not stopped 4 s after the cancel (%d calls since)", calls.Load()-at)
	}
}
