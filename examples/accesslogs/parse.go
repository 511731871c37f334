package main

import (
	"strconv"
	"strings"
	"time"
)

// Request is one parsed access log line. Its strings point into the line
// (no copy), except quoted fields that held escapes, which are unescaped
// into a new string.
type Request struct {
	Client string    // %h: the client's address (IPv4, IPv6 or host name)
	User   string    // %u: the authenticated user; "" for "-"
	Time   time.Time // %t, in UTC (the offset of the line is applied)
	// Method, Path and Proto are the parts of the request line %r. They are
	// all "" when the request line is "-" or not "METHOD TARGET [PROTOCOL]"
	// (a TLS handshake sent to the HTTP port, say): such a line is still a
	// response the server logged (a 400, usually), so it is kept. Proto is
	// "" for HTTP/0.9's "GET /".
	Method, Path, Proto string
	Status              int    // %>s, 100 to 599
	Bytes               int64  // %b: body bytes sent; 0 for "-"
	Referer             string // "" for "-" and in the Common Log Format
	UserAgent           string // "" for "-" and in the Common Log Format
}

// A ParseError says which field of a line could not be read, and why.
type ParseError struct {
	Field  string // "line", "client", "ident", "user", "time", "request", "status", "size", "referer", "user agent"
	Reason string
}

func (e *ParseError) Error() string { return e.Field + ": " + e.Reason }

func parseErr(field, reason string) error { return &ParseError{Field: field, Reason: reason} }

// Parse reads a line of the Common Log Format or of the Combined Log Format
// (nginx's default "combined", Apache's "combined"):
//
//	%h %l %u %t "%r" %>s %b
//	%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
//
//	127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326
//	2001:db8::7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 304 - "https://example.com/" "curl/8.5.0"
//
// Quoted fields may hold backslash escapes: Apache writes \" and \\, nginx
// \x22, both \xhh for other bytes; they are unescaped. A "-" stands for a
// missing request line, size, referer or user agent. Anything after the
// user agent (a format that adds $http_x_forwarded_for, say) is ignored, as
// are a trailing carriage return and trailing blanks.
//
// A line that does not fit returns the zero Request and a *ParseError
// naming the first field that is wrong and why; Parse never panics. A
// valid line without escapes is parsed without allocating.
func Parse(line string) (Request, error) {
	r, err := parse(line)
	if err != nil {
		return Request{}, err
	}
	return r, nil
}

func parse(line string) (Request, error) {
	var r Request
	line = strings.TrimRight(line, " \t\r\n")
	if line == "" {
		return r, parseErr("line", "empty")
	}
	p := parser{s: line}
	var err error
	if r.Client, err = p.token("client"); err != nil {
		return r, err
	}
	if _, err = p.token("ident"); err != nil {
		return r, err
	}
	if r.User, err = p.token("user"); err != nil {
		return r, err
	}
	r.User = dash(r.User)
	if r.Time, err = p.time(); err != nil {
		return r, err
	}
	reqLine, err := p.quoted("request")
	if err != nil {
		return r, err
	}
	r.Method, r.Path, r.Proto = splitRequest(reqLine)
	status, err := p.token("status")
	if err != nil {
		return r, err
	}
	if r.Status, err = parseStatus(status); err != nil {
		return r, err
	}
	size, err := p.token("size")
	if err != nil {
		return r, err
	}
	if r.Bytes, err = parseSize(size); err != nil {
		return r, err
	}
	if p.done() { // the Common Log Format ends here
		return r, nil
	}
	if r.Referer, err = p.quoted("referer"); err != nil {
		return r, err
	}
	if p.done() {
		return r, parseErr("user agent", "missing after the referer (a line cut short?)")
	}
	if r.UserAgent, err = p.quoted("user agent"); err != nil {
		return r, err
	}
	r.Referer, r.UserAgent = dash(r.Referer), dash(r.UserAgent)
	return r, nil
}

// parser reads the fields of one line from left to right; s is what is
// left, and each field but the last is followed by one space.
type parser struct{ s string }

func (p *parser) done() bool { return p.s == "" }

// sep consumes the space after a field, if the line goes on.
func (p *parser) sep(field string) error {
	if p.s == "" {
		return nil
	}
	if p.s[0] != ' ' {
		return parseErr(field, "want a space after it, got "+quote(p.s))
	}
	p.s = p.s[1:]
	return nil
}

// token reads a field up to the next space.
func (p *parser) token(field string) (string, error) {
	if p.s == "" {
		return "", parseErr(field, "missing (a line cut short?)")
	}
	i := strings.IndexByte(p.s, ' ')
	if i < 0 {
		i = len(p.s)
	}
	if i == 0 {
		return "", parseErr(field, "empty (two spaces in a row?)")
	}
	tok := p.s[:i]
	p.s = p.s[i:]
	return tok, p.sep(field)
}

