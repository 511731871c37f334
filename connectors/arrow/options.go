package arrow

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// An Option tunes an IPC or Parquet sink.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	rollBytes int64
	rollEvery time.Duration
	batchRows int
	codec     Codec
	codecSet  bool
	dict      bool
	schema    *arrow.Schema
	fill      any // func(*array.RecordBuilder, []T) error
	now       func() time.Time
	errs      []error
}

// RollSize starts a new file once the current one holds at least n bytes.
// Files roll between record batches (row groups in Parquet), so a file
// exceeds n by less than one batch (see BatchRows) and its footer. Zero,
// the default, rolls by size never.
func RollSize(n int64) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.errs = append(c.errs, fmt.Errorf("RollSize %d is negative", n))
		}
		c.rollBytes = n
	})
}

// RollEvery starts a new file once the current one has been open for d,
// counted from its first row; the age is looked at when elements arrive,
// so a file that gets no more rows stays open until the next checkpoint
// or the end of input. Zero, the default, rolls by time never.
func RollEvery(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("RollEvery %v is negative", d))
		}
		c.rollEvery = d
	})
}

// BatchRows is the number of rows the sink gathers before it writes them
// as one record batch (IPC) or one row group (Parquet). Rows wait in
// memory, in Arrow builders, until then, or until the file is finished.
// Default 65536.
func BatchRows(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("BatchRows %d is not positive", n))
		}
		c.batchRows = n
	})
}

// A Codec compresses the data of the files.
type Codec int

const (
	// Uncompressed: IPC's default.
	Uncompressed Codec = iota
	// Snappy: Parquet's default here; not for IPC.
	Snappy
	// Zstd: IPC and Parquet.
	Zstd
	// LZ4: IPC (LZ4 frames) and Parquet (LZ4_RAW).
	LZ4
	// Gzip: Parquet only.
	Gzip
)

// String is the codec's name, as error messages give it.
func (c Codec) String() string {
	switch c {
	case Uncompressed:
		return "uncompressed"
	case Snappy:
		return "snappy"
	case Zstd:
		return "zstd"
	case LZ4:
		return "lz4"
	case Gzip:
		return "gzip"
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// Compression compresses the files' data with c. IPC takes Uncompressed
// (its default), Zstd or LZ4; Parquet any Codec, Snappy by default.
func Compression(c Codec) Option {
	return optionFunc(func(cfg *config) { cfg.codec, cfg.codecSet = c, true })
}

// Dictionary turns Parquet's dictionary encoding on (true) or off, for
// every column. Off by default: arrow-go v18.8.0's dictionary encoder
// allocates for every string it looks up, and on an access-log-shaped
// event (BenchmarkSinks) turning it off made the sink 2.7 times as fast
// and the Snappy-compressed files no larger. Turn it on for columns of
// few distinct long values, or for readers that filter on dictionaries.
// IPC ignores it.
func Dictionary(on bool) Option { return optionFunc(func(c *config) { c.dict = on }) }

// WithSchema writes the columns of schema instead of those derived from
// T, filled by fill: it appends the batch vals, one row per element, to
// the builders of b (b.Field(i) is the builder of column i, of its
// type), and must append exactly len(vals) values to every one. An error
// from fill fails the job. T must be the element type of the stream the
// sink writes, or building the job fails.
//
// The fill function is called per batch of up to BatchRows elements; it
// should not reflect per element.
func WithSchema[T any](schema *arrow.Schema, fill func(b *array.RecordBuilder, vals []T) error) Option {
	return optionFunc(func(c *config) {
		if schema == nil || fill == nil {
			c.errs = append(c.errs, errors.New("WithSchema needs a schema and a fill function"))
		}
		c.schema, c.fill = schema, fill
	})
}
