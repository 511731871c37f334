package logs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets, one per parser: none may panic, every error is a
// *ParseError whose offset lies in the line, and what parses keeps the
// invariants its doc comment states. Run one for a while with
//
//	go test -run - -fuzz FuzzParseSyslog -fuzztime 5m ./connectors/logs/
//
// The seeds are the lines of the unit tests; go test without -fuzz runs
// them, and the failures the fuzzer found, in testdata/fuzz.

func checkErr(t *testing.T, line string, err error) {
	t.Helper()
	pe, ok := errors.AsType[*ParseError](err)
	if !ok {
		t.Fatalf("%q: error %v (%T) is not a *ParseError", line, err, err)
	}
	if pe.Pos < -1 || pe.Pos > len(line) {
		t.Fatalf("%q: error %v at byte %d, outside the line", line, err, pe.Pos)
	}
	if len(err.Error()) > 600 {
		t.Fatalf("%q: an error of %d bytes", line, len(err.Error()))
	}
}

// within reports whether s is a substring of line (by contents: an
// alias would be one too).
func within(line, s string) bool { return strings.Contains(line, s) }

func FuzzParseAccess(f *testing.F) {
	for _, c := range accessLines {
		f.Add(c.line, c.vhost)
	}
	f.Fuzz(func(t *testing.T, line string, vhost bool) {
		parse := ParseAccess
		if vhost {
			parse = ParseAccessVHost
		}
		a, err := parse(line)
		if err != nil {
			checkErr(t, line, err)
			if a != (Access{}) {
				t.Fatalf("%q: an error and a non-zero Access %+v", line, a)
			}
			return
		}
		if a.Status < 0 || a.Status > 999 || a.Bytes < 0 || a.Port < 0 || a.Port > 65535 {
			t.Fatalf("%q: %+v out of range", line, a)
		}
		for _, s := range []string{a.Host, a.Client, a.Ident, a.User} {
			if !within(line, s) {
				t.Fatalf("%q: field %q is not of the line", line, s)
			}
		}
		if !strings.Contains(line, `\`) {
			for _, s := range []string{a.Request, a.Method, a.Path, a.Protocol, a.Referer, a.UserAgent} {
				if !within(line, s) {
					t.Fatalf("%q: field %q is not of the line", line, s)
				}
			}
		}
		if a.Method != "" && a.Request != a.Method+" "+a.Path && a.Request != a.Method+" "+a.Path+" "+a.Protocol {
			t.Fatalf("%q: request %q is not method %q, path %q, protocol %q", line, a.Request, a.Method, a.Path, a.Protocol)
		}
	})
}

func FuzzParseSyslog(f *testing.F) {
	for _, c := range syslogLines {
		f.Add(c.line)
	}
	f.Add(`<14>1 - - - - - [origin ip="192.0.2.1" ip="192.0.2.2"][x@1 v="a\"b\]c\\d\e" w=""]`)
	f.Fuzz(func(t *testing.T, line string) {
		p := SyslogParser{Year: 2015}
		m, err := p.Parse(line)
		if err != nil {
			checkErr(t, line, err)
			return
		}
		trimmed := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if !strings.HasSuffix(trimmed, m.Message) {
			t.Fatalf("%q: message %q does not end the line", line, m.Message)
		}
		for _, s := range []string{m.Host, m.App, m.PID, m.MsgID, string(m.StructuredData)} {
			if !within(line, s) {
				t.Fatalf("%q: field %q is not of the line", line, s)
			}
		}
		if m.Facility > FacilityLocal7 || m.Severity > SeverityDebug || (m.Format != RFC3164 && m.Format != RFC5424) {
			t.Fatalf("%q: %+v out of range", line, m)
		}
		// The structured data was checked: iterating it sees every
		// element.
		n := 0
		for e := range m.StructuredData.Elements() {
			n++
			for range e.Params() {
			}
		}
		if m.StructuredData != "" && n == 0 {
			t.Fatalf("%q: structured data %q with no element", line, m.StructuredData)
		}
	})
}

func FuzzParseSSHD(f *testing.F) {
	for _, c := range sshdMessages {
		f.Add(c.msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		e, err := ParseSSHD(msg)
		if err != nil {
			checkErr(t, msg, err)
			return
		}
		if e.Kind == SSHDOther && e != (SSHD{}) {
			t.Fatalf("%q: Other with fields %+v", msg, e)
		}
		if e.Kind != SSHDOther && e.Count < 0 || e.Port < 0 || e.Port > 65535 {
			t.Fatalf("%q: %+v out of range", msg, e)
		}
		if e.Addr.IsValid() && !within(msg, e.Addr.String()) && !within(msg, e.Host) {
			t.Fatalf("%q: address %v is not of the message", msg, e.Addr)
		}
		for _, s := range []string{e.User, e.Host, e.Method, e.Reason} {
			if !within(msg, s) {
				t.Fatalf("%q: field %q is not of the message", msg, s)
			}
		}
	})
}

func FuzzParseNetfilter(f *testing.F) {
	for _, c := range netfilterLines {
		f.Add(c.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p := NetfilterParser{Syslog: SyslogParser{Year: 2024}}
		pk, err := p.Parse(line)
		if err != nil {
			checkErr(t, line, err)
			return
		}
		if !pk.Src.IsValid() || !pk.Dst.IsValid() || pk.Proto == "" {
			t.Fatalf("%q: parsed without SRC, DST or PROTO: %+v", line, pk)
		}
		for _, s := range []string{pk.Prefix, pk.In, pk.Out, pk.MAC, pk.Proto, pk.Host} {
			if !within(line, s) {
				t.Fatalf("%q: field %q is not of the line", line, s)
			}
		}
	})
}

func FuzzParseK8sAudit(f *testing.F) {
	for _, l := range auditLines(f) {
		f.Add(l)
	}
	f.Add(`{"auditID":"x","user":{"groups":["a","b"]},"sourceIPs":["1"],"impersonatedUser":{"groups":[]}}`)
	f.Fuzz(func(t *testing.T, line string) {
		a, err := ParseK8sAudit(line)
		if err != nil {
			checkErr(t, line, err)
			return
		}
		if a.AuditID == "" {
			t.Fatalf("%q: parsed without auditID", line)
		}
		// Where encoding/json reads the line too, both agree. Not for
		// bytes that are not UTF-8 nor \u escapes (encoding/json makes
		// U+FFFD of bad ones, fastjson keeps them), nor keys given twice
		// (which of them wins differs), nor keys that differ from ours by
		// case only (encoding/json takes "oBjectRef" for "objectRef";
		// Kubernetes does not).
		if !utf8.ValidString(line) || strings.Contains(line, `\u`) || strings.Contains(line, `\U`) {
			return
		}
		var j auditJSON
		if json.Unmarshal([]byte(line), &j) != nil {
			return // fastjson is laxer about numbers it is not asked for
		}
		if want := j.audit(); !auditEqual(a, want) && !ambiguousKeys(line) {
			t.Fatalf("%q:\n got %+v\nwant %+v", line, a, want)
		}
	})
}

// auditKeys are the keys ParseK8sAudit reads, at any depth.
var auditKeys = strings.Fields(`level auditID stage requestURI verb user impersonatedUser sourceIPs userAgent objectRef
	responseStatus requestReceivedTimestamp stageTimestamp annotations username uid groups resource subresource namespace
	name apiGroup apiVersion resourceVersion code status reason message authorization.k8s.io/decision authorization.k8s.io/reason kind`)

// ambiguousKeys reports whether an object of the line has a key twice, or
// a key that is one of auditKeys but for case.
func ambiguousKeys(line string) bool {
	d := json.NewDecoder(strings.NewReader(line))
	var stack []map[string]bool
	var expectKey []bool
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, map[string]bool{})
				expectKey = append(expectKey, true)
				continue
			case '[':
				stack = append(stack, nil)
				expectKey = append(expectKey, false)
				continue
			default:
				stack, expectKey = stack[:len(stack)-1], expectKey[:len(expectKey)-1]
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1] != nil && expectKey[n-1] {
				if stack[n-1][v] {
					return true
				}
				for _, k := range auditKeys {
					if k != v && strings.EqualFold(k, v) {
						return true
					}
				}
				stack[n-1][v] = true
				expectKey[n-1] = false
				continue
			}
		}
		if n := len(stack); n > 0 && stack[n-1] != nil {
			expectKey[n-1] = true
		}
	}
}

func FuzzJSONAndCSV(f *testing.F) {
	f.Add(`{"level":"warn","msg":"x","user":{"id":7}}`)
	f.Add(`2024-03-01T12:00:00Z,"web,1",1024,0.5,true,1.5s,2001:db8::1,8080,x`)
	f.Add(`a,"b""c",`)
	parseJSON := JSON[appEvent]()
	parseCSV := CSV[csvRow](CSVOptions{Columns: []string{"timestamp", "host", "bytes_sent", "ratio", "ok", "latency", "client", "port"}})
	f.Fuzz(func(t *testing.T, line string) {
		if _, err := parseJSON(line); err != nil {
			checkErr(t, line, err)
		}
		if _, err := parseCSV(line); err != nil && !errors.Is(err, ErrCSVHeader) {
			checkErr(t, line, err)
		}
	})
}
