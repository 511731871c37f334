package operators

import (
	"math/rand/v2"
	"testing"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
)

// The key table finds every key's slot as a map from key to slot does,
// through growth, resets and rebuilds, with keys whose hashes collide.
func TestKeyTableAgreesWithMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 10))
	hashes := map[string]tableHasher[int64]{
		"mix":     newTableHasher[int64](nil),
		"collide": {fn: func(k int64) uint64 { return uint64(k % 7) }}, // long probe runs
	}
	for name, hash := range hashes {
		t.Run(name, func(t *testing.T) {
			var tab keyTable[int64]
			var keys []int64
			want := map[int64]int32{}
			for step := range 20000 {
				switch r := rng.IntN(1000); {
				case r == 0:
					tab.reset()
					keys = keys[:0]
					clear(want)
				case r == 1:
					// A restore sets the keys without the table.
					tab = keyTable[int64]{}
					tab.sync(keys, hash)
				}
				k := rng.Int64N(int64(50 + step/10))
				h := hash.of(k)
				j, at := tab.find(k, h)
				w, ok := want[k]
				if ok != (j >= 0) || ok && j != w {
					t.Fatalf("step %d: key %d: table says slot %d, map says %d (present %v)", step, k, j, w, ok)
				}
				if !ok {
					want[k] = int32(len(keys))
					tab.insert(at, k, h, int32(len(keys)))
					keys = append(keys, k)
				}
				if tab.n != len(keys) || len(tab.ents)*3 < tab.n*4 {
					t.Fatalf("step %d: %d keys in a table of %d entries holding %d", step, len(keys), len(tab.ents), tab.n)
				}
			}
		})
	}
}

// BenchmarkKeyTable: the lookup of the window operator's pane, for 10,000
// int64 keys in the keyed tumbling benchmark's order, against a Go map.
//
//	go test ./operators -run '^$' -bench KeyTable
func BenchmarkKeyTable(b *testing.B) {
	const keys = 10_000
	order := make([]int64, 4096)
	for i := range order {
		order[i] = int64(i*7919) % keys
	}
	hash, err := state.NewHasher[int64]()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("table", func(b *testing.B) {
		var tab keyTable[int64]
		accs := make([]int64, 0, keys)
		hs := make([]uint64, len(order))
		for b.Loop() {
			for i, k := range order {
				hs[i] = hash(k)
			}
			for i, k := range order {
				if j, at := tab.find(k, hs[i]); j >= 0 {
					accs[j]++
				} else {
					tab.insert(at, k, hs[i], int32(len(accs)))
					accs = append(accs, 1)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(order)), "ns/key")
	})
	b.Run("map", func(b *testing.B) {
		idx := map[int64]int32{}
		accs := make([]int64, 0, keys)
		for b.Loop() {
			for _, k := range order {
				if j, ok := idx[k]; ok {
					accs[j]++
				} else {
					idx[k] = int32(len(accs))
					accs = append(accs, 1)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(order)), "ns/key")
	})
}
