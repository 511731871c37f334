package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/cmdtest"
)

// hit is a Combined-format line: a request of client to path at
// 12:mm:ss on 1 Nov 2026 (UTC), answered with status.
func hit(mm, ss int, client, path string, status int) string {
	return fmt.Sprintf(`%s - - [01/Nov/2026:12:%02d:%02d +0000] "GET %s HTTP/1.1" %d 512 "-" "curl/8.5.0"`, client, mm, ss, path, status)
}

// vhit is the same line in vhost_combined, of host.
func vhit(host string, mm, ss int, client, path string, status int) string {
	return host + ":443 " + hit(mm, ss, client, path, status)
}

// lineAt is line n (from 1) of ls, in path, as a dead letter names it.
func lineAt(path string, ls []string, n int) string {
	off := 0
	for _, l := range ls[:n-1] {
		off += len(l) + 1
	}
	return fmt.Sprintf("%s:%d (byte %d)", path, n, off)
}

// hostFigures are the HOST results of -json output, as "host [start]
// requests errors".
func hostFigures(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, l := range lines(out) {
		var h HostMinute
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatal(err)
		}
		if h.Kind == "host" {
			got = append(got, fmt.Sprintf("%s %s %d %d", hostName(h.Host), h.Start.Format(time.TimeOnly), h.Requests, h.Errors))
		}
	}
	slices.Sort(got)
	return got
}

// Lines that are not requests are dead letters, each with its place
// (file, line, byte offset), the error and the line itself; the lines
// around them count, Combined and vhost_combined lines mixed in one file
// too; a request whose minute had closed is reported as late, with its
// place, and not counted; a line over 1 MiB is a dead letter and the
// line after it counts. The summary counts the lines.
func TestDeadLettersWithTheirPlace(t *testing.T) {
	long := hit(0, 1, "10.0.0.1", "/"+strings.Repeat("a", 1<<20), 200)
	ls := []string{
		hit(0, 0, "10.0.0.1", "/", 200),
		hit(0, 1, "10.0.0.1", "/", 500)[:50], // cut short
		vhit("www.example.com", 0, 2, "10.0.0.2", "/", 503),
		`10.0.0.3 - - [31/Nov/2026:12:00:03 +0000] "GET / HTTP/1.1" 200 5 "-" "-"`, // no 31 November
		"\xff\xfe not a log line",
		hit(0, 4, "10.0.0.1", "/a", 200),
		hit(1, 30, "10.0.0.4", "/b", 200), // event time goes to 12:01:28
		hit(0, 50, "10.0.0.5", "/c", 200), // late: 12:00's minute had closed
		long,
		hit(1, 31, "10.0.0.1", "/", 200),
		"",
	}
	path := writeFile(t, "access.log", ls...)
	r := runJob(t, flags(t, "-json", path))
	type dead struct{ Where, Error, Line string }
	var got []dead
	for _, d := range r.dead {
		var x struct {
			dead
			Raw []byte `json:"line_base64"`
		}
		if err := json.Unmarshal([]byte(d), &x); err != nil {
			t.Fatalf("dead letter %q: %v", d, err)
		}
		if x.Raw != nil {
			x.Line = string(x.Raw)
		}
		got = append(got, x.dead)
	}
	slices.SortFunc(got, func(a, b dead) int { return strings.Compare(a.Where, b.Where) })
	want := []dead{
		{lineAt(path, ls, 11), "access log: ", ""},
		{lineAt(path, ls, 2), "access log: request at byte 42: ", ls[1]},
		{lineAt(path, ls, 4), "access log: time at byte ", ls[3]},
		{lineAt(path, ls, 5), "access log: ", ls[4]},
		{lineAt(path, ls, 8), "late request (- at 2026-11-01T12:00:50Z): its minute had closed", ""},
		{lineAt(path, ls, 9), "", long[:256]},
	}
	slices.SortFunc(want, func(a, b dead) int { return strings.Compare(a.Where, b.Where) })
	if len(got) != len(want) {
		t.Fatalf("%d dead letters, want %d:\n%s", len(got), len(want), strings.Join(r.dead, "\n"))
	}
	for i, w := range want {
		g := got[i]
		if g.Where != w.Where || !strings.HasPrefix(g.Error, w.Error) || g.Line != w.Line {
			t.Errorf("dead letter %+v, want %+v (error starting so)", g, w)
		}
	}
	if !strings.Contains(got[5].Error, "over the line limit") {
		t.Errorf("the long line's error %q does not say it is too long", got[5].Error)
	}
	wantHosts := []string{
		"- 12:00:00 2 0", // lines 1 and 6, not the late 8
		"- 12:01:00 2 0",
		"www.example.com 12:00:00 1 1",
	}
	if h := hostFigures(t, r.out); !slices.Equal(h, wantHosts) {
		t.Errorf("HOST results %q, want %q", h, wantHosts)
	}
	for _, s := range []string{
		"accesslogs: " + path + ": 11 lines, 6 requests, 5 dead letters",
		"accesslogs: 5 dead letters and 1 late requests in " + r.deadPath,
	} {
		if !slices.Contains(r.summary, s) {
			t.Errorf("summary %q lacks %q", r.summary, s)
		}
	}
	// Without -json: the place, the error, the line quoted.
	r = runJob(t, flags(t, path))
	if !slices.ContainsFunc(r.dead, func(d string) bool {
		return strings.HasPrefix(d, lineAt(path, ls, 5)+": access log: ") && strings.HasSuffix(d, ": "+strconv.Quote(ls[4]))
	}) {
		t.Errorf("no text dead letter of line 5 in:\n%s", strings.Join(r.dead, "\n"))
	}
}

