package logs

import (
	"strings"
	"time"
)

// An Access is one request of a web server's access log.
//
// Its strings are substrings of the parsed line (no copy): an Access keeps
// its line's memory alive, and holding a few fields of many lines holds
// the lines. Quoted fields that held escapes are the exception: they are
// unescaped into one new string per line, shared by those fields.
type Access struct {
	// Host and Port are the virtual host (%v, the server's name) and the
	// port (%p) that ParseAccessVHost reads at the start of the line; ""
	// and 0 from ParseAccess, or when the line gives no port.
	Host string
	Port int

	Client string    // %h: the client's address (IPv4, IPv6, or a host name with HostnameLookups)
	Ident  string    // %l: the identd answer; "" for "-" (nearly always)
	User   string    // %u: the authenticated user; "" for "-"
	Time   time.Time // %t, in the line's own zone offset (a fixed zone; UTC for +0000)

	// Request is the request line %r as logged (unescaped); "" for "-".
	// Method, Path and Protocol are its parts, "METHOD TARGET PROTOCOL":
	// Protocol is "" for HTTP/0.9's "GET /", and Path keeps the spaces of a
	// target that has some ("GET /a b HTTP/1.1"). All three are "" when the
	// request line is "-" or not a request at all (a TLS handshake sent to
	// the HTTP port, say): such a line is still a response the server
	// logged, a 400 usually, so it is kept.
	Request                string
	Method, Path, Protocol string
	Status                 int    // %>s: three digits (nginx writes 009 for HTTP/0.9 and 499 for a client that went away)
	Bytes                  int64  // %b or %O: bytes sent; 0 for "-"
	Referer                string // "" for "-", and in the Common Log Format
	UserAgent              string // "" for "-", and in the Common Log Format
}

// ParseAccess reads a line of a web server's access log in the Common Log
// Format or the Combined Log Format, nginx's default ("combined") and
// Apache httpd's "common" and "combined":
//
//	%h %l %u %t "%r" %>s %b
//	%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
//
//	127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326
//	2001:db8::7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 304 - "https://example.com/" "curl/8.5.0"
//
// Quoted fields may hold backslash escapes: Apache writes \" and \\ (and
// \n, \t, ... for control bytes), nginx \x22 for a quote, both \xhh for
// other bytes; they are unescaped. A "-" stands for a missing request
// line, size, referer or user agent. Fields after the user agent (a format
// that adds "$http_x_forwarded_for" or a request time, say) are ignored, as
// are a trailing carriage return and trailing blanks. Bytes that are not
// UTF-8 are kept as they are.
//
// A line that does not fit returns the zero Access and a *ParseError that
// names the first field that is wrong, its byte offset and why; ParseAccess
// never panics. A line is parsed without allocating, or with one
// allocation when a quoted field holds escapes.
func ParseAccess(line string) (Access, error) {
	var a Access
	if err := parseAccess(&a, line, false); err != nil {
		return Access{}, err
	}
	return a, nil
}

// ParseAccessVHost reads a line of an access log whose lines begin with
// the virtual host, as Apache httpd's "vhost_combined" format does, then
// the Combined or Common Log Format as ParseAccess reads it:
//
//	%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"
//	%v %h %l %u %t "%r" %>s %b
//
//	www.example.com:443 192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0"
//
// The first field goes to Host and, when it ends in ":port", Port (an
// IPv6 host must then be in brackets, "[2001:db8::1]:443").
func ParseAccessVHost(line string) (Access, error) {
	var a Access
	if err := parseAccess(&a, line, true); err != nil {
		return Access{}, err
	}
	return a, nil
}

func accessErr(field string, pos int, reason string) error {
	return &ParseError{Format: "access log", Field: field, Pos: pos, Reason: reason}
}

// The escapes of the quoted fields of a line, if any, are undone at the
// end of parseAccess in one buffer; these say which fields need it.
const (
	escRequest = 1 << iota
	escReferer
	escAgent
)

