package logs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
)

func clf(s string) time.Time {
	t, err := time.Parse("02/Jan/2006:15:04:05 -0700", s)
	if err != nil {
		panic(err)
	}
	return t
}

// Lines as nginx (log_format combined) and Apache httpd (LogFormat
// "%h %l %u %t \"%r\" %>s %b" common, combined, vhost_combined) write
// them; the first two are those of httpd's documentation of log files.
var accessLines = []struct {
	name  string
	vhost bool
	line  string
	want  Access
}{
	{"apache common", false, `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
		Access{Client: "127.0.0.1", User: "frank", Time: clf("10/Oct/2000:13:55:36 -0700"), Request: "GET /apache_pb.gif HTTP/1.0",
			Method: "GET", Path: "/apache_pb.gif", Protocol: "HTTP/1.0", Status: 200, Bytes: 2326}},
	{"apache combined", false, `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
		Access{Client: "127.0.0.1", User: "frank", Time: clf("10/Oct/2000:13:55:36 -0700"), Request: "GET /apache_pb.gif HTTP/1.0",
			Method: "GET", Path: "/apache_pb.gif", Protocol: "HTTP/1.0", Status: 200, Bytes: 2326,
			Referer: "http://www.example.com/start.html", UserAgent: "Mozilla/4.08 [en] (Win98; I ;Nav)"}},
	{"nginx combined", false, `192.168.1.20 - - [09/Nov/2026:14:03:27 +0100] "GET /index.html?q=a+b HTTP/1.1" 200 612 "https://www.example.org/start" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"`,
		Access{Client: "192.168.1.20", Time: clf("09/Nov/2026:14:03:27 +0100"), Request: "GET /index.html?q=a+b HTTP/1.1",
			Method: "GET", Path: "/index.html?q=a+b", Protocol: "HTTP/1.1", Status: 200, Bytes: 612,
			Referer: "https://www.example.org/start", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}},
	{"nginx no request", false, `198.51.100.4 - - [09/Nov/2026:14:03:28 +0000] "-" 400 0 "-" "-"`,
		Access{Client: "198.51.100.4", Time: clf("09/Nov/2026:14:03:28 +0000"), Status: 400}},
	{"nginx empty request", false, `198.51.100.4 - - [09/Nov/2026:14:03:28 +0000] "" 400 0 "-" "-"`,
		Access{Client: "198.51.100.4", Time: clf("09/Nov/2026:14:03:28 +0000"), Status: 400}},
	{"apache size -", false, `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /logo.png HTTP/1.1" 304 - "-" "curl/8.5.0"`,
		Access{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Request: "GET /logo.png HTTP/1.1",
			Method: "GET", Path: "/logo.png", Protocol: "HTTP/1.1", Status: 304, UserAgent: "curl/8.5.0"}},
	{"apache escaped quotes in user agent", false, `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (compatible; \"Bot\" 1.0) \\"`,
		Access{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Request: "GET / HTTP/1.1",
			Method: "GET", Path: "/", Protocol: "HTTP/1.1", Status: 200, Bytes: 5, UserAgent: `Mozilla/5.0 (compatible; "Bot" 1.0) \`}},
	{"apache escapes in three fields", false, `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /q=\"x\" HTTP/1.1" 200 5 "http://e.com/\"r\"" "A\tB\\C"`,
		Access{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Request: `GET /q="x" HTTP/1.1`,
			Method: "GET", Path: `/q="x"`, Protocol: "HTTP/1.1", Status: 200, Bytes: 5, Referer: `http://e.com/"r"`, UserAgent: "A\tB\\C"}},
	{"a target with a space", false, `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /a b HTTP/1.1" 400 5 "-" "-"`,
		Access{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Request: "GET /a b HTTP/1.1",
			Method: "GET", Path: "/a b", Protocol: "HTTP/1.1", Status: 400, Bytes: 5}},
	{"nginx escaped quote in user agent", false, `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /search?q=%22x%22 HTTP/1.1" 200 5 "-" "Probe \x22quoted\x22 \xE2\x9C\x93"`,
		Access{Client: "10.1.2.3", Time: clf("09/Nov/2026:14:03:29 +0000"), Request: "GET /search?q=%22x%22 HTTP/1.1",
			Method: "GET", Path: "/search?q=%22x%22", Protocol: "HTTP/1.1", Status: 200, Bytes: 5, UserAgent: `Probe "quoted" ✓`}},
	{"nginx TLS handshake on the HTTP port", false, `203.0.113.9 - - [09/Nov/2026:14:03:30 +0000] "\x16\x03\x01\x00\xF4\x01\x00\x00\xF0\x03\x03" 400 157 "-" "-"`,
		Access{Client: "203.0.113.9", Time: clf("09/Nov/2026:14:03:30 +0000"), Request: "\x16\x03\x01\x00\xF4\x01\x00\x00\xF0\x03\x03", Status: 400, Bytes: 157}},
	{"ipv6 client, half-hour zone", false, `2001:db8:85a3::8a2e:370:7334 - - [09/Nov/2026:14:03:31 -0230] "POST /api/v1/items HTTP/2.0" 201 87 "https://app.example.com/" "okhttp/4.12.0"`,
		Access{Client: "2001:db8:85a3::8a2e:370:7334", Time: clf("09/Nov/2026:14:03:31 -0230"), Request: "POST /api/v1/items HTTP/2.0",
			Method: "POST", Path: "/api/v1/items", Protocol: "HTTP/2.0", Status: 201, Bytes: 87,
			Referer: "https://app.example.com/", UserAgent: "okhttp/4.12.0"}},
	{"ipv6 loopback, common, CRLF", false, "::1 - - [09/Nov/2026:14:03:31 +0000] \"HEAD / HTTP/1.1\" 200 0\r\n",
		Access{Client: "::1", Time: clf("09/Nov/2026:14:03:31 +0000"), Request: "HEAD / HTTP/1.1", Method: "HEAD", Path: "/", Protocol: "HTTP/1.1", Status: 200}},
	{"http/0.9, nginx status 009", false, `10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] "GET /" 009 10`,
		Access{Client: "10.0.0.1", Time: clf("09/Nov/2026:14:03:31 +0000"), Request: "GET /", Method: "GET", Path: "/", Status: 9, Bytes: 10}},
	{"ident and user, extra fields after the agent", false, `10.0.0.1 ident42 bob [29/Feb/2024:23:59:59 +1400] "DELETE /x HTTP/1.1" 204 - "-" "c" "203.0.113.1" 0.004`,
		Access{Client: "10.0.0.1", Ident: "ident42", User: "bob", Time: clf("29/Feb/2024:23:59:59 +1400"), Request: "DELETE /x HTTP/1.1",
			Method: "DELETE", Path: "/x", Protocol: "HTTP/1.1", Status: 204, UserAgent: "c"}},
	{"a method that is no token", false, `10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] "G(T / HTTP/1.1" 400 0 "-" "-"`,
		Access{Client: "10.0.0.1", Time: clf("09/Nov/2026:14:03:31 +0000"), Request: "G(T / HTTP/1.1", Status: 400}},
	{"invalid UTF-8 kept", false, "10.0.0.1 - - [09/Nov/2026:14:03:31 +0000] \"GET /\xff\xfe HTTP/1.1\" 404 0 \"-\" \"\xc3\"",
		Access{Client: "10.0.0.1", Time: clf("09/Nov/2026:14:03:31 +0000"), Request: "GET /\xff\xfe HTTP/1.1",
			Method: "GET", Path: "/\xff\xfe", Protocol: "HTTP/1.1", Status: 404, UserAgent: "\xc3"}},
	{"vhost_combined", true, `www.example.com:443 192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0"`,
		Access{Host: "www.example.com", Port: 443, Client: "192.0.2.7", Time: clf("10/Oct/2000:13:55:36 -0700"), Request: "GET / HTTP/1.1",
			Method: "GET", Path: "/", Protocol: "HTTP/1.1", Status: 200, Bytes: 512, UserAgent: "curl/8.5.0"}},
	{"vhost without port, common", true, `shop.example.com 192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 512`,
		Access{Host: "shop.example.com", Client: "192.0.2.7", Time: clf("10/Oct/2000:13:55:36 -0700"), Request: "GET / HTTP/1.1",
			Method: "GET", Path: "/", Protocol: "HTTP/1.1", Status: 200, Bytes: 512}},
	{"vhost ipv6 in brackets", true, `[2001:db8::1]:8080 192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 512`,
		Access{Host: "2001:db8::1", Port: 8080, Client: "192.0.2.7", Time: clf("10/Oct/2000:13:55:36 -0700"), Request: "GET / HTTP/1.1",
			Method: "GET", Path: "/", Protocol: "HTTP/1.1", Status: 200, Bytes: 512}},
}

func TestParseAccess(t *testing.T) {
	for _, c := range accessLines {
		parse := ParseAccess
		if c.vhost {
			parse = ParseAccessVHost
		}
		got, err := parse(c.line)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !accessEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// accessEqual compares times as instants and offsets, the rest with ==.
func accessEqual(a, b Access) bool {
	_, oa := a.Time.Zone()
	_, ob := b.Time.Zone()
	if !a.Time.Equal(b.Time) || oa != ob {
		return false
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b
}

func TestParseAccessErrors(t *testing.T) {
	ok := `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"`
	for _, c := range []struct {
		name, line, field string
		pos               int
	}{
		{"empty", "", "line", 0},
		{"blanks", " \r\n", "line", 0},
		{"two spaces", `10.1.2.3  - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5`, "ident", 9},
		{"cut after client", `10.1.2.3`, "ident", 8},
		{"no time", `10.1.2.3 - - "GET / HTTP/1.1" 200 5`, "time", 13},
		{"bad month", `10.1.2.3 - - [09/Nox/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5`, "time", 17},
		{"31 April", `10.1.2.3 - - [31/Apr/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5`, "time", 13},
		{"29 Feb of no leap year", `10.1.2.3 - - [29/Feb/2025:14:03:29 +0000] "GET / HTTP/1.1" 200 5`, "time", 13},
		{"hour 24", `10.1.2.3 - - [09/Nov/2026:24:03:29 +0000] "GET / HTTP/1.1" 200 5`, "time", 13},
		{"zone 99", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0099] "GET / HTTP/1.1" 200 5`, "time", 35},
		{"iso time", `10.1.2.3 - - [2026-11-09T14:03:29+00:00] "GET / HTTP/1.1" 200 5`, "time", 13},
		{"cut in time", `10.1.2.3 - - [09/Nov/2026:14:0`, "time", 13},
		{"cut after time", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000]`, "request", 41},
		{"unquoted request", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] GET / 200 5`, "request", 42},
		{"unclosed request", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1 200 5`, "request", 42},
		{"request ends in an escaped quote", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1\" 200 5`, "request", 42},
		{"quote inside a field", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET "/" HTTP/1.1" 200 5`, "request", 48},
		{"status word", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" OK 5`, "status", 59},
		{"status 2 digits", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 20 5`, "status", 59},
		{"no size", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200`, "size", 62},
		{"negative size", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 -5`, "size", 63},
		{"size too big", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 99999999999999999999`, "size", 63},
		{"unquoted referer", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5 - "curl"`, "referer", 65},
		{"no user agent", `10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5 "-"`, "user agent", 68},
		{"unclosed user agent", ok[:len(ok)-1], "user agent", 69},
	} {
		_, err := ParseAccess(c.line)
		pe, isPE := errors.AsType[*ParseError](err)
		if !isPE {
			t.Errorf("%s: got %v, want a *ParseError", c.name, err)
			continue
		}
		if pe.Field != c.field || pe.Pos != c.pos || pe.Format != "access log" {
			t.Errorf("%s: got %q (field %q at %d), want field %q at %d", c.name, err, pe.Field, pe.Pos, c.field, c.pos)
		}
	}
	if _, err := ParseAccess(ok); err != nil {
		t.Fatalf("the line the cut cases come from: %v", err)
	}
}

// Every prefix of a valid line, but the whole line and those cut only in
// the fields a Common Log Format line may end without, is an error.
func TestParseAccessTruncated(t *testing.T) {
	line := `10.1.2.3 - bob [09/Nov/2026:14:03:29 +0000] "GET /x HTTP/1.1" 200 5 "http://r/" "curl/8"`
	clfEnd := strings.Index(line, ` "http`)
	for n := 0; n < len(line); n++ {
		_, err := ParseAccess(line[:n])
		if err == nil && n != clfEnd && n != clfEnd+1 { // "... 200 5" and "... 200 5 " (trailing blank)
			t.Errorf("cut at %d: %q parsed", n, line[:n])
		}
	}
}

func TestParseAccessAllocs(t *testing.T) {
	plain := accessLines[2].line
	escaped := accessLines[7].line
	if n := testing.AllocsPerRun(100, func() { ParseAccess(plain) }); n != 0 {
		t.Errorf("a line without escapes: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { ParseAccess(escaped) }); n != 1 {
		t.Errorf("a line with escapes in three fields: %v allocations, want 1", n)
	}
	vh := accessLines[len(accessLines)-3].line
	if n := testing.AllocsPerRun(100, func() { ParseAccessVHost(vh) }); n != 0 {
		t.Errorf("a vhost line: %v allocations, want 0", n)
	}
}

// A 10 MB line: one with a 10 MB path parses (nothing in the formats
// bounds a field), one of 10 MB of garbage is refused with a short error.
func TestParseAccessHugeLine(t *testing.T) {
	path := "/" + strings.Repeat("a", 10<<20)
	a, err := ParseAccess(`10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET ` + path + ` HTTP/1.1" 414 0 "-" "-"`)
	if err != nil || a.Path != path || a.Status != 414 {
		t.Errorf("10 MB path: status %d, path of %d bytes, err %v", a.Status, len(a.Path), err)
	}
	_, err = ParseAccess(`10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "` + strings.Repeat(`\"`, 5<<20))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("10 MB of escaped quotes: got an error of %d bytes: %.200v", len(fmt.Sprint(err)), err)
	}
	_, err = ParseAccess(strings.Repeat("x", 10<<20))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("10 MB of one token: got an error of %d bytes: %.200v", len(fmt.Sprint(err)), err)
	}
}

// naiveAccess is the dumb twin of parseAccess: a regular expression for
// the Combined Log Format, time.Parse, strconv, and Apache's escapes
// undone with a replacer, to compare on random lines.
var naiveAccessRE = regexp.MustCompile(`^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?$`)

var naiveUnescape = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\x22`, `"`, `\t`, "\t")

func naiveAccess(line string) (Access, bool) {
	m := naiveAccessRE.FindStringSubmatch(line)
	if m == nil {
		return Access{}, false
	}
	tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[4])
	if err != nil {
		return Access{}, false
	}
	var a Access
	a.Client, a.Ident, a.User, a.Time = m[1], dash(m[2]), dash(m[3]), tm
	a.Request = dash(naiveUnescape.Replace(m[5]))
	if f := strings.Split(a.Request, " "); len(f) >= 2 {
		a.Method, a.Path = f[0], strings.Join(f[1:], " ")
		if len(f) >= 3 && strings.HasPrefix(f[len(f)-1], "HTTP/") {
			a.Path, a.Protocol = strings.Join(f[1:len(f)-1], " "), f[len(f)-1]
		}
	}
	a.Status, _ = strconv.Atoi(m[6])
	if m[7] != "-" {
		a.Bytes, _ = strconv.ParseInt(m[7], 10, 64)
	}
	a.Referer, a.UserAgent = dash(naiveUnescape.Replace(m[8])), dash(naiveUnescape.Replace(m[9]))
	return a, true
}

func TestParseAccessAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	quoted := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pick("a", "/", "x y", `\"`, `\\`, `\x22`, `\t`, "é", "-", "?q=1"))
		}
		return b.String()
	}
	for i := range 20000 {
		ts := time.Unix(rng.Int64N(4e9)-1e9, 0).In(time.FixedZone("", (rng.IntN(57)-28)*900))
		line := fmt.Sprintf(`%s %s %s [%s] "%s" %s %s`,
			pick("10.0.0.1", "::1", "host.example", "2001:db8::9"), pick("-", "id"), pick("-", "bob", "a@b"),
			ts.Format("02/Jan/2006:15:04:05 -0700"),
			pick("-", "GET / HTTP/1.1", "POST /a?b=c HTTP/2.0", "HEAD /x", "GET /a b HTTP/1.1", quoted()),
			pick("200", "404", "500", "009"), pick("-", "0", "123", "9999999999"))
		if rng.IntN(2) == 0 {
			line += fmt.Sprintf(` "%s" "%s"`, pick("-", quoted()), pick("-", quoted()))
		}
		want, ok := naiveAccess(line)
		got, err := ParseAccess(line)
		if !ok {
			t.Fatalf("line %d: the twin refused %q", i, line)
		}
		if err != nil {
			t.Fatalf("line %d: %q: %v", i, line, err)
		}
		if !isToken(want.Method) || want.Path == "" || want.Path[0] == ' ' {
			want.Method, want.Path, want.Protocol = "", "", ""
		}
		if !accessEqual(got, want) {
			t.Fatalf("line %d: %q:\n got %+v\nwant %+v", i, line, got, want)
		}
	}
}
