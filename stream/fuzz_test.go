package stream_test

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/braidstream/braid/window"
)

// FuzzWindows checks the brute-force property of TestWindowsMatchBruteForce
// on inputs the fuzzer chooses: the window kind and its sizes, the
// out-of-orderness bound, the lateness, the batch size (which fixes the
// watermark sequence) and the events (key, timestamp step, value), all
// decoded from the fuzzer's bytes.
func FuzzWindows(f *testing.F) {
	f.Add([]byte{0, 10, 0, 3, 0, 4, 1, 5, 9, 2, 250, 7, 0, 1, 3, 3, 3})
	f.Add([]byte{1, 12, 4, 2, 5, 3, 0, 0, 1, 1, 2, 200, 3, 1, 1, 0, 0, 2, 2})
	f.Add([]byte{2, 5, 3, 1, 0, 2, 1, 1, 1, 0, 8, 0, 1, 9, 2, 3})
	f.Add([]byte{3, 4, 2, 0, 0, 5, 0, 1, 1, 1, 0, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ok := decodeCase(data)
		if !ok {
			return
		}
		want, wantLate := c.twin()
		got, gotLate := c.run(t, 1)
		if d := diff(want, got); d != "" || !slices.Equal(wantLate, gotLate) {
			t.Fatalf("%v, fn %s, bound %d, lateness %d, batch %d, events %v:\n%s\nlate want %v got %v",
				c.assigner, c.fn, c.bound, c.lateness, c.batch, c.events, d, wantLate, gotLate)
		}
	})
}

func decodeCase(data []byte) (refCase, bool) {
	if len(data) < 8 {
		return refCase{}, false
	}
	kind, a, b, bound, lateness, batch, fn := data[0]%4, int64(data[1]%40)+1, int64(data[2]%40)+1, int64(data[3]%30), int64(data[4]%30), int(data[5]%16)+1, data[6]%4
	c := refCase{bound: bound, lateness: lateness, batch: batch, fn: []string{"count", "sum", "max", "apply"}[fn]}
	switch kind {
	case 0:
		c.assigner = window.Tumbling(time.Duration(a))
	case 1:
		c.assigner = window.Sliding(time.Duration(max(a, b)), time.Duration(min(a, b)))
	case 2:
		c.assigner = window.Session(time.Duration(a))
	case 3:
		c.assigner = window.SlidingCount(max(a, b)%9+1, min(a, b)%9+1)
		if sc := c.assigner.(window.CountWindows); sc.Slide > sc.Size {
			c.assigner = window.SlidingCount(sc.Slide, sc.Size)
		}
		c.lateness = 0
	}
	// Events: 3 bytes each (key, signed step, value), timestamps from -50.
	ts := int64(-50)
	for i, rest := 0, data[7:]; len(rest) >= 3 && i < 300; i, rest = i+1, rest[3:] {
		ts += int64(int8(rest[1])) % 16
		c.events = append(c.events, ev{ID: i, Key: int(rest[0] % 5), Ts: ts, Val: int64(binary.LittleEndian.Uint16([]byte{rest[2], 0}))})
	}
	return c, len(c.events) > 0
}
