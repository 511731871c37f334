package logs

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the Location test needs America/New_York on any machine

	"github.com/braidstream/braid/internal/testseed"
)

func rfc3339Time(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func utc(y int, m time.Month, d, hh, mi, ss int) time.Time {
	return time.Date(y, m, d, hh, mi, ss, 0, time.UTC)
}

// syslogEqual compares times as instants and zone offsets, the rest with ==.
func syslogEqual(a, b Syslog) bool {
	_, oa := a.Time.Zone()
	_, ob := b.Time.Zone()
	if !a.Time.Equal(b.Time) || oa != ob {
		return false
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b
}

// The examples of RFC 5424 §6.5 and RFC 3164 §5.4, and lines as rsyslog,
// sysklogd and journalctl write them. RFC 3164 lines are read with the
// year 2015.
var syslogLines = []struct {
	name string
	line string
	want Syslog
}{
	{"RFC 5424 example 1", "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8",
		Syslog{Format: RFC5424, HasPriority: true, Facility: FacilityAuth, Severity: SeverityCritical, Time: rfc3339Time("2003-10-11T22:14:15.003Z"),
			Host: "mymachine.example.com", App: "su", MsgID: "ID47", Message: "'su root' failed for lonvick on /dev/pts/8"}},
	{"RFC 5424 example 2", "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
		Syslog{Format: RFC5424, HasPriority: true, Facility: FacilityLocal4, Severity: SeverityNotice, Time: rfc3339Time("2003-08-24T05:14:15.000003-07:00"),
			Host: "192.0.2.1", App: "myproc", PID: "8710", Message: "%% It's time to make the do-nuts."}},
	{"RFC 5424 example 3", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`,
		Syslog{Format: RFC5424, HasPriority: true, Facility: FacilityLocal4, Severity: SeverityNotice, Time: rfc3339Time("2003-10-11T22:14:15.003Z"),
			Host: "mymachine.example.com", App: "evntslog", MsgID: "ID47",
			StructuredData: `[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]`, Message: "An application event log entry..."}},
	{"RFC 5424 example 4, no message", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
		Syslog{Format: RFC5424, HasPriority: true, Facility: FacilityLocal4, Severity: SeverityNotice, Time: rfc3339Time("2003-10-11T22:14:15.003Z"),
			Host: "mymachine.example.com", App: "evntslog", MsgID: "ID47",
			StructuredData: `[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`}},
	{"RFC 5424 all nil", `<0>1 - - - - - -`,
		Syslog{Format: RFC5424, HasPriority: true, Facility: FacilityKern, Severity: SeverityEmergency}},
	{"RFC 5424 escapes in SD, nanoseconds, +05:45", `<14>1 2024-02-29T23:59:59.123456789+05:45 h a 1 m [x@1 v="a\"b\]c\\d\e"] msg`,
		Syslog{Format: RFC5424, HasPriority: true, Facility: FacilityUser, Severity: SeverityInfo, Time: rfc3339Time("2024-02-29T23:59:59.123456789+05:45"),
			Host: "h", App: "a", PID: "1", MsgID: "m", StructuredData: `[x@1 v="a\"b\]c\\d\e"]`, Message: "msg"}},
	{"RFC 3164 example", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
		Syslog{Format: RFC3164, HasPriority: true, Facility: FacilityAuth, Severity: SeverityCritical, Time: utc(2015, 10, 11, 22, 14, 15),
			Host: "mymachine", App: "su", Message: "'su root' failed for lonvick on /dev/pts/8"}},
	{"RFC 3164 example without tag", "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
		Syslog{Format: RFC3164, HasPriority: true, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 2, 5, 17, 32, 18),
			Host: "10.0.0.99", Message: "Use the BFG!"}},
	{"auth.log sshd, CRLF", "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186\r\n",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 12, 10, 6, 55, 46),
			Host: "LabSZ", App: "sshd", PID: "24200", Message: "Invalid user webmaster from 173.234.31.186"}},
	{"sysklogd, a tag with a blank", "Jun 19 04:09:11 combo syslogd 1.4.1: restart.",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 6, 19, 4, 9, 11),
			Host: "combo", App: "syslogd 1.4.1", Message: "restart."}},
	{"two blanks before the tag", "Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 7, 7, 8, 6, 15),
			Host: "combo", App: "-- root", PID: "2421", Message: "ROOT LOGIN ON tty2"}},
	{"kernel, indented message, zero-padded day", "Jul 07 14:41:57 combo kernel:  BIOS-e820: 0000000000000000 - 00000000000a0000 (usable)",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 7, 7, 14, 41, 57),
			Host: "combo", App: "kernel", Message: " BIOS-e820: 0000000000000000 - 00000000000a0000 (usable)"}},
	{"no host (the local socket)", "<86>Mar  3 01:02:03 sudo[77]: pam_unix(sudo:session): session opened",
		Syslog{Format: RFC3164, HasPriority: true, Facility: FacilityAuthPriv, Severity: SeverityInfo, Time: utc(2015, 3, 3, 1, 2, 3),
			App: "sudo", PID: "77", Message: "pam_unix(sudo:session): session opened"}},
	{"fraction and year, Cisco style", "<189>Mar  1 2024 18:46:11.123 router1 %SYS-5-CONFIG_I: Configured from console",
		Syslog{Format: RFC3164, HasPriority: true, Facility: FacilityLocal7, Severity: SeverityNotice, Time: time.Date(2024, 3, 1, 18, 46, 11, 123e6, time.UTC),
			Host: "router1", App: "%SYS-5-CONFIG_I", Message: "Configured from console"}},
	{"rsyslog RFC 3339 in a BSD line", "2024-05-06T07:08:09.123456+02:00 web1 nginx[1234]: started",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: rfc3339Time("2024-05-06T07:08:09.123456+02:00"),
			Host: "web1", App: "nginx", PID: "1234", Message: "started"}},
	{"journalctl -o short-iso", "2024-05-06T07:08:09+0200 web1 systemd[1]: Started Session 5 of User root.",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: rfc3339Time("2024-05-06T07:08:09+02:00"),
			Host: "web1", App: "systemd", PID: "1", Message: "Started Session 5 of User root."}},
	{"tag[pid] without colon", "May  6 07:08:09 web1 cron[99] (root) CMD (run-parts)",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 5, 6, 7, 8, 9),
			Host: "web1", App: "cron", PID: "99", Message: "(root) CMD (run-parts)"}},
	{"empty message", "May  6 07:08:09 web1 app:",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 5, 6, 7, 8, 9), Host: "web1", App: "app"}},
	{"host only", "May  6 07:08:09 web1",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 5, 6, 7, 8, 9), Host: "web1"}},
	{"invalid UTF-8 in the message is kept", "May  6 07:08:09 web1 app: \xff\xfe",
		Syslog{Format: RFC3164, Facility: FacilityUser, Severity: SeverityNotice, Time: utc(2015, 5, 6, 7, 8, 9), Host: "web1", App: "app", Message: "\xff\xfe"}},
}

func TestParseSyslog(t *testing.T) {
	for _, c := range syslogLines {
		p := SyslogParser{Year: 2015}
		got, err := p.Parse(c.line)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !syslogEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestStructuredData(t *testing.T) {
	m, err := ParseSyslog(`<14>1 - - - - - [origin ip="192.0.2.1" ip="192.0.2.2" software="x"][x@1 v="a\"b\]c\\d\e" w=""]`)
	if err != nil {
		t.Fatal(err)
	}
	type param struct{ id, name, value string }
	var got []param
	for e := range m.StructuredData.Elements() {
		for n, v := range e.Params() {
			got = append(got, param{e.ID, n, v})
		}
	}
	want := []param{{"origin", "ip", "192.0.2.1"}, {"origin", "ip", "192.0.2.2"}, {"origin", "software", "x"},
		{"x@1", "v", `a"b]c\d\e`}, {"x@1", "w", ""}}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if v, ok := m.StructuredData.Lookup("origin", "ip"); !ok || v != "192.0.2.1" {
		t.Errorf("Lookup(origin, ip) = %q, %v", v, ok)
	}
	if _, ok := m.StructuredData.Lookup("origin", "enterpriseId"); ok {
		t.Errorf("Lookup of a missing parameter found one")
	}
	if _, ok := m.StructuredData.Lookup("meta", "ip"); ok {
		t.Errorf("Lookup of a missing element found one")
	}
	// Malformed data (not from ParseSyslog) ends the iteration, no panic.
	for _, bad := range []StructuredData{"[", "[a", `[a b="`, `[a b="c`, `[a b=c]`, "x", `[a b="c"`, `[a  b="c"]`} {
		for e := range bad.Elements() {
			for range e.Params() {
			}
		}
	}
}

func TestParseSyslogErrors(t *testing.T) {
	for _, c := range []struct {
		name, line, field string
		pos               int
	}{
		{"empty", "", "line", 0},
		{"priority 192", "<192>Oct 11 22:14:15 h t: m", "priority", 0},
		{"priority letters", "<ab>Oct 11 22:14:15 h t: m", "priority", 0},
		{"priority leading zero", "<013>Oct 11 22:14:15 h t: m", "priority", 0},
		{"priority unclosed", "<13", "priority", 0},
		{"no timestamp", "host app: message", "time", 0},
		{"bad month", "<13>Okt 11 22:14:15 h t: m", "time", 4},
		{"hour 25", "Oct 11 25:14:15 h t: m", "time", 0},
		{"day 32", "Oct 32 22:14:15 h t: m", "time", 0},
		{"31 November", "Nov 31 22:14:15 h t: m", "time", 0},
		{"cut in the time", "Oct 11 22:1", "time", 0},
		{"letters in the time", "Oct 11 22:1x:15 h t: m", "time", 0},
		{"bad fraction", "Oct 11 22:14:15.1234567890 h t: m", "time", 15},
		{"RFC 3339 month 13", "2024-13-01T00:00:00Z h t: m", "time", 0},
		{"RFC 3339 without zone", "2024-12-01T00:00:00 h t: m", "time", 0},
		{"5424 version 2", "<13>2 2003-10-11T22:14:15Z h a p m - x", "version", 4},
		{"5424 no zone", "<13>1 2003-10-11T22:14:15 h a p m - x", "time", 6},
		{"5424 lower-case t", "<13>1 2003-10-11t22:14:15Z h a p m - x", "time", 6},
		{"5424 offset 24:00", "<13>1 2003-10-11T22:14:15+24:00 h a p m - x", "time", 6},
		{"5424 cut after time", "<13>1 2003-10-11T22:14:15Z", "time", 26},
		{"5424 host not ASCII", "<13>1 - hé a p m - x", "host", 9},
		{"5424 app too long", "<13>1 - h " + strings.Repeat("a", 49) + " p m - x", "app", 10},
		{"5424 msgid too long", "<13>1 - h a p " + strings.Repeat("m", 33) + " - x", "msgid", 14},
		{"5424 cut before msgid", "<13>1 - h a p", "procid", 13},
		{"5424 no SD", "<13>1 - h a p m", "msgid", 15},
		{"5424 SD not [", "<13>1 - h a p m x", "structured data", 16},
		{"5424 SD unclosed", `<13>1 - h a p m [id a="b"`, "structured data", 25},
		{"5424 SD value unclosed", `<13>1 - h a p m [id a="b\"]`, "structured data", 27},
		{"5424 SD no =", `<13>1 - h a p m [id a]`, "structured data", 21},
		{"5424 SD empty id", `<13>1 - h a p m [ a="b"]`, "structured data", 17},
		{"5424 SD id too long", `<13>1 - h a p m [` + strings.Repeat("i", 33) + `]`, "structured data", 17},
		{"5424 SD then no space", `<13>1 - h a p m [id]x`, "structured data", 20},
	} {
		p := SyslogParser{Year: 2015}
		_, err := p.Parse(c.line)
		pe, ok := errors.AsType[*ParseError](err)
		if !ok {
			t.Errorf("%s: got %v, want a *ParseError", c.name, err)
			continue
		}
		if pe.Field != c.field || pe.Pos != c.pos || pe.Format != "syslog" {
			t.Errorf("%s: got %q (field %q at %d), want field %q at %d", c.name, err, pe.Field, pe.Pos, c.field, c.pos)
		}
	}
	// 29 February: fine in a leap year, refused in another.
	if _, err := (&SyslogParser{Year: 2024}).Parse("Feb 29 00:00:00 h t: m"); err != nil {
		t.Errorf("29 Feb 2024: %v", err)
	}
	if _, err := (&SyslogParser{Year: 2025}).Parse("Feb 29 00:00:00 h t: m"); err == nil || !strings.Contains(err.Error(), "no such date in 2025") {
		t.Errorf("29 Feb 2025: %v, want no such date in 2025", err)
	}
	// 30 February is in no year: the error names none, whatever year the
	// parser would have chosen.
	for _, p := range []*SyslogParser{nil, {}, {Year: 2024}} {
		_, err := p.Parse("Feb 30 22:14:15 h t: m")
		if err == nil || !strings.Contains(err.Error(), `no such date or time of day: "Feb 30 22:14:15"`) {
			t.Errorf("30 Feb (parser %+v): %v", p, err)
		}
	}
}

// Every cut of an RFC 5424 line before its structured data ends is an
// error, and none panics.
func TestParseSyslogTruncated(t *testing.T) {
	line := `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event`
	sdEnd := strings.Index(line, "] An") + 1
	for n := range sdEnd {
		if _, err := ParseSyslog(line[:n]); err == nil {
			t.Errorf("cut at %d: %q parsed", n, line[:n])
		}
	}
	bsd := "<34>Oct 11 22:14:15 mymachine su: 'su root' failed"
	for n := range strings.Index(bsd, " mymachine") {
		if _, err := ParseSyslog(bsd[:n]); err == nil {
			t.Errorf("cut at %d: %q parsed", n, bsd[:n])
		}
	}
}

// SyslogParser's years: the given year, the December-to-January rollover,
// a late December line among January ones, and a reference time.
func TestSyslogParserYears(t *testing.T) {
	years := func(p *SyslogParser, lines ...string) []string {
		var got []string
		for _, l := range lines {
			m, err := p.Parse(l + " host app: x")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m.Time.Format("2006-01-02T15:04:05"))
		}
		return got
	}
	got := years(&SyslogParser{Year: 2015},
		"Dec 30 10:00:00", "Dec 31 23:59:59", "Jan  1 00:00:01", "Dec 31 23:59:58", "Jan  1 00:00:02", "Feb  1 00:00:00", "Jul  1 00:00:00", "Dec  1 00:00:00", "Jan  1 00:00:00")
	want := []string{"2015-12-30T10:00:00", "2015-12-31T23:59:59", "2016-01-01T00:00:01", "2015-12-31T23:59:58", "2016-01-01T00:00:02",
		"2016-02-01T00:00:00", "2016-07-01T00:00:00", "2016-12-01T00:00:00", "2017-01-01T00:00:00"}
	if !slices.Equal(got, want) {
		t.Errorf("Year 2015:\n got %q\nwant %q", got, want)
	}
	// A file last written on 5 January 2016 that starts in December.
	ref := time.Date(2016, 1, 5, 12, 0, 0, 0, time.UTC)
	got = years(&SyslogParser{Reference: ref}, "Dec 28 08:00:00", "Jan  5 12:00:00")
	want = []string{"2015-12-28T08:00:00", "2016-01-05T12:00:00"}
	if !slices.Equal(got, want) {
		t.Errorf("Reference %v:\n got %q\nwant %q", ref, got, want)
	}
	// A line a few hours after the reference (clocks disagree) is this
	// year's; one two days after is last year's.
	got = years(&SyslogParser{Reference: ref}, "Jan  5 20:00:00")
	if want := []string{"2016-01-05T20:00:00"}; !slices.Equal(got, want) {
		t.Errorf("a line 8 hours after the reference: got %q, want %q", got, want)
	}
	got = years(&SyslogParser{Reference: ref}, "Jan  7 12:00:00")
	if want := []string{"2015-01-07T12:00:00"}; !slices.Equal(got, want) {
		t.Errorf("a line 2 days after the reference: got %q, want %q", got, want)
	}
	// 29 February with a reference in a year that is not leap: the last
	// leap year.
	got = years(&SyslogParser{Reference: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)}, "Feb 29 00:00:00")
	if want := []string{"2024-02-29T00:00:00"}; !slices.Equal(got, want) {
		t.Errorf("29 February: got %q, want %q", got, want)
	}
	// ParseSyslog places each line before the current time.
	now := time.Now().UTC()
	for _, c := range []struct {
		at   time.Time
		year int
	}{{now.Add(-time.Hour), now.Add(-time.Hour).Year()}, {now.AddDate(0, 0, 2), now.AddDate(0, 0, 2).Year() - 1}} {
		m, err := ParseSyslog(c.at.Format(time.Stamp) + " h a: m")
		if err != nil {
			t.Fatal(err)
		}
		if m.Time.Year() != c.year {
			t.Errorf("ParseSyslog at %v (now %v): year %d, want %d", c.at, now, m.Time.Year(), c.year)
		}
	}
	// Location: BSD times are read in it.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	p := SyslogParser{Year: 2024, Location: ny}
	m, err := p.Parse("Jul  4 12:00:00 h a: m")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 7, 4, 16, 0, 0, 0, time.UTC); !m.Time.Equal(want) || m.Time.Location() != ny {
		t.Errorf("New York: got %v, want %v in New York", m.Time, want)
	}
}

