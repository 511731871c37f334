// Package arrow writes a stream into columnar files, Arrow IPC (the file
// format, with its footer) or Parquet, exactly once with checkpoints.
//
// Use:
//
//  1. Write a stream of your own structs, or of window results, with
//     IPC(s, dir, opts...) or Parquet(s, dir, opts...). The columns are
//     derived from the element type by reflection, once, when the job is
//     built (see SchemaOf for the mapping); a type with a field that has
//     no column type fails the build, naming the field. Or give the
//     schema and a function that fills its builders (WithSchema).
//  2. Choose when files roll: RollSize (bytes), RollEvery (age), and how
//     many rows make a record batch or row group (BatchRows).
//  3. Read the files with any Arrow or Parquet reader: arrow-go's
//     ipc.NewFileReader and pqarrow, pyarrow, DuckDB, Spark.
//
// Each sink subtask gathers rows in Arrow builders and writes them as a
// record batch (a Parquet row group) of BatchRows rows into its current
// file. A file is finished (its footer written, synced) when it rolls,
// at every checkpoint, and at the end of input: an IPC or Parquet file
// cannot be read before its footer is written, so a checkpoint closes
// the current file and files roll at least at every checkpoint. Choose
// the checkpoint interval with the files' size in mind.
//
// Layout in dir, for Parquet (IPC files end in .arrow):
//
//	part-0000-00000000000000000007-000000.parquet   subtask 0's first file of checkpoint 7
//	part-0000-00000000000000000007-000001.parquet   the next, rolled by size or time
//	part-0000-09223372036854775807-000000.parquet   after the last checkpoint (the end of input)
//	.staging/                                       files being written or waiting for their checkpoint
//
// Published files never change, and their names sort in the order of
// their rows per subtask. With checkpoints, the files finished since the
// previous checkpoint are staged (synced, under their final names, in
// .staging) when a checkpoint's barrier reaches the sink and published by
// atomic renames when that checkpoint completes; after a crash, the
// restored job publishes what the checkpoint it resumes from had staged
// and deletes the rest of what its subtasks left in .staging. A subtask
// that cannot finish or stage a file fails the checkpoint and then the
// job, which restarts from its last complete checkpoint. Without
// checkpoints, each file is published as soon as it is finished (when it
// rolls, and at the end of input); a job that fails leaves those
// published and discards the file it was writing.
//
// One sink per format writes into a directory, and a job that starts
// afresh (no checkpoint to resume from) should be given an empty one:
// its files take the names an earlier run published (checkpoint ids
// start again at 1) and would replace them. All file operations go
// through the job's checkpoint filesystem (stream.CheckpointFS), the real
// disk by default.
//
// Cost: per batch of elements, one call per column, which appends the
// batch with accessors computed once from the type's field offsets (no
// reflection and no allocation per element; strings and byte slices are
// copied once into the builders). Memory: up to BatchRows rows per
// subtask in builders, plus what the Parquet writer holds of a row group
// while it encodes it.
package arrow

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/staging"
	"github.com/braidstream/braid/stream"
)

// IPC writes s into Arrow IPC files (the random-access file format) in
// dir, as the package documentation describes. The sink runs at the
// stream's parallelism by default.
func IPC[T any](s *stream.Stream[T], dir string, opts ...Option) *stream.Sink {
	return build(s, dir, ipcFormat, opts)
}

// Parquet writes s into Parquet files in dir, as the package
// documentation describes, Snappy-compressed unless Compression says
// otherwise. The sink runs at the stream's parallelism by default.
func Parquet[T any](s *stream.Stream[T], dir string, opts ...Option) *stream.Sink {
	return build(s, dir, parquetFormat, opts)
}

// A format is how one kind of file is written.
type format struct {
	name   string // of the sink
	ext    string
	parq   bool
	codecs map[Codec]bool
	dflt   Codec
	// open starts a file on w.
	open func(w io.Writer, schema *arrow.Schema, c *config) (encoder, error)
}

// An encoder writes record batches into one file; Close writes its
// footer.
type encoder interface {
	Write(rec arrow.RecordBatch) error
	Close() error
}

var ipcFormat = &format{
	name: "arrow IPC sink", ext: ".arrow",
	codecs: map[Codec]bool{Uncompressed: true, Zstd: true, LZ4: true}, dflt: Uncompressed,
	open: func(w io.Writer, schema *arrow.Schema, c *config) (encoder, error) {
		opts := []ipc.Option{ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator)}
		switch c.codec {
		case Zstd:
			opts = append(opts, ipc.WithZstd())
		case LZ4:
			opts = append(opts, ipc.WithLZ4())
		}
		return ipc.NewFileWriter(w, opts...)
	},
}

