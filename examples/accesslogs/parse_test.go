package main

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
)

func clf(s string) time.Time {
	t, err := time.Parse(clfTime, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// Lines as nginx (log_format combined) and Apache httpd (LogFormat
// "%h %l %u %t \"%r\" %>s %b" common, and combined) write them; the first
// two Apache lines are the ones of httpd's documentation of log files.
var validLines = []struct {
	name string
	line string
	want Request
}{
	{"apache common", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
		Request{Client: "127.0.0.1", User: "frank", Time: clf("10/Oct/2000:13:55:36 -0700"), Method: "GET", Path: "/apache_pb.gif", Proto: "HTTP/1.0", Status: 200, Bytes: 2326}},
	{"apache combined", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
		Request{Client: "127.0.0.1", User: "frank", Time: clf("10/Oct/2000:13:55:36 -0700"), Method: "GET", Path: "/apache_pb.gif", Proto: "HTTP/1.0", Status: 200, Bytes: 2326,
			Referer: "http://www.example.com/start.html", UserAgent: "Mozilla/4.08 [en] (Win98; I ;Nav)"}},
	{"nginx combined", `192.168.1.20 - - [09/Nov/2026:14:03:27 +0100] "GET /index.html?q=a+b HTTP/1.1" 200 612 "https://www.example.org/start" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"`,
		Request{Client: "192.168.1.20", Time: clf("09/Nov/2026:14:03:27 +0100"), Method: "GET", Path: "/index.html?q=a+b", Proto: "HTTP/1.1", Status: 200, Bytes: 612,
			Referer: "https://www.example.org/start", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}},
	{"nginx no request", `198.51.100.4 - - [09/Nov/2026:14:03:28 +0000] "-" 400 0 "-" "-"`,
		Request{Client: "198.51.100.4", Time: clf("09/Nov/2026:14:03:28 +0000"), Status: 400}},
	{"apache size -", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /logo.png HTTP/1.1" 304 - "-" "curl/8.5.0"`,
		Request{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Method: "GET", Path: "/logo.png", Proto: "HTTP/1.1", Status: 304, UserAgent: "curl/8.5.0"}},
	{"apache escaped quotes in user agent", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (compatible; \"Bot\" 1.0) \\"`,
		Request{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Method: "GET", Path: "/", Proto: "HTTP/1.1", Status: 200, Bytes: 5, UserAgent: `Mozilla/5.0 (compatible; "Bot" 1.0) \`}},
	{"apache escaped quotes in request", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /search?q=\"x\" HTTP/1.1" 200 5 "-" "-"`,
		Request{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Method: "GET", Path: `/search?q="x"`, Proto: "HTTP/1.1", Status: 200, Bytes: 5}},
	{"request of four parts", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /a b HTTP/1.1" 400 5 "-" "-"`,
		Request{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Status: 400, Bytes: 5}},
	{"nginx escaped quote in user agent", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /search?q=%22x%22 HTTP/1.1" 200 5 "-" "Probe \x22quoted\x22 \xE2\x9C\x93"`,
		Request{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Method: "GET", Path: "/search?q=%22x%22", Proto: "HTTP/1.1", Status: 200, Bytes: 5, UserAgent: `Probe "quoted" ✓`}},
	{"nginx TLS handshake on the HTTP port", `203.0.113.9 - - [09/Nov/2026:14:03:30 +0000] "\x16\x03\x01\x00\xF4\x01\x00\x00\xF0\x03\x03" 400 157 "-" "-"`,
		Request{Client: "203.0.113.9", Time: clf("09/Nov/2026:14:03:30 +0000"), Status: 400, Bytes: 157}},
	{"ipv6 client", `2001:db8:85a3::8a2e:370:7334 - - [09/Nov/2026:14:03:31 -0230] "POST /api/v1/items HTTP/2.0" 201 87 "https://app.example.com/" "okhttp/4.12.0"`,
		Request{Client: "2001:db8:85a3::8a2e:370:7334", Time: clf("09/Nov/2026:14:03:31 -0230"), Method: "POST", Path: "/api/v1/items", Proto: "HTTP/2.0", Status: 201, Bytes: 87,
			Referer: "https://app.example.com/", UserAgent: "okhttp/4.12.0"}},
	{"ipv6 loopback, common", `::1 - - [09/Nov/2026:14:03:31 +0000] "HEAD / HTTP/1.1" 200 0`,
		Request{Client: "::1", Time: clf("09/Nov/2026:14:03:31 +0000"), Method: "HEAD", Path: "/", Proto: "HTTP/1.1", Status: 200}},
	{"http/0.9", `10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] "GET /" 200 10`,
		Request{Client: "10.0.0.1", Time: clf("09/Nov/2026:14:03:31 +0000"), Method: "GET", Path: "/", Status: 200, Bytes: 10}},
	{"crlf line end", "10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] \"GET / HTTP/1.1\" 200 10 \"-\" \"curl/8.5.0\"\r",
		Request{Client: "10.0.0.1", Time: clf("09/Nov/2026:14:03:31 +0000"), Method: "GET", Path: "/", Proto: "HTTP/1.1", Status: 200, Bytes: 10, UserAgent: "curl/8.5.0"}},
	{"nginx main, with x-forwarded-for after the user agent", `10.0.0.1 - - [29/Feb/2028:23:59:59 +0000] "GET / HTTP/1.1" 200 10 "-" "curl/8.5.0" "198.51.100.2, 10.0.0.9"`,
		Request{Client: "10.0.0.1", Time: clf("29/Feb/2028:23:59:59 +0000"), Method: "GET", Path: "/", Proto: "HTTP/1.1", Status: 200, Bytes: 10, UserAgent: "curl/8.5.0"}},
}

func TestParseValid(t *testing.T) {
	for _, c := range validLines {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.line)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.line, err)
			}
			if !got.Time.Equal(c.want.Time) || got.Time.Location() != time.UTC {
				t.Errorf("time %v, want %v in UTC", got.Time, c.want.Time)
			}
			got.Time = c.want.Time
			if got != c.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", c.line, got, c.want)
			}
		})
	}
}