func TestParseSyslogAllocs(t *testing.T) {
	p := SyslogParser{Year: 2015}
	for _, c := range syslogLines {
		if n := testing.AllocsPerRun(50, func() { p.Parse(c.line) }); n != 0 {
			t.Errorf("%s: %v allocations, want 0", c.name, n)
		}
	}
	if n := testing.AllocsPerRun(50, func() { ParseSyslog(syslogLines[8].line) }); n != 0 {
		t.Errorf("ParseSyslog: %v allocations, want 0", n)
	}
}

func TestParseSyslogHugeLine(t *testing.T) {
	msg := strings.Repeat("x", 10<<20)
	m, err := ParseSyslog("<13>1 - h a p m - " + msg)
	if err != nil || len(m.Message) != len(msg) {
		t.Errorf("10 MB message: %d bytes, %v", len(m.Message), err)
	}
	_, err = ParseSyslog(`<13>1 - h a p m [id a="` + strings.Repeat(`\"`, 5<<20))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("10 MB of structured data: error of %d bytes: %.200v", len(fmt.Sprint(err)), err)
	}
	_, err = ParseSyslog(strings.Repeat("\xff", 10<<20))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("10 MB of \\xff: error of %d bytes: %.200v", len(fmt.Sprint(err)), err)
	}
}

