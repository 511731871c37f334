package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/killtest"
	"github.com/braidstream/braid/internal/testseed"
)

// TestMain runs main itself when a test re-executes the test binary with
// ACCESSLOGS_ARGS set (the arguments, one a line), so that exit statuses
// are tested without building the command.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("ACCESSLOGS_ARGS"); ok {
		os.Args = append([]string{"accesslogs"}, strings.Split(args, "\n")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs the command with args and returns its exit status and
// output.
func runMain(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ACCESSLOGS_ARGS="+strings.Join(args, "\n"))
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode(), o.String(), e.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, o.String(), e.String()
}

// runJob runs the job and returns its result lines split into fields, its
// reports of bad input, and its summary (the last line on errOut).
func runJob(t *testing.T, cfg config) (results [][]string, reports []string, summary string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	if err := run(ctx, cfg, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		results = append(results, strings.Fields(l))
	}
	reports = strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	reports, summary = reports[:len(reports)-1], reports[len(reports)-1]
	return results, reports, summary
}

// writeLog writes lines to a file of a temporary directory, one a line,
// and returns its path.
func writeLog(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// statusCounts sums the job's "status" rows per window end and class.
func statusCounts(t *testing.T, results [][]string) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	for _, f := range results {
		if f[0] != "status" {
			continue
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || len(f) != 5 {
			t.Fatalf("bad status row %q", f)
		}
		got[f[1]+" "+f[2]] += n
	}
	return got
}

// The whole job on a small log of both formats: every valid line is
// counted once, every bad one is reported with what was wrong, a request
// too late for its window is reported as late, and the summary says so;
// none is lost. The file is read in one batch by default, and the late
// request is late whatever the batch size: watermarks come per request.
func TestJobCountsValidLinesAndReportsTheRest(t *testing.T) {
	valid := []string{
		`10.0.0.1 - - [01/Nov/2026:12:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"`,
		`10.0.0.1 - - [01/Nov/2026:13:00:02 +0100] "GET /app.js HTTP/1.1" 304 0 "https://shop.example.com/" "Mozilla/5.0 (compatible; \"Bot\" 1.0)"`,
		`10.0.0.1 - frank [01/Nov/2026:12:00:03 +0000] "POST /login HTTP/1.1" 302 -`,
		`2001:db8::17 - - [01/Nov/2026:12:00:04 +0000] "GET /admin HTTP/1.1" 404 153 "-" "curl/8.5.0"`,
		`203.0.113.9 - - [01/Nov/2026:12:00:12 +0000] "-" 400 0 "-" "-"`,
		`10.0.0.2 - - [01/Nov/2026:12:00:13 +0000] "GET /api/items HTTP/1.1" 500 17 "-" "python-requests/2.32.3"`,
		`10.0.0.2 - - [01/Nov/2026:12:03:00 +0000] "GET /api/items HTTP/1.1" 200 99 "-" "python-requests/2.32.3"`,
	}
	bad := map[string]string{ // line -> the field its report must name
		`10.0.0.3 - - [01/Nov/2026:12:00:05 +0000] "GET / HTTP/1.1" 200 612 "https://shop.exa`: "referer: no closing quote",
		`10.0.0.3 - - [01/Nov/2026:12:00:05 +0000] "GET / HTTP/1.1" 2x0 612 "-" "-"`:           "status: want a number",
		`10.0.0.3 - - [01/Nov/2026:12:61:05 +0000] "GET / HTTP/1.1" 200 612 "-" "-"`:           "time: no such time of day",
		`10.0.0.3 - - [01/Nov/2026:12:00:05 +0000] GET / HTTP/1.1 200 612`:                     "request: want a quoted field",
		``: "line: empty",
	}
	late := `10.0.0.4 - - [01/Nov/2026:12:00:06 +0000] "GET /slow HTTP/1.1" 200 1 "-" "-"` // after 12:03:00
	var log strings.Builder
	for i, l := range valid {
		log.WriteString(l + "\n")
		if i == 3 {
			for b := range bad {
				log.WriteString(b + "\n")
			}
		}
	}
	log.WriteString(late)
	path := writeLog(t, log.String())
	for _, batch := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			checkSmallLog(t, config{file: path, threshold: 2, batchSize: batch}, valid, bad)
		})
	}
}

