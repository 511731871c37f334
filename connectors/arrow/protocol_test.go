package arrow_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	barrow "github.com/braidstream/braid/connectors/arrow"
	"github.com/braidstream/braid/stream"
)

// These tests drive one sink subtask through the two-phase protocol by
// hand, as the job's task does (operators.TwoPhaseSink's contract), with
// a clock of their own.

type rec struct {
	N int64
	S string
}

func recs(from, to int64) []rec {
	var out []rec
	for i := from; i < to; i++ {
		out = append(out, rec{i, fmt.Sprint("r", i)})
	}
	return out
}

// clock is a settable clock for RollEvery.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openSink(t *testing.T, fs vfs.FS, format string, sc stream.SinkContext, c *clock, opts ...barrow.Option) stream.TwoPhaseSink[rec] {
	t.Helper()
	sc.FS = fs
	if sc.Parallelism == 0 {
		sc.Parallelism = 1
	}
	if c == nil {
		c = &clock{}
	}
	s, err := barrow.OpenSink[rec](sc, "/out", format == "parquet", c.now, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fileNs reads the N column of each published file of dir, in name order.
func fileNs(t *testing.T, fs vfs.FS, ext string, read reader) [][]int64 {
	t.Helper()
	var out [][]int64
	for _, name := range partFiles(t, fs, "/out", ext) {
		var ns []int64
		for _, r := range read(t, fs, "/out/"+name).rows {
			ns = append(ns, r["N"].(int64))
		}
		out = append(out, ns)
	}
	return out
}

func span(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func staged(t *testing.T, fs vfs.FS) []string {
	t.Helper()
	names, err := fs.List("/out/.staging")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// RollEvery rolls a file once it is as old as asked, counted from its
// first row and looked at when rows arrive; without checkpoints each
// rolled file is published at once.
func TestRollEvery(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			fs := vfs.NewMem()
			c := &clock{t: time.Unix(1000, 0)}
			s := openSink(t, fs, f.name, stream.SinkContext{}, c, barrow.RollEvery(time.Second))
			at := func(ms int64, from, to int64) {
				c.t = time.Unix(1000, ms*1e6)
				must(t, s.Write(recs(from, to)))
			}
			at(0, 0, 10)
			at(500, 10, 20)
			if got := fileNs(t, fs, f.ext, f.read); len(got) != 0 {
				t.Fatalf("published before a roll: %v", got)
			}
			at(1100, 20, 30) // the file is 1.1 s old: it rolls before these rows
			if got := fileNs(t, fs, f.ext, f.read); !slices.EqualFunc(got, [][]int64{span(0, 20)}, slices.Equal) {
				t.Fatalf("after the first roll, published %v", got)
			}
			at(1500, 30, 40)
			at(2099, 40, 45) // 0.999 s after the second file's first row: no roll
			at(2100, 45, 50) // 1 s: a roll
			txn, err := s.PreCommit(stream.FinalCheckpoint)
			must(t, err)
			if txn != nil {
				must(t, s.Commit(txn))
			}
			must(t, s.Close())
			want := [][]int64{span(0, 20), span(20, 45), span(45, 50)}
			if got := fileNs(t, fs, f.ext, f.read); !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("files %v, want %v", got, want)
			}
			if st := staged(t, fs); len(st) != 0 {
				t.Fatalf("staging left %v", st)
			}
		})
	}
}

