package arrow_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"go.uber.org/goleak"

	barrow "github.com/braidstream/braid/connectors/arrow"
	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type level int16

type inner struct {
	Code  int16
	Label string
}

// Base is embedded in event: its fields are promoted.
type Base struct {
	Host string
}

// event has a field of every kind the sinks map.
type event struct {
	Seq     int64
	I       int
	I8      int8
	I16     int16
	I32     int32
	U       uint
	U8      uint8
	U16     uint16
	U32     uint32
	U64     uint64
	F32     float32
	F64     float64
	OK      bool
	Name    string
	Raw     []byte
	At      time.Time
	Took    time.Duration
	IP      netip.Addr
	Level   level
	Inner   inner
	Ptr     *inner
	PI      *int64
	PS      *string
	Tags    []string
	Nums    []int32
	Opt     []*float64
	Renamed string `arrow:"renamed_col"`
	Skipped string `arrow:"-"`
	Base
	hidden int //nolint:unused // unexported: not a column
}

var zones = []*time.Location{time.UTC, time.FixedZone("CEST", 2*3600), time.FixedZone("PST", -8*3600)}

// gen is event i, a function of seed and i only (a checkpointed job
// replays it); about one value in four of each nullable field is null.
func gen(seed uint64, i int64) event {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	str := func() string {
		b := make([]byte, r.IntN(12))
		for k := range b {
			b[k] = "abcdefgh é\"\\\x00"[r.IntN(14)]
		}
		return string(b)
	}
	e := event{
		Seq: i, I: r.Int() - math.MaxInt/2, I8: int8(r.Uint32()), I16: int16(r.Uint32()), I32: r.Int32() - math.MaxInt32/2,
		U: uint(r.Uint64()), U8: uint8(r.Uint32()), U16: uint16(r.Uint32()), U32: r.Uint32(), U64: r.Uint64(),
		F32: float32(r.NormFloat64()), F64: r.NormFloat64() * 1e12, OK: r.IntN(2) == 0,
		Name: str(), Took: time.Duration(r.Int64N(int64(48 * time.Hour))), Level: level(r.IntN(7) - 3),
		Inner: inner{Code: int16(r.IntN(600)), Label: str()}, Renamed: str(), Skipped: "never written",
		Base: Base{Host: fmt.Sprintf("host-%d", r.IntN(5))}, hidden: 7,
	}
	if r.IntN(4) > 0 {
		e.Raw = []byte(str()) // sometimes empty, not nil
	}
	if r.IntN(4) > 0 {
		e.At = time.Unix(r.Int64N(4e9)-1e9, r.Int64N(1e9)).In(zones[r.IntN(len(zones))])
	}
	switch r.IntN(4) {
	case 0:
	case 1:
		e.IP = netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
	default:
		e.IP = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", r.IntN(1<<16)))
	}
	if r.IntN(4) > 0 {
		e.Ptr = &inner{Code: int16(r.IntN(10)), Label: str()}
	}
	if r.IntN(4) > 0 {
		v := r.Int64()
		e.PI = &v
	}
	if r.IntN(4) > 0 {
		s := str()
		e.PS = &s
	}
	if r.IntN(4) > 0 {
		e.Tags = []string{}
		for range r.IntN(4) {
			e.Tags = append(e.Tags, str())
		}
	}
	if r.IntN(4) > 0 {
		e.Nums = make([]int32, r.IntN(5))
		for k := range e.Nums {
			e.Nums[k] = r.Int32()
		}
	}
	if r.IntN(4) > 0 {
		for range r.IntN(4) {
			if r.IntN(3) == 0 {
				e.Opt = append(e.Opt, nil)
			} else {
				f := r.Float64()
				e.Opt = append(e.Opt, &f)
			}
		}
	}
	return e
}

