package state

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/goleak"
)

// The tests below check the checkpoint store against a brute-force twin:
// a Go map holding the state each checkpoint id must restore.

// model is the expected state: key -> value.
type model map[string]string

func (m model) clone() model { return maps.Clone(m) }

// op is one change: a set, a delete, or (hi != "") a range delete of
// [key, hi).
type op struct {
	del      bool
	key, val string
	hi       string
}

func (m model) apply(ops []op) {
	for _, o := range ops {
		switch {
		case !o.del:
			m[o.key] = o.val
		case o.hi == "":
			delete(m, o.key)
		default:
			for k := range m {
				if k >= o.key && k < o.hi {
					delete(m, k)
				}
			}
		}
	}
}

func testKey(part, i int) string { return fmt.Sprintf("p%02d/k%06d", part, i) }

// genOps returns n random changes to keys of partition part, out of
// keys keys: mostly sets, some deletes, a few range deletes.
func genOps(rng *rand.Rand, part, keys, n int) []op {
	ops := make([]op, n)
	for i := range ops {
		k := rng.IntN(keys)
		switch r := rng.IntN(100); {
		case r < 70:
			ops[i] = op{key: testKey(part, k), val: fmt.Sprintf("v%x%s", rng.Uint64(), strings.Repeat("x", rng.IntN(24)))}
		case r < 96:
			ops[i] = op{del: true, key: testKey(part, k)}
		default:
			ops[i] = op{del: true, key: testKey(part, k), hi: testKey(part, k+1+rng.IntN(keys/8+1))}
		}
	}
	return ops
}

