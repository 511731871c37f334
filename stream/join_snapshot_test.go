package stream_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// memTwoPhase is a two-phase sink in memory, shared by the runs of a job:
// what it publishes is the job's exactly-once output.
type memTwoPhase struct {
	mu        sync.Mutex
	staged    map[[2]int64][]string // (subtask, checkpoint) -> pre-committed
	published map[[2]int64][]string
	// committed is the greatest checkpoint id committed so far.
	committed atomic.Int64
}

func newMemTwoPhase() *memTwoPhase {
	return &memTwoPhase{staged: map[[2]int64][]string{}, published: map[[2]int64][]string{}}
}

func (m *memTwoPhase) open(c stream.SinkContext) (stream.TwoPhaseSink[string], error) {
	return &memTxnSink{m: m, sub: int64(c.Subtask)}, nil
}

// all returns what was published, sorted.
func (m *memTwoPhase) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, k := range slices.SortedFunc(maps.Keys(m.published), func(a, b [2]int64) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	}) {
		out = append(out, m.published[k]...)
	}
	slices.Sort(out)
	return out
}

type memTxnSink struct {
	m    *memTwoPhase
	sub  int64
	open []string
}

func (s *memTxnSink) Write(vals []string) error { s.open = append(s.open, vals...); return nil }

func (s *memTxnSink) PreCommit(id int64) ([]byte, error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.staged[[2]int64{s.sub, id}] = s.open
	s.open = nil
	return binary.AppendVarint(nil, id), nil
}

func (s *memTxnSink) Commit(txn []byte) error {
	id, _ := binary.Varint(txn)
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	k := [2]int64{s.sub, id}
	if v, ok := s.m.staged[k]; ok {
		s.m.published[k] = v
		delete(s.m.staged, k)
	}
	if id > s.m.committed.Load() {
		s.m.committed.Store(id)
	}
	return nil
}

func (s *memTxnSink) Recover(pending [][]byte) error {
	for _, p := range pending {
		if err := s.Commit(p); err != nil {
			return err
		}
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	for k := range s.m.staged {
		if k[0] == s.sub {
			delete(s.m.staged, k)
		}
	}
	return nil
}

func (s *memTxnSink) Abort() error { s.open = nil; return nil }
func (s *memTxnSink) Close() error { return nil }

// A window join with allowed lateness emits each pair once per window,
// also across a restore: a job whose user function panics while late
// elements keep re-firing windows restarts from its last checkpoint, and
// its exactly-once output holds every pair of every window once, none
// twice, none missing. (The join's marks, which tell a re-firing's new
// pairs from those out already, are checkpointed with the windows.)
func TestJoinWithLatenessPairsOnceAcrossRestore(t *testing.T) {
	const (
		n    = 6_000
		size = 10 * time.Millisecond
		keys = 3
	)
	type ev struct {
		ID    int64
		Right bool
		Key   int
		Ts    time.Duration
	}
	// Every fifth element is 35ms behind: its window fired long ago (the
	// watermark follows the newest timestamp), but lies within the
	// lateness, so it joins the window and fires it again. Nothing is
	// late beyond the lateness, so the output is every pair of every
	// window, however the firings fell.
	gen := func(i int64) ev {
		ts := time.Duration(i) * 100 * time.Microsecond
		if i%5 == 4 {
			ts -= 35 * time.Millisecond
		}
		return ev{ID: i, Right: i%3 == 1, Key: int(i/3) % keys, Ts: max(ts, 0)}
	}
	want := map[string]bool{}
	{
		type wk struct {
			key int
			w   time.Duration
		}
		byW := map[wk][2][]int64{}
		for i := range int64(n) {
			e := gen(i)
			k := wk{e.Key, e.Ts / size}
			s := byW[k]
			if e.Right {
				s[1] = append(s[1], e.ID)
			} else {
				s[0] = append(s[0], e.ID)
			}
			byW[k] = s
		}
		for _, s := range byW {
			for _, a := range s[0] {
				for _, b := range s[1] {
					want[fmt.Sprintf("%d-%d", a, b)] = true
				}
			}
		}
	}
	sink := newMemTwoPhase()
	var seen atomic.Int64
	var panicked atomic.Bool
	env := stream.NewEnv(stream.WithLogger(quiet()), stream.WithParallelism(2), stream.WithBatchSize(16),
		stream.WithCheckpointing("/ck", 2*time.Millisecond, stream.CheckpointFS(vfs.NewMem())),
		stream.WithRestartStrategy(stream.FixedDelayRestart(3, time.Millisecond)))
	src := stream.Generate(env, gen, stream.Limit(n), stream.Rate(50_000)).
		WithTimestamps(func(e ev) time.Time { return time.Unix(0, int64(e.Ts)) }, stream.BoundedOutOfOrderness(0))
	left := stream.KeyBy(src.Filter(func(e ev) bool { return !e.Right }), func(e ev) int { return e.Key })
	right := stream.KeyBy(src.Filter(func(e ev) bool { return e.Right }), func(e ev) int { return e.Key })
	joined, _, _ := stream.JoinWithLateness(left, right, window.Tumbling(size), time.Hour,
		func(a, b ev) string { return fmt.Sprintf("%d-%d", a.ID, b.ID) })
	stream.Map(joined, func(s string) string {
		// Fail once, in the middle of the stream, once a few checkpoints
		// are complete: the job restores from an incremental one.
		if seen.Add(1) >= int64(len(want))/3 && sink.committed.Load() >= 3 && !panicked.Swap(true) {
			panic("planned failure")
		}
		return s
	}).SinkTo("pairs", sink.open)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	got := sink.all()
	if !panicked.Load() {
		t.Fatalf("the job never failed (%d results of %d pairs): the test checks nothing", seen.Load(), len(want))
	}
	count := map[string]int{}
	for _, p := range got {
		count[p]++
	}
	var twice, missing, stray []string
	for p, c := range count {
		if c > 1 {
			twice = append(twice, p)
		}
		if !want[p] {
			stray = append(stray, p)
		}
	}
	for p := range want {
		if count[p] == 0 {
			missing = append(missing, p)
		}
	}
	if len(twice)+len(missing)+len(stray) > 0 {
		slices.Sort(twice)
		slices.Sort(missing)
		t.Fatalf("of %d pairs: %d twice (e.g. %v), %d missing (e.g. %v), %d not of a window (e.g. %v)", len(want),
			len(twice), twice[:min(5, len(twice))], len(missing), missing[:min(5, len(missing))], len(stray), stray[:min(5, len(stray))])
	}
}
