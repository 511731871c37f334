package arrow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	barrow "github.com/braidstream/braid/connectors/arrow"
	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/stream"
)

// access is a 10-field event, an access-log line's shape.
type access struct {
	At      time.Time
	Host    string
	Method  string
	Path    string
	Status  int16
	Bytes   int64
	Latency time.Duration
	Client  netip.Addr
	Cached  bool
	Score   float64
}

func accesses(n int) []access {
	r := rand.New(rand.NewPCG(1, 2))
	paths := []string{"/", "/index.html", "/api/v1/orders", "/static/app.js", "/login"}
	out := make([]access, n)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = access{
			At: t0.Add(time.Duration(i) * time.Millisecond), Host: fmt.Sprintf("web-%d", r.IntN(4)),
			Method: []string{"GET", "GET", "GET", "POST"}[r.IntN(4)], Path: paths[r.IntN(len(paths))],
			Status: []int16{200, 200, 200, 304, 404, 500}[r.IntN(6)], Bytes: r.Int64N(1 << 20),
			Latency: time.Duration(r.Int64N(int64(time.Second))), Client: netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(256)), byte(r.IntN(256))}),
			Cached: r.IntN(3) == 0, Score: r.Float64(),
		}
	}
	return out
}

func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// Rows per second through a job (a slice source, one sink subtask,
// without checkpoints) into Arrow IPC, Parquet, and, as the baseline of
// the same run, JSON lines through filesink; files on the real disk.
func BenchmarkSinks(b *testing.B) {
	const n = 200_000
	in := accesses(n)
	sinks := []struct {
		name string
		add  func(s *stream.Stream[access], dir string)
	}{
		{"jsonl", func(s *stream.Stream[access], dir string) {
			filesink.Lines(s, dir, func(a access) string { j, _ := json.Marshal(a); return string(j) })
		}},
		{"ipc", func(s *stream.Stream[access], dir string) { barrow.IPC(s, dir) }},
		{"ipc-zstd", func(s *stream.Stream[access], dir string) { barrow.IPC(s, dir, barrow.Compression(barrow.Zstd)) }},
		{"parquet-snappy", func(s *stream.Stream[access], dir string) { barrow.Parquet(s, dir) }},
		{"parquet-zstd", func(s *stream.Stream[access], dir string) { barrow.Parquet(s, dir, barrow.Compression(barrow.Zstd)) }},
		{"parquet-snappy-dict", func(s *stream.Stream[access], dir string) { barrow.Parquet(s, dir, barrow.Dictionary(true)) }},
	}
	for _, sk := range sinks {
		b.Run("sink="+sk.name, func(b *testing.B) {
			b.ReportAllocs()
			rows, bytes := 0, int64(0)
			cpu := cpuSeconds()
			for b.Loop() {
				dir := b.TempDir()
				env := stream.NewEnv(stream.WithParallelism(1))
				sk.add(stream.FromSlice(env, in), dir)
				if err := env.Execute(context.Background()); err != nil {
					b.Fatal(err)
				}
				rows += n
				bytes += dirBytes(b, dir)
			}
			reportRows(b, rows, cpu)
			b.ReportMetric(float64(bytes)/float64(rows), "B/row")
		})
	}
}

// Rows per second appended into Arrow builders, batches of 4096: the
// sink's accessors, computed once from field offsets, against reflection
// per element and field.
func BenchmarkFill(b *testing.B) {
	in := accesses(4096)
	schema, bind, err := barrow.Filler[access](false)
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, fill func([]access) error, rb *array.RecordBuilder) {
		b.ReportAllocs()
		rows := 0
		cpu := cpuSeconds()
		for b.Loop() {
			if err := fill(in); err != nil {
				b.Fatal(err)
			}
			rb.NewRecordBatch().Release()
			rows += len(in)
		}
		reportRows(b, rows, cpu)
	}
	b.Run("fill=offsets", func(b *testing.B) {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer rb.Release()
		run(b, bind(rb), rb)
	})
	b.Run("fill=reflect", func(b *testing.B) {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer rb.Release()
		run(b, reflectFill(rb), rb)
	})
}

// reportRows reports rows per second and per CPU second since cpu.
func reportRows(b *testing.B, rows int, cpu float64) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	if used := cpuSeconds() - cpu; used > 0 {
		b.ReportMetric(float64(rows)/used, "rows/cpu-s")
	}
}

// reflectFill is the naive way: reflect.Value per element and field.
func reflectFill(rb *array.RecordBuilder) func([]access) error {
	return func(vals []access) error {
		for i := range vals {
			v := reflect.ValueOf(&vals[i]).Elem()
			for f := range v.NumField() {
				fv := v.Field(f)
				switch b := rb.Field(f).(type) {
				case *array.TimestampBuilder:
					b.Append(arrow.Timestamp(fv.Interface().(time.Time).UnixNano()))
				case *array.DurationBuilder:
					b.Append(arrow.Duration(fv.Int()))
				case *array.StringBuilder:
					if a, ok := fv.Interface().(netip.Addr); ok {
						b.Append(a.String())
					} else {
						b.Append(fv.String())
					}
				case *array.Int16Builder:
					b.Append(int16(fv.Int()))
				case *array.Int64Builder:
					b.Append(fv.Int())
				case *array.BooleanBuilder:
					b.Append(fv.Bool())
				case *array.Float64Builder:
					b.Append(fv.Float())
				}
			}
		}
		return nil
	}
}