// applyParts applies each partition's ops in batches of batch changes,
// the partitions from concurrent goroutines when concurrent is set (their
// keys are disjoint, so the result does not depend on the interleaving).
func applyParts(w *CheckpointWriter, parts [][]op, batch int, concurrent bool) error {
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for p, ops := range parts {
		run := func() {
			b := w.NewBatch()
			for i, o := range ops {
				switch {
				case !o.del:
					b.Set([]byte(o.key), []byte(o.val))
				case o.hi == "":
					b.Delete([]byte(o.key))
				default:
					b.DeleteRange([]byte(o.key), []byte(o.hi))
				}
				if b.Len() == batch || i == len(ops)-1 {
					if err := w.Apply(b); err != nil {
						errs[p] = err
						return
					}
				}
			}
		}
		if concurrent {
			wg.Add(1)
			go func() { defer wg.Done(); run() }()
		} else {
			run()
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func readAll(t testing.TB, r *Restored) model {
	t.Helper()
	m := model{}
	if r == nil {
		return m
	}
	if err := r.Scan(nil, nil, func(k, v []byte) error {
		m[string(k)] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// diff describes how got differs from want, "" if it does not.
func diff(got, want model) string {
	var out []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("missing %s=%s", k, v))
		} else if g != v {
			out = append(out, fmt.Sprintf("%s=%s, want %s", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("extra %s=%s", k, v))
		}
	}
	if len(out) == 0 {
		return ""
	}
	slices.Sort(out)
	if len(out) > 8 {
		out = append(out[:8], fmt.Sprintf("... (%d differences)", len(out)))
	}
	return strings.Join(out, "; ")
}

func metaOf(id uint64) []byte { return fmt.Appendf(nil, "meta of %d", id) }

// logBuf collects a store's log.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLog() (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo})), lb
}

func mustOpen(t testing.TB, fs vfs.FS, opts CheckpointOptions) *Checkpoints {
	t.Helper()
	opts.FS = fs
	if opts.Logger == nil {
		opts.Logger, _ = newLog()
	}
	c, err := OpenCheckpoints("/cp", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkpoint runs one checkpoint of ops and returns its stats.
func checkpoint(t testing.TB, c *Checkpoints, id uint64, parts [][]op, concurrent bool) CheckpointStats {
	t.Helper()
	w, err := c.Begin(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyParts(w, parts, 100, concurrent); err != nil {
		t.Fatal(err)
	}
	st, err := w.Commit(metaOf(id))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// expectLatest checks that Latest restores checkpoint id with state want.
func expectLatest(t testing.TB, c *Checkpoints, id uint64, want model) {
	t.Helper()
	r, err := c.Latest()
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		t.Fatalf("Latest: no checkpoint, want checkpoint %d", id)
		return
	}
	defer r.Close()
	if r.ID != id || !bytes.Equal(r.Meta, metaOf(id)) {
		t.Fatalf("Latest: checkpoint %d meta %q, want %d meta %q", r.ID, r.Meta, id, metaOf(id))
	}
	if d := diff(readAll(t, r), want); d != "" {
		t.Fatalf("checkpoint %d: %s", id, d)
	}
}

// Several checkpoints of sets, deletes and range deletes: Latest restores
// exactly the last one, after a restart too; Get agrees with Scan; bounded
// scans see exactly their range; every kept checkpoint still verifies
// after the store went on from it (its directory was never written).
func TestCheckpointsRoundTrip(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	fs := vfs.NewMem()
	c := mustOpen(t, fs, CheckpointOptions{Retain: 3, memTableSize: 256 << 10})
	if r, err := c.Latest(); r != nil || err != nil {
		t.Fatalf("Latest of an empty store: %v, %v; want nil, nil", r, err)
	}
	if err := c.Fresh(); err != nil {
		t.Fatal(err)
	}
	m := model{}
	for id := uint64(1); id <= 6; id++ {
		parts := [][]op{genOps(rng, 0, 3000, 2000), genOps(rng, 1, 3000, 2000)}
		st := checkpoint(t, c, id, parts, false)
		m.apply(parts[0])
		m.apply(parts[1])
		if st.ID != id || st.Entries != 4000 || st.Files < 5 || st.BytesWritten <= 0 {
			t.Fatalf("stats %+v", st)
		}
		expectLatest(t, c, id, m)
		if id == 3 {
			// Restart: a new store on the same directory resumes.
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			c = mustOpen(t, fs, CheckpointOptions{Retain: 3, memTableSize: 256 << 10})
			r, err := c.Latest()
			if err != nil || r == nil || r.ID != 3 {
				t.Fatalf("Latest after restart: %v, %v", r, err)
			}
			if err := c.Resume(r); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}

	r, err := c.Latest()
	if err != nil {
		t.Fatal(err)
	}
	// Several Restored of one checkpoint may be open at once.
	r2, err := c.Latest()
	if err != nil || r2 == nil || r2.ID != 6 {
		t.Fatalf("a second Latest while the first is open: %v, %v", r2, err)
	}
	if d := diff(readAll(t, r2), m); d != "" {
		t.Fatal(d)
	}
	r2.Close()
	for i := 0; i < 200; i++ {
		k := testKey(rng.IntN(2), rng.IntN(3100))
		v, ok, err := r.Get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if want, wok := m[k]; ok != wok || string(v) != want {
			t.Fatalf("Get(%s) = %q, %v; want %q, %v", k, v, ok, want, wok)
		}
	}
	lo, hi := testKey(0, 1000), testKey(1, 500)
	var prev string
	n := 0
	if err := r.Scan([]byte(lo), []byte(hi), func(k, v []byte) error {
		if string(k) < lo || string(k) >= hi || string(k) <= prev || m[string(k)] != string(v) {
			return fmt.Errorf("scan [%s, %s): %s=%s after %s", lo, hi, k, v, prev)
		}
		prev = string(k)
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := 0
	for k := range m {
		if k >= lo && k < hi {
			want++
		}
	}
	if n != want {
		t.Fatalf("scan [%s, %s) saw %d keys, want %d", lo, hi, n, want)
	}
	stop := errors.New("stop")
	if err := r.Scan(nil, nil, func(k, v []byte) error { return stop }); err != stop {
		t.Fatalf("Scan returned %v, want fn's error", err)
	}
	r.Close()

	entries, err := c.list()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d checkpoints on disk, want 3 (Retain)", len(entries))
	}
	for _, e := range entries {
		rec, err := c.readRecord(e.id)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.verify(rec); err != nil {
			t.Fatalf("an older checkpoint changed after the store went on from it: %v", err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// The API's rules are enforced with errors that name the checkpoint.
func TestCheckpointsMisuse(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := vfs.NewMem()
	c := mustOpen(t, fs, CheckpointOptions{})
	defer c.Close()
	if _, err := OpenCheckpoints("/cp", CheckpointOptions{FS: fs}); err == nil {
		t.Fatal("a second store opened the same directory")
	}
	if _, err := OpenCheckpoints("/other", CheckpointOptions{FS: fs, Retain: -1}); err == nil {
		t.Fatal("Retain -1 accepted")
	}
	if _, err := c.Begin(1); err == nil || !strings.Contains(err.Error(), "braid: checkpoint 1: Begin before Resume or Fresh") {
		t.Fatalf("Begin before Fresh: %v", err)
	}
	if err := c.Fresh(); err != nil {
		t.Fatal(err)
	}
	w, err := c.Begin(5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Begin(6); err == nil || !strings.Contains(err.Error(), "braid: checkpoint 5: still in progress") {
		t.Fatalf("second Begin: %v", err)
	}
	b := w.NewBatch()
	b.Set([]byte("a"), []byte("1"))
	if b.Len() != 1 {
		t.Fatalf("Len %d", b.Len())
	}
	if err := w.Apply(b); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Fatalf("Len after Apply %d, want 0", b.Len())
	}
	if _, err := w.Commit(metaOf(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(nil); err == nil || !strings.Contains(err.Error(), "braid: checkpoint 5:") {
		t.Fatalf("second Commit: %v", err)
	}
	if err := w.Apply(b); err == nil || !strings.Contains(err.Error(), "braid: checkpoint 5: Apply after") {
		t.Fatalf("Apply after Commit: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort after Commit: %v", err)
	}
	for _, id := range []uint64{4, 5} {
		if _, err := c.Begin(id); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("braid: checkpoint %d: ids must increase", id)) {
			t.Fatalf("Begin(%d) after 5: %v", id, err)
		}
	}
	w, err = c.Begin(6)
	if err != nil {
		t.Fatal(err)
	}
	w7 := w
	if err := w7.Abort(); err != nil {
		t.Fatal(err)
	}
	w, err = c.Begin(7)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(b); err == nil || !strings.Contains(err.Error(), "another checkpoint") {
		t.Fatalf("Apply of another writer's batch: %v", err)
	}
	w.Abort()
	expectLatest(t, c, 5, model{"a": "1"})

	// A new store on the directory: Fresh continues above every id begun
	// before (6 and 7 were aborted, and left nothing on disk but their
	// reservation), and Resume accepts only its own Restored.
	c.Close()
	c2 := mustOpen(t, fs, CheckpointOptions{})
	defer c2.Close()
	if err := c2.Resume(&Restored{ID: 5}); err == nil {
		t.Fatal("Resume of a Restored from elsewhere")
	}
	if err := c2.Fresh(); err != nil {
		t.Fatal(err)
	}
	if got := c2.LastID(); got != 7 {
		t.Fatalf("LastID after Fresh is %d, want 7 (the aborted checkpoint's)", got)
	}
	for _, id := range []uint64{5, 7} {
		if _, err := c2.Begin(id); err == nil {
			t.Fatalf("Begin(%d) after Fresh on a directory that began 7", id)
		}
	}
	checkpoint(t, c2, 8, [][]op{{{key: "b", val: "2"}}}, false)
	expectLatest(t, c2, 8, model{"b": "2"})
	r, err := c2.Latest()
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// A Restored outlives its store.
	if d := diff(readAll(t, r), model{"b": "2"}); d != "" {
		t.Fatal(d)
	}
	r.Close()
	if _, err := c2.Begin(7); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Begin after Close: %v", err)
	}
}

// settle waits until the live database runs no compaction, so that the
// next checkpoint's new files are its own and not compaction output.
func settle(t testing.TB, c *Checkpoints) {
	t.Helper()
	for quiet := 0; quiet < 5; {
		if c.live.db.Metrics().Compact.NumInProgress == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A checkpoint of 10 changes over 100,000 existing entries writes a few
// kilobytes, not the state: unchanged table files are hard links to the
// previous checkpoint's.
func TestCheckpointsIncremental(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	c := mustOpen(t, vfs.NewMem(), CheckpointOptions{})
	defer c.Close()
	if err := c.Fresh(); err != nil {
		t.Fatal(err)
	}
	full := make([]op, 100_000)
	for i := range full {
		full[i] = op{key: testKey(0, i), val: fmt.Sprintf("%016x", rng.Uint64())}
	}
	m := model{}
	m.apply(full)
	fullStats := checkpoint(t, c, 1, [][]op{full}, false)
	settle(t, c)
	// The compactions that followed the full load are absorbed here.
	checkpoint(t, c, 2, nil, false)
	settle(t, c)
	small := genOps(rng, 0, 100_000, 10)
	m.apply(small)
	st := checkpoint(t, c, 3, [][]op{small}, false)
	t.Logf("full: %d bytes in %d files; 10 changes: %d bytes in %d files", fullStats.BytesWritten, fullStats.Files, st.BytesWritten, st.Files)
	if fullStats.BytesWritten < 1<<20 {
		t.Fatalf("the full checkpoint wrote %d bytes, less than its data", fullStats.BytesWritten)
	}
	if st.BytesWritten > fullStats.BytesWritten/50 {
		t.Fatalf("10 changes wrote %d bytes, the full checkpoint %d: not incremental", st.BytesWritten, fullStats.BytesWritten)
	}
	expectLatest(t, c, 3, m)
}

// Applies from several goroutines at once (run with -race).
func TestCheckpointsConcurrentApply(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 3))
	c := mustOpen(t, vfs.NewMem(), CheckpointOptions{memTableSize: 128 << 10})
	defer c.Close()
	if err := c.Fresh(); err != nil {
		t.Fatal(err)
	}
	m := model{}
	for id := uint64(1); id <= 3; id++ {
		parts := make([][]op, 6)
		for p := range parts {
			parts[p] = genOps(rng, p, 2000, 3000)
			m.apply(parts[p])
		}
		st := checkpoint(t, c, id, parts, true)
		if st.Entries != 6*3000 {
			t.Fatalf("checkpoint %d: %d entries, want %d", id, st.Entries, 6*3000)
		}
		expectLatest(t, c, id, m)
	}
}

// Only the newest Retain complete checkpoints stay on disk, and a
// completion deletes incomplete ones (the remains of a crashed attempt).
func TestCheckpointsRetention(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, retain := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("retain=%d", retain), func(t *testing.T) {
			fs := vfs.NewMem()
			c := mustOpen(t, fs, CheckpointOptions{Retain: retain})
			defer c.Close()
			if err := c.Fresh(); err != nil {
				t.Fatal(err)
			}
			keep := retain
			if keep == 0 {
				keep = 2
			}
			m := model{}
			var complete []uint64
			for round := uint64(0); round < 5; round++ {
				a, b := 3*round+1, 3*round+3
				// Between them, an incomplete checkpoint left by a
				// crashed attempt.
				junk := "/cp/" + chkDirName(a+1)
				if err := fs.MkdirAll(junk, 0o755); err != nil {
					t.Fatal(err)
				}
				f, _ := fs.Create(junk+"/000001.sst", vfs.WriteCategoryUnspecified)
				f.Close()
				ops := []op{{key: fmt.Sprint(a), val: "v"}}
				checkpoint(t, c, a, [][]op{ops}, false)
				m.apply(ops)
				checkpoint(t, c, b, nil, false)
				complete = append(complete, a, b)
				var want []string
				for _, id := range complete[max(0, len(complete)-keep):] {
					want = append(want, chkDirName(id))
				}
				names, err := fs.List("/cp")
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, n := range names {
					if strings.HasPrefix(n, chkPrefix) {
						got = append(got, n)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("after checkpoint %d: on disk %v, want %v", b, got, want)
				}
				expectLatest(t, c, b, m)
			}
		})
	}
}

// A failure Pebble reports on its own goroutines (a flush or compaction
// that could not write) marks the live database failed: a checkpoint in
// progress cannot commit, and the next Begin rebuilds the live state from
// the last complete checkpoint. (The failures are reported here by hand;
// the fault tests cause real ones.)
func TestCheckpointsBackgroundFailure(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	logger, logs := newLog()
	hooked := &hookFS{FS: vfs.NewMem(), hook: func(string, string) {}}
	c := mustOpen(t, hooked, CheckpointOptions{Logger: logger})
	defer c.Close()
	if err := c.Fresh(); err != nil {
		t.Fatal(err)
	}
	m := model{"a": "1"}
	checkpoint(t, c, 1, [][]op{{{key: "a", val: "1"}}}, false)

	// Between checkpoints.
	c.live.fail(errors.New("injected: compaction failed"))
	checkpoint(t, c, 2, [][]op{{{key: "b", val: "2"}}}, false)
	m["b"] = "2"
	expectLatest(t, c, 2, m)
	if !strings.Contains(logs.String(), "rebuilding it from the last complete checkpoint") {
		t.Fatalf("log: %s", logs)
	}

	// During a checkpoint.
	w, err := c.Begin(3)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyParts(w, [][]op{{{key: "c", val: "3"}}}, 10, false); err != nil {
		t.Fatal(err)
	}
	c.live.fail(errors.New("injected: flush failed"))
	if err := applyParts(w, [][]op{{{key: "d", val: "4"}}}, 10, false); err == nil || !strings.Contains(err.Error(), "braid: checkpoint 3: apply: the live state store") {
		t.Fatalf("Apply on a failed live state: %v", err)
	}
	if _, err := w.Commit(metaOf(3)); err == nil || !strings.Contains(err.Error(), "braid: checkpoint 3:") || !strings.Contains(err.Error(), "injected: flush failed") {
		t.Fatalf("Commit on a failed live state: %v", err)
	}
	expectLatest(t, c, 2, m)
	checkpoint(t, c, 4, [][]op{{{key: "e", val: "5"}}}, false)
	m["e"] = "5"
	expectLatest(t, c, 4, m)

	// While Pebble writes the checkpoint (as it copies the MANIFEST).
	hooked.hook = func(op, path string) {
		if op == "create" && strings.HasPrefix(path, "/cp/"+chkDirName(5)+"/MANIFEST-") {
			c.live.fail(errors.New("injected: compaction failed"))
		}
	}
	w, err = c.Begin(5)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyParts(w, [][]op{{{key: "f", val: "6"}}}, 10, false); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(metaOf(5)); err == nil || !strings.Contains(err.Error(), "braid: checkpoint 5:") || !strings.Contains(err.Error(), "injected: compaction failed") {
		t.Fatalf("Commit on a live state that failed while the checkpoint was written: %v", err)
	}
	hooked.hook = func(string, string) {}
	expectLatest(t, c, 4, m)
}

// Each checkpoint flushes a table into L0 whose keys span the state, and
// an L0 compaction rewrites the whole state to fold them in: the live
// database lets L0 grow to 8 sublevels (half of L0CompactionThreshold)
// before it compacts, not Pebble's 2. A checkpoint of 10,000 keys and 6
// of two changes each at the ends of the key space set off no compaction;
// the next one does.
func TestCheckpointsCompactL0Late(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := mustOpen(t, vfs.NewMem(), CheckpointOptions{})
	defer c.Close()
	if err := c.Fresh(); err != nil {
		t.Fatal(err)
	}
	const keys = 10_000
	full := make([]op, keys)
	for i := range full {
		full[i] = op{key: testKey(0, i), val: fmt.Sprintf("v%d", i)}
	}
	commitOps(t, c, 1, full)
	ends := func(id uint64) []op {
		return []op{{key: testKey(0, 0), val: fmt.Sprint(id)}, {key: testKey(0, keys-1), val: fmt.Sprint(id)}}
	}
	const depth = 8 // half of l0Compaction
	for id := uint64(2); id < depth; id++ {
		commitOps(t, c, id, ends(id))
	}
	settle(t, c)
	m := c.live.db.Metrics()
	if n, got := m.Compact.Count, m.Levels[0].Sublevels; n != 0 || got != depth-1 {
		t.Fatalf("after %d checkpoints: %d compactions, L0 of %d sublevels; want none and one sublevel each", depth-1, n, got)
	}
	commitOps(t, c, depth, ends(depth))
	settle(t, c)
	if n := c.live.db.Metrics().Compact.Count; n == 0 {
		t.Fatalf("no compaction after %d checkpoints, each a sublevel", depth)
	}
}

// commitOps writes ops as checkpoint id and commits it.
func commitOps(t testing.TB, c *Checkpoints, id uint64, ops []op) {
	t.Helper()
	w, err := c.Begin(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyParts(w, [][]op{ops}, 1000, false); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(metaOf(id)); err != nil {
		t.Fatal(err)
	}
}
