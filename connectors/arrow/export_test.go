package arrow

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/braidstream/braid/stream"
)

// OpenSink opens, for tests that drive the two-phase protocol by hand,
// the sink Parquet (parquet) or IPC would open for a subtask, with now
// as its clock.
func OpenSink[T any](sc stream.SinkContext, dir string, parquet bool, now func() time.Time, opts ...Option) (stream.TwoPhaseSink[T], error) {
	f := ipcFormat
	if parquet {
		f = parquetFormat
	}
	c := newConfig(f, opts)
	c.now = now
	schema, bind, err := prepare[T](f, c)
	if err != nil {
		return nil, err
	}
	return open(sc, dir, f, c, schema, bind)
}

// Filler returns the schema the sink derives for T and a function that
// makes, for a record builder of that schema, the sink's fill function.
func Filler[T any](parquet bool) (*arrow.Schema, func(*array.RecordBuilder) func([]T) error, error) {
	f := ipcFormat
	if parquet {
		f = parquetFormat
	}
	return prepare[T](f, newConfig(f, nil))
}