// A FILE is a glob: rotated generations, a .gz one too, are read oldest
// first as one log (a minute's requests across two files count in one
// HOST result), and a dead letter names the generation it is in.
func TestGlobReadsRotatedGenerations(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, ls ...string) {
		b := []byte(strings.Join(ls, "\n") + "\n")
		if strings.HasSuffix(name, ".gz") {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(b)
			w.Close()
			b = z.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("access.log.2.gz", hit(0, 0, "10.0.0.1", "/", 200), hit(0, 10, "10.0.0.1", "/", 500))
	write("access.log.1", hit(0, 59, "10.0.0.2", "/", 200), "garbage")
	write("access.log", hit(1, 0, "10.0.0.1", "/", 200), hit(1, 30, "10.0.0.3", "/", 502))
	glob := filepath.Join(dir, "access.log*")
	r := runJob(t, flags(t, "-json", glob))
	if h, want := hostFigures(t, r.out), []string{"- 12:00:00 3 1", "- 12:01:00 2 1"}; !slices.Equal(h, want) {
		t.Errorf("HOST results %q, want %q", h, want)
	}
	if len(r.dead) != 1 || !strings.Contains(r.dead[0], `"where":"`+filepath.Join(dir, "access.log.1")+`:2 (byte `) {
		t.Errorf("dead letters %q, want line 2 of access.log.1", r.dead)
	}
	if !slices.Contains(r.summary, "accesslogs: "+glob+": 6 lines, 5 requests, 1 dead letters") {
		t.Errorf("summary %q", r.summary)
	}
}

// With -follow the job reads lines as they are appended, through a
// rotation (the file renamed, a new one created), and prints a minute's
// results once event time has passed it, while it runs; it ends when
// cancelled, having read every line once.
func TestFollowThroughRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	appendLines := func(ls ...string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(strings.Join(ls, "\n") + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	appendLines(hit(0, 0, "10.0.0.1", "/", 200))
	cfg := flags(t, "-follow", filepath.Join(dir, "access.log*"))
	cfg.deadLetters = filepath.Join(t.TempDir(), "dead.txt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := cmdtest.NewRunning()
	go func() { job.Done <- run(ctx, cfg, &job.Out, &job.ErrOut) }()
	appendLines(hit(0, 5, "10.0.0.1", "/", 500), hit(0, 9, "10.0.0.2", "/a", 200), hit(1, 30, "10.0.0.1", "/", 200))
	job.WaitFor(t, "HOST      [2026-11-01 12:00:00, 12:01:00)  -                          3 requests      1 5xx  33.33%")
	// Rotate: the old file renamed, a new one created; its lines follow.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(hit(1, 40, "10.0.0.3", "/", 200), hit(1, 50, "10.0.0.3", "/", 503), hit(3, 0, "10.0.0.4", "/", 200))
	job.WaitFor(t, "HOST      [2026-11-01 12:01:00, 12:02:00)  -                          3 requests      1 5xx  33.33%")
	cancel()
	if err := <-job.Done; err != nil && err != context.Canceled {
		t.Fatalf("the job: %v", err)
	}
	if s := job.ErrOut.String(); !strings.Contains(s, ": 7 lines, 7 requests, 0 dead letters") {
		t.Errorf("summary %q", s)
	}
}

// With -progress on, a bounded read draws a progress bar on stderr that
// ends at the files' total size, with the lines read; the summary follows
// it. (With auto, the default, only when stderr is a terminal: not here.)
func TestProgressBar(t *testing.T) {
	glob := writeGenerated(t, 3000)
	files, _ := filepath.Glob(glob)
	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	r := runJob(t, flags(t, "-progress", "on", glob))
	stderr := strings.Join(r.summary, "\n")
	// The bar's last state: all bytes read ("100%", "(580/580 kB"), and the
	// lines.
	m := regexp.MustCompile(` 100% \|[^|]*\| \(([\d.]+)/([\d.]+) kB, [^)]*\) 3000 lines, \d+ lines/s\n`).FindStringSubmatch(stderr)
	if m == nil || m[1] != m[2] || m[1] != strconv.Itoa(int(math.Round(float64(total)/1000))) {
		t.Errorf("no final bar of %d bytes and 3000 lines on stderr:\n%q", total, stderr)
	}
	if !strings.HasSuffix(stderr, "dead letters and 0 late requests in "+r.deadPath) {
		t.Errorf("the summary is not last: %q", stderr)
	}
	if r = runJob(t, flags(t, glob)); strings.Contains(strings.Join(r.summary, "\n"), "lines/s") {
		t.Errorf("a progress bar on stderr that is no terminal: %q", r.summary)
	}
}