// With checkpoints, nothing is published before Commit; a pre-commit
// stages every file of the transaction, rolled ones too; Abort discards
// the rows since, and the files they filled; Commit twice is harmless.
func TestStageCommitAbort(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			fs := vfs.NewMem()
			s := openSink(t, fs, f.name, stream.SinkContext{Checkpointing: true}, nil, barrow.BatchRows(10), barrow.RollSize(1))
			must(t, s.Write(recs(0, 25))) // RollSize 1: a file per batch of 10; 5 rows wait
			txn, err := s.PreCommit(7)
			must(t, err)
			if got := fileNs(t, fs, f.ext, f.read); len(got) != 0 {
				t.Fatalf("published at pre-commit: %v", got)
			}
			want := []string{"part-0000-00000000000000000007-000000" + f.ext, "part-0000-00000000000000000007-000001" + f.ext, "part-0000-00000000000000000007-000002" + f.ext}
			if st := staged(t, fs); !slices.Equal(st, want) || string(txn) != strings.Join(want, "\n") {
				t.Fatalf("staged %v, transaction %q", st, txn)
			}
			if txn, err := s.PreCommit(8); txn != nil || err != nil {
				t.Fatalf("an empty transaction pre-committed as %q, %v", txn, err)
			}
			must(t, s.Write(recs(25, 47)))
			must(t, s.Abort())
			if st := staged(t, fs); !slices.Equal(st, want) {
				t.Fatalf("after Abort, staging holds %v", st)
			}
			must(t, s.Commit(txn))
			must(t, s.Commit(txn))
			must(t, s.Close())
			wantNs := [][]int64{span(0, 10), span(10, 20), span(20, 25)}
			if got := fileNs(t, fs, f.ext, f.read); !slices.EqualFunc(got, wantNs, slices.Equal) {
				t.Fatalf("published %v, want %v", got, wantNs)
			}
			if st := staged(t, fs); len(st) != 0 {
				t.Fatalf("staging left %v", st)
			}
		})
	}
}

// After a crash, Recover publishes what the restored checkpoint recorded
// and deletes everything else its subtask's predecessors left staged: a
// transaction of a checkpoint that never completed, finished and open
// files of no transaction; after a rescale from 4 subtasks to 2,
// subtask 1 clears old subtask 3's leftovers and subtask 0 leaves them.
func TestRecoverAfterCrash(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			fs := vfs.NewMem()
			var txn1 []byte
			for sub := range 4 {
				s := openSink(t, fs, f.name, stream.SinkContext{Subtask: sub, Parallelism: 4, Checkpointing: true}, nil,
					barrow.BatchRows(10), barrow.RollSize(1))
				base := int64(sub * 1000)
				must(t, s.Write(recs(base, base+15)))
				txn, err := s.PreCommit(1) // checkpoint 1 completes, but only subtask 1's commit is recorded below
				must(t, err)
				if sub == 1 {
					txn1 = txn
				}
				must(t, s.Write(recs(base+15, base+40)))
				_, err = s.PreCommit(2) // checkpoint 2 never completes
				must(t, err)
				must(t, s.Write(recs(base+40, base+65))) // two files finished, not staged; rows in memory: the crash
			}
			// The new run, at parallelism 2: subtask 1 takes old subtasks 1
			// and 3 (j mod 2 = 1); only old 1 had a recorded transaction.
			s1 := openSink(t, fs, f.name, stream.SinkContext{Subtask: 1, Parallelism: 2, Checkpointing: true}, nil)
			must(t, s1.Recover([][]byte{txn1}))
			for _, n := range staged(t, fs) {
				if strings.HasPrefix(n, "part-0001-") || strings.HasPrefix(n, "open-0001-") || strings.HasPrefix(n, "part-0003-") || strings.HasPrefix(n, "open-0003-") {
					t.Fatalf("after subtask 1's recovery, %s is still staged", n)
				}
			}
			if st := staged(t, fs); len(st) == 0 {
				t.Fatal("subtask 1 cleared subtask 0's and 2's files too")
			}
			s0 := openSink(t, fs, f.name, stream.SinkContext{Subtask: 0, Parallelism: 2, Checkpointing: true}, nil)
			must(t, s0.Recover(nil))
			if st := staged(t, fs); len(st) != 0 {
				t.Fatalf("after both recovered, staging holds %v", st)
			}
			want := [][]int64{span(1000, 1010), span(1010, 1015)}
			if got := fileNs(t, fs, f.ext, f.read); !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("published %v, want %v", got, want)
			}
			// A restore of the same checkpoint again: its files are
			// published already, and stay as they are.
			must(t, s1.Recover([][]byte{txn1}))
			if got := fileNs(t, fs, f.ext, f.read); !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("recovered twice: published %v, want %v", got, want)
			}
			must(t, errors.Join(s0.Close(), s1.Close()))
		})
	}
}

