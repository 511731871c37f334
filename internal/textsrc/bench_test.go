package textsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchText is n lines of about 100 bytes, CRLF-ended when crlf is set.
func benchText(n int, crlf bool) string {
	end := "\n"
	if crlf {
		end = "\r\n"
	}
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Jan  1 00:00:%02d host sshd[%d]: Failed password for root from 10.0.%d.%d port 22 ssh2%s", i%60, i, i%256, i/256%256, end)
	}
	return b.String()
}

// The file reader's throughput in lines per second, reading a whole file
// into batches of 4096.
func BenchmarkFileRead(b *testing.B) {
	const lines = 100_000
	for _, crlf := range []bool{false, true} {
		b.Run(fmt.Sprintf("crlf=%v", crlf), func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "in.log")
			os.WriteFile(p, []byte(benchText(lines, crlf)), 0o644)
			buf := make([]string, 4096)
			b.ReportAllocs()
			total := 0
			for b.Loop() {
				r, err := OpenFile(p, FileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for {
					n, err := r.Read(context.Background(), buf)
					total += n
					if err != nil {
						break
					}
				}
				r.Close()
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// The socket reader's throughput over loopback, one connection per
// iteration.
func BenchmarkSocketRead(b *testing.B) {
	const lines = 100_000
	data := []byte(benchText(lines, false))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write(data)
			c.Close()
		}
	}()
	buf := make([]string, 4096)
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		r := NewSocket(l.Addr().String(), SocketOptions{MaxRetries: 0, MaxRetriesSet: true, Logger: slog.New(slog.DiscardHandler)})
		for {
			n, err := r.Read(context.Background(), buf)
			total += n
			if err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
		r.Close()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "lines/s")
	l.Close()
	<-done
}
