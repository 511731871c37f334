package benchmarks

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
)

// BenchmarkIntervalJoinKeys: the interval join's cost as the number of
// keys and the watermark frequency grow. Each side has about 2 elements
// per key a second (keys in turn), b joins a within ±100ms, and each key
// is on the right 50ms after it is on the left: one partner each. A key's
// buffers fill and empty again every half second; a watermark follows
// every source batch. events/s counts the elements of both inputs.
func BenchmarkIntervalJoinKeys(b *testing.B) {
	const n = 2_000_000 // per side
	for _, c := range []struct{ keys, batch int }{{1_000, 4096}, {100_000, 4096}, {100_000, 256}} {
		b.Run(fmt.Sprintf("keys=%d/batch=%d", c.keys, c.batch), func(b *testing.B) {
			b.ReportAllocs()
			keys := int64(c.keys)
			step := int64(time.Second) / (2 * keys)
			for b.Loop() {
				env := stream.NewEnv(stream.WithBatchSize(c.batch))
				side := func(lag int64) *stream.KeyedStream[int64, Event] {
					gen := func(i int64) Event { return Event{Key: (i + keys - lag) % keys, Ts: i * step, Price: i} }
					s := stream.Generate(env, gen, stream.Limit(n)).WithTimestampsUnixNano(ts, stream.MonotonousTimestamps())
					return stream.KeyBy(s, func(e Event) int64 { return e.Key })
				}
				var pairs atomic.Int64
				joined, _, _ := stream.IntervalJoin(side(0), side(keys/10), -100*time.Millisecond, 100*time.Millisecond,
					func(a, b Event) int64 { return a.Price + b.Price })
				joined.ForEach(func(int64) error { pairs.Add(1); return nil })
				if err := env.Execute(context.Background()); err != nil {
					b.Fatal(err)
				}
				if pairs.Load() == 0 {
					b.Fatal("no pairs: the benchmark measures nothing")
				}
			}
			b.ReportMetric(float64(2*n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