// want is the row a reader must find for e, written out by hand from
// SchemaOf's documented mapping; parquet: a Duration is int64 there.
func want(e event, parquet bool) row {
	r := row{
		"Seq": e.Seq, "I": int64(e.I), "I8": e.I8, "I16": e.I16, "I32": e.I32,
		"U": uint64(e.U), "U8": e.U8, "U16": e.U16, "U32": e.U32, "U64": e.U64,
		"F32": e.F32, "F64": e.F64, "OK": e.OK, "Name": e.Name,
		"Raw": nil, "At": nil, "Took": e.Took, "IP": nil, "Level": int16(e.Level),
		"Inner.Code": e.Inner.Code, "Inner.Label": e.Inner.Label,
		"Ptr.Code": nil, "Ptr.Label": nil, "PI": nil, "PS": nil,
		"Tags": nil, "Nums": nil, "Opt": nil, "renamed_col": e.Renamed, "Host": e.Host,
	}
	if parquet {
		r["Took"] = int64(e.Took)
	}
	if e.Raw != nil {
		r["Raw"] = append([]byte{}, e.Raw...)
	}
	if !e.At.IsZero() {
		r["At"] = e.At.UTC()
	}
	if e.IP.IsValid() {
		r["IP"] = e.IP.String()
	}
	if e.Ptr != nil {
		r["Ptr.Code"], r["Ptr.Label"] = e.Ptr.Code, e.Ptr.Label
	}
	if e.PI != nil {
		r["PI"] = *e.PI
	}
	if e.PS != nil {
		r["PS"] = *e.PS
	}
	if e.Tags != nil {
		l := []any{}
		for _, s := range e.Tags {
			l = append(l, s)
		}
		r["Tags"] = l
	}
	if e.Nums != nil {
		l := []any{}
		for _, v := range e.Nums {
			l = append(l, v)
		}
		r["Nums"] = l
	}
	if e.Opt != nil {
		l := []any{}
		for _, p := range e.Opt {
			if p == nil {
				l = append(l, nil)
			} else {
				l = append(l, *p)
			}
		}
		r["Opt"] = l
	}
	return r
}

// diffRow describes how got differs from want, or is "".
func diffRow(got, want row) string {
	var d []string
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			d = append(d, fmt.Sprintf("no column %q", k))
		} else if !reflect.DeepEqual(g, w) {
			d = append(d, fmt.Sprintf("%s = %#v, want %#v", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("extra column %q", k))
		}
	}
	slices.Sort(d)
	return strings.Join(d, "; ")
}

func quiet() stream.Option { return stream.WithLogger(slog.New(slog.DiscardHandler)) }

// sinkTo is barrow.IPC or barrow.Parquet, by format name.
func sinkTo[T any](format string, s *stream.Stream[T], dir string, opts ...barrow.Option) *stream.Sink {
	if format == "ipc" {
		return barrow.IPC(s, dir, opts...)
	}
	return barrow.Parquet(s, dir, opts...)
}

// readAll reads every published file of dir, in name order per subtask:
// the rows of each subtask, and the number of files.
func readAll(t *testing.T, fs vfs.FS, dir, ext string, read reader) (map[string][]row, int) {
	t.Helper()
	out := map[string][]row{}
	files := 0
	for sub, names := range subtaskFiles(t, fs, dir, ext) {
		for _, n := range names {
			files++
			out[sub] = append(out[sub], read(t, fs, fs.PathJoin(dir, n)).rows...)
		}
	}
	return out, files
}

// checkEvents checks that the subtasks' rows are, together, the events
// 0..n-1 of seed, each once and each value as sent, and that each
// subtask's rows come in the order it received them (increasing Seq: the
// source runs at parallelism 1).
func checkEvents(t *testing.T, bySub map[string][]row, seed uint64, n int64, parquet bool) {
	t.Helper()
	seen := make([]int, n)
	for sub, rows := range bySub {
		last := int64(-1)
		for k, r := range rows {
			seq, ok := r["Seq"].(int64)
			if !ok || seq < 0 || seq >= n {
				t.Fatalf("%s row %d: Seq %v", sub, k, r["Seq"])
			}
			if seq <= last {
				t.Fatalf("%s row %d: Seq %d after %d: out of order or repeated", sub, k, seq, last)
			}
			last = seq
			seen[seq]++
			if d := diffRow(r, want(gen(seed, seq), parquet)); d != "" {
				t.Fatalf("%s row %d (Seq %d): %s", sub, k, seq, d)
			}
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("event %d written %d times", i, c)
		}
	}
}

// Every value of every kind, nulls included, comes back from each
// format's reader as it was sent, at parallelism 1 and 2, each
// subtask's rows in the order it received them.
func TestEveryValueReadBack(t *testing.T) {
	seed := testseed.Seed(t)
	const n = 2000
	for _, f := range formats {
		for _, par := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/p%d", f.name, par), func(t *testing.T) {
				fs := vfs.NewMem()
				env := stream.NewEnv(quiet(), stream.WithParallelism(par),
					stream.WithCheckpointing("/ck", time.Hour, stream.CheckpointFS(fs)))
				src := stream.Generate(env, func(i int64) event { return gen(seed, i) }, stream.Limit(n)).SetParallelism(1)
				sinkTo(f.name, src.Rebalance(), "/out", barrow.BatchRows(700))
				if err := env.Execute(context.Background()); err != nil {
					t.Fatal(err)
				}
				bySub, files := readAll(t, fs, "/out", f.ext, f.read)
				if len(bySub) != par {
					t.Fatalf("%d subtasks wrote files, want %d", len(bySub), par)
				}
				checkEvents(t, bySub, seed, n, f.name == "parquet")
				t.Logf("%d rows in %d files", n, files)
			})
		}
	}
}