// quoted reads a field in double quotes, with backslash escapes.
func (p *parser) quoted(field string) (string, error) {
	if p.s == "" {
		return "", parseErr(field, "missing (a line cut short?)")
	}
	if p.s[0] != '"' {
		return "", parseErr(field, "want a quoted field, got "+quote(p.s))
	}
	escaped := false
	for i := 1; i < len(p.s); i++ {
		switch p.s[i] {
		case '\\':
			escaped = true
			i++ // the escaped byte cannot end the field
		case '"':
			v := p.s[1:i]
			p.s = p.s[i+1:]
			if escaped {
				v = unescape(v)
			}
			return v, p.sep(field)
		}
	}
	return "", parseErr(field, "no closing quote (a line cut short?)")
}

const clfLayout = "dd/Mon/yyyy:hh:mm:ss +hhmm"

// time reads [dd/Mon/yyyy:hh:mm:ss +hhmm] by hand: time.Parse would
// allocate a zone for the offset.
func (p *parser) time() (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, parseErr("time", why)
	}
	if p.s == "" {
		return bad("missing (a line cut short?)")
	}
	if p.s[0] != '[' {
		return bad("want [" + clfLayout + "], got " + quote(p.s))
	}
	end := strings.IndexByte(p.s, ']')
	if end < 0 {
		return bad("no closing ]")
	}
	s := p.s[1:end]
	p.s = p.s[end+1:]
	if len(s) != len(clfLayout) || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' ||
		s[20] != ' ' || (s[21] != '+' && s[21] != '-') {
		return bad("want " + clfLayout + ", got " + quote(s))
	}
	month := monthOf(s[3:6])
	day, ok1 := digits(s[0:2])
	year, ok2 := digits(s[7:11])
	hour, ok3 := digits(s[12:14])
	minute, ok4 := digits(s[15:17])
	sec, ok5 := digits(s[18:20])
	offH, ok6 := digits(s[22:24])
	offM, ok7 := digits(s[24:26])
	switch {
	case month == 0:
		return bad("unknown month " + quote(s[3:6]))
	case !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7):
		return bad("want " + clfLayout + ", got " + quote(s))
	case hour > 23 || minute > 59 || sec > 59:
		return bad("no such time of day in " + quote(s))
	case offH > 23 || offM > 59:
		return bad("no such zone offset in " + quote(s))
	}
	t := time.Date(year, month, day, hour, minute, sec, 0, time.UTC)
	if day == 0 || t.Day() != day { // time.Date turned 31/Apr into 1/May
		return bad("no such day in " + quote(s))
	}
	off := time.Duration(offH)*time.Hour + time.Duration(offM)*time.Minute
	if s[21] == '-' {
		off = -off
	}
	if err := p.sep("time"); err != nil {
		return time.Time{}, err
	}
	return t.Add(-off), nil
}

func monthOf(s string) time.Month {
	switch s {
	case "Jan":
		return time.January
	case "Feb":
		return time.February
	case "Mar":
		return time.March
	case "Apr":
		return time.April
	case "May":
		return time.May
	case "Jun":
		return time.June
	case "Jul":
		return time.July
	case "Aug":
		return time.August
	case "Sep":
		return time.September
	case "Oct":
		return time.October
	case "Nov":
		return time.November
	case "Dec":
		return time.December
	}
	return 0
}

// digits reads a short run of decimal digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func parseStatus(s string) (int, error) {
	n, ok := digits(s)
	if !ok || len(s) != 3 || n < 100 || n > 599 {
		return 0, parseErr("status", "want a number from 100 to 599, got "+quote(s))
	}
	return n, nil
}

func parseSize(s string) (int64, error) {
	if s == "-" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, parseErr("size", "want a number of bytes or -, got "+quote(s))
	}
	return n, nil
}

// splitRequest cuts "METHOD TARGET [PROTOCOL]" into its parts; all three
// are "" for "-" or a request line of another shape.
func splitRequest(s string) (method, path, proto string) {
	method, rest, ok := strings.Cut(s, " ")
	if !ok || method == "" {
		return "", "", ""
	}
	path, proto, _ = strings.Cut(rest, " ")
	if path == "" || strings.IndexByte(proto, ' ') >= 0 {
		return "", "", ""
	}
	return method, path, proto
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// unescape undoes the escapes web servers write in quoted fields: \" \\
// \xhh, and Apache's \n \r \t \v \f \b. Any other backslash is kept.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '"', '\\':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'f':
			b.WriteByte('\f')
		case 'b':
			b.WriteByte('\b')
		case 'x':
			if i+2 < len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
					b.WriteByte(byte(v))
					i += 2
					continue
				}
			}
			b.WriteString(`\x`)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}

// quote quotes a piece of a bad line for an error, cut to a readable length
// (a huge line must not make a huge error).
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
