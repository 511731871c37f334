package state

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
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
	for _, v := range liveVariants {
		b.Run(v.name, func(b *testing.B) {
			tuneLive = v.tune
			defer func() { tuneLive = nil }()
			c := benchStore(b)
			defer c.Close()
			benchFull(b, c, 1, keys, vals, 10_000)
			// The compactions that follow the full load are not the
			// incremental checkpoints' cost: let them end, and absorb their
			// output.
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
			cr0, cw0 := compactionWork(c)
			cpu0 := cpuTime(b)
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
			settle(b, c)
			cr, cw := compactionWork(c)
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(written)/float64(b.N), "bytes-written/op")
			b.ReportMetric(float64(cr-cr0)/float64(b.N), "compaction-read-bytes/op")
			b.ReportMetric(float64(cw-cw0)/float64(b.N), "compaction-written-bytes/op")
		})
	}
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

// liveVariants are the live database's options the checkpoint benchmarks
// compare: Pebble's defaults (L0 compacted at 4 sublevels) and the L0
// compaction threshold raised.
var liveVariants = []struct {
	name string
	tune func(*pebble.Options)
}{
	{"l0=4", func(o *pebble.Options) { o.L0CompactionThreshold = 4; o.L0CompactionFileThreshold = 500 }},
	{"l0=16", func(o *pebble.Options) { o.L0CompactionThreshold = 16; o.L0CompactionFileThreshold = 500 }},
	{"l0=32", func(o *pebble.Options) { o.L0CompactionThreshold = 32; o.L0CompactionFileThreshold = 500 }},
}

// compactionWork returns the bytes Pebble's compactions of the live
// database have read and written so far.
func compactionWork(c *Checkpoints) (read, written uint64) {
	m := c.live.db.Metrics()
	for _, l := range m.Levels {
		read += l.TableBytesRead
		written += l.TableBytesCompacted
	}
	return read, written
}

// tumblingKeys is the number of keys of BenchmarkCheckpointTumbling's
// pane, as in benchmarks.BenchmarkKeyedTumblingCheckpoints.
const tumblingKeys = 10_000

// tumblingKey is the store key of key k's entry in the pane at start,
// laid out as the operators lay it out (operator, key group, 'p', start,
// key), k's key group from a hash.
func tumblingKey(dst []byte, start int64, k uint64) []byte {
	dst = append(dst[:0], 2, 'w', 'x', 'k')
	h := k * 0x9e3779b97f4a7c15
	dst = binary.BigEndian.AppendUint16(dst, uint16(h>>57))
	dst = append(dst, 'p')
	dst = binary.BigEndian.AppendUint64(dst, uint64(start)^1<<63)
	return binary.BigEndian.AppendUint64(dst, k)
}

// BenchmarkCheckpointTumbling: the checkpoints of a keyed tumbling window
// of 10,000 keys whose panes fire between checkpoints: each one deletes
// the 10,000 entries of the pane the one before wrote and sets the 10,000
// of a new pane, keys in their arrival order (spread over key groups).
// cpu-ms/op is the process's CPU time per checkpoint, Pebble's
// background flushes and compactions included (the loop ends with them
// settled).
func BenchmarkCheckpointTumbling(b *testing.B) {
	for _, v := range liveVariants {
		b.Run(v.name, func(b *testing.B) {
			tuneLive = v.tune
			defer func() { tuneLive = nil }()
			c := benchStore(b)
			defer c.Close()
			var kbuf []byte
			val := make([]byte, 4)
			id := uint64(0)
			var written int64
			cpu0 := cpuTime(b)
			for b.Loop() {
				id++
				w, err := c.Begin(id)
				if err != nil {
					b.Fatal(err)
				}
				batch := w.NewBatch()
				for k := range uint64(tumblingKeys) {
					if id > 1 {
						batch.Delete(tumblingKey(kbuf, int64(id-1), k))
					}
				}
				for k := range uint64(tumblingKeys) {
					binary.LittleEndian.PutUint32(val, uint32(k+id))
					batch.Set(tumblingKey(kbuf, int64(id), k), val)
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
			settle(b, c)
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(written)/float64(b.N), "bytes-written/op")
			cr, cw := compactionWork(c)
			b.ReportMetric(float64(cr)/float64(b.N), "compaction-read-bytes/op")
			b.ReportMetric(float64(cw)/float64(b.N), "compaction-written-bytes/op")
		})
	}
}

// cpuTime is the process's user and system time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