// The schema read back is the one documented: names, types, nullability.
func TestSchemaReadBack(t *testing.T) {
	want, err := barrow.SchemaOf[event]()
	if err != nil {
		t.Fatal(err)
	}
	wantText := `Seq int64; I int64; I8 int8; I16 int16; I32 int32; U uint64; U8 uint8; U16 uint16; U32 uint32; U64 uint64; ` +
		`F32 float32; F64 float64; OK bool; Name utf8; Raw binary null; At timestamp[ns, tz=UTC] null; Took duration[ns]; ` +
		`IP utf8 null; Level int16; Inner.Code int16; Inner.Label utf8; Ptr.Code int16 null; Ptr.Label utf8 null; ` +
		`PI int64 null; PS utf8 null; Tags list<item: utf8> null; Nums list<item: int32> null; ` +
		`Opt list<item: float64, nullable> null; renamed_col utf8; Host utf8`
	if got := schemaText(want); got != wantText {
		t.Fatalf("SchemaOf[event]:\n%s\nwant\n%s", got, wantText)
	}
	for _, f := range formats {
		fs := vfs.NewMem()
		env := stream.NewEnv(quiet(), stream.WithCheckpointing("/ck", time.Hour, stream.CheckpointFS(fs)))
		sinkTo(f.name, stream.FromSlice(env, []event{gen(1, 0)}), "/out")
		if err := env.Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		names := partFiles(t, fs, "/out", f.ext)
		if len(names) != 1 {
			t.Fatalf("%s: files %v", f.name, names)
		}
		got := schemaText(f.read(t, fs, "/out/"+names[0]).schema)
		exp := wantText
		if f.name == "parquet" {
			// Parquet has no durations, and names list elements "element".
			exp = strings.ReplaceAll(strings.Replace(exp, "Took duration[ns]", "Took int64", 1), "<item:", "<element:")
		}
		if got != exp {
			t.Errorf("%s schema read back:\n%s\nwant\n%s", f.name, got, exp)
		}
	}
}

// Window results, through a keyed event-time window, are read back as
// the job produced them (a Collect of the same stream is the reference).
func TestWindowResults(t *testing.T) {
	type click struct {
		User string
		At   int64 // seconds
		N    int64
	}
	type stats struct {
		Clicks int64
		Last   time.Time
	}
	var in []click
	r := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	for i := range 2000 {
		in = append(in, click{User: fmt.Sprintf("u%d", r.IntN(7)), At: int64(i / 3), N: r.Int64N(10)})
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			fs := vfs.NewMem()
			env := stream.NewEnv(quiet(), stream.WithParallelism(2),
				stream.WithCheckpointing("/ck", time.Hour, stream.CheckpointFS(fs)))
			src := stream.FromSlice(env, in).SetParallelism(1).
				WithTimestamps(func(c click) time.Time { return time.Unix(c.At, 0) }, stream.MonotonousTimestamps())
			keyed := stream.KeyBy(src, func(c click) string { return c.User })
			later := func(a, b time.Time) time.Time {
				if a.After(b) {
					return a
				}
				return b
			}
			results := stream.Aggregate(keyed.Window(window.Tumbling(10*time.Second)), stream.AggregateFunc[click, stats, stats]{
				Init:   func() stats { return stats{} },
				Add:    func(a stats, c click) stats { return stats{a.Clicks + c.N, later(a.Last, time.Unix(c.At, 0).UTC())} },
				Merge:  func(a, b stats) stats { return stats{a.Clicks + b.Clicks, later(a.Last, b.Last)} },
				Result: func(a stats) stats { return a },
			})
			ref := stream.Collect(results)
			sinkTo(f.name, results, "/out")
			if err := env.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			var wantRows []string
			for _, res := range ref.Items() {
				wantRows = append(wantRows, fmt.Sprintf("%s [%d,%d) %d %s", res.Key, res.Window.Start, res.Window.End, res.Value.Clicks, res.Value.Last.Format(time.RFC3339)))
			}
			bySub, _ := readAll(t, fs, "/out", f.ext, f.read)
			var got []string
			for _, rows := range bySub {
				for _, r := range rows {
					got = append(got, fmt.Sprintf("%s [%d,%d) %d %s", r["Key"], r["Window.Start"], r["Window.End"], r["Value.Clicks"], r["Value.Last"].(time.Time).Format(time.RFC3339)))
				}
			}
			slices.Sort(got)
			slices.Sort(wantRows)
			if len(wantRows) < 100 {
				t.Fatalf("only %d window results: the test needs more", len(wantRows))
			}
			if !slices.Equal(got, wantRows) {
				t.Fatalf("read back %d results, the job made %d; first read %q, first made %q", len(got), len(wantRows), got[:min(3, len(got))], wantRows[:3])
			}
		})
	}
}

