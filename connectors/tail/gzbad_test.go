package tail_test

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/braidstream/braid/connectors/tail"
)

// A damaged compressed generation (cut short, not gzip at all, a wrong
// checksum) is bad input, not the end of the job: its lines decoded
// before the damage are delivered, the damage goes to the dead letters
// naming the file, the line and offset where decoding failed and the gzip
// error, and the newer generations are read.
func TestBoundedReadDamagedGz(t *testing.T) {
	good := gzipped(t, lines(100, 300))
	cases := []struct {
		name  string
		data  []byte
		cause error
	}{
		{"cut-short", good[:len(good)/2], io.ErrUnexpectedEOF},
		{"not-gzip", lines(100, 300), gzip.ErrHeader},
		{"bad-checksum", func() []byte {
			b := append([]byte(nil), good...)
			b[len(b)-8] ^= 0xff // the CRC-32 in gzip's trailer
			return b
		}(), gzip.ErrChecksum},
		{"empty", nil, io.EOF}, // logrotate has just created it
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := func(s string) string { return filepath.Join(dir, s) }
			writeFile(t, p("access.log.3.gz"), gzipped(t, lines(0, 100)))
			writeFile(t, p("access.log.2.gz"), tc.data)
			writeFile(t, p("access.log.1"), lines(300, 400))
			writeFile(t, p("access.log"), lines(400, 500))
			c, err := run(t, p("access.log*"))
			if err != nil {
				t.Fatalf("the job failed: %v", err)
			}
			// Lines 100 to k-1 came out of the damaged file.
			k := 100
			for c.count[k] == 1 && k < 300 {
				k++
			}
			for i := range 500 {
				if want := i < k || i >= 300; (c.count[i] == 1) != want || c.count[i] > 1 {
					t.Fatalf("line %d read %d times (the damaged file gave lines 100-%d)", i, c.count[i], k-1)
				}
			}
			if tc.name == "bad-checksum" && k != 300 {
				t.Errorf("a wrong checksum at the end: lines 100-%d read, want all to 299", k-1)
			}
			last := -1
			for _, l := range c.lines {
				if n := number(l.Text); n < last {
					t.Fatalf("line %d after line %d", n, last)
				} else {
					last = n
				}
			}
			if len(c.dead) != 1 {
				t.Fatalf("%d dead letters, want 1: %v", len(c.dead), c.dead)
			}
			d := c.dead[0]
			if !errors.Is(d.Err, tail.ErrLineCut) || !errors.Is(d.Err, tail.ErrDamaged) || !errors.Is(d.Err, tc.cause) {
				t.Errorf("dead letter's error %v: want ErrLineCut and %v in it", d.Err, tc.cause)
			}
			if d.Value.Source != p("access.log.2.gz") || d.Value.Number != int64(k-100+1) {
				t.Errorf("dead letter at %s line %d, want %s line %d", d.Value.Source, d.Value.Number, p("access.log.2.gz"), k-100+1)
			}
			msg := d.Err.Error()
			for _, want := range []string{p("access.log.2.gz"), fmt.Sprintf("line %d (byte offset %d)", d.Value.Number, d.Value.Offset), tc.cause.Error()} {
				if !strings.Contains(msg, want) {
					t.Errorf("dead letter's error %q does not say %q", msg, want)
				}
			}
			if k < 300 && !strings.HasPrefix(line(k)+"\n", d.Value.Text) {
				t.Errorf("dead letter's text %q is not the start of line %d", d.Value.Text, k)
			}
		})
	}
}
