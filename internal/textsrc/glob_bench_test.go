package textsrc

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var globBenchMB = flag.Int("globbench.mb", 200, "size in MB of the file BenchmarkGlobRead reads")

// benchLog writes about mb megabytes of sshd-like lines to a file in dir.
func benchLog(b *testing.B, dir string, mb int) (string, int) {
	p := filepath.Join(dir, "auth.log")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	n, size := 0, 0
	for size < mb<<20 {
		k, _ := fmt.Fprintf(w, "Jan %2d %02d:%02d:%02d host sshd[%d]: Failed password for invalid user u%d from 10.%d.%d.%d port %d ssh2\n",
			1+n%28, n/3600%24, n/60%60, n%60, 1000+n%30000, n%977, n%256, n/256%256, n/65536%256, 1024+n%60000)
		size += k
		n++
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p, n
}

// The glob reader's throughput on one large file (-globbench.mb, default
// 200), beside bufio.Scanner over the same file in the same run: Text
// (a string per line, as the reader makes) and Bytes (no string, the
// floor). The reader reads in batches of 4096 lines, as a source does.
func BenchmarkGlobRead(b *testing.B) {
	p, lines := benchLog(b, b.TempDir(), *globBenchMB)
	st, _ := os.Stat(p)
	report := func(b *testing.B, n int) {
		if n != lines {
			b.Fatalf("read %d lines, want %d", n, lines)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		b.ReportMetric(float64(st.Size())*float64(b.N)/1e6/b.Elapsed().Seconds(), "MB/s")
	}
	for _, follow := range []bool{false, true} {
		b.Run(fmt.Sprintf("reader/follow=%v", follow), func(b *testing.B) {
			buf := make([]FileLine, 4096)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				g, err := OpenGlob(p, GlobOptions{Follow: follow})
				if err != nil {
					b.Fatal(err)
				}
				n = 0
				for n < lines {
					k, err := g.Read(context.Background(), buf)
					n += k
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				g.Close()
			}
			report(b, n)
		})
	}
	for _, text := range []bool{true, false} {
		name := "scanner/bytes"
		if text {
			name = "scanner/text"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			var keep string
			for b.Loop() {
				f, err := os.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				sc := bufio.NewScanner(f)
				sc.Buffer(make([]byte, 64<<10), DefaultMaxLineBytes)
				n = 0
				for sc.Scan() {
					if text {
						keep = sc.Text()
					} else {
						keep = ""
						_ = sc.Bytes()
					}
					n++
				}
				f.Close()
			}
			_ = keep
			report(b, n)
		})
	}
}
