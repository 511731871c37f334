package state

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The checkpoint benchmarks run on the real disk (b.TempDir), syncs
// included, with 1,000,000 entries of 16-byte keys and 16-byte values in
// random order, written in batches of 10,000 unless said otherwise.

const benchKeys = 1_000_000

func benchEntries() (keys, vals [][]byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys = make([][]byte, benchKeys)
	vals = make([][]byte, benchKeys)
	for i := range keys {
		// Keys in an operator | key group | key layout, key groups spread.
		k := make([]byte, 16)
		binary.BigEndian.PutUint32(k, 7)
		binary.BigEndian.PutUint32(k[4:], uint32(rng.IntN(128)))
		binary.BigEndian.PutUint64(k[8:], rng.Uint64())
		v := make([]byte, 16)
		binary.LittleEndian.PutUint64(v, rng.Uint64())
		binary.LittleEndian.PutUint64(v[8:], uint64(i))
		keys[i], vals[i] = k, v
	}
	return keys, vals
}

func benchFull(b *testing.B, c *Checkpoints, id uint64, keys, vals [][]byte, batchSize int) CheckpointStats {
	w, err := c.Begin(id)
	if err != nil {
		b.Fatal(err)
	}
	batch := w.NewBatch()
	for i := range keys {
		batch.Set(keys[i], vals[i])
		if batch.Len() == batchSize || i == len(keys)-1 {
			if err := w.Apply(batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	st, err := w.Commit([]byte("meta"))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func benchStore(b *testing.B) *Checkpoints {
	logger, _ := newLog()
	c, err := OpenCheckpoints(b.TempDir(), CheckpointOptions{FS: vfs.Default, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Fresh(); err != nil {
		b.Fatal(err)
	}
	return c
}

// A full checkpoint of 1M entries into an empty store: Begin, Apply,
// Commit. Batches of a million go to Pebble as one large batch, flushed
// without going through the memtable's skiplist.
func BenchmarkCheckpointFull1M(b *testing.B) {
	keys, vals := benchEntries()
	for _, size := range []int{10_000, benchKeys} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			var written int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := benchStore(b)
				b.StartTimer()
				st := benchFull(b, c, 1, keys, vals, size)
				b.StopTimer()
				written += st.BytesWritten
				c.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(written)/float64(b.N), "bytes-written/op")
		})
	}
}

// A checkpoint of 10 changed entries over 1M: what an incremental
// checkpoint costs, the compactions it triggers included.
func BenchmarkCheckpointIncremental10(b *testing.B) {
	keys, vals := benchEntries()
	c := benchStore(b)
	defer c.Close()
	benchFull(b, c, 1, keys, vals, 10_000)
	// The compactions that follow the full load are not the incremental
	// checkpoints' cost: let them end, and absorb their output.
	settle(b, c)
	if _, err := c.Begin(2); err != nil {
		b.Fatal(err)
	}
	if _, err := c.writer.Commit(nil); err != nil {
		b.Fatal(err)
	}
	settle(b, c)
	rng := rand.New(rand.NewPCG(3, 4))
	id := uint64(2)
	var written int64
	val := make([]byte, 16)
	b.ResetTimer()
	for b.Loop() {
		id++
		w, err := c.Begin(id)
		if err != nil {
			b.Fatal(err)
		}
		batch := w.NewBatch()
		for range 10 {
			binary.LittleEndian.PutUint64(val, rng.Uint64())
			batch.Set(keys[rng.IntN(len(keys))], val)
		}
		if err := w.Apply(batch); err != nil {
			b.Fatal(err)
		}
		st, err := w.Commit([]byte("meta"))
		if err != nil {
			b.Fatal(err)
		}
		written += st.BytesWritten
	}
	b.ReportMetric(float64(written)/float64(b.N), "bytes-written/op")
}

// Restoring 1M entries: Latest (which reads and checksums every file of
// the checkpoint, then opens it) and a Scan of all of them.
func BenchmarkCheckpointRestore1M(b *testing.B) {
	keys, vals := benchEntries()
	c := benchStore(b)
	defer c.Close()
	benchFull(b, c, 1, keys, vals, 10_000)
	b.ResetTimer()
	for b.Loop() {
		r, err := c.Latest()
		if err != nil || r == nil {
			b.Fatal(r, err)
		}
		n := 0
		if err := r.Scan(nil, nil, func(k, v []byte) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != benchKeys {
			b.Fatalf("restored %d keys, want %d", n, benchKeys)
		}
		r.Close()
	}
	b.ReportMetric(float64(benchKeys)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}
