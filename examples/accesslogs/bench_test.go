package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkJobOverFile runs the whole job (tail source, parsing, the five
// analyses, text output to io.Discard) over a file of 200,000 generated
// lines, about 40 MB, and reports lines and MB a second; the generator's
// own cost is not in it. Compare with BenchmarkGenerator, the cost of
// making the same lines.
func BenchmarkJobOverFile(b *testing.B) {
	const n = 200_000
	dir := b.TempDir()
	path := filepath.Join(dir, "access.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	gen := generate(1)
	for i := range n {
		io.WriteString(f, gen(int64(i))+"\n")
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	cfg := config{files: []string{path}, bound: 2e9, idle: 5e9, alertJump: 0.1, alertMinRequests: 20, progress: "off",
		deadLetters: filepath.Join(dir, "dead.txt")}
	b.ReportAllocs()
	for b.Loop() {
		if err := run(context.Background(), cfg, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	s := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(n/s, "lines/s")
	b.ReportMetric(float64(fi.Size())/1e6/s, "MB/s")
}

// BenchmarkGenerator is the cost of a generated line.
func BenchmarkGenerator(b *testing.B) {
	gen := generate(1)
	var i int64
	for b.Loop() {
		gen(i)
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lines/s")
}