// A file that cannot be staged (its sync fails) breaks the sink: the
// pre-commit and every later call fail, so no later checkpoint can
// complete without those rows.
func TestFailedStagingBreaksTheSink(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			var failing atomic.Bool
			fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
				if failing.Load() && op.Kind == errorfs.OpFileSync {
					return errorfs.ErrInjected
				}
				return nil
			}))
			s := openSink(t, fs, f.name, stream.SinkContext{Checkpointing: true}, nil)
			must(t, s.Write(recs(0, 10)))
			failing.Store(true)
			if _, err := s.PreCommit(1); !errors.Is(err, errorfs.ErrInjected) {
				t.Fatalf("pre-commit with a failing sync: %v", err)
			}
			failing.Store(false)
			if err := s.Write(recs(10, 20)); !errors.Is(err, errorfs.ErrInjected) {
				t.Fatalf("write after a failed pre-commit: %v", err)
			}
			if _, err := s.PreCommit(2); !errors.Is(err, errorfs.ErrInjected) {
				t.Fatalf("pre-commit after a failed one: %v", err)
			}
			must(t, s.Close())
		})
	}
}

// A time outside the nanosecond timestamps fails the write, naming the
// field, and breaks the sink.
func TestTimeOutOfRange(t *testing.T) {
	type stamped struct {
		ID int64
		At time.Time
	}
	fs := vfs.NewMem()
	s, err := barrow.OpenSink[stamped](stream.SinkContext{FS: fs, Parallelism: 1, Checkpointing: true}, "/out", false, time.Now)
	must(t, err)
	must(t, s.Write([]stamped{{1, time.Date(2262, 4, 10, 0, 0, 0, 0, time.UTC)}, {2, time.Date(1677, 9, 22, 0, 0, 0, 0, time.UTC)}}))
	err = s.Write([]stamped{{3, time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err == nil || !strings.Contains(err.Error(), "field At") {
		t.Fatalf("a time of 1500: %v", err)
	}
	if _, err := s.PreCommit(1); err == nil {
		t.Fatal("the sink pre-committed after a failed write")
	}
	must(t, s.Close())
}

// A schema given by the user, filled by the user's function, is written
// and read back; a fill function of another element type, or one that
// fills the columns unevenly, is an error.
func TestGivenSchema(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "n_squared", Type: arrow.PrimitiveTypes.Int64},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	fill := func(b *array.RecordBuilder, vals []rec) error {
		sq, label := b.Field(0).(*array.Int64Builder), b.Field(1).(*array.StringBuilder)
		for _, v := range vals {
			sq.Append(v.N * v.N)
			if v.N%3 == 0 {
				label.AppendNull()
			} else {
				label.Append(v.S)
			}
		}
		return nil
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			fs := vfs.NewMem()
			s := openSink(t, fs, f.name, stream.SinkContext{}, nil, barrow.WithSchema(schema, fill), barrow.BatchRows(7))
			must(t, s.Write(recs(0, 20)))
			txn, err := s.PreCommit(stream.FinalCheckpoint)
			must(t, err)
			if txn != nil {
				must(t, s.Commit(txn))
			}
			must(t, s.Close())
			names := partFiles(t, fs, "/out", f.ext)
			if len(names) != 1 {
				t.Fatalf("files %v", names)
			}
			tb := f.read(t, fs, "/out/"+names[0])
			if got, want := schemaText(tb.schema), "n_squared int64; label utf8 null"; got != want {
				t.Fatalf("schema %s, want %s", got, want)
			}
			for i, r := range tb.rows {
				n := int64(i)
				var label any = fmt.Sprint("r", n)
				if n%3 == 0 {
					label = nil
				}
				if d := diffRow(r, row{"n_squared": n * n, "label": label}); d != "" {
					t.Fatalf("row %d: %s", i, d)
				}
			}
			if len(tb.rows) != 20 {
				t.Fatalf("%d rows", len(tb.rows))
			}
		})
	}
	if _, err := barrow.OpenSink[event](stream.SinkContext{FS: vfs.NewMem(), Parallelism: 1}, "/out", false, time.Now, barrow.WithSchema(schema, fill)); err == nil ||
		!strings.Contains(err.Error(), "the stream's elements are arrow_test.event") {
		t.Errorf("a fill function for another type: %v", err)
	}
	uneven := func(b *array.RecordBuilder, vals []rec) error {
		b.Field(0).(*array.Int64Builder).Append(1)
		return nil
	}
	s, err := barrow.OpenSink[rec](stream.SinkContext{FS: vfs.NewMem(), Parallelism: 1}, "/out", false, time.Now, barrow.WithSchema(schema, uneven))
	must(t, err)
	if err := s.Write(recs(0, 1)); err == nil || !strings.Contains(err.Error(), `column "label"`) {
		t.Errorf("uneven columns: %v", err)
	}
	must(t, s.Close())
}

