package arrow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	barrow "github.com/braidstream/braid/connectors/arrow"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Requests per host in 10-second event-time windows, written as Parquet
// and read back with arrow-go's Parquet reader.
func ExampleParquet() {
	type request struct {
		Host string
		At   time.Time
	}
	dir, _ := os.MkdirTemp("", "braid-parquet")
	defer os.RemoveAll(dir)

	env := stream.NewEnv(stream.WithParallelism(1))
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	reqs := stream.FromSlice(env, []request{
		{"a", t0}, {"b", t0.Add(2 * time.Second)}, {"a", t0.Add(4 * time.Second)}, {"a", t0.Add(12 * time.Second)},
	}).WithTimestamps(func(r request) time.Time { return r.At }, stream.MonotonousTimestamps())
	counts := stream.Count(stream.KeyBy(reqs, func(r request) string { return r.Host }).Window(window.Tumbling(10 * time.Second)))
	// window.Result[string, int64]: the columns Key, Window.Start, Window.End, Value.
	barrow.Parquet(counts, dir, barrow.Compression(barrow.Zstd))
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}

	names, _ := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	for _, name := range names {
		f, _ := os.Open(name)
		pf, err := file.NewParquetReader(f)
		if err != nil {
			fmt.Println(err)
			return
		}
		tbl, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			fmt.Println(err)
			return
		}
		rr, err := tbl.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		for rr.Next() {
			rec := rr.RecordBatch()
			key, start, count := rec.Column(0).(*array.String), rec.Column(1).(*array.Int64), rec.Column(3).(*array.Int64)
			for i := range int(rec.NumRows()) {
				fmt.Println(rec.Schema().Field(0).Name, key.Value(i), time.Unix(0, start.Value(i)).UTC().Format(time.TimeOnly), count.Value(i))
			}
		}
		rr.Release()
		pf.Close()
	}
	// Output:
	// Key a 12:00:00 2
	// Key b 12:00:00 1
	// Key a 12:00:10 1
}
