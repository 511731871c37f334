// Command tumblecount runs the keyed tumbling-window count of the benchmark
// harness as a whole process, so that its peak memory can be measured from
// outside (e.g. /usr/bin/time -v):
//
//	go build -o /tmp/tumblecount ./benchmarks/cmd/tumblecount
//	/usr/bin/time -v /tmp/tumblecount -n 100000000 -keys 10000
//	/usr/bin/time -v /tmp/tumblecount -n 100000000 -keys 10000 -handloop
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type event struct {
	Key int64
	Ts  int64
}

func main() {
	n := flag.Int64("n", 100_000_000, "events")
	keys := flag.Int64("keys", 10_000, "distinct keys")
	par := flag.Int("p", 1, "parallelism")
	hand := flag.Bool("handloop", false, "run the hand-written loop instead of Braid")
	flag.Parse()
	gen := func(i int64) event { return event{Key: (i * 7919) % *keys, Ts: i * int64(time.Microsecond)} }
	start := time.Now()
	var results int64
	if *hand {
		counts := make(map[int64]int64)
		cur := int64(-1)
		for i := range *n {
			e := gen(i)
			if w := e.Ts / int64(time.Second); w != cur {
				results += int64(len(counts))
				clear(counts)
				cur = w
			}
			counts[e.Key]++
		}
		results += int64(len(counts))
	} else {
		env := stream.NewEnv(stream.WithParallelism(*par))
		src := stream.Generate(env, gen, stream.Limit(*n)).
			WithTimestampsUnixNano(func(e event) int64 { return e.Ts }, stream.MonotonousTimestamps())
		var emitted atomic.Int64 // at -p 2, ForEach runs in both subtasks at once
		stream.Count(stream.KeyBy(src, func(e event) int64 { return e.Key }).Window(window.Tumbling(time.Second))).
			ForEach(func(window.Result[int64, int64]) error { emitted.Add(1); return nil })
		if err := env.Execute(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		results = emitted.Load()
	}
	d := time.Since(start)
	fmt.Printf("%d events, %d results, %v, %.1f M events/s\n", *n, results, d.Round(time.Millisecond), float64(*n)/d.Seconds()/1e6)
}
