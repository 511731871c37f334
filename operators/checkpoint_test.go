package operators

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidstream/braid/state"
)

// memStore is a checkpoint store in memory, for tests of the runtime's
// part: it keeps every complete checkpoint, so a test can check each.
type memStore struct {
	mu    sync.Mutex
	live  map[string][]byte
	done  []*memCP
	dirty bool // a failed checkpoint may have changed live
	open  bool
	// failCommit, when set, decides whether commit of id fails.
	failCommit func(id int64) error
	begun      int // checkpoints begun
}

type memCP struct {
	cid   int64
	cmeta []byte
	data  map[string][]byte
}

func newMemStore() *memStore { return &memStore{live: map[string][]byte{}} }

func (s *memStore) latest() (restoredCheckpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.done) == 0 {
		return nil, nil
	}
	return s.done[len(s.done)-1], nil
}

func (s *memStore) resume(cp restoredCheckpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = maps.Clone(cp.(*memCP).data)
	s.dirty = false
	return nil
}

func (s *memStore) fresh() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = map[string][]byte{}
	s.dirty = false
	if len(s.done) == 0 {
		return 0, nil
	}
	return s.done[len(s.done)-1].cid, nil
}

func (s *memStore) begin(id int64) (checkpointTxn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		return nil, errors.New("a checkpoint is open")
	}
	if n := len(s.done); n > 0 && s.done[n-1].cid >= id {
		return nil, fmt.Errorf("checkpoint %d after %d", id, s.done[n-1].cid)
	}
	if s.dirty {
		s.live = map[string][]byte{}
		if n := len(s.done); n > 0 {
			s.live = maps.Clone(s.done[n-1].data)
		}
		s.dirty = false
	}
	s.open = true
	s.begun++
	return &memTxn{s: s, id: id}, nil
}

func (s *memStore) close() error { return nil }

// complete returns the complete checkpoints.
func (s *memStore) complete() []*memCP {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.done)
}

type memTxn struct {
	s  *memStore
	id int64
}

func (t *memTxn) apply(e *entries) error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.s.dirty = true
	return e.each(func(kind entryKind, key, val []byte) error {
		switch kind {
		case entrySet:
			t.s.live[string(key)] = bytes.Clone(val)
		case entryDelete:
			delete(t.s.live, string(key))
		case entryDeleteRange:
			for k := range t.s.live {
				if k >= string(key) && k < string(val) {
					delete(t.s.live, k)
				}
			}
		}
		return nil
	})
}

func (t *memTxn) commit(meta []byte) (checkpointStats, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.s.open = false
	if t.s.failCommit != nil {
		if err := t.s.failCommit(t.id); err != nil {
			t.s.dirty = true
			return checkpointStats{}, err
		}
	}
	t.s.done = append(t.s.done, &memCP{cid: t.id, cmeta: meta, data: maps.Clone(t.s.live)})
	t.s.dirty = false
	return checkpointStats{}, nil
}

func (t *memTxn) abort() error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.s.open = false
	t.s.dirty = true
	return nil
}

