package tail_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A job that starts while logrotate compresses a generation (app.log.2
// there still, app.log.2.gz holding so far only gzip's header, nothing
// its reader can decompress yet): the .gz, once written and the plain
// generation removed, is a copy of a file read, and no line is read
// twice. (TestFollowRenameRotation hit this at random: a reader whose
// first poll came during a compress read the generation twice.)
func TestFollowStartsDuringCompress(t *testing.T) {
	for _, cut := range []int{0, 10, 30} { // nothing, gzip's header, a header and a few bytes
		t.Run(fmt.Sprintf("gz=%dbytes", cut), func(t *testing.T) { startDuringCompress(t, cut) })
	}
}

func startDuringCompress(t *testing.T, cut int) {
	{
		dir := t.TempDir()
		live, gen2 := filepath.Join(dir, "app.log"), filepath.Join(dir, "app.log.2")
		writeFile(t, gen2, lines(0, 200))
		writeFile(t, filepath.Join(dir, "app.log.1"), lines(200, 300))
		writeFile(t, live, lines(300, 310))
		gz := gzipped(t, lines(0, 200))
		if len(gz) < 100 {
			t.Fatalf("a .gz of %d bytes: the cuts are not partial", len(gz))
		}
		writeFile(t, gen2+".gz", gz[:cut])
		j := follow(t, filepath.Join(dir, "app.log*"), 5*time.Millisecond)
		waitFor(t, 20*time.Second, "the first poll", func() bool { return j.prog.Stats().Polls >= 1 })
		// The compression ends: the .gz complete, the generation removed.
		writeFile(t, gen2+".gz", gz)
		if err := os.Remove(gen2); err != nil {
			t.Fatal(err)
		}
		appendTo(t, live, lines(310, 320))
		j.settle(t, 320)
		j.stop(t)
		if len(j.got.dead) > 0 {
			t.Errorf("dead letters %v", j.got.dead)
		}
		j.got.exactly(t, 320)
	}
}
