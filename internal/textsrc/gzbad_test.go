package textsrc

import (
	"compress/gzip"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// Following, a damaged .gz found at the start (a wrong checksum, not
// gzip at all) is set aside as the bounded read does, its lines before
// the damage read, and never read again at later polls; a .gz ending
// early is left to be read on (being written), not set aside.
func TestFollowDamagedGz(t *testing.T) {
	dir := t.TempDir()
	recs := &records{}
	log := filepath.Join(dir, "app.log")
	bad := gzBytes(t, seqLines(0, 100))
	bad[len(bad)-8] ^= 0xff // the CRC-32 in gzip's trailer
	writeBehind(t, log+".3.gz", string(bad))
	writeBehind(t, log+".2.gz", "not gzip: "+seqLines(300, 310))
	writeBehind(t, log+".1", seqLines(100, 150))
	writeBehind(t, log, seqLines(150, 200))
	g := behindReader(t, dir, recs)
	got := pollNow(t, g)
	got = append(got, pollNow(t, g)...)
	got = append(got, pollNow(t, g)...)
	checkOnce(t, got, 200)
	js := g.Rejected(nil)
	if len(js) != 2 {
		t.Fatalf("%d rejects, want 2: %v", len(js), js)
	}
	for _, j := range js {
		t.Logf("reject at %s line %d (offset %d), text %q: %v", j.Line.Path, j.Line.Number, j.Line.Offset, j.Line.Text, j.Err)
	}
	for i, want := range []struct {
		path  string
		cause error
	}{{log + ".3.gz", gzip.ErrChecksum}, {log + ".2.gz", gzip.ErrHeader}} {
		j := js[i]
		if j.Line.Path != want.path || !errors.Is(j.Err, ErrDamaged) || !errors.Is(j.Err, want.cause) || !strings.Contains(j.Err.Error(), want.path) {
			t.Errorf("reject %d: %s: %v; want %s, ErrDamaged and %v", i, j.Line.Path, j.Err, want.path, want.cause)
		}
	}
	warned := 0
	for _, l := range recs.lines() {
		if strings.HasPrefix(l, "WARN") && strings.Contains(l, "damaged") {
			warned++
		}
	}
	if warned != 2 {
		t.Errorf("%d warnings of a damaged file, want 2:\n%s", warned, strings.Join(recs.lines(), "\n"))
	}
}