// Random messages, written out in both formats by a plain formatter and
// read back, give what was written.
func TestParseSyslogRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	word := func(alphabet string, n int) string {
		for {
			b := make([]byte, 1+rng.IntN(n))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			if string(b) != "-" { // the NILVALUE
				return string(b)
			}
		}
	}
	const name = "abcxyzABC0129-._@/"
	const value = `ab "\]=xé[`
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`)
	for i := range 5000 {
		pri := rng.IntN(192)
		ts := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("", (rng.IntN(113)-56)*900))
		want := Syslog{Format: RFC5424, HasPriority: true, Facility: Facility(pri / 8), Severity: Severity(pri % 8), Time: ts,
			Host: word(name, 20), App: word(name, 10), PID: word("0123456789", 6), MsgID: word(name, 8), Message: word(value+" ", 30)}
		params := map[string]map[string]string{}
		var sd strings.Builder
		for range rng.IntN(3) {
			id := word(name, 10)
			if params[id] != nil {
				continue
			}
			params[id] = map[string]string{}
			sd.WriteString("[" + id)
			for range rng.IntN(3) {
				n, v := word(name, 5), word(value, 8)
				if _, dup := params[id][n]; dup {
					continue
				}
				params[id][n] = v
				sd.WriteString(" " + n + `="` + esc.Replace(v) + `"`)
			}
			sd.WriteString("]")
		}
		want.StructuredData = StructuredData(sd.String())
		sdText := sd.String()
		if sdText == "" {
			sdText = "-"
		}
		line := fmt.Sprintf("<%d>1 %s %s %s %s %s %s %s", pri, ts.Format(time.RFC3339Nano), want.Host, want.App, want.PID, want.MsgID, sdText, want.Message)
		got, err := ParseSyslog(line)
		if err != nil {
			t.Fatalf("line %d: %q: %v", i, line, err)
		}
		if !syslogEqual(got, want) {
			t.Fatalf("line %d: %q:\n got %+v\nwant %+v", i, line, got, want)
		}
		gotParams := map[string]map[string]string{}
		for e := range got.StructuredData.Elements() {
			gotParams[e.ID] = maps.Collect(e.Params())
		}
		if !maps.EqualFunc(gotParams, params, maps.Equal) {
			t.Fatalf("line %d: %q: parameters\n got %q\nwant %q", i, line, gotParams, params)
		}

		// The same as a BSD line, in 2015, the seconds only.
		bsdTS := time.Date(2015, ts.Month(), min(ts.Day(), 28), ts.Hour(), ts.Minute(), ts.Second(), 0, time.UTC)
		host, app := word(name, 20), word("abcz-_./()", 10)
		bsd := fmt.Sprintf("<%d>%s %s %s[%s]: %s", pri, bsdTS.Format(time.Stamp), host, app, want.PID, want.Message)
		wantBSD := Syslog{Format: RFC3164, HasPriority: true, Facility: want.Facility, Severity: want.Severity, Time: bsdTS,
			Host: host, App: app, PID: want.PID, Message: want.Message}
		got, err = (&SyslogParser{Year: 2015}).Parse(bsd)
		if err != nil {
			t.Fatalf("line %d: %q: %v", i, bsd, err)
		}
		if !syslogEqual(got, wantBSD) {
			t.Fatalf("line %d: %q:\n got %+v\nwant %+v", i, bsd, got, wantBSD)
		}
	}
}