func parseAccess(a *Access, line string, vhost bool) error {
	// Trim the line's end: a carriage return from a CRLF file, blanks.
	end := len(line)
	for end > 0 && (line[end-1] == ' ' || line[end-1] == '\t' || line[end-1] == '\r' || line[end-1] == '\n') {
		end--
	}
	s := line[:end]
	if s == "" {
		return accessErr("line", 0, "empty")
	}
	i := 0
	var err error
	if vhost {
		var v string
		if v, i, err = accessToken(s, i, "virtual host"); err != nil {
			return err
		}
		a.Host, a.Port = splitHostPort(v)
	}
	if a.Client, i, err = accessToken(s, i, "client"); err != nil {
		return err
	}
	if a.Ident, i, err = accessToken(s, i, "ident"); err != nil {
		return err
	}
	if a.User, i, err = accessToken(s, i, "user"); err != nil {
		return err
	}
	a.Ident, a.User = dash(a.Ident), dash(a.User)
	if a.Time, i, err = clfTime(s, i); err != nil {
		return err
	}
	var esc, e int
	if a.Request, i, e, err = accessQuoted(s, i, "request"); err != nil {
		return err
	}
	if e != 0 {
		esc |= escRequest
	}
	var tok string
	status := i
	if tok, i, err = accessToken(s, i, "status"); err != nil {
		return err
	}
	if a.Status, err = accessStatus(tok, status); err != nil {
		return err
	}
	size := i
	if tok, i, err = accessToken(s, i, "size"); err != nil {
		return err
	}
	if a.Bytes, err = accessSize(tok, size); err != nil {
		return err
	}
	if i < len(s) { // the Combined Log Format goes on
		if a.Referer, i, e, err = accessQuoted(s, i, "referer"); err != nil {
			return err
		}
		if e != 0 {
			esc |= escReferer
		}
		if i >= len(s) {
			return accessErr("user agent", i, "missing after the referer (a line cut short?)")
		}
		if a.UserAgent, _, e, err = accessQuoted(s, i, "user agent"); err != nil {
			return err
		}
		if e != 0 {
			esc |= escAgent
		}
	}
	if esc != 0 {
		a.unescape(esc)
	}
	a.Request, a.Referer, a.UserAgent = dash(a.Request), dash(a.Referer), dash(a.UserAgent)
	a.Method, a.Path, a.Protocol = splitRequest(a.Request)
	return nil
}

// accessToken reads a field from s[i:] up to the next space, and returns
// it with the offset past the space (or len(s) at the line's end).
func accessToken(s string, i int, field string) (string, int, error) {
	if i >= len(s) {
		return "", i, accessErr(field, i, "missing (a line cut short?)")
	}
	j := strings.IndexByte(s[i:], ' ')
	switch {
	case j < 0:
		return s[i:], len(s), nil
	case j == 0:
		return "", i, accessErr(field, i, "empty (two spaces in a row?)")
	}
	return s[i : i+j], i + j + 1, nil
}

// accessQuoted reads a field in double quotes from s[i:], with backslash
// escapes left in; escaped is nonzero when there are some. The field must
// be followed by a space or the line's end.
func accessQuoted(s string, i int, field string) (v string, next, escaped int, err error) {
	if i >= len(s) {
		return "", i, 0, accessErr(field, i, "missing (a line cut short?)")
	}
	if s[i] != '"' {
		return "", i, 0, accessErr(field, i, "want a quoted field, got "+quote(s[i:]))
	}
	start := i + 1
	// Fast path: the first quote closes the field when no backslash comes
	// before it.
	j := strings.IndexByte(s[start:], '"')
	if j < 0 {
		return "", i, 0, accessErr(field, i, "no closing quote (a line cut short?)")
	}
	if strings.IndexByte(s[start:start+j], '\\') >= 0 {
		escaped = 1
		j = -1
		for k := start; k < len(s); k++ {
			if s[k] == '\\' {
				k++ // the escaped byte cannot end the field
			} else if s[k] == '"' {
				j = k - start
				break
			}
		}
		if j < 0 {
			return "", i, 0, accessErr(field, i, "no closing quote (a line cut short?)")
		}
	}
	v = s[start : start+j]
	next = start + j + 1
	switch {
	case next == len(s):
	case s[next] == ' ':
		next++
	default:
		return "", i, 0, accessErr(field, next, "want a space after the closing quote, got "+quote(s[next:]))
	}
	return v, next, escaped, nil
}

const clfLayout = "[dd/Mon/yyyy:hh:mm:ss +hhmm]"

// clfTime reads the time of the Common Log Format from s[i:],
// [10/Oct/2000:13:55:36 -0700], and the space after it.
func clfTime(s string, i int) (time.Time, int, error) {
	if i >= len(s) {
		return time.Time{}, i, accessErr("time", i, "missing (a line cut short?)")
	}
	if len(s)-i < len(clfLayout) || s[i] != '[' || s[i+27] != ']' {
		return time.Time{}, i, accessErr("time", i, "want "+clfLayout+", got "+quote(s[i:min(len(s), i+len(clfLayout))]))
	}
	t := s[i+1 : i+27]
	if t[2] != '/' || t[6] != '/' || t[11] != ':' || t[14] != ':' || t[17] != ':' || t[20] != ' ' || (t[21] != '+' && t[21] != '-') {
		return time.Time{}, i, accessErr("time", i, "want "+clfLayout+", got "+quote(s[i:i+28]))
	}
	month := monthOf(t[3:6])
	day, ok1 := d2(t, 0)
	y1, ok2 := d2(t, 7)
	y2, ok3 := d2(t, 9)
	hour, ok4 := d2(t, 12)
	minute, ok5 := d2(t, 15)
	sec, ok6 := d2(t, 18)
	offH, ok7 := d2(t, 22)
	offM, ok8 := d2(t, 24)
	year := y1*100 + y2
	switch {
	case month == 0:
		return time.Time{}, i, accessErr("time", i+4, "unknown month "+quote(t[3:6]))
	case !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8):
		return time.Time{}, i, accessErr("time", i, "want "+clfLayout+", got "+quote(s[i:i+28]))
	case !validDate(year, month, day, hour, minute, sec):
		return time.Time{}, i, accessErr("time", i, "no such date or time of day: "+quote(s[i:i+28]))
	case offH > 23 || offM > 59:
		return time.Time{}, i, accessErr("time", i+22, "no such zone offset: "+quote(t[21:26]))
	}
	off := offH*3600 + offM*60
	if t[21] == '-' {
		off = -off
	}
	unix := unixSeconds(year, month, day, hour, minute, sec) - int64(off)
	next := i + len(clfLayout)
	switch {
	case next == len(s):
		return time.Time{}, next, accessErr("request", next, "missing (a line cut short?)")
	case s[next] != ' ':
		return time.Time{}, i, accessErr("time", next, "want a space after ], got "+quote(s[next:]))
	}
	return time.Unix(unix, 0).In(zoneOf(off)), next + 1, nil
}

