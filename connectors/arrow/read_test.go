package arrow_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The readers of the tests: arrow-go's own, over files opened through
// the job's filesystem; every value decoded from its typed array.

// row is one row read back, by column name.
type row map[string]any

// table is what a file holds.
type table struct {
	schema *arrow.Schema
	rows   []row
}

// partFiles lists the published files in dir with extension ext, in name
// order.
func partFiles(t *testing.T, fs vfs.FS, dir, ext string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "part-") && strings.HasSuffix(n, ext) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// subtaskFiles groups partFiles by subtask (the "part-SSSS-" prefix).
func subtaskFiles(t *testing.T, fs vfs.FS, dir, ext string) map[string][]string {
	out := map[string][]string{}
	for _, n := range partFiles(t, fs, dir, ext) {
		out[n[:len("part-0000")]] = append(out[n[:len("part-0000")]], n)
	}
	return out
}

func openSection(t *testing.T, fs vfs.FS, path string) (*io.SectionReader, func()) {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return io.NewSectionReader(f, 0, st.Size()), func() { f.Close() }
}

// readIPC reads an Arrow IPC file with ipc.FileReader.
func readIPC(t *testing.T, fs vfs.FS, path string) table {
	t.Helper()
	r, done := openSection(t, fs, path)
	defer done()
	fr, err := ipc.NewFileReader(r, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer fr.Close()
	tb := table{schema: fr.Schema()}
	for i := range fr.NumRecords() {
		rec, err := fr.RecordBatch(i)
		if err != nil {
			t.Fatalf("%s, batch %d: %v", path, i, err)
		}
		tb.rows = appendRows(tb.rows, rec)
	}
	return tb
}

// readParquet reads a Parquet file with file.NewParquetReader and
// pqarrow.
func readParquet(t *testing.T, fs vfs.FS, path string) table {
	t.Helper()
	r, done := openSection(t, fs, path)
	defer done()
	pf, err := file.NewParquetReader(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1000}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	tb := table{schema: schema}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		tb.rows = appendRows(tb.rows, rr.RecordBatch())
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		t.Fatalf("%s: %v", path, err)
	}
	return tb
}

func appendRows(rows []row, rec arrow.RecordBatch) []row {
	for i := range int(rec.NumRows()) {
		r := row{}
		for c, col := range rec.Columns() {
			r[rec.Schema().Field(c).Name] = valueAt(col, i)
		}
		rows = append(rows, r)
	}
	return rows
}

// valueAt decodes row i of arr: nil for null; Go values of the array's
// type; a list as []any.
func valueAt(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int8:
		return a.Value(i)
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return a.Value(i)
	case *array.Uint16:
		return a.Value(i)
	case *array.Uint32:
		return a.Value(i)
	case *array.Uint64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return append([]byte{}, a.Value(i)...)
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit)
	case *array.Duration:
		return time.Duration(a.Value(i))
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := []any{}
		for j := start; j < end; j++ {
			out = append(out, valueAt(a.ListValues(), int(j)))
		}
		return out
	}
	panic(fmt.Sprintf("no decoder for %T", arr))
}

// reader is readIPC or readParquet.
type reader func(*testing.T, vfs.FS, string) table

// formats are the two sinks under test.
var formats = []struct {
	name string
	ext  string
	read reader
}{
	{"ipc", ".arrow", readIPC},
	{"parquet", ".parquet", readParquet},
}

// schemaText is "name type[ null]; ..." for the fields of s.
func schemaText(s *arrow.Schema) string {
	var parts []string
	for _, f := range s.Fields() {
		p := f.Name + " " + f.Type.String()
		if f.Nullable {
			p += " null"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