func (c *memCP) id() int64    { return c.cid }
func (c *memCP) meta() []byte { return c.cmeta }
func (c *memCP) close() error { return nil }
func (c *memCP) get(key []byte) ([]byte, bool, error) {
	v, ok := c.data[string(key)]
	return v, ok, nil
}
func (c *memCP) scan(lo, hi []byte, fn func(k, v []byte) error) error {
	keys := slices.Sorted(maps.Keys(c.data))
	for _, k := range keys {
		if k >= string(lo) && (hi == nil || k < string(hi)) {
			if err := fn([]byte(k), c.data[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// genReader emits sub, sub+par, sub+2*par, ... below n, a few per Read,
// and can say and go back to where it is.
type genReader struct {
	sub, par, n int
	next        int // elements emitted
	per         int
	inline      bool
	pause       time.Duration
}

func (g *genReader) Read(ctx context.Context, buf []int) (int, error) {
	if g.pause > 0 {
		time.Sleep(g.pause)
	}
	k := 0
	for k < len(buf) && k < g.per {
		v := g.sub + g.next*g.par
		if v >= g.n {
			return k, io.EOF
		}
		buf[k] = v
		k++
		g.next++
	}
	return k, nil
}
func (g *genReader) Close() error { return nil }
func (g *genReader) Inline() bool { return g.inline }
func (g *genReader) Position() ([]byte, error) {
	return binary.AppendUvarint(nil, uint64(g.next)), nil
}
func (g *genReader) Seek(pos []byte) error {
	v, n := binary.Uvarint(pos)
	if n <= 0 {
		return fmt.Errorf("bad position %x", pos)
	}
	g.next = int(v)
	return nil
}

// counter counts elements per key (x mod keys) and emits its counts at
// the end; its counts are its checkpointed state.
type counter struct {
	out    Input[[2]int]
	counts map[int]int
	dirty  map[int]bool // keys changed since the last snapshot
	keys   int
	maxP   int
	// panicAt, when positive, panics once the counter has seen that many
	// elements in this run.
	seen, panicAt int
	snapPause     time.Duration // how long each snapshot takes, at least
}

func countHash(k int) uint64 { return state.Mix64(uint64(k)) }

func (c *counter) Push(b *Batch[int]) error {
	for _, v := range b.Values {
		c.counts[v%c.keys]++
		c.dirty[v%c.keys] = true
		c.seen++
		if c.panicAt > 0 && c.seen == c.panicAt {
			panic("counter: planned failure")
		}
	}
	return nil
}
func (c *counter) Watermark(int64) error { return nil }
func (c *counter) Idle(bool) error       { return nil }
func (c *counter) Finish() error {
	var b Batch[[2]int]
	for _, k := range slices.Sorted(maps.Keys(c.counts)) {
		b.Values = append(b.Values, [2]int{k, c.counts[k]})
	}
	if err := c.out.Push(&b); err != nil {
		return err
	}
	return c.out.Finish()
}

// Snapshot writes the keys changed since the last snapshot, or all of
// them when the writer asks.
func (c *counter) Snapshot(w *StateWriter) error {
	time.Sleep(c.snapPause)
	for k, n := range c.counts {
		if w.Full() || c.dirty[k] {
			w.Set(state.KeyGroup(countHash(k), c.maxP), binary.AppendVarint(nil, int64(k)), binary.AppendVarint(nil, int64(n)))
		}
	}
	clear(c.dirty)
	return nil
}

func (c *counter) Restore(r *StateReader) error {
	return r.Keyed(func(kg int, key, val []byte) error {
		k, _ := binary.Varint(key)
		n, _ := binary.Varint(val)
		if want := state.KeyGroup(countHash(int(k)), c.maxP); want != kg {
			return fmt.Errorf("key %d in key group %d, want %d", k, kg, want)
		}
		c.counts[int(k)] = int(n)
		return nil
	})
}

type ckJob struct {
	n, keys        int
	srcPar, mapPar int
	countPar       int
	inline         bool
	pause          time.Duration
	snapPause      time.Duration // the counter's, each snapshot
	panicAt        int
	results        chan [2]int
	// told, when set, makes the sources CommitListeners that call it with
	// their subtask and each position they are told.
	told func(sub, pos int)
}

// toldReader is a genReader that is told of complete checkpoints.
type toldReader struct {
	*genReader
	told func(sub, pos int)
}

func (r toldReader) Committed(pos []byte) error {
	v, n := binary.Uvarint(pos)
	if n <= 0 {
		return fmt.Errorf("told an unreadable position %x", pos)
	}
	r.told(r.sub, int(v))
	return nil
}

// nodes builds source -> rebalance -> map -> keyBy -> counter -> sink.
func (j *ckJob) nodes() []*Node {
	src := NewSourceNode[int]("gen", func(ctx context.Context, sub, par int) (SourceReader[int], error) {
		g := &genReader{sub: sub, par: par, n: j.n, per: 37, inline: j.inline, pause: j.pause}
		if j.told != nil {
			return toldReader{g, j.told}, nil
		}
		return g, nil
	})
	src.Parallelism = j.srcPar
	mp := NewOpNode[int]("map", func(bc *BuildContext, out any) ([]any, error) {
		return []any{NewMap(func(x int) int { return x }, out.(Input[int]))}, nil
	})
	mp.Parallelism = j.mapPar
	mp.Inputs = []Edge{{From: src, Partition: Rebalance()}}
	cnt := NewOpNode[[2]int]("count", func(bc *BuildContext, out any) ([]any, error) {
		c := &counter{out: out.(Input[[2]int]), counts: map[int]int{}, dirty: map[int]bool{}, keys: j.keys, maxP: bc.MaxParallelism, panicAt: j.panicAt, snapPause: j.snapPause}
		bc.AddSnapshotter(c)
		return []any{c}, nil
	})
	cnt.Parallelism = j.countPar
	h := func(k int) uint64 { return countHash(k) }
	cnt.Inputs = []Edge{{From: mp, Partition: KeyBy(func(x int) int { return x % j.keys }, h)}}
	sink := NewOpNode[struct{}]("sink", func(bc *BuildContext, out any) ([]any, error) {
		return []any{NewSink(func(b *Batch[[2]int]) error {
			for _, v := range b.Values {
				j.results <- v
			}
			return nil
		}, nil)}, nil
	})
	sink.Inputs = []Edge{{From: cnt, Partition: Forward()}}
	sink.Parallelism = j.countPar
	return []*Node{src, mp, cnt, sink}
}

// expected counts per key of the elements below each source subtask's
// position (all of them: positions nil).
func (j *ckJob) expected(pos []int) map[int]int {
	want := map[int]int{}
	for s := 0; s < j.srcPar; s++ {
		for i := 0; ; i++ {
			v := s + i*j.srcPar
			if v >= j.n || pos != nil && i >= pos[s] {
				break
			}
			want[v%j.keys]++
		}
	}
	return want
}

// decode reads a complete checkpoint's source positions and counts.
func (j *ckJob) decode(t *testing.T, cp *memCP, uid map[string]string) (pos []int, counts map[int]int) {
	pos = make([]int, j.srcPar)
	for s := range pos {
		v, ok, _ := cp.get(operatorKey(nil, uid["gen"], s, "position"))
		if !ok {
			t.Fatalf("checkpoint %d has no position for source subtask %d", cp.cid, s)
		}
		p, _ := binary.Uvarint(v)
		pos[s] = int(p)
	}
	counts = map[int]int{}
	lo := opPrefix(nil, uid["count"], keyedTag)
	hi := opPrefix(nil, uid["count"], keyedTag+1)
	cp.scan(lo, hi, func(k, v []byte) error {
		key, _ := binary.Varint(k[len(lo)+2:])
		n, _ := binary.Varint(v)
		counts[int(key)] = int(n)
		return nil
	})
	return pos, counts
}

func uidsOf(nodes []*Node) map[string]string {
	p := &plan{nodes: nodes}
	p.uids()
	out := map[string]string{}
	for n, u := range p.uid {
		out[n.Name] = u
	}
	return out
}

func runCk(t *testing.T, ctx context.Context, j *ckJob, store *memStore, cfg Config) (map[int]int, error) {
	t.Helper()
	j.results = make(chan [2]int, 1<<16)
	nodes := j.nodes()
	if cfg.Checkpoint == nil {
		cfg.Checkpoint = &CheckpointConfig{Interval: 2 * time.Millisecond, TolerableFailures: 3}
	}
	cfg.Checkpoint.store = store
	cfg.Logger = slog.New(slog.DiscardHandler)
	err := NewJob(nodes, cfg).Run(ctx)
	close(j.results)
	got := map[int]int{}
	for r := range j.results {
		got[r[0]] += r[1]
	}
	return got, err
}

// Every complete checkpoint is consistent: the counts it holds are exactly
// those of the elements before the sources' positions it holds, at every
// layout. This is what barrier alignment guarantees.
func TestCheckpointsAreConsistentCuts(t *testing.T) {
	layouts := []struct {
		src, mp, cnt, batch, credits int
		noChain, inline              bool
	}{
		{1, 1, 1, 4096, 4, false, true},
		{2, 3, 2, 7, 1, false, false},
		{3, 1, 4, 1, 2, true, true},
		{2, 2, 2, 64, 4, true, false},
	}
	for _, l := range layouts {
		t.Run(fmt.Sprintf("src%d-map%d-count%d-batch%d-credits%d-nochain%v-inline%v", l.src, l.mp, l.cnt, l.batch, l.credits, l.noChain, l.inline), func(t *testing.T) {
			n := 60_000
			if l.batch == 1 {
				n = 8_000
			}
			if testing.Short() {
				n /= 3
			}
			j := &ckJob{n: n, keys: 13, srcPar: l.src, mapPar: l.mp, countPar: l.cnt, inline: l.inline, pause: 50 * time.Microsecond}
			store := newMemStore()
			got, err := runCk(t, context.Background(), j, store, Config{Parallelism: 1, BatchSize: l.batch, Credits: l.credits, NoChaining: l.noChain})
			if err != nil {
				t.Fatal(err)
			}
			if want := j.expected(nil); !maps.Equal(got, want) {
				t.Fatalf("results %v, want %v", got, want)
			}
			cps := store.complete()
			if len(cps) < 3 {
				t.Fatalf("only %d checkpoints completed", len(cps))
			}
			uid := uidsOf(j.nodes())
			for _, cp := range cps {
				pos, counts := j.decode(t, cp, uid)
				if want := j.expected(pos); !maps.Equal(counts, want) {
					t.Fatalf("checkpoint %d: positions %v, counts %v, want %v", cp.cid, pos, counts, want)
				}
			}
			var meta checkpointMeta
			if err := jsonUnmarshal(cps[len(cps)-1].cmeta, &meta); err != nil || !meta.Final {
				t.Fatalf("last checkpoint %s is not the final one (%v)", cps[len(cps)-1].cmeta, err)
			}
		})
	}
}

// A job stopped after some checkpoints and run again on the same store
// resumes: its final counts are those of one uninterrupted run.
func TestResumeFromCheckpoint(t *testing.T) {
	for _, inline := range []bool{true, false} {
		t.Run(fmt.Sprintf("inline%v", inline), func(t *testing.T) {
			j := &ckJob{n: 40_000, keys: 7, srcPar: 2, mapPar: 2, countPar: 3, inline: inline, pause: 100 * time.Microsecond}
			store := newMemStore()
			for round := 0; ; round++ {
				ctx, cancel := context.WithCancel(context.Background())
				before := len(store.complete())
				go func() {
					for len(store.complete()) < before+2 && ctx.Err() == nil {
						time.Sleep(time.Millisecond)
					}
					time.Sleep(time.Duration(round%7) * 2 * time.Millisecond)
					cancel()
				}()
				got, err := runCk(t, ctx, j, store, Config{Parallelism: 2, BatchSize: 16})
				cancel()
				if err == nil {
					if round == 0 {
						t.Fatalf("the job ended before it could be stopped")
					}
					if want := j.expected(nil); !maps.Equal(got, want) {
						t.Fatalf("after %d restarts: %v, want %v", round, got, want)
					}
					return
				}
				if !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
				if round > 200 {
					t.Fatalf("no end after %d restarts", round)
				}
			}
		})
	}
}

// A source whose reader is a CommitListener is told, as checkpoints
// complete, the positions those checkpoints hold for it, in order, and
// never one of a checkpoint that failed; inline or in a goroutine of its
// own, at parallelism 1 and 2.
func TestSourcesAreToldOfCompleteCheckpoints(t *testing.T) {
	for _, l := range []struct {
		par    int
		inline bool
	}{{1, true}, {1, false}, {2, true}, {2, false}} {
		t.Run(fmt.Sprintf("p%d-inline%v", l.par, l.inline), func(t *testing.T) {
			var mu sync.Mutex
			told := map[int][]int{}
			j := &ckJob{n: 20_000, keys: 7, srcPar: l.par, mapPar: 1, countPar: l.par, inline: l.inline, pause: 100 * time.Microsecond,
				told: func(sub, pos int) {
					mu.Lock()
					told[sub] = append(told[sub], pos)
					mu.Unlock()
				}}
			store := newMemStore()
			var commits atomic.Int64
			store.failCommit = func(id int64) error {
				if commits.Add(1)%3 == 2 {
					return fmt.Errorf("disk full at checkpoint %d", id)
				}
				return nil
			}
			got, err := runCk(t, context.Background(), j, store, Config{Parallelism: l.par, BatchSize: 16})
			if err != nil {
				t.Fatal(err)
			}
			if want := j.expected(nil); !maps.Equal(got, want) {
				t.Fatalf("results %v, want %v", got, want)
			}
			complete := map[int]map[int]bool{} // per subtask, the positions of complete checkpoints
			uid := uidsOf(j.nodes())
			for _, cp := range store.complete() {
				pos, _ := j.decode(t, cp, uid)
				for s, p := range pos {
					if complete[s] == nil {
						complete[s] = map[int]bool{}
					}
					complete[s][p] = true
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for s := range l.par {
				ps := told[s]
				if len(ps) < 2 {
					t.Fatalf("subtask %d was told %d positions (%d checkpoints complete): want several", s, len(ps), len(store.complete()))
				}
				for i, p := range ps {
					if !complete[s][p] {
						t.Fatalf("subtask %d was told position %d, which no complete checkpoint holds", s, p)
					}
					if i > 0 && p <= ps[i-1] {
						t.Fatalf("subtask %d was told %v: not in order", s, ps)
					}
				}
			}
		})
	}
}

// A checkpoint whose commit fails is declared failed and the job goes on;
// the next ones are whole again (operators that write only what changed
// are asked for everything), and too many failures in a row fail the job.
func TestFailedCheckpoints(t *testing.T) {
	j := &ckJob{n: 40_000, keys: 11, srcPar: 2, mapPar: 1, countPar: 2, pause: 100 * time.Microsecond}
	store := newMemStore()
	var commits atomic.Int64
	store.failCommit = func(id int64) error {
		if n := commits.Add(1); n%3 == 2 {
			return fmt.Errorf("disk full at checkpoint %d", id)
		}
		return nil
	}
	got, err := runCk(t, context.Background(), j, store, Config{Parallelism: 2, BatchSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	if want := j.expected(nil); !maps.Equal(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	cps := store.complete()
	if len(cps) < 3 || commits.Load() <= int64(len(cps)) {
		t.Fatalf("%d commits, %d complete: the test needs failures between successes", commits.Load(), len(cps))
	}
	uid := uidsOf(j.nodes())
	for _, cp := range cps {
		pos, counts := j.decode(t, cp, uid)
		if want := j.expected(pos); !maps.Equal(counts, want) {
			t.Fatalf("checkpoint %d after failures: positions %v, counts %v, want %v", cp.cid, pos, counts, want)
		}
	}

	// Every commit fails: the job fails after the tolerated number.
	j = &ckJob{n: 1 << 40, keys: 3, srcPar: 1, mapPar: 1, countPar: 1, pause: 100 * time.Microsecond}
	store = newMemStore()
	store.failCommit = func(id int64) error { return fmt.Errorf("disk full at checkpoint %d", id) }
	_, err = runCk(t, context.Background(), j, store, Config{Checkpoint: &CheckpointConfig{Interval: time.Millisecond, TolerableFailures: 2}})
	if err == nil || !strings.Contains(err.Error(), "3 checkpoints failed in a row (tolerable: 2)") || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("job with failing checkpoints: %v", err)
	}
}

// A checkpoint that does not complete in time is abandoned, and the next
// one starts. Each snapshot of the counter takes 20 ms, so that no
// checkpoint can complete within the timeout of 1 ns (its acks would race
// the timer, the map and the counter sharing a task).
func TestCheckpointTimeout(t *testing.T) {
	j := &ckJob{n: 5_000, keys: 5, srcPar: 1, mapPar: 1, countPar: 1, pause: 200 * time.Microsecond, snapPause: 20 * time.Millisecond}
	store := newMemStore()
	cfg := Config{BatchSize: 8, Checkpoint: &CheckpointConfig{Interval: time.Millisecond, MinPause: 20 * time.Millisecond, Timeout: time.Nanosecond, TolerableFailures: -1}}
	got, err := runCk(t, context.Background(), j, store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := j.expected(nil); !maps.Equal(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	// Only the final checkpoint completes: every other timed out at once,
	// and the next began.
	if cps := store.complete(); len(cps) != 1 {
		t.Fatalf("%d checkpoints complete with a timeout of 1ns, want only the final one", len(cps))
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.begun < 3 {
		t.Fatalf("%d checkpoints begun: the test needs several to time out", store.begun)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// A job with checkpoints refuses, before it reads anything, to run an
// operator whose state checkpoints cannot hold.
func TestCheckpointsRefuseUncoveredState(t *testing.T) {
	read := atomic.Int64{}
	src := NewSourceNode[int]("gen", func(ctx context.Context, sub, par int) (SourceReader[int], error) {
		read.Add(1)
		return &genReader{sub: sub, par: par, n: 10, per: 3}, nil
	})
	op := NewOpNode[struct{}]("windowish", func(bc *BuildContext, out any) ([]any, error) {
		bc.Unsupported("windowish state")
		return []any{NewSink(func(*Batch[int]) error { return nil }, nil)}, nil
	})
	op.Inputs = []Edge{{From: src, Partition: Forward()}}
	cfg := Config{Logger: slog.New(slog.DiscardHandler), Checkpoint: &CheckpointConfig{Interval: time.Second, store: newMemStore()}}
	err := NewJob([]*Node{src, op}, cfg).Run(context.Background())
	if !errors.Is(err, ErrCheckpointUnsupported) || !strings.Contains(err.Error(), "windowish state") {
		t.Fatalf("got %v, want ErrCheckpointUnsupported naming the operator", err)
	}
	// Without checkpoints the same job runs.
	cfg.Checkpoint = nil
	if err := NewJob([]*Node{src, op}, cfg).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Two snapshotters of one operator (a join's window and its marks) both
// survive a full snapshot: the operator's old state is cleared once,
// before the first, not before each.
func TestFullSnapshotKeepsEverySnapshotterOfAnOperator(t *testing.T) {
	tk := &task{subtask: 0, parallelism: 1, done: make(chan struct{})}
	coord := newCoordinator(CheckpointConfig{Interval: time.Second}, slog.New(slog.DiscardHandler), 1, 0)
	tk.cp = &taskCP{coord: coord}
	a := &fixedState{name: "a"}
	b := &fixedState{name: "b"}
	tk.cp.snaps = []snapAt{{s: a, uid: "op", kgHi: 1}, {s: b, uid: "op", kgHi: 1}}
	if err := tk.checkpoint(finalCheckpoint, nil); err != nil {
		t.Fatal(err)
	}
	got := <-coord.acks
	store := newMemStore()
	store.fresh()
	txn, _ := store.begin(1)
	if err := txn.apply(got.e); err != nil {
		t.Fatal(err)
	}
	txn.commit(nil)
	cp := store.complete()[0]
	for _, name := range []string{"a", "b"} {
		if _, ok, _ := cp.get(operatorKey(nil, "op", 0, name)); !ok {
			t.Errorf("the full snapshot lost %q's state", name)
		}
	}
}

// fixedState writes one piece of operator state under its name.
type fixedState struct{ name string }

func (f *fixedState) Snapshot(w *StateWriter) error { w.SetOperator(f.name, []byte{1}); return nil }
func (f *fixedState) Restore(*StateReader) error    { return nil }

// marks writes one piece of operator state per subtask, the run's number
// and its subtask's, and records what each subtask's restore saw.
type marks struct {
	run, subtask int
	seen         *sync.Map // "run/subtask" -> restoredMark
}

type restoredMark struct {
	own []byte // Operator("mark"), nil when none
	all int    // len(OperatorAll("mark"))
}

func (m *marks) Push(*Batch[int]) error { return nil }
func (m *marks) Watermark(int64) error  { return nil }
func (m *marks) Idle(bool) error        { return nil }
func (m *marks) Finish() error          { return nil }
func (m *marks) Snapshot(w *StateWriter) error {
	w.SetOperator("mark", []byte{byte(m.run), byte(m.subtask)})
	return nil
}
func (m *marks) Restore(r *StateReader) error {
	own, _, err := r.Operator("mark")
	if err != nil {
		return err
	}
	all, err := r.OperatorAll("mark")
	m.seen.Store(fmt.Sprintf("%d/%d", m.run, m.subtask), restoredMark{own: own, all: len(all)})
	return err
}

// Operator state follows a rescale: a subtask a rescale to fewer removed
// leaves nothing behind, so that a later rescale back up gives the new
// subtasks no state (not that of the run before the first rescale), and
// the store holds no operator state beyond the parallelism.
func TestRescaleLeavesNoStaleOperatorState(t *testing.T) {
	store := newMemStore()
	seen := &sync.Map{}
	nodes := func(r, par int) []*Node {
		src := NewSourceNode[int]("gen", func(ctx context.Context, sub, p int) (SourceReader[int], error) {
			return &genReader{sub: sub, par: p, n: 1 << 30, per: 8, pause: 20 * time.Microsecond}, nil
		})
		op := NewOpNode[struct{}]("marks", func(bc *BuildContext, out any) ([]any, error) {
			m := &marks{run: r, subtask: bc.Subtask, seen: seen}
			bc.AddSnapshotter(m)
			return []any{m}, nil
		})
		op.Parallelism = par
		op.Inputs = []Edge{{From: src, Partition: Rebalance()}}
		return []*Node{src, op}
	}
	run := func(r, par int) {
		t.Helper()
		cfg := Config{Parallelism: 1, Logger: slog.New(slog.DiscardHandler),
			Checkpoint: &CheckpointConfig{Interval: 2 * time.Millisecond, TolerableFailures: 3, store: store}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		before := len(store.complete())
		go func() {
			for len(store.complete()) < before+2 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		if err := NewJob(nodes(r, par), cfg).Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: %v", r, err)
		}
	}
	uid := uidsOf(nodes(0, 1))["marks"]
	subtasksIn := func(cp *memCP) []int {
		var subs []int
		cp.scan(opPrefix(nil, uid, operatorTag), opPrefix(nil, uid, operatorTag+1), func(k, v []byte) error {
			n := len(opPrefix(nil, uid, operatorTag))
			subs = append(subs, int(binary.BigEndian.Uint16(k[n:])))
			return nil
		})
		return subs
	}
	run(1, 4)
	run(2, 2)
	last := store.complete()[len(store.complete())-1]
	if subs := subtasksIn(last); !slices.Equal(subs, []int{0, 1}) {
		t.Fatalf("after the rescale from 4 to 2, the checkpoint holds operator state of subtasks %v, want [0 1]", subs)
	}
	run(3, 4)
	for sub := range 4 {
		v, ok := seen.Load(fmt.Sprintf("3/%d", sub))
		if !ok {
			t.Fatalf("run 3 subtask %d was not restored", sub)
		}
		m := v.(restoredMark)
		if m.all != 2 {
			t.Errorf("run 3 subtask %d: OperatorAll gave %d states, want the 2 of run 2", sub, m.all)
		}
		switch {
		case sub < 2 && !bytes.Equal(m.own, []byte{2, byte(sub)}):
			t.Errorf("run 3 subtask %d: own state %v, want run 2's [2 %d]", sub, m.own, sub)
		case sub >= 2 && m.own != nil:
			t.Errorf("run 3 subtask %d (new): own state %v, want none (run 1's is stale)", sub, m.own)
		}
	}
}