// Rolling by size makes several files, each but the last at least the
// size, whose rows, file after file, are the input in order.
func TestRollBySize(t *testing.T) {
	seed := testseed.Seed(t)
	const n, limit = 3000, 16 << 10
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			fs := vfs.NewMem()
			env := stream.NewEnv(quiet(), stream.WithCheckpointing("/ck", time.Hour, stream.CheckpointFS(fs)))
			src := stream.Generate(env, func(i int64) event { return gen(seed, i) }, stream.Limit(n))
			sinkTo(f.name, src, "/out", barrow.BatchRows(100), barrow.RollSize(limit), barrow.Compression(barrow.LZ4))
			if err := env.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			names := partFiles(t, fs, "/out", f.ext)
			if len(names) < 3 {
				t.Fatalf("%d files: %v", len(names), names)
			}
			var rows []row
			for k, name := range names {
				st, err := fs.Stat("/out/" + name)
				if err != nil {
					t.Fatal(err)
				}
				if k < len(names)-1 && st.Size() < limit {
					t.Errorf("%s has %d bytes: rolled before %d", name, st.Size(), limit)
				}
				rows = append(rows, f.read(t, fs, "/out/"+name).rows...)
			}
			checkEvents(t, map[string][]row{"part-0000": rows}, seed, n, f.name == "parquet")
			t.Logf("%d files", len(names))
		})
	}
}

// An element type with a field that has no column type fails the job
// before it runs, naming the field; so does a bad option.
func TestUnsupportedFieldFailsTheBuild(t *testing.T) {
	type deep struct {
		OK    int
		Where chan int
	}
	type bad struct {
		A     int
		Attrs map[string]string
		Deep  deep
		Any   any
	}
	for _, f := range formats {
		fs := vfs.NewMem()
		env := stream.NewEnv(quiet(), stream.WithCheckpointing("/ck", time.Hour, stream.CheckpointFS(fs)))
		ran := false
		src := stream.Map(stream.FromSlice(env, []bad{{}}), func(b bad) bad { ran = true; return b })
		sinkTo(f.name, src, "/out")
		err := env.Execute(context.Background())
		if err == nil {
			t.Fatalf("%s: a map field was written", f.name)
		}
		for _, w := range []string{"field Attrs has type map[string]string", "field Deep.Where has type chan int", "field Any has type interface {}"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: the error does not say %q: %v", f.name, w, err)
			}
		}
		if ran {
			t.Errorf("%s: the job ran", f.name)
		}
	}
	_, err := barrow.SchemaOf[bad]()
	if err == nil || !strings.Contains(err.Error(), "Deep.Where") {
		t.Errorf("SchemaOf: %v", err)
	}
	env := stream.NewEnv(quiet())
	barrow.IPC(stream.FromSlice(env, []int{1}), t.TempDir(), barrow.Compression(barrow.Snappy), barrow.BatchRows(0))
	err = env.Execute(context.Background())
	if err == nil || !strings.Contains(err.Error(), "snappy compression is not available for arrow files") || !strings.Contains(err.Error(), "BatchRows 0") {
		t.Errorf("bad options: %v", err)
	}
}

