package operators

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// recordingSink is a TwoPhaseSink that keeps its transactions in memory
// and checks, at every Commit, that the transaction's checkpoint is
// complete in the store.
type recordingSink struct {
	mu        *sync.Mutex
	store     *memStore
	open      []int
	staged    map[string][]int
	published map[string][]int
	errs      *[]string
	sub       int
}

func (r *recordingSink) Write(vals []int) error { r.open = append(r.open, vals...); return nil }

func (r *recordingSink) PreCommit(id int64) ([]byte, error) {
	if len(r.open) == 0 {
		return nil, nil
	}
	name := fmt.Sprintf("%d-%d", r.sub, id)
	r.mu.Lock()
	r.staged[name] = r.open
	r.mu.Unlock()
	r.open = nil
	return []byte(name), nil
}

func (r *recordingSink) Commit(txn []byte) error {
	name := string(txn)
	r.mu.Lock()
	defer r.mu.Unlock()
	var id int64
	fmt.Sscanf(name[len(strconv.Itoa(r.sub))+1:], "%d", &id)
	if id != FinalCheckpoint {
		complete := slices.ContainsFunc(r.store.complete(), func(c *memCP) bool { return c.cid >= id })
		if !complete {
			*r.errs = append(*r.errs, fmt.Sprintf("transaction %s committed before its checkpoint completed", name))
		}
	}
	if v, ok := r.staged[name]; ok {
		r.published[name] = v
	} else if _, ok := r.published[name]; !ok {
		*r.errs = append(*r.errs, fmt.Sprintf("commit of %s, never staged", name))
	}
	return nil
}

func (r *recordingSink) Recover(pending [][]byte) error {
	for _, p := range pending {
		if err := r.Commit(p); err != nil {
			return err
		}
	}
	return nil
}
func (r *recordingSink) Abort() error { r.open = nil; return nil }
func (r *recordingSink) Close() error { return nil }

// A two-phase sink publishes a transaction only once its checkpoint is
// complete, and, across stops and restores, publishes every element
// exactly once.
func TestTwoPhaseSink(t *testing.T) {
	store := newMemStore()
	var mu sync.Mutex
	var errs []string
	staged, published := map[string][]int{}, map[string][]int{}
	const n = 30_000
	build := func() []*Node {
		src := NewSourceNode[int]("gen", func(ctx context.Context, sub, par int) (SourceReader[int], error) {
			return &genReader{sub: sub, par: par, n: n, per: 29, pause: 50 * time.Microsecond}, nil
		})
		sink := NewOpNode[struct{}]("sink", func(bc *BuildContext, out any) ([]any, error) {
			rs := &recordingSink{mu: &mu, store: store, staged: staged, published: published, errs: &errs, sub: bc.Subtask}
			return []any{NewTwoPhase[int](rs, bc)}, nil
		})
		sink.Inputs = []Edge{{From: src, Partition: Rebalance()}}
		sink.Parallelism = 2
		return []*Node{src, sink}
	}
	cfg := Config{Logger: slog.New(slog.DiscardHandler), BatchSize: 64,
		Checkpoint: &CheckpointConfig{Interval: time.Millisecond, store: store}}
	for round := 0; ; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(3+round%5*2)*time.Millisecond)
		err := NewJob(build(), cfg).Run(ctx)
		cancel()
		if err == nil {
			break
		}
		if round > 300 {
			t.Fatalf("no end: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("%d protocol errors, e.g. %v", len(errs), errs[0])
	}
	var all []int
	for _, v := range published {
		all = append(all, v...)
	}
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("%d published: element %d where %d belongs", len(all), v, i)
		}
	}
	if len(all) != n {
		t.Fatalf("%d published, want %d", len(all), n)
	}
}