func accessStatus(s string, pos int) (int, error) {
	if len(s) == 3 {
		a, b, c := s[0]-'0', s[1]-'0', s[2]-'0'
		if a <= 9 && b <= 9 && c <= 9 {
			return int(a)*100 + int(b)*10 + int(c), nil
		}
	}
	return 0, accessErr("status", pos, "want a status of three digits, got "+quote(s))
}

func accessSize(s string, pos int) (int64, error) {
	if s == "-" {
		return 0, nil
	}
	if len(s) > 18 {
		return 0, accessErr("size", pos, "want a number of bytes or -, got "+quote(s))
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, accessErr("size", pos, "want a number of bytes or -, got "+quote(s))
		}
		n = n*10 + int64(c)
	}
	return n, nil
}

// splitHostPort cuts %v:%p; a host with colons and no brackets is an IPv6
// address without a port.
func splitHostPort(v string) (string, int) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 || i == len(v)-1 {
		return v, 0
	}
	port, ok := digits(v[i+1:])
	if !ok || port > 65535 {
		return v, 0
	}
	host := v[:i]
	if strings.IndexByte(host, ':') >= 0 {
		if len(host) < 2 || host[0] != '[' || host[len(host)-1] != ']' {
			return v, 0
		}
		host = host[1 : len(host)-1]
	}
	return host, port
}

// splitRequest cuts "METHOD TARGET [PROTOCOL]" into its parts; all are ""
// for a request line of another shape.
func splitRequest(r string) (method, path, proto string) {
	sp := strings.IndexByte(r, ' ')
	if sp <= 0 || !isToken(r[:sp]) {
		return "", "", ""
	}
	method, path = r[:sp], r[sp+1:]
	if last := strings.LastIndexByte(path, ' '); last >= 0 && strings.HasPrefix(path[last+1:], "HTTP/") {
		path, proto = path[:last], path[last+1:]
	}
	if path == "" || path[0] == ' ' {
		return "", "", ""
	}
	return method, path, proto
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), as a
// method is.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// unescape undoes the escapes of the fields esc names, into one new
// string they share.
func (a *Access) unescape(esc int) {
	n := 0
	if esc&escRequest != 0 {
		n += len(a.Request)
	}
	if esc&escReferer != 0 {
		n += len(a.Referer)
	}
	if esc&escAgent != 0 {
		n += len(a.UserAgent)
	}
	var b strings.Builder
	b.Grow(n) // unescaping never lengthens
	var ends [3]int
	if esc&escRequest != 0 {
		unescapeTo(&b, a.Request)
	}
	ends[0] = b.Len()
	if esc&escReferer != 0 {
		unescapeTo(&b, a.Referer)
	}
	ends[1] = b.Len()
	if esc&escAgent != 0 {
		unescapeTo(&b, a.UserAgent)
	}
	ends[2] = b.Len()
	all := b.String()
	if esc&escRequest != 0 {
		a.Request = all[:ends[0]]
	}
	if esc&escReferer != 0 {
		a.Referer = all[ends[0]:ends[1]]
	}
	if esc&escAgent != 0 {
		a.UserAgent = all[ends[1]:ends[2]]
	}
}

// unescapeTo writes s with the escapes web servers write in quoted fields
// undone: \" \\ \xhh, and Apache's \n \r \t \v \f \b. Any other backslash
// is kept as it is.
func unescapeTo(b *strings.Builder, s string) {
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
				if h, ok := unhex(s[i+1]); ok {
					if l, ok := unhex(s[i+2]); ok {
						b.WriteByte(h<<4 | l)
						i += 2
						continue
					}
				}
			}
			b.WriteString(`\x`)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
