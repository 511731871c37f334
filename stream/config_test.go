package stream_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Settings beyond the documented limits are build errors in plain
// sentences, never an out-of-memory crash before the first record.
func TestConfigurationLimits(t *testing.T) {
	for _, c := range []struct {
		opt  stream.Option
		want string
	}{
		{stream.WithParallelism(5000), "parallelism must lie in [1, 256], got 5000"},
		{stream.WithBatchSize(1 << 30), "batch size must lie in [1, 1048576], got 1073741824"},
		{stream.WithMaxParallelism(1 << 20), "max parallelism must lie in [1, 32768]"},
		{stream.WithWatermarkInterval(time.Nanosecond), "watermark interval must be at least 1ms (or 0 for the default), got 1ns"},
		{stream.WithWatermarkInterval(-time.Second), "watermark interval must be at least 1ms (or 0 for the default), got -1s"},
	} {
		env := stream.NewEnv(c.opt, stream.WithMaxParallelism(32768))
		if strings.Contains(c.want, "max parallelism") {
			env = stream.NewEnv(c.opt)
		}
		stream.FromSlice(env, []int{1}).ForEach(func(int) error { return nil })
		if err := env.Execute(context.Background()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Execute = %v, want %q", err, c.want)
		}
	}
}

// At the limits that are allowed, memory follows the records, not
// parallelism squared times the batch size: links' batches grow as they
// fill. (Before, 500 subtasks with a keyed exchange asked for
// 500*500*4 batches of 4,096 records up front, about 65 GB; at 1024
// subtasks the links alone took 550 MB and seconds to set up, hence the
// limit of 256.)
func TestHighParallelismAndBigBatchesStartSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 65,536 links; run without -short")
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	env := stream.NewEnv(stream.WithParallelism(stream.ParallelismLimit), stream.WithMaxParallelism(4096))
	src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(20_000))
	counts := stream.Collect(stream.Count(stream.KeyBy(src, func(v int64) int64 { return v % 1000 }).
		Window(window.TumblingCount(20))))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(counts.Items()); n != 1000 {
		t.Fatalf("%d count windows, want 1000", n)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
		t.Fatalf("the job allocated %d MB", alloc>>20)
	}

	env = stream.NewEnv(stream.WithBatchSize(stream.BatchSizeLimit))
	c := stream.Collect(stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(10)).Rebalance())
	if err := env.Execute(context.Background()); err != nil || len(c.Items()) != 10 {
		t.Fatalf("batch size %d: %v, %d elements", stream.BatchSizeLimit, err, len(c.Items()))
	}
}
