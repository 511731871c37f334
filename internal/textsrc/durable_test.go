package textsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// fed is a Received that delivers the batches it is given, one a Read,
// and then io.EOF.
type fed struct {
	batches [][]string
	rejects [][]Reject
}

func (f *fed) Read(_ context.Context, buf []string) (int, error) {
	if len(f.batches) == 0 {
		return 0, io.EOF
	}
	n := copy(buf, f.batches[0])
	f.batches[0] = f.batches[0][n:]
	if len(f.batches[0]) == 0 {
		f.batches = f.batches[1:]
	}
	return n, nil
}

func (f *fed) Rejected(dst []Reject) []Reject {
	if len(f.rejects) == 0 {
		return dst
	}
	dst = append(dst, f.rejects[0]...)
	f.rejects = f.rejects[1:]
	return dst
}

func (f *fed) Close() error { return nil }

// A Durable opened without Seek, over a log an earlier run wrote (a
// crash before any checkpoint completed), replays all the log holds
// before the new input, each record once, in order: without, what the
// earlier run logged would be lost, never having reached a checkpoint.
// Its first Position, taken before any Read, is the start of the log, so
// that a checkpoint taken then still replays it all.
func TestDurableWithoutSeekReplaysAll(t *testing.T) {
	fs := vfs.NewCrashableMem()
	var want []string
	var batches [][]string
	for b := range 5 {
		var batch []string
		for i := range 7 {
			batch = append(batch, fmt.Sprintf("b%d l%d", b, i))
		}
		batches = append(batches, batch)
		want = append(want, batch...)
	}
	cut := &wrapped{msg: "cut here", causes: []error{ErrLineCut}}
	first := &fed{batches: batches, rejects: [][]Reject{nil, {{Line: "half", Err: cut}}}}
	d, err := OpenDurable("test", Received[string, Reject](first), socketCodec{}, fs, "/src", DurableOptions{SegmentBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := readAll(t, d, ctx, 4)
	if !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("first run read %v", got)
	}
	d.Rejected(nil)
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	d.Close()

	second := &fed{batches: [][]string{{"new"}}}
	d2, err := OpenDurable("test", Received[string, Reject](second), socketCodec{}, crashed, "/src", DurableOptions{SegmentBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	pos, _ := d2.Position()
	if !d2.Replaying() {
		t.Fatal("a Durable opened without Seek over a log with records does not replay")
	}
	got, err = readAll(t, d2, ctx, 4)
	if !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if w := append(slices.Clone(want), "new"); !slices.Equal(got, w) {
		t.Fatalf("second run read %v, want %v", got, w)
	}
	re := d2.Rejected(nil)
	if len(re) != 1 || re[0].Line != "half" || re[0].Err.Error() != "cut here" || !errors.Is(re[0].Err, ErrLineCut) {
		t.Fatalf("replayed rejects %v", re)
	}
	if _, replayed := d2.Counts(); replayed != int64(len(want)+1) {
		t.Fatalf("Counts: %d replayed, want %d", replayed, len(want)+1)
	}

	// The position taken before the first Read replays it all again.
	d2.Close()
	d3, err := OpenDurable("test", Received[string, Reject](&fed{}), socketCodec{}, crashed, "/src", DurableOptions{SegmentBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer d3.Close()
	if err := d3.Seek(pos); err != nil {
		t.Fatal(err)
	}
	got, err = readAll(t, d3, ctx, 4)
	if !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if w := append(slices.Clone(want), "new"); !slices.Equal(got, w) {
		t.Fatalf("resumed at the first position: read %v, want %v", got, w)
	}
}

// A Durable opened with Fresh (the job starts afresh on purpose) replays
// nothing an earlier run logged, and reads the Received from the first
// Read; what it logs goes after the old records, which stay, so that a
// position of the earlier run (a checkpoint the store still holds, should
// the fresh run crash before its first one completes) still replays
// from there: the old records after it, then the fresh run's.
func TestDurableFreshReplaysNothing(t *testing.T) {
	fs := vfs.NewMem()
	ctx := context.Background()
	opts := DurableOptions{SegmentBytes: 100}
	d, err := OpenDurable("test", Received[string, Reject](&fed{batches: [][]string{{"a", "b"}, {"c", "d"}}}), socketCodec{}, fs, "/src", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(ctx, make([]string, 2)); err != nil {
		t.Fatal(err)
	}
	mid, _ := d.Position() // after a, b
	if got, err := readAll(t, d, ctx, 2); !errors.Is(err, io.EOF) || !slices.Equal(got, []string{"c", "d"}) {
		t.Fatalf("first run: %v, %v", got, err)
	}
	d.Close()

	opts.Fresh = true
	f, err := OpenDurable("test", Received[string, Reject](&fed{batches: [][]string{{"new"}}}), socketCodec{}, fs, "/src", opts)
	if err != nil {
		t.Fatal(err)
	}
	if f.Replaying() {
		t.Fatal("a fresh Durable replays the old log")
	}
	got, err := readAll(t, f, ctx, 4)
	if !errors.Is(err, io.EOF) || !slices.Equal(got, []string{"new"}) {
		t.Fatalf("fresh run read %v (%v), want only the new line", got, err)
	}
	if _, replayed := f.Counts(); replayed != 0 {
		t.Fatalf("fresh run: %d replayed, want 0", replayed)
	}
	f.Close()

	r, err := OpenDurable("test", Received[string, Reject](&fed{}), socketCodec{}, fs, "/src", DurableOptions{SegmentBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Seek(mid); err != nil {
		t.Fatalf("a position of the run before the fresh one: %v", err)
	}
	if got, err := readAll(t, r, ctx, 4); !errors.Is(err, io.EOF) || !slices.Equal(got, []string{"c", "d", "new"}) {
		t.Fatalf("resumed at the earlier run's position: read %v (%v), want c d new", got, err)
	}
}
