package state

import (
	"sync"
	"testing"
)

// stackRec is a struct a window snapshot decodes: scalars and a string.
type stackRec struct {
	N, Start, MaxTs int64
	Point           struct {
		K string
		V int64
	}
	Rank   int64
	Chunks int32
	Tags   []string
	Seen   map[string]int64
}

//go:noinline
func decodeDeep(t *testing.T, c Codec[stackRec], b []byte, depth int) stackRec {
	var pad [64]byte
	pad[depth%64] = byte(depth)
	if depth > 0 {
		r := decodeDeep(t, c, b, depth-1)
		r.N += int64(pad[depth%64]) - int64(byte(depth))
		return r
	}
	r, err := DecodeExact(c, b)
	if err != nil {
		t.Error(err)
	}
	return r
}

// A value decoded at the bottom of a deep stack, in fresh goroutines whose
// stacks grow while the codec writes, comes back whole. (With the value on
// the stack, the race detector's pointer checks found writes into a freed
// stack, and values came back zero without an error.)
func TestCodecDecodesUnderGrowingStacks(t *testing.T) {
	c, err := CodecFor[stackRec]()
	if err != nil {
		t.Fatal(err)
	}
	want := stackRec{N: 7, Start: -3, MaxTs: 1 << 40, Rank: 9, Chunks: 2, Tags: []string{"a", "bc"}, Seen: map[string]int64{"x": 1}}
	want.Point.K, want.Point.V = "key", 42
	b := c.Append(nil, want)
	runs := 2000
	if testing.Short() {
		runs = 500
	}
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := decodeDeep(t, c, b, i%200)
			if got.N != want.N || got.Point != want.Point || got.Rank != want.Rank || len(got.Tags) != 2 || got.Seen["x"] != 1 {
				t.Errorf("depth %d: decoded %+v, want %+v", i%200, got, want)
			}
		}()
	}
	wg.Wait()
}
