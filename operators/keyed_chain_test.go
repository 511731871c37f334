package operators

import (
	"context"
	"errors"
	"testing"
)

// keyedPair is map -> keyBy -> sink, with the map and the sink at the
// given parallelisms; the sink checks that every batch carries one key per
// value, the value's own key.
func keyedPair(t *testing.T, mapPar, sinkPar int, key func(int) int, got *int) []*Node {
	src := NewSourceNode[int]("gen", func(ctx context.Context, sub, par int) (SourceReader[int], error) {
		return &genReader{sub: sub, par: par, n: 10_000, per: 37}, nil
	})
	src.Parallelism = mapPar
	mp := NewOpNode[int]("map", func(bc *BuildContext, out any) ([]any, error) {
		return []any{NewMap(func(x int) int { return x }, out.(Input[int]))}, nil
	})
	mp.Parallelism = mapPar
	mp.Inputs = []Edge{{From: src, Partition: Forward()}}
	sink := NewOpNode[struct{}]("sink", func(bc *BuildContext, out any) ([]any, error) {
		return []any{NewSink(func(b *Batch[int]) error {
			ks := keysOf[int, int](b)
			if ks == nil {
				t.Errorf("a batch of %d values came without keys", len(b.Values))
			}
			for i, v := range b.Values {
				if ks != nil && ks[i] != key(v) {
					t.Errorf("value %d came with key %d, want %d", v, ks[i], key(v))
				}
			}
			*got += len(b.Values) // one sink subtask in these tests
			return nil
		}, nil)}, nil
	})
	sink.Parallelism = sinkPar
	sink.Inputs = []Edge{{From: mp, Partition: KeyBy(key, func(k int) uint64 { return countHash(k) })}}
	return []*Node{src, mp, sink}
}

// A keyed edge between two operators of parallelism 1 routes nothing: the
// two share a task (no goroutine hop, no copy through an exchange), and the
// keyed operator still gets the keys the KeyBy computed.
func TestKeyedEdgeAtParallelismOneChains(t *testing.T) {
	key := func(x int) int { return x % 97 }
	for _, c := range []struct {
		mapPar, sinkPar int
		chained         bool
	}{{1, 1, true}, {2, 1, false}} {
		var got int
		nodes := keyedPair(t, c.mapPar, c.sinkPar, key, &got)
		p := &plan{cfg: Config{Parallelism: 1}.withDefaults(), nodes: nodes}
		p.layout()
		if p.chained[nodes[2]] != c.chained {
			t.Errorf("map at %d, sink at %d: sink chained %v, want %v", c.mapPar, c.sinkPar, p.chained[nodes[2]], c.chained)
		}
		if err := NewJob(nodes, Config{}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got != 10_000 {
			t.Errorf("map at %d: the sink got %d values, want 10000", c.mapPar, got)
		}
	}
}

// In a chained keyed edge, a panic in the key function names the KeyBy,
// not the operator before it.
func TestKeyedChainNamesWhoPanicked(t *testing.T) {
	var got int
	nodes := keyedPair(t, 1, 1, func(x int) int {
		if x == 5000 {
			panic("bad key")
		}
		return x % 7
	}, &got)
	err := NewJob(nodes, Config{}).Run(context.Background())
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Operator != "keyBy after map" {
		t.Fatalf("got %v, want the error of %q", err, "keyBy after map")
	}
}