var parquetCodecs = map[Codec]compress.Compression{
	Uncompressed: compress.Codecs.Uncompressed,
	Snappy:       compress.Codecs.Snappy,
	Zstd:         compress.Codecs.Zstd,
	LZ4:          compress.Codecs.Lz4Raw,
	Gzip:         compress.Codecs.Gzip,
}

var parquetFormat = &format{
	name: "parquet sink", ext: ".parquet", parq: true,
	codecs: map[Codec]bool{Uncompressed: true, Snappy: true, Zstd: true, LZ4: true, Gzip: true}, dflt: Snappy,
	open: func(w io.Writer, schema *arrow.Schema, c *config) (encoder, error) {
		props := parquet.NewWriterProperties(
			parquet.WithCompression(parquetCodecs[c.codec]),
			parquet.WithAllocator(memory.DefaultAllocator),
			parquet.WithMaxRowGroupLength(int64(c.batchRows)),
			parquet.WithDictionaryDefault(c.dict))
		// The Arrow schema goes into the file's metadata so that Arrow
		// readers get back the types written (uint64, a timestamp's zone).
		return pqarrow.NewFileWriter(schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	},
}

func build[T any](s *stream.Stream[T], dir string, f *format, opts []Option) *stream.Sink {
	c := newConfig(f, opts)
	schema, bind, err := prepare[T](f, c)
	return s.SinkTo(f.name, func(sc stream.SinkContext) (stream.TwoPhaseSink[T], error) {
		if err != nil {
			return nil, err
		}
		return open(sc, dir, f, c, schema, bind)
	})
}

func newConfig(f *format, opts []Option) *config {
	c := &config{batchRows: 1 << 16, codec: f.dflt, now: time.Now}
	for _, o := range opts {
		o.apply(c)
	}
	return c
}

// prepare checks the options and derives or takes the schema, once for
// every subtask; bind makes a subtask's fill function.
func prepare[T any](f *format, c *config) (*arrow.Schema, func(*array.RecordBuilder) func([]T) error, error) {
	errs := c.errs
	if !f.codecs[c.codec] {
		errs = append(errs, fmt.Errorf("%s compression is not available for %s files", c.codec, strings.TrimPrefix(f.ext, ".")))
	}
	var schema *arrow.Schema
	var bind func(*array.RecordBuilder) func([]T) error
	switch {
	case c.fill != nil:
		fill, ok := c.fill.(func(*array.RecordBuilder, []T) error)
		if !ok {
			errs = append(errs, fmt.Errorf("WithSchema's fill function is a %T, and the stream's elements are %v", c.fill, reflect.TypeFor[T]()))
			break
		}
		schema = c.schema
		bind = func(b *array.RecordBuilder) func([]T) error {
			return func(vals []T) error {
				want := b.Field(0).Len() + len(vals)
				if err := fill(b, vals); err != nil {
					return err
				}
				for i, f := range b.Fields() {
					if f.Len() != want {
						return fmt.Errorf("WithSchema's fill function left %d rows in column %q, want %d", f.Len(), b.Schema().Field(i).Name, want)
					}
				}
				return nil
			}
		}
	case c.schema == nil:
		l, err := layoutOf(reflect.TypeFor[T](), f.parq)
		if err != nil {
			errs = append(errs, err)
			break
		}
		schema = l.schema
		bind = func(b *array.RecordBuilder) func([]T) error {
			apps := make([]appender, len(l.cols))
			for i, col := range l.cols {
				apps[i] = col.bind(b.Field(i))
			}
			return func(vals []T) error {
				base := unsafe.Pointer(unsafe.SliceData(vals))
				for _, app := range apps {
					if err := app(base, len(vals), l.size); err != nil {
						return err
					}
				}
				return nil
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("braid: %s: %w", f.name, errors.Join(errs...))
	}
	return schema, bind, nil
}

// openSeq numbers the files this process opens, so that no two share a
// name in .staging.
var openSeq atomic.Int64

// sink is one subtask's TwoPhaseSink. A transaction is the files
// finished since the previous checkpoint; its identifier lists their
// names, one a line.
type sink[T any] struct {
	fs       vfs.FS
	dir      string
	sub, par int
	cp       bool // checkpoints are on
	f        *format
	c        *config
	schema   *arrow.Schema
	rb       *array.RecordBuilder
	fill     func([]T) error
	rows     int // rows in rb, not yet written

	out     *outFile  // the file being written, or nil
	started time.Time // when the current file got its first row (RollEvery only)
	done    []string  // names in .staging of the files the open transaction finished
	seq     int       // number of the transaction's next file
	buf     []byte    // the output buffer, reused from file to file

	// broken is set when rows could not be written or a file finished:
	// those rows are neither staged nor kept, so no later checkpoint may
	// complete without them. Write and PreCommit fail with it from then
	// on, and the job restarts from its last complete checkpoint (or
	// fails).
	broken error
}

type outFile struct {
	f   vfs.File
	w   *fileWriter
	enc encoder
	tmp string // its name in .staging
}

func open[T any](sc stream.SinkContext, dir string, f *format, c *config, schema *arrow.Schema, bind func(*array.RecordBuilder) func([]T) error) (*sink[T], error) {
	if err := staging.MkdirAllDurably(sc.FS, sc.FS.PathJoin(dir, staging.Dir)); err != nil {
		return nil, fmt.Errorf("braid: %s: creating %s: %w", f.name, dir, err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	return &sink[T]{fs: sc.FS, dir: dir, sub: sc.Subtask, par: max(sc.Parallelism, 1), cp: sc.Checkpointing,
		f: f, c: c, schema: schema, rb: rb, fill: bind(rb), buf: make([]byte, 0, 256<<10)}, nil
}

func (s *sink[T]) stagingPath(name string) string { return s.fs.PathJoin(s.dir, staging.Dir, name) }

func (s *sink[T]) partName(id int64, seq int) string {
	return fmt.Sprintf("part-%04d-%020d-%06d%s", s.sub, id, seq, s.f.ext)
}

func (s *sink[T]) fail(err error) error {
	s.broken = fmt.Errorf("braid: %s: subtask %d: %w", s.f.name, s.sub, err)
	return s.broken
}

func (s *sink[T]) Write(vals []T) error {
	if s.broken != nil {
		return s.broken
	}
	if len(vals) == 0 {
		return nil
	}
	var now time.Time
	if s.c.rollEvery > 0 {
		now = s.c.now()
		if !s.started.IsZero() && now.Sub(s.started) >= s.c.rollEvery {
			if err := s.finishFile(); err != nil {
				return s.fail(err)
			}
		}
	}
	for len(vals) > 0 {
		if s.started.IsZero() {
			s.started = now // a new file's first row (zero without RollEvery)
		}
		k := min(len(vals), s.c.batchRows-s.rows)
		if err := s.fill(vals[:k]); err != nil {
			return s.fail(err)
		}
		s.rows += k
		vals = vals[k:]
		if s.rows == s.c.batchRows {
			if err := s.flush(); err != nil {
				return s.fail(err)
			}
		}
	}
	return nil
}

// flush writes the rows in the builders as a record batch into the
// current file, opening one if none is open, and finishes the file if it
// reached its size.
func (s *sink[T]) flush() error {
	if s.rows == 0 {
		return nil
	}
	rec := s.rb.NewRecordBatch()
	defer rec.Release()
	s.rows = 0
	if s.out == nil {
		if err := s.openFile(); err != nil {
			return err
		}
	}
	if err := s.out.enc.Write(rec); err != nil {
		return fmt.Errorf("writing %s: %w", s.out.tmp, err)
	}
	if s.c.rollBytes > 0 && s.out.w.n >= s.c.rollBytes {
		return s.finishFile()
	}
	return nil
}

func (s *sink[T]) openFile() error {
	tmp := fmt.Sprintf("open-%04d-%d-%d%s", s.sub, os.Getpid(), openSeq.Add(1), s.f.ext)
	f, err := s.fs.Create(s.stagingPath(tmp), vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	w := &fileWriter{f: f, buf: s.buf[:0]}
	enc, err := s.f.open(w, s.schema, s.c)
	if err != nil {
		return errors.Join(fmt.Errorf("starting %s: %w", tmp, err), f.Close(), s.fs.Remove(s.stagingPath(tmp)))
	}
	s.out = &outFile{f: f, w: w, enc: enc, tmp: tmp}
	return nil
}

// finishFile writes what the builders hold and the footer, and syncs and
// closes the file. With checkpoints the file waits in .staging for the
// next pre-commit; without, it is published now.
func (s *sink[T]) finishFile() error {
	if err := s.flush(); err != nil {
		return err
	}
	s.started = time.Time{}
	o := s.out
	if o == nil {
		return nil
	}
	s.out = nil
	err := o.enc.Close()
	if err == nil {
		err = o.w.flush()
	}
	if err == nil {
		err = o.f.Sync()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("finishing %s: %w", o.tmp, err)
	}
	if s.cp {
		s.done = append(s.done, o.tmp)
		return nil
	}
	name := s.partName(stream.FinalCheckpoint, s.seq)
	s.seq++
	if err := s.fs.Rename(s.stagingPath(o.tmp), s.fs.PathJoin(s.dir, name)); err != nil {
		return fmt.Errorf("publishing %s: %w", name, err)
	}
	return staging.SyncDir(s.fs, s.dir)
}

// PreCommit finishes the current file and stages, under their final
// names, the files of the open transaction. When that fails, the sink is
// broken: see sink.broken.
func (s *sink[T]) PreCommit(id int64) ([]byte, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	if err := s.finishFile(); err != nil {
		return nil, s.fail(err)
	}
	if len(s.done) == 0 {
		return nil, nil
	}
	names := make([]string, len(s.done))
	for i, tmp := range s.done {
		names[i] = s.partName(id, i)
		if err := s.fs.Rename(s.stagingPath(tmp), s.stagingPath(names[i])); err != nil {
			return nil, s.fail(fmt.Errorf("staging %s: %w", names[i], err))
		}
	}
	s.done = s.done[:0]
	if err := staging.SyncDir(s.fs, s.fs.PathJoin(s.dir, staging.Dir)); err != nil {
		return nil, s.fail(fmt.Errorf("staging the files of checkpoint %d: %w", id, err))
	}
	return []byte(strings.Join(names, "\n")), nil
}

// Commit publishes the staged files of a transaction; a file published
// already is left as it is.
func (s *sink[T]) Commit(txn []byte) error {
	for name := range strings.SplitSeq(string(txn), "\n") {
		if !strings.HasPrefix(name, "part-") || !strings.HasSuffix(name, s.f.ext) || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("braid: %s: %q is not one of its files", s.f.name, name)
		}
		from, to := s.stagingPath(name), s.fs.PathJoin(s.dir, name)
		if err := s.fs.Rename(from, to); err != nil {
			if _, serr := s.fs.Stat(to); serr == nil && staging.Missing(s.fs, from) {
				continue // published before a restart
			}
			return fmt.Errorf("braid: %s: publishing %s: %w", s.f.name, name, err)
		}
	}
	if err := staging.SyncDir(s.fs, s.dir); err != nil {
		return fmt.Errorf("braid: %s: publishing into %s: %w", s.f.name, s.dir, err)
	}
	return nil
}

// Recover publishes what the restored checkpoint staged and deletes the
// rest of what this subtask's predecessors left in .staging: after a
// change of parallelism, subtask k clears the files of old subtasks j
// with j mod parallelism = k.
func (s *sink[T]) Recover(pending [][]byte) error {
	keep := map[string]bool{}
	for _, p := range pending {
		if err := s.Commit(p); err != nil {
			return err
		}
		for name := range strings.SplitSeq(string(p), "\n") {
			keep[name] = true
		}
	}
	names, err := s.fs.List(s.fs.PathJoin(s.dir, staging.Dir))
	if err != nil {
		return fmt.Errorf("braid: %s: %w", s.f.name, err)
	}
	for _, n := range names {
		j, ok := staging.SubtaskOf(n, s.f.ext)
		if !ok || j%s.par != s.sub || keep[n] {
			continue
		}
		if err := s.fs.Remove(s.stagingPath(n)); err != nil && !staging.Missing(s.fs, s.stagingPath(n)) {
			return fmt.Errorf("braid: %s: discarding %s: %w", s.f.name, n, err)
		}
	}
	return nil
}

// Abort discards the open transaction: the rows in the builders, the
// current file and the files finished since the last pre-commit.
func (s *sink[T]) Abort() error {
	// Column by column: after a failed fill the columns may differ in
	// length, which a record batch may not.
	for _, b := range s.rb.Fields() {
		b.NewArray().Release()
	}
	s.rows = 0
	s.started = time.Time{}
	var errs []error
	if o := s.out; o != nil {
		s.out = nil
		errs = append(errs, o.f.Close(), s.fs.Remove(s.stagingPath(o.tmp)))
	}
	for _, tmp := range s.done {
		errs = append(errs, s.fs.Remove(s.stagingPath(tmp)))
	}
	s.done = s.done[:0]
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("braid: %s: discarding: %w", s.f.name, err)
	}
	return nil
}

func (s *sink[T]) Close() error {
	err := s.Abort()
	s.rb.Release()
	return err
}

// fileWriter buffers a file's writes and counts its bytes. It always
// copies: a vfs.File may modify what it is given to write, and the Arrow
// writers hand over their arrays' own memory.
type fileWriter struct {
	f   vfs.File
	buf []byte
	n   int64 // bytes written, buffered ones included
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf, p = w.buf[:len(w.buf)+c], p[c:]
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	w.n += int64(n)
	return n, nil
}

func (w *fileWriter) flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.f.Write(w.buf)
		w.buf = w.buf[:0]
	}
	return w.err
}
