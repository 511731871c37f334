package arrow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	barrow "github.com/braidstream/braid/connectors/arrow"
	"github.com/braidstream/braid/internal/testseed"
)

// appendAny appends v, a value as want gives it (nil for null), to b: the
// deliberately dumb twin of the sink's precomputed appenders, one type
// switch per value.
func appendAny(b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(v.(int8))
	case *array.Int16Builder:
		b.Append(v.(int16))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Uint8Builder:
		b.Append(v.(uint8))
	case *array.Uint16Builder:
		b.Append(v.(uint16))
	case *array.Uint32Builder:
		b.Append(v.(uint32))
	case *array.Uint64Builder:
		b.Append(v.(uint64))
	case *array.Float32Builder:
		b.Append(v.(float32))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.(time.Time).UnixNano()))
	case *array.DurationBuilder:
		b.Append(arrow.Duration(v.(time.Duration)))
	case *array.ListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			appendAny(b.ValueBuilder(), e)
		}
	default:
		panic(fmt.Sprintf("no twin for %T", b))
	}
}

// The precomputed appenders fill the builders exactly as the dumb twin
// does, from the hand-written mapping, for random events in batches of
// random sizes, IPC's schema and Parquet's.
func TestFillMatchesTwin(t *testing.T) {
	seed := testseed.Seed(t)
	for _, parquet := range []bool{false, true} {
		schema, bind, err := barrow.Filler[event](parquet)
		if err != nil {
			t.Fatal(err)
		}
		fast := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		twin := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		fill := bind(fast)
		next := int64(0)
		for batch := range 40 {
			evs := make([]event, (batch*37)%150)
			for k := range evs {
				evs[k] = gen(seed, next)
				next++
			}
			if err := fill(evs); err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				w := want(e, parquet)
				for i, f := range schema.Fields() {
					appendAny(twin.Field(i), w[f.Name])
				}
			}
			a, b := fast.NewRecordBatch(), twin.NewRecordBatch()
			if !array.RecordEqual(a, b) {
				for i := range int(a.NumCols()) {
					if !array.Equal(a.Column(i), b.Column(i)) {
						t.Fatalf("parquet=%v, batch %d, column %s:\n%v\ntwin:\n%v", parquet, batch, schema.Field(i).Name, a.Column(i), b.Column(i))
					}
				}
				t.Fatalf("parquet=%v, batch %d: records differ", parquet, batch)
			}
			a.Release()
			b.Release()
		}
		fast.Release()
		twin.Release()
	}
}

// Appending a batch allocates per column (its buffers), never per row:
// a batch of 4096 rows costs no more allocations than one of 64.
func TestFillAllocatesPerBatchNotPerRow(t *testing.T) {
	schema, bind, err := barrow.Filler[access](false)
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	fill := bind(rb)
	allocs := func(n int) float64 {
		in := accesses(n)
		return testing.AllocsPerRun(20, func() {
			if err := fill(in); err != nil {
				t.Fatal(err)
			}
			rb.NewRecordBatch().Release()
		})
	}
	small, large := allocs(64), allocs(4096)
	t.Logf("allocations per batch: %v for 64 rows, %v for 4096", small, large)
	// Slack for what other goroutines of the process allocate meanwhile;
	// an allocation per row would add thousands.
	if large > small+100 {
		t.Fatalf("%v allocations for 4096 rows, %v for 64: allocations grow with the rows", large, small)
	}
}