// An element that is not a struct is one column, "value"; a pointer to a
// struct has the struct's columns, all null for a nil element.
func TestNonStructElements(t *testing.T) {
	for _, tc := range []struct {
		schema string
		got    func() (*arrow.Schema, error)
	}{
		{"value int64", barrow.SchemaOf[int64]},
		{"value timestamp[ns, tz=UTC] null", barrow.SchemaOf[time.Time]},
		{"value list<item: utf8> null", barrow.SchemaOf[[]string]},
		{"Code int16 null; Label utf8 null", barrow.SchemaOf[*inner]},
	} {
		s, err := tc.got()
		if err != nil {
			t.Fatal(err)
		}
		if got := schemaText(s); got != tc.schema {
			t.Errorf("schema %s, want %s", got, tc.schema)
		}
	}
	fs := vfs.NewMem()
	s, err := barrow.OpenSink[*inner](stream.SinkContext{FS: fs, Parallelism: 1}, "/out", true, time.Now)
	must(t, err)
	must(t, s.Write([]*inner{{1, "a"}, nil, {3, "c"}}))
	txn, err := s.PreCommit(stream.FinalCheckpoint)
	must(t, err)
	if txn != nil {
		must(t, s.Commit(txn))
	}
	must(t, s.Close())
	var got []string
	for _, name := range partFiles(t, fs, "/out", ".parquet") {
		for _, r := range readParquet(t, fs, "/out/"+name).rows {
			got = append(got, fmt.Sprintf("%v %v", r["Code"], r["Label"]))
		}
	}
	if want := []string{"1 a", "<nil> <nil>", "3 c"}; !slices.Equal(got, want) {
		t.Fatalf("read back %q, want %q", got, want)
	}
}

// Dictionary turns Parquet's dictionary encoding on; it is off by
// default.
func TestParquetDictionary(t *testing.T) {
	for _, on := range []bool{false, true} {
		fs := vfs.NewMem()
		s := openSink(t, fs, "parquet", stream.SinkContext{}, nil, barrow.Dictionary(on))
		must(t, s.Write(recs(0, 100)))
		txn, err := s.PreCommit(stream.FinalCheckpoint)
		must(t, err)
		if txn != nil {
			must(t, s.Commit(txn))
		}
		must(t, s.Close())
		names := partFiles(t, fs, "/out", ".parquet")
		r, done := openSection(t, fs, "/out/"+names[0])
		pf, err := file.NewParquetReader(r)
		must(t, err)
		for c := range 2 {
			cc, err := pf.MetaData().RowGroup(0).ColumnChunk(c)
			must(t, err)
			if cc.HasDictionaryPage() != on {
				t.Errorf("Dictionary(%v): column %d has a dictionary page: %v", on, c, cc.HasDictionaryPage())
			}
		}
		pf.Close()
		done()
	}
}