// Stopped again and again and resumed each time, a checkpointed job
// publishes every row exactly once, each value as sent, files rolling in
// between checkpoints too.
func TestExactlyOnceAcrossStops(t *testing.T) {
	seed := testseed.Seed(t)
	for _, f := range formats {
		// Parallelism 2: each subtask stages and publishes its own files,
		// and the restored subtasks clear what theirs left.
		const par = 2
		t.Run(f.name, func(t *testing.T) {
			// Slow syncs widen the moments between a pre-commit and its
			// checkpoint's completion, where a stop must lose nothing
			// and repeat nothing.
			fs := errorfs.Wrap(vfs.NewMem(), errorfs.RandomLatency(syncs{}, 300*time.Microsecond, int64(seed), 0))
			n := int64(4000)
			if raceEnabled {
				n = 1500
			}
			job := func() *stream.Env {
				env := stream.NewEnv(quiet(), stream.WithParallelism(par),
					stream.WithCheckpointing("/ck", 3*time.Millisecond, stream.CheckpointFS(fs)))
				src := stream.Generate(env, func(i int64) event { return gen(seed, i) }, stream.Limit(n), stream.Rate(400_000)).SetParallelism(1)
				sinkTo(f.name, src.Rebalance(), "/out", barrow.BatchRows(100), barrow.RollSize(40<<10))
				return env
			}
			stops := 0
			for {
				// Stops come sooner or later in a run, and later and
				// later as they add up, so that a slow machine (the race
				// detector) still gets to the end.
				d := time.Duration(float64(5*time.Millisecond)*math.Pow(1.12, float64(stops))) + time.Duration(stops%7)*3*time.Millisecond
				ctx, cancel := context.WithTimeout(context.Background(), d)
				err := job().Execute(ctx)
				cancel()
				if err == nil {
					break
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatal(err)
				}
				if stops++; stops > 100 {
					t.Fatal("no end after 100 stops")
				}
			}
			if stops < 3 {
				t.Fatalf("only %d stops: the test needs the job cut several times", stops)
			}
			bySub, files := readAll(t, fs, "/out", f.ext, f.read)
			checkEvents(t, bySub, seed, n, f.name == "parquet")
			st, err := fs.List("/out/.staging")
			if err != nil || len(st) != 0 {
				t.Fatalf("staging left %v (%v)", st, err)
			}
			t.Logf("%d stops, %d files", stops, files)
		})
	}
}

// syncs selects file syncs, for errorfs.
type syncs struct{}

func (syncs) Evaluate(op errorfs.Op) bool { return op.Kind == errorfs.OpFileSync }
func (syncs) String() string              { return "syncs" }

// A power cut at any moment loses nothing and repeats nothing: the job
// runs on Pebble's crashable in-memory filesystem while the test takes
// crash clones of it (what was synced, and sometimes a random part of
// what was not); each clone is resumed to the end and its published
// files must hold every row once. A missing sync of a file or a
// directory shows here as a lost or damaged file.
func TestExactlyOnceAfterPowerCuts(t *testing.T) {
	seed := testseed.Seed(t)
	n, clones := int64(2000), 6
	if raceEnabled {
		n, clones = 800, 4
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			job := func(fs vfs.FS) *stream.Env {
				env := stream.NewEnv(quiet(), stream.WithParallelism(2),
					stream.WithCheckpointing("/ck", 2*time.Millisecond, stream.CheckpointFS(fs)))
				src := stream.Generate(env, func(i int64) event { return gen(seed, i) }, stream.Limit(n), stream.Rate(40_000)).SetParallelism(1)
				sinkTo(f.name, src.Rebalance(), "/out", barrow.BatchRows(128), barrow.RollSize(16<<10))
				return env
			}
			mem := &cloneableMem{MemFS: vfs.NewCrashableMem()}
			rng := rand.New(rand.NewPCG(seed, 7))
			var taken []*vfs.MemFS
			done := make(chan error)
			go func() { done <- job(mem).Execute(context.Background()) }()
			// A clone every few milliseconds while the job runs (about 50 ms).
			tick := time.NewTicker(3 * time.Millisecond)
		run:
			for {
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
					break run
				case <-tick.C:
					cfg := vfs.CrashCloneCfg{}
					if rng.IntN(3) == 0 {
						cfg = vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(rng.Uint64(), 0))}
					}
					taken = append(taken, mem.clone(cfg))
				}
			}
			tick.Stop()
			if len(taken) < 2 {
				t.Fatalf("only %d clones taken: the run was too short", len(taken))
			}
			// Spread the resumed clones over the run.
			clones := min(clones, len(taken))
			for k := range clones {
				fs := taken[k*len(taken)/clones]
				if err := job(fs).Execute(context.Background()); err != nil {
					t.Fatalf("clone %d: %v", k, err)
				}
				bySub, _ := readAll(t, fs, "/out", f.ext, f.read)
				checkEvents(t, bySub, seed, n, f.name == "parquet")
			}
			t.Logf("%d clones taken, %d resumed", len(taken), clones)
		})
	}
}

// cloneableMem is a crashable MemFS whose clones wait for a Link in
// progress: MemFS.Link (pebble v2.1.7) read-locks the clone lock twice,
// and deadlocks when CrashClone asks for it in between, as it may while
// a checkpoint links its files.
type cloneableMem struct {
	*vfs.MemFS
	mu sync.RWMutex
}

func (m *cloneableMem) Link(oldname, newname string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.MemFS.Link(oldname, newname)
}

func (m *cloneableMem) clone(cfg vfs.CrashCloneCfg) *vfs.MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.MemFS.CrashClone(cfg)
}