// A huge line is one line like any other: read in full when valid, and
// rejected with a short error when not.
func TestParseHugeLine(t *testing.T) {
	agent := strings.Repeat("Mozilla/5.0 ", 1<<20/12)
	r, err := Parse(`10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] "GET / HTTP/1.1" 200 10 "-" "` + agent + `"`)
	if err != nil || r.UserAgent != agent {
		t.Fatalf("huge valid line: agent of %d bytes, err %v; want %d bytes", len(r.UserAgent), err, len(agent))
	}
	for _, line := range []string{
		strings.Repeat("x", 1<<20),
		`10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] "GET /` + strings.Repeat("a", 1<<20),
		`10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] "GET / HTTP/1.1" ` + strings.Repeat("2", 1<<20) + ` 10`,
	} {
		_, err := Parse(line)
		if err == nil || len(err.Error()) > 200 {
			t.Errorf("huge bad line: error %.300v (%d bytes), want a short error", err, len(fmt.Sprint(err)))
		}
	}
}

func TestParseMalformed(t *testing.T) {
	const head = `10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] `
	const combined = head + `"GET /index.html HTTP/1.1" 200 612 "https://www.example.org/" "curl/8.5.0"`
	cases := []struct {
		name, line, field, reason string
	}{
		{"empty", "", "line", "empty"},
		{"blank", " \t\r", "line", "empty"},
		{"garbage", "garbled line 325", "time", "missing"},
		{"double space", `10.0.0.1  - - [09/Nov/2026:14:03:31 +0000] "GET / HTTP/1.1" 200 1`, "ident", "empty"},
		{"cut after client", "10.0.0.1", "ident", "missing"},
		{"cut in time", "10.0.0.1 - - [09/Nov/2026:14:03", "time", "no closing ]"},
		{"cut after time", head, "request", "missing"},
		{"cut in request", head + `"GET /index.ht`, "request", "no closing quote"},
		{"cut after request", head + `"GET / HTTP/1.1"`, "status", "missing"},
		{"cut after status", head + `"GET / HTTP/1.1" 200`, "size", "missing"},
		{"cut in referer", head + `"GET / HTTP/1.1" 200 612 "https://www.exa`, "referer", "no closing quote"},
		{"cut after referer", head + `"GET / HTTP/1.1" 200 612 "https://www.example.org/"`, "user agent", "missing"},
		{"cut in user agent", combined[:len(combined)-4], "user agent", "no closing quote"},
		{"escaped closing quote", head + `"GET / HTTP/1.1" 200 612 "-" "curl\"`, "user agent", "no closing quote"},
		{"status letters", head + `"GET / HTTP/1.1" 2OO 612`, "status", `"2OO"`},
		{"status too small", head + `"GET / HTTP/1.1" 99 612`, "status", `"99"`},
		{"status too large", head + `"GET / HTTP/1.1" 600 612`, "status", `"600"`},
		{"status four digits", head + `"GET / HTTP/1.1" 2000 612`, "status", `"2000"`},
		{"status -", head + `"GET / HTTP/1.1" - 612`, "status", `"-"`},
		{"size letters", head + `"GET / HTTP/1.1" 200 61x`, "size", `"61x"`},
		{"size negative", head + `"GET / HTTP/1.1" 200 -5`, "size", `"-5"`},
		{"size signed", head + `"GET / HTTP/1.1" 200 +5`, "size", `"+5"`},
		{"size overflow", head + `"GET / HTTP/1.1" 200 99999999999999999999`, "size", "99999999999999999999"},
		{"time without brackets", `10.0.0.1 - - 09/Nov/2026:14:03:31 +0000 "GET / HTTP/1.1" 200 1`, "time", "want ["},
		{"time separator", `10.0.0.1 - - [09/Nov/2026 14:03:31 +0000] "GET / HTTP/1.1" 200 1`, "time", "want dd/Mon/yyyy"},
		{"time month", `10.0.0.1 - - [09/Now/2026:14:03:31 +0000] "GET / HTTP/1.1" 200 1`, "time", `unknown month "Now"`},
		{"time month case", `10.0.0.1 - - [09/NOV/2026:14:03:31 +0000] "GET / HTTP/1.1" 200 1`, "time", `unknown month "NOV"`},
		{"time day", `10.0.0.1 - - [31/Apr/2026:14:03:31 +0000] "GET / HTTP/1.1" 200 1`, "time", "no such day"},
		{"time not leap", `10.0.0.1 - - [29/Feb/2026:14:03:31 +0000] "GET / HTTP/1.1" 200 1`, "time", "no such day"},
		{"time day zero", `10.0.0.1 - - [00/Feb/2026:14:03:31 +0000] "GET / HTTP/1.1" 200 1`, "time", "no such day"},
		{"time hour", `10.0.0.1 - - [09/Nov/2026:24:03:31 +0000] "GET / HTTP/1.1" 200 1`, "time", "time of day"},
		{"time digits", `10.0.0.1 - - [09/Nov/2026:1a:03:31 +0000] "GET / HTTP/1.1" 200 1`, "time", "want dd/Mon/yyyy"},
		{"time no zone", `10.0.0.1 - - [09/Nov/2026:14:03:31] "GET / HTTP/1.1" 200 1`, "time", "want dd/Mon/yyyy"},
		{"time zone colon", `10.0.0.1 - - [09/Nov/2026:14:03:31 +00:00] "GET / HTTP/1.1" 200 1`, "time", "want dd/Mon/yyyy"},
		{"time zone minutes", `10.0.0.1 - - [09/Nov/2026:14:03:31 +0070] "GET / HTTP/1.1" 200 1`, "time", "zone offset"},
		{"time iso", `10.0.0.1 - - [2026-11-09T14:03:31+00:00] "GET / HTTP/1.1" 200 1`, "time", "want dd/Mon/yyyy"},
		{"request unquoted", head + `GET / HTTP/1.1 200 1`, "request", "want a quoted field"},
		{"referer unquoted", head + `"GET / HTTP/1.1" 200 612 https://www.example.org/ "curl/8.5.0"`, "referer", "want a quoted field"},
		{"user agent unquoted", head + `"GET / HTTP/1.1" 200 612 "-" curl/8.5.0`, "user agent", "want a quoted field"},
		{"no space after request", head + `"GET / HTTP/1.1"200 612`, "request", "want a space"},
		{"no space after user agent", combined + `x`, "user agent", "want a space"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.line)
			pe, ok := errors.AsType[*ParseError](err)
			if !ok {
				t.Fatalf("Parse(%q) = %v, want a *ParseError", c.line, err)
			}
			if pe.Field != c.field || !strings.Contains(pe.Reason, c.reason) {
				t.Fatalf("Parse(%q): %v; want field %q, reason with %q", c.line, err, c.field, c.reason)
			}
		})
	}
}

