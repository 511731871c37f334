package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidstream/braid/connectors/logs"
)

var (
	benchBytes = flag.Int64("audit.bytes", 32<<20, "size of the sshd log BenchmarkAuditSSHD generates (1000000000: the issue's 1 GB)")
	benchDir   = flag.String("audit.dir", "", "directory of the log BenchmarkAuditSSHD generates (default: the system's temporary directory; /dev/shm keeps a large one off the disk)")
)

// benchLog is the generated log of BenchmarkAuditSSHD, made once per
// process (benchmarks run several times), removed by TestMain.
var benchLog struct {
	once sync.Once
	dir  string
	path string
	size int64
	err  error
}

// ipv4 finds the addresses of a line, to vary them from one copy of the
// sample to the next.
var ipv4 = regexp.MustCompile(`\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b`)

// A sampleLine is a line of the sample without its timestamp, cut around
// the third byte of each address: text[0] c[0] text[1] c[1] ... text[n].
type sampleLine struct {
	at   time.Time
	text []string
	c    []int
}

// writeSSHDLog writes at least size bytes of sshd log shaped as the real
// sample: its 2000 lines over and over, each copy later than the last by
// the sample's span (so time goes on, about 4 hours a copy, across New
// Year too), with every address's third byte moved by the copy's number
// (so clients are new from copy to copy, as in a long attack).
func writeSSHDLog(path string, size int64) (int64, error) {
	sample, err := os.ReadFile(realSSHD)
	if err != nil {
		return 0, err
	}
	var lines []sampleLine
	for _, l := range strings.Split(strings.TrimSpace(string(sample)), "\n") {
		t, err := time.Parse(time.Stamp, l[:15])
		if err != nil {
			return 0, fmt.Errorf("%q: %v", l, err)
		}
		sl := sampleLine{at: t.AddDate(2015, 0, 0)}
		rest, last := l[15:], 0
		for _, m := range ipv4.FindAllStringSubmatchIndex(rest, -1) {
			c, _ := strconv.Atoi(rest[m[6]:m[7]])
			sl.text, sl.c = append(sl.text, rest[last:m[6]]), append(sl.c, c)
			last = m[7]
		}
		sl.text = append(sl.text, rest[last:])
		lines = append(lines, sl)
	}
	span := lines[len(lines)-1].at.Sub(lines[0].at) + time.Minute
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	var n int64
	for rep := 0; n < size; rep++ {
		shift := time.Duration(rep) * span
		for _, l := range lines {
			buf = l.at.Add(shift).AppendFormat(buf[:0], time.Stamp)
			for i, c := range l.c {
				buf = append(buf, l.text[i]...)
				buf = strconv.AppendInt(buf, int64((c+rep)%256), 10)
			}
			buf = append(buf, l.text[len(l.c)]...)
			buf = append(buf, '\n')
			w.Write(buf)
			n += int64(len(buf))
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

func benchSSHDLog(b *testing.B) (string, int64) {
	b.Helper()
	if _, err := os.Stat(realSSHD); err != nil {
		b.Skipf("the real sshd sample is absent (%v): see ../shared/data/README.md", err)
	}
	benchLog.once.Do(func() {
		benchLog.dir, benchLog.err = os.MkdirTemp(*benchDir, "auditbench")
		if benchLog.err == nil {
			benchLog.path = filepath.Join(benchLog.dir, "auth.log")
			benchLog.size, benchLog.err = writeSSHDLog(benchLog.path, *benchBytes)
		}
	})
	if benchLog.err != nil {
		b.Fatal(benchLog.err)
	}
	return benchLog.path, benchLog.size
}

// BenchmarkAuditSSHD is the job end to end over an sshd log generated
// from the real sample's lines (-audit.bytes of it, 32 MiB by default):
// MB/s of log and lines/s, beside a plain loop that reads the same file
// and parses each line (syslog, then sshd) without Braid, in the same
// process.
//
//	go test ./examples/audit -run X -bench AuditSSHD -benchtime 1x -count 5 -audit.bytes 1000000000 -audit.dir /dev/shm
func BenchmarkAuditSSHD(b *testing.B) {
	path, size := benchSSHDLog(b)
	b.Run("job", func(b *testing.B) {
		cfg := config{files: []string{path}, format: "sshd", year: 2015, tz: time.UTC, bound: 2 * time.Second, idle: 5 * time.Second,
			deadLetters: os.DevNull, scanPorts: 20, bruteForce: 10, invalidUsers: 5, sessionAttempts: 3, denied: 5, n: 1, checkpointEvery: time.Second}
		var summary strings.Builder
		b.SetBytes(size)
		for b.Loop() {
			summary.Reset()
			if err := run(context.Background(), cfg, io.Discard, &summary); err != nil {
				b.Fatal(err)
			}
		}
		var lines int64
		fmt.Sscanf(summary.String()[strings.Index(summary.String(), "(sshd): ")+8:], "%d lines", &lines)
		b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	})
	b.Run("parse-loop", func(b *testing.B) {
		b.SetBytes(size)
		var lines int64
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			p := logs.SyslogParser{Year: 2015}
			failed := 0
			for sc.Scan() {
				lines++
				m, err := p.Parse(sc.Text())
				if err != nil {
					continue
				}
				if e, err := logs.ParseSSHD(m.Message); err == nil && e.Kind == logs.SSHDFailed {
					failed++
				}
			}
			f.Close()
			if failed == 0 {
				b.Fatal("no failed login")
			}
		}
		b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
	})
}
