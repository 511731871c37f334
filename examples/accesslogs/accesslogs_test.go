package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
)

// runJob runs the job and returns its result lines split into fields, and
// its reports of bad input.
func runJob(t *testing.T, cfg config) (results [][]string, reports []string) {
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
	if s := strings.TrimSpace(errOut.String()); s != "" {
		reports = strings.Split(s, "\n")
	}
	return results, reports
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
// too late for its window is reported as late; none is lost.
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
	log.WriteString(late + "\n")
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// One line a batch: the watermark passes each line before the next.
	results, reports := runJob(t, config{file: path, threshold: 2, batchSize: 1})

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

	results, reports := runJob(t, config{n: n, seed: seed, threshold: 150})

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
