package filesink_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"go.uber.org/goleak"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/stream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// published reads every published part file in dir: the lines of each, in
// name order, and the number of files.
func published(t *testing.T, fs vfs.FS, dir string) ([]string, int) {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var lines []string
	files := 0
	for _, n := range names {
		if !strings.HasPrefix(n, "part-") {
			continue
		}
		files++
		f, err := fs.Open(fs.PathJoin(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
	}
	return lines, files
}

func job(fs vfs.FS, n int64, par int, opts ...stream.Option) *stream.Env {
	opts = append([]stream.Option{stream.WithLogger(slog.New(slog.DiscardHandler)), stream.WithParallelism(par),
		stream.WithCheckpointing("/ck", 3*time.Millisecond, stream.CheckpointFS(fs))}, opts...)
	env := stream.NewEnv(opts...)
	src := stream.Generate(env, func(i int64) int64 { return i }, stream.Limit(n), stream.Rate(1_000_000)).SetParallelism(1)
	filesink.Lines(stream.Map(src.Rebalance(), func(x int64) int64 { return x }), "/out", func(x int64) string {
		return strconv.FormatInt(x, 10)
	})
	return env
}

// Stopped again and again and resumed each time, the job's published
// output holds every element exactly once.
func TestExactlyOnceAcrossStops(t *testing.T) {
	for _, par := range []int{1, 2} {
		t.Run(fmt.Sprint("p", par), func(t *testing.T) {
			// Slow syncs widen the moments between a sink's pre-commit and
			// its checkpoint's completion, where a stop must lose nothing
			// and repeat nothing.
			var slowSync syncs
			fs := errorfs.Wrap(vfs.NewMem(), errorfs.RandomLatency(slowSync, 300*time.Microsecond, 1, 0))
			const n = 60_000
			stops := 0
			for {
				// Stops come sooner or later in a run; later and later as
				// they add up, so that a slow machine (the race detector)
				// still gets to the end.
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(5+stops%7*3+stops/10*5)*time.Millisecond)
				err := job(fs, n, par).Execute(ctx)
				cancel()
				if err == nil {
					break
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatal(err)
				}
				stops++
				if stops > 500 {
					t.Fatal("no end after 500 stops")
				}
			}
			if stops < 3 {
				t.Fatalf("only %d stops: the test needs the job cut several times", stops)
			}
			lines, files := published(t, fs, "/out")
			got := make([]int, 0, len(lines))
			for _, l := range lines {
				v, err := strconv.Atoi(l)
				if err != nil {
					t.Fatalf("bad line %q", l)
				}
				got = append(got, v)
			}
			slices.Sort(got)
			for i, v := range got {
				if v != i {
					t.Fatalf("after %d stops, %d lines in %d files: element %d where %d belongs (lost or repeated)", stops, len(got), files, v, i)
				}
			}
			if len(got) != n {
				t.Fatalf("after %d stops: %d lines, want %d", stops, len(got), n)
			}
			st, err := fs.List("/out/.staging")
			if err != nil || len(st) != 0 {
				t.Fatalf("staging left %v (%v)", st, err)
			}
		})
	}
}

// Without checkpoints, each subtask's output appears at the end, whole.
func TestWithoutCheckpoints(t *testing.T) {
	// The sink writes through the checkpoint filesystem, which only a job
	// with checkpoints sets: without, it is the real disk.
	dir := t.TempDir()
	env := stream.NewEnv(stream.WithParallelism(2))
	filesink.Lines(stream.FromSlice(env, []int{1, 2, 3, 4, 5}).Rebalance(), dir, strconv.Itoa)
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines, files := published(t, vfs.Default, dir)
	slices.Sort(lines)
	if !slices.Equal(lines, []string{"1", "2", "3", "4", "5"}) || files != 2 {
		t.Fatalf("%d files with %v", files, lines)
	}
}

// syncs selects file syncs, for errorfs.
type syncs struct{}

func (syncs) Evaluate(op errorfs.Op) bool { return op.Kind == errorfs.OpFileSync }
func (syncs) String() string              { return "syncs" }

// Files an earlier run left in .staging (an open file of a run that
// crashed, a part staged for a checkpoint that never completed) are
// deleted, not published: on a fresh start, and after the sink's
// parallelism went down, for subtasks that no longer exist.
func TestStagingLeftoversAreDeleted(t *testing.T) {
	const n = 30_000
	leftovers := func(t *testing.T, fs vfs.FS, subtasks ...int) {
		t.Helper()
		if err := fs.MkdirAll("/out/.staging", 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range subtasks {
			for _, name := range []string{fmt.Sprintf("open-%04d-1-1", s), fmt.Sprintf("part-%04d-%020d", s, 1<<40)} {
				f, err := fs.Create(fs.PathJoin("/out/.staging", name), vfs.WriteCategoryUnspecified)
				if err != nil {
					t.Fatal(err)
				}
				f.Write([]byte("stale\n"))
				f.Close()
			}
		}
	}
	check := func(t *testing.T, fs vfs.FS) {
		t.Helper()
		lines, _ := published(t, fs, "/out")
		seen := make(map[string]int, n)
		for _, l := range lines {
			seen[l]++
		}
		if len(lines) != n || len(seen) != n || seen["stale"] != 0 {
			t.Fatalf("%d lines published, %d distinct, %d stale: want each of %d once", len(lines), len(seen), seen["stale"], n)
		}
		if st, err := fs.List("/out/.staging"); err != nil || len(st) != 0 {
			t.Fatalf("staging left %v (%v)", st, err)
		}
	}
	t.Run("fresh", func(t *testing.T) {
		fs := vfs.NewMem()
		leftovers(t, fs, 0, 1, 5)
		if err := job(fs, n, 2).Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		check(t, fs)
	})
	t.Run("rescaled", func(t *testing.T) {
		fs := vfs.NewMem()
		for stopAt := 5 * time.Millisecond; ; stopAt *= 2 {
			ctx, cancel := context.WithTimeout(context.Background(), stopAt)
			err := job(fs, n, 4).Execute(ctx)
			cancel()
			if err == nil {
				t.Fatal("the first run ended before it was stopped: the test needs a partial run")
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			if ck, _ := fs.List("/ck"); slices.ContainsFunc(ck, func(s string) bool { return strings.HasPrefix(s, "chk-") }) {
				break
			}
		}
		leftovers(t, fs, 2, 3)
		if err := job(fs, n, 2).Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		check(t, fs)
	})
}
