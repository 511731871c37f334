package stream_test

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// goroutineID is the id runtime.Stack prints for the calling goroutine.
func goroutineID() string {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	return string(b[:bytes.IndexByte(b, ' ')])
}

// A KeyBy between two operators of parallelism 1 routes nothing: the keyed
// window runs in the goroutine of the Map before it, unless the window
// starts a new chain or the job chains nothing. Every layout counts the
// same.
func TestKeyByAtParallelismOneChains(t *testing.T) {
	for _, c := range []struct {
		name     string
		opts     []stream.Option
		newChain bool
		par      int
		sameG    bool
	}{
		{"p=1", nil, false, 1, true},
		{"p=1, StartNewChain", nil, true, 1, false},
		{"p=1, WithoutChaining", []stream.Option{stream.WithoutChaining()}, false, 1, false},
		{"p=2", nil, false, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := stream.NewEnv(append(c.opts, stream.WithParallelism(c.par), stream.WithBatchSize(7))...)
			var mu sync.Mutex
			mapG, sinkG := map[string]bool{}, map[string]bool{}
			src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(10_000)).
				WithTimestampsUnixNano(func(i int64) int64 { return i * int64(time.Millisecond) }, stream.MonotonousTimestamps())
			mapped := stream.Map(src, func(i int64) int64 {
				mu.Lock()
				mapG[goroutineID()] = true
				mu.Unlock()
				return i
			})
			counts := stream.Count(stream.KeyBy(mapped, func(i int64) int64 { return i % 10 }).Window(window.Tumbling(time.Second)))
			if c.newChain {
				counts = counts.StartNewChain()
			}
			var total int64
			counts.ForEach(func(r window.Result[int64, int64]) error {
				mu.Lock()
				defer mu.Unlock()
				sinkG[goroutineID()] = true
				total += r.Value
				return nil
			})
			if err := env.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			if total != 10_000 {
				t.Errorf("counted %d elements, want 10000", total)
			}
			same := len(mapG) == 1 && len(sinkG) == 1
			for g := range mapG {
				same = same && sinkG[g]
			}
			if same != c.sameG {
				t.Errorf("map ran in goroutines %v, the window's sink in %v: same %v, want %v", mapG, sinkG, same, c.sameG)
			}
		})
	}
}