func checkSmallLog(t *testing.T, cfg config, valid []string, bad map[string]string) {
	results, reports, summary := runJob(t, cfg)

	want := map[string]int64{"12:00:10 2xx": 1, "12:00:10 3xx": 2, "12:00:10 4xx": 1, "12:00:20 4xx": 1, "12:00:20 5xx": 1, "12:03:10 2xx": 1}
	if got := statusCounts(t, results); !maps.Equal(got, want) {
		t.Errorf("status counts %v, want %v", got, want)
	}
	var visits, busy int64
	for _, f := range results {
		switch f[0] {
		case "visit":
			n, _ := strconv.ParseInt(f[3], 10, 64)
			visits += n
		case "busy":
			if f[2] != "10.0.0.1" || f[3] != "3" {
				t.Errorf("busy row %q, want only 10.0.0.1's 3 requests", f)
			}
			busy++
		}
	}
	if visits != int64(len(valid)) {
		t.Errorf("visits hold %d requests, want the %d valid ones", visits, len(valid))
	}
	if busy == 0 {
		t.Error("10.0.0.1's 3 requests in a minute are not reported busy")
	}
	if len(reports) != len(bad)+1 {
		t.Errorf("%d reports, want %d:\n%s", len(reports), len(bad)+1, strings.Join(reports, "\n"))
	}
	for line, reason := range bad {
		want := "skipped line " + strconv.Quote(line) + ": " + reason
		if !containsPrefix(reports, want) {
			t.Errorf("no report %q in:\n%s", want, strings.Join(reports, "\n"))
		}
	}
	if !containsPrefix(reports, "late request 10.0.0.4 GET /slow at 2026-11-01T12:00:06Z") {
		t.Errorf("the late request is not reported:\n%s", strings.Join(reports, "\n"))
	}
	if want := fmt.Sprintf("accesslogs: %d lines read, %d parsed, %d rejected, 1 late", len(valid)+len(bad)+1, len(valid)+1, len(bad)); summary != want {
		t.Errorf("summary %q, want %q", summary, want)
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// The default input, the generated log, is in the combined format, and the
// job's status counts equal those recomputed line by line from it; the
// generator's garbled lines, and only they, are reported.
func TestJobOnGeneratedLog(t *testing.T) {
	seed := testseed.Seed(t)
	const n = 3000
	gen := generate(seed)
	want := map[string]int64{}
	var garbled int
	var combined, noRequest, escaped, ipv6 bool
	for i := range int64(n) {
		line := gen(i)
		r, err := Parse(line)
		if err != nil {
			if !strings.HasPrefix(line, "garbled line ") {
				t.Fatalf("generated line %d %q: %v", i, line, err)
			}
			garbled++
			continue
		}
		end := r.Time.Truncate(10 * time.Second).Add(10 * time.Second)
		want[end.Format("15:04:05")+" "+statusClass(r.Status)]++
		combined = combined || r.UserAgent != ""
		noRequest = noRequest || r.Method == ""
		escaped = escaped || strings.Contains(r.UserAgent, `"`)
		ipv6 = ipv6 || strings.Contains(r.Client, ":")
	}
	if !combined || !noRequest || !escaped || !ipv6 {
		t.Fatalf("the generated log lacks combined lines (%v), requests of - (%v), escaped quotes (%v) or IPv6 clients (%v)",
			combined, noRequest, escaped, ipv6)
	}

	results, reports, summary := runJob(t, config{n: n, seed: seed, threshold: 150})
	if want := fmt.Sprintf("accesslogs: %d lines read, %d parsed, %d rejected, 0 late", n, n-garbled, garbled); summary != want {
		t.Errorf("summary %q, want %q", summary, want)
	}

	if got := statusCounts(t, results); !maps.Equal(got, want) {
		t.Errorf("status counts differ from the recomputation:\n got %v\nwant %v", got, want)
	}
	if len(reports) != garbled {
		t.Errorf("%d reports, want the %d garbled lines:\n%s", len(reports), garbled, strings.Join(reports, "\n"))
	}
	for _, r := range reports {
		if !strings.HasPrefix(r, `skipped line "garbled line `) {
			t.Errorf("report %q", r)
		}
	}
}

// A log of which no line parses (or an empty one) is not a success: the
// job says how many lines it read and rejected, and fails.
func TestJobFailsWhenNothingParses(t *testing.T) {
	for _, c := range []struct {
		lines   []string
		summary string
		err     string
	}{
		{[]string{"[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6", "not a log line"},
			"accesslogs: 2 lines read, 0 parsed, 2 rejected, 0 late", "no line could be parsed: all 2 were rejected"},
		// A request in a year event time cannot hold is rejected, not put
		// in a wrong window.
		{[]string{`10.0.0.1 - - [01/Nov/2300:12:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "-"`},
			"accesslogs: 1 lines read, 0 parsed, 1 rejected, 0 late", "no line could be parsed: all 1 were rejected"},
		{nil, "accesslogs: 0 lines read, 0 parsed, 0 rejected, 0 late", "no line could be parsed: the input had no lines"},
	} {
		path := filepath.Join(t.TempDir(), "access.log")
		if err := os.WriteFile(path, []byte(strings.Join(c.lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		err := run(context.Background(), config{file: path, threshold: 150}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: run returned %v, want %q", c.lines, err, c.err)
		}
		reports := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
		if out.Len() != 0 || len(reports) != len(c.lines)+1 || reports[len(reports)-1] != c.summary {
			t.Errorf("%q: stdout %q, stderr %q; want no results, a report a line and %q", c.lines, out.String(), errOut.String(), c.summary)
		}
	}
}

// The command exits with status 0 on a log with a request in it, 2 on a
// stray argument, and 1, with the summary, on a real log of another
// format (Apache's error log, from Loghub).
func TestMainExitStatus(t *testing.T) {
	good := writeLog(t, `10.0.0.1 - - [01/Nov/2026:12:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "-"`, "garbled")
	status, stdout, stderr := runMain(t, "-file", good)
	if status != 0 || !strings.Contains(stdout, "status   12:00:10  2xx       1 requests") ||
		!strings.HasSuffix(stderr, "accesslogs: 2 lines read, 1 parsed, 1 rejected, 0 late\n") {
		t.Errorf("a log with one request: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, stdout, stderr = runMain(t, good) // without -file: not the generated log
	if status != 2 || stdout != "" || !strings.Contains(stderr, "accesslogs: unexpected argument "+strconv.Quote(good)) {
		t.Errorf("a log without -file: status %d, stdout %q, stderr %q; want 2", status, stdout, stderr)
	}

	const apache = "../../../shared/data/loghub/Apache_2k.log"
	if _, err := os.Stat(apache); err != nil {
		t.Skipf("the reference data is absent (%v): see ../shared/data/README.md", err)
	}
	status, stdout, stderr = runMain(t, "-file", apache)
	if status != 1 || stdout != "" || !strings.Contains(stderr, "\naccesslogs: 2000 lines read, 0 parsed, 2000 rejected, 0 late\n"+
		"accesslogs: no line could be parsed: all 2000 were rejected") {
		t.Errorf("Apache's error log: status %d, stdout %q, stderr ends %q; want 1 and the summary", status, stdout, stderr[max(0, len(stderr)-300):])
	}
}

// wmRecorder is a WatermarkOutput that keeps the last watermark.
type wmRecorder struct {
	wm  time.Time
	set bool
}

func (r *wmRecorder) EmitWatermark(wm time.Time) {
	if !r.set || wm.After(r.wm) {
		r.wm, r.set = wm, true
	}
}
func (r *wmRecorder) MarkIdle()   {}
func (r *wmRecorder) MarkActive() {}

// The job's watermark generator closes the status windows exactly when a
// watermark after every request would: after each request, the same
// windows are closed (end-1ns at or before the watermark), whatever the
// order of the requests. Only the number of watermarks differs.
func TestWatermarksCloseStatusWindowsAsPerRequest(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	closedEnd := func(wm time.Time) time.Time { // the end of the last closed window
		return wm.Add(time.Nanosecond).Truncate(statusWindow)
	}
	for range 200 {
		g := &perRequest{bound: outOfOrderness, step: statusWindow}
		var out wmRecorder
		var first, latest time.Time
		emitted := 0
		for i := range 300 {
			ts := start.Add(time.Duration(i)*time.Second/3 - time.Duration(rng.IntN(40))*time.Second).Truncate(time.Second)
			if i == 0 {
				first = ts
			}
			if i == 0 || ts.After(latest) {
				latest = ts
			}
			before := out.wm
			g.OnEvent(Request{}, ts, &out)
			if out.wm != before {
				emitted++
			}
			if want := closedEnd(latest.Add(-outOfOrderness - time.Nanosecond)); !out.set || closedEnd(out.wm) != want {
				t.Fatalf("after request %d at %v (latest %v): windows closed to %v, want to %v", i, ts, latest, closedEnd(out.wm), want)
			}
		}
		if limit := int(latest.Sub(first)/statusWindow) + 2; emitted > limit { // + the first, + a boundary
			t.Fatalf("%d watermarks for %v of log, want at most one per 10 s (%d)", emitted, latest.Sub(first), limit)
		}
	}
}

// Killed with SIGKILL at random moments and run again with the same
// command until it ends, the job publishes with -checkpoint and -out the
// result lines of an uninterrupted run, each once.
func TestCheckpointedRunSurvivesKills(t *testing.T) {
	lines := "300000"
	if testing.Short() {
		lines = "100000"
	}
	status, ref, stderr := runMain(t, "-n", lines)
	if status != 0 {
		t.Fatalf("uninterrupted run: status %d, stderr %q", status, stderr)
	}
	want := strings.Split(strings.TrimSpace(ref), "\n")
	slices.Sort(want)
	dir := t.TempDir()
	outDir := filepath.Join(dir, "out")
	args := []string{"-n", lines, "-checkpoint", filepath.Join(dir, "ck"), "-checkpoint-every", "20ms", "-out", outDir}
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	kills, stdout := killtest.Run(t, "ACCESSLOGS_ARGS", args, rng, 5)
	if stdout != "" {
		t.Fatalf("with -out, stdout has %q", stdout)
	}
	if kills == 0 {
		t.Fatal("the job ended before the first kill: nothing was tested")
	}
	var got []string
	parts, _ := filepath.Glob(filepath.Join(outDir, "part-*"))
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("after %d kills, %d lines published, want the %d of an uninterrupted run", kills, len(got), len(want))
	}
	t.Logf("%d kills, %d lines, %d part files", kills, len(want), len(parts))
}