// A valid line without escapes is parsed without allocating.
func TestParseAllocs(t *testing.T) {
	for _, line := range []string{validLines[0].line, validLines[2].line, validLines[3].line} {
		if n := testing.AllocsPerRun(100, func() {
			if _, err := Parse(line); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Parse(%q): %v allocations, want 0", line, n)
		}
	}
}

// format writes r as Apache does (escaping " and \ with a backslash, and
// control bytes as \xhh), in the combined format or, when common, the
// common one: the twin Parse must invert.
func format(r Request, common bool) string {
	esc := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20 || c >= 0x7f:
				fmt.Fprintf(&b, `\x%02x`, c)
			default:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	orDash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	req := "-"
	if r.Method != "" {
		req = r.Method + " " + r.Path
		if r.Proto != "" {
			req += " " + r.Proto
		}
	}
	size := "-"
	if r.Bytes != 0 {
		size = strconv.FormatInt(r.Bytes, 10)
	}
	zone := time.FixedZone("", (int(r.Bytes%29)-14)*1800) // any offset: the line's time is the same instant
	line := fmt.Sprintf(`%s - %s [%s] "%s" %d %s`, r.Client, orDash(r.User), r.Time.In(zone).Format(clfTime), esc(req), r.Status, size)
	if !common {
		line += fmt.Sprintf(` "%s" "%s"`, esc(orDash(r.Referer)), esc(orDash(r.UserAgent)))
	}
	return line
}

// Parse inverts format on random requests, with quotes, backslashes and
// control bytes in the quoted fields.
func TestParseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	text := func() string { // a quoted field's text, never "-" alone
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(pick("a", "Z", "/", " ", `"`, `\`, `\"`, "\t", "\x00", "\xff", "é", "[", "]", "-", "x22", `\x`))
		}
		if b.String() == "-" {
			return "--"
		}
		return b.String()
	}
	for i := range 5000 {
		r := Request{
			Client: pick("10.0.0.1", "2001:db8::17", "::1", "host.example.com"),
			User:   pick("", "frank", "a-b"),
			Time:   time.Unix(rng.Int64N(4e9), 0).UTC(),
			Status: 100 + rng.IntN(500),
			Bytes:  rng.Int64N(3) * rng.Int64N(1<<40),
		}
		if rng.IntN(4) > 0 {
			r.Method, r.Path = pick("GET", "POST", "PROPFIND"), "/"+strings.ReplaceAll(text(), " ", "+")
			r.Proto = pick("", "HTTP/1.0", "HTTP/1.1")
		}
		common := i%3 == 0
		if !common {
			r.Referer, r.UserAgent = text(), text()
		}
		line := format(r, common)
		got, err := Parse(line)
		if err != nil {
			t.Fatalf("Parse(%q): %v", line, err)
		}
		if !got.Time.Equal(r.Time) {
			t.Fatalf("Parse(%q): time %v, want %v", line, got.Time, r.Time)
		}
		got.Time = r.Time
		if got != r {
			t.Fatalf("Parse(%q)\n got %#v\nwant %#v", line, got, r)
		}
	}
}

// Parse never panics, and what it accepts is within its contract.
func FuzzParse(f *testing.F) {
	for _, c := range validLines {
		f.Add(c.line)
	}
	f.Add(`10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] "GET /\`)
	f.Add(`10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] "\x" 200 1 "\x2" "\`)
	f.Fuzz(func(t *testing.T, line string) {
		r, err := Parse(line)
		if err != nil {
			if _, ok := errors.AsType[*ParseError](err); !ok {
				t.Fatalf("Parse(%q): %v is not a *ParseError", line, err)
			}
			return
		}
		if r.Client == "" || r.Status < 100 || r.Status > 599 || r.Bytes < 0 || (r.Method == "") != (r.Path == "") {
			t.Fatalf("Parse(%q) = %+v", line, r)
		}
	})
}

// Fed a real log of another format (Apache's error log, from Loghub),
// Parse rejects every line, each with a reason.
func TestParseRejectsApacheErrorLog(t *testing.T) {
	f, err := os.Open("../../../shared/data/loghub/Apache_2k.log")
	if err != nil {
		t.Skipf("the reference data is absent (%v): see ../shared/data/README.md", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		if _, err := Parse(sc.Text()); err == nil {
			t.Fatalf("line %d %q accepted", n, sc.Text())
		} else if _, ok := errors.AsType[*ParseError](err); !ok {
			t.Fatalf("line %d: %v is not a *ParseError", n, err)
		}
	}
	if sc.Err() != nil || n != 2000 {
		t.Fatalf("read %d lines (%v), want the 2000 of the sample", n, sc.Err())
	}
}

// BenchmarkParse reads nginx's combined lines and Apache's common ones.
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct{ name, line string }{{"format=combined", validLines[2].line}, {"format=common", validLines[0].line}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := Parse(c.line); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
