package logs

import (
	"iter"
	"strconv"
	"strings"
	"time"
)

// A Syslog is one syslog message: a line of a file that a syslog daemon
// or journald writes, or a message a syslog receiver got.
//
// Its strings are substrings of the parsed line (no copy), so a Syslog
// keeps its line's memory alive; Message can be handed on to a parser of
// the program's own messages, as ParseSSHD.
type Syslog struct {
	Format SyslogFormat

	// HasPriority says whether the line began with <PRI>. When it did not
	// (files written by syslog daemons rarely keep it), Facility and
	// Severity are user and notice, the values RFC 3164 §4.3.3 tells a
	// relay to assume.
	HasPriority bool
	Facility    Facility
	Severity    Severity

	// Time is the message's timestamp. An RFC 5424 timestamp or an RFC 3339
	// one in an RFC 3164 line carries its zone offset; a BSD timestamp
	// ("Oct 11 22:14:15") carries no year and no zone: see SyslogParser for
	// how the year is chosen, and its Location. Zero for RFC 5424's "-".
	Time time.Time

	Host  string // HOSTNAME; "" for "-", or when an RFC 3164 line has no host (a message from the local socket)
	App   string // RFC 3164's TAG without the [pid] ("sshd", "sshd(pam_unix)", "kernel"); RFC 5424's APP-NAME, "" for "-"
	PID   string // RFC 3164's [pid]; RFC 5424's PROCID ("" for "-"), which need not be a number
	MsgID string // RFC 5424's MSGID; "" for "-" and in RFC 3164

	// StructuredData is RFC 5424's STRUCTURED-DATA as the line holds it,
	// checked well formed; "" for "-" and in RFC 3164. Its methods read
	// its elements and parameters.
	StructuredData StructuredData

	// Message is the text after the header: after "tag[pid]: " (with the
	// one space that follows the colon) in RFC 3164, after the structured
	// data and its space in RFC 5424 (without a leading UTF-8 BOM). The
	// line's end of line (\n, \r\n) is not part of it; other trailing
	// blanks are. Its bytes are not checked to be UTF-8.
	Message string
}

// A SyslogFormat is the syslog protocol a line was read as.
type SyslogFormat uint8

const (
	// RFC3164 is the BSD format, "<PRI>Mmm dd hh:mm:ss host tag[pid]: msg",
	// also with an RFC 3339 timestamp, as rsyslog's RSYSLOG_FileFormat and
	// journalctl -o short-iso write it.
	RFC3164 SyslogFormat = 1 + iota
	// RFC5424 is "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG".
	RFC5424
)

// String is "RFC 3164" or "RFC 5424".
func (f SyslogFormat) String() string {
	switch f {
	case RFC3164:
		return "RFC 3164"
	case RFC5424:
		return "RFC 5424"
	}
	return "SyslogFormat(" + strconv.Itoa(int(f)) + ")"
}

// A Facility is the part of a system a message comes from (RFC 5424
// §6.2.1): the priority divided by 8.
type Facility uint8

// The facilities, numbered as RFC 5424 §6.2.1 and Linux's <syslog.h>.
const (
	FacilityKern Facility = iota
	FacilityUser
	FacilityMail
	FacilityDaemon
	FacilityAuth
	FacilitySyslog
	FacilityLPR
	FacilityNews
	FacilityUUCP
	FacilityCron
	FacilityAuthPriv
	FacilityFTP
	FacilityNTP
	FacilitySecurity // log audit
	FacilityConsole  // log alert
	FacilitySolarisCron
	FacilityLocal0
	FacilityLocal1
	FacilityLocal2
	FacilityLocal3
	FacilityLocal4
	FacilityLocal5
	FacilityLocal6
	FacilityLocal7
)

var facilityNames = [...]string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// String is the facility's name as syslog.conf writes it: "kern",
// "authpriv", "local0".
func (f Facility) String() string {
	if int(f) < len(facilityNames) {
		return facilityNames[f]
	}
	return "Facility(" + strconv.Itoa(int(f)) + ")"
}

// A Severity is how grave a message is (RFC 5424 §6.2.1): the priority
// modulo 8, from SeverityEmergency (0) to SeverityDebug (7).
type Severity uint8

// The severities, numbered as RFC 5424 §6.2.1.
const (
	SeverityEmergency Severity = iota
	SeverityAlert
	SeverityCritical
	SeverityError
	SeverityWarning
	SeverityNotice
	SeverityInfo
	SeverityDebug
)

var severityNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// String is the severity's name as syslog.conf writes it: "err", "info".
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// A SyslogParser reads syslog lines, choosing the year of timestamps that
// carry none. Its zero value works: the year of the first such line is
// the one that puts it at most a day after the current time.
//
// A BSD timestamp ("Dec 31 23:59:58") has no year. The parser gives the
// first line of that kind the year Year, or, when Year is 0, the year that
// puts it no later than a day after Reference (or the current time, if
// Reference is zero): a file's modification time is a good Reference,
// since no line of the file was written after it. From then on it follows
// the months as the lines go: when the month drops by more than six (a
// December line, then a January one) the year goes up by one, and a line
// whose month is more than six above the last (a late December line among
// January ones) gets the year before, without moving the parser's year.
// So a file read in order from its start gets the right years across New
// Year, as long as no six-month gap separates two of its lines.
//
// A SyslogParser follows one stream of lines: it is not safe for
// concurrent use, and lines of several files need one parser each.
type SyslogParser struct {
	// Year is the year of the first line without one; 0: derive it from
	// Reference.
	Year int
	// Reference is a time no line is later than (by more than a day, for
	// clocks and zones that disagree), used when Year is 0; zero: the
	// current time at the first line.
	Reference time.Time
	// Location is the zone of timestamps that carry none (BSD ones): the
	// zone of the machine that wrote the log, time.Local for this one's own
	// logs. Nil means UTC.
	Location *time.Location

	year  int        // the year of the last line; 0 before the first
	month time.Month // the month of the last line
}

// Parse reads one syslog line, as ParseSyslog does, with the parser's
// choice of year for timestamps that have none.
func (p *SyslogParser) Parse(line string) (Syslog, error) {
	var m Syslog
	if err := parseSyslog(&m, line, p); err != nil {
		return Syslog{}, err
	}
	return m, nil
}

// ParseSyslog reads one syslog line in either format, told apart by what
// follows the priority:
//
//   - RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]
//     with "-" for any of them missing, a timestamp of RFC 3339 with up to
//     9 digits of fraction and a zone (Z or ±hh:mm), and structured data
//     such as [exampleSDID@32473 iut="3" eventSource="App\]x"], whose
//     values may hold the escapes \" \\ \]; the header's fields must be
//     printable US-ASCII of at most the lengths RFC 5424 §6 gives.
//
//     <165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] An application event
//
//   - RFC 3164 (BSD): [<PRI>]TIMESTAMP [HOSTNAME] [TAG[[PID]]:] MSG as
//     syslog daemons write files (/var/log/syslog, auth.log, messages) and
//     journalctl prints them, the priority usually absent. TIMESTAMP is
//     "Mmm dd hh:mm:ss" (day padded with a space or a zero, an optional
//     fraction of a second, an optional year "Mmm dd yyyy hh:mm:ss") or an
//     RFC 3339 timestamp (a zone +hhmm without colon too). When the word
//     after the timestamp ends with ':' or holds '[', it is the tag of a
//     line without host. The tag runs to the first '[' or ':' within 64
//     bytes, blanks included (sysklogd writes "syslogd 1.4.1: restart."),
//     and a line with neither has no tag: its Message is all after the
//     host.
//
//     Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8
//
// ParseSyslog gives a BSD timestamp, which has no year, the year that
// puts it at most a day after the current time, line by line; to read a
// file of past lines, or to follow the months across New Year, use a
// SyslogParser. BSD timestamps are read as UTC (a SyslogParser has a
// Location).
//
// A line that does not fit returns the zero Syslog and a *ParseError
// naming the field, its byte offset and why. ParseSyslog never panics and
// never allocates when the line parses.
func ParseSyslog(line string) (Syslog, error) {
	var m Syslog
	if err := parseSyslog(&m, line, nil); err != nil {
		return Syslog{}, err
	}
	return m, nil
}

func syslogErr(field string, pos int, reason string) error {
	return &ParseError{Format: "syslog", Field: field, Pos: pos, Reason: reason}
}

func parseSyslog(m *Syslog, line string, p *SyslogParser) error {
	_, err := parseSyslogBody(m, line, p)
	return err
}

// parseSyslogBody is parseSyslog, and returns the offset in line after
// the header: where the tag begins in RFC 3164 (after the host), where
// the message does in RFC 5424.
func parseSyslogBody(m *Syslog, line string, p *SyslogParser) (int, error) {
	end := len(line)
	if end > 0 && line[end-1] == '\n' {
		end--
	}
	if end > 0 && line[end-1] == '\r' {
		end--
	}
	s := line[:end]
	if s == "" {
		return 0, syslogErr("line", 0, "empty")
	}
	i := 0
	m.Facility, m.Severity = FacilityUser, SeverityNotice
	if s[0] == '<' {
		j := 1
		for j < len(s) && j <= 4 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		pri, ok := digits(s[1:j])
		if !ok || j >= len(s) || s[j] != '>' || pri > 191 || (s[1] == '0' && j > 2) {
			return 0, syslogErr("priority", 0, "want <0> to <191>, got "+quote(s[:min(len(s), 6)]))
		}
		m.HasPriority = true
		m.Facility, m.Severity = Facility(pri>>3), Severity(pri&7)
		i = j + 1
	}
	// A version, digits and a space, makes RFC 5424: no BSD timestamp
	// starts so (the RFC 3339 ones go on with '-' after their digits).
	if m.HasPriority && i < len(s) && s[i] >= '1' && s[i] <= '9' {
		j := i + 1
		for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j < len(s) && s[j] == ' ' {
			if s[i:j] != "1" {
				return 0, syslogErr("version", i, "want version 1 of RFC 5424, got "+quote(s[i:j]))
			}
			m.Format = RFC5424
			return parse5424(m, s, j+1)
		}
	}
	m.Format = RFC3164
	return parse3164(m, s, i, p)
}

// parse3164 reads a BSD line from s[i:], after its priority.
func parse3164(m *Syslog, s string, i int, p *SyslogParser) (int, error) {
	var err error
	if i, err = bsdTime(m, s, i, p); err != nil {
		return 0, err
	}
	// The host, unless the word is already the tag.
	if i < len(s) && s[i] == ' ' {
		i++
	}
	w := strings.IndexByte(s[i:], ' ')
	if w < 0 {
		w = len(s) - i
	}
	word := s[i : i+w]
	if word == "" || word[len(word)-1] == ':' || strings.IndexByte(word, '[') >= 0 {
		// No host: the word is the tag (or the line ends).
	} else {
		m.Host = word
		i += w
		if i < len(s) {
			i++
		}
	}
	// The tag. Blanks before it are kept out ("host  -- root[2421]: ...").
	body := i
	t := i
	for t < len(s) && s[t] == ' ' {
		t++
	}
	const tagMax = 64
	limit := min(len(s), t+tagMax)
	k := t
	for k < limit && s[k] != ':' && s[k] != '[' {
		k++
	}
	tagged := false
	switch {
	case k < limit && s[k] == ':':
		m.App = s[t:k]
		i, tagged = k+1, true
	case k < limit && s[k] == '[':
		close := strings.IndexByte(s[k+1:], ']')
		if close < 0 {
			break // no tag
		}
		after := k + 1 + close + 1
		if after < len(s) && s[after] != ':' && s[after] != ' ' {
			break // no tag
		}
		m.App, m.PID = s[t:k], s[k+1:k+1+close]
		i, tagged = after, true
		if i < len(s) && s[i] == ':' {
			i++
		}
	}
	if tagged && i < len(s) && s[i] == ' ' {
		i++
	}
	m.Message = s[i:]
	return body, nil
}

// bsdTime reads the timestamp of an RFC 3164 line from s[i:] into m.Time
// and returns the offset past it.
func bsdTime(m *Syslog, s string, i int, p *SyslogParser) (int, error) {
	if i >= len(s) {
		return i, syslogErr("time", i, "missing (a line cut short?)")
	}
	if c := s[i]; c >= '0' && c <= '9' {
		t, n, why := rfc3339(s[i:], true)
		if why != "" {
			return i, syslogErr("time", i, why)
		}
		if i+n < len(s) && s[i+n] != ' ' {
			return i, syslogErr("time", i+n, "want a space after the timestamp, got "+quote(s[i+n:]))
		}
		m.Time = t
		return i + n, nil
	}
	// Mmm dd hh:mm:ss, Mmm  d hh:mm:ss, Mmm d hh:mm:ss, Mmm dd yyyy hh:mm:ss,
	// each with an optional .fraction.
	bad := func() (int, error) {
		return i, syslogErr("time", i, "want a timestamp \"Mmm dd hh:mm:ss\" or RFC 3339, got "+quote(s[i:min(len(s), i+15)]))
	}
	if len(s)-i < 14 || s[i+3] != ' ' {
		return bad()
	}
	month := monthOf(s[i : i+3])
	if month == 0 {
		return i, syslogErr("time", i, "unknown month "+quote(s[i:i+3]))
	}
	j := i + 4
	if s[j] == ' ' {
		j++
	}
	d := j
	for j < len(s) && j < d+2 && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	day, ok := digits(s[d:j])
	if !ok || j >= len(s) || s[j] != ' ' {
		return bad()
	}
	j++
	year := 0
	if len(s)-j >= 5 && s[j+4] == ' ' {
		if y, ok := digits(s[j : j+4]); ok {
			year = y
			j += 5
		}
	}
	if len(s)-j < 8 || s[j+2] != ':' || s[j+5] != ':' {
		return bad()
	}
	hh, ok1 := d2(s, j)
	mi, ok2 := d2(s, j+3)
	ss, ok3 := d2(s, j+6)
	if !(ok1 && ok2 && ok3) {
		return bad()
	}
	j += 8
	nsec := 0
	if j < len(s) && s[j] == '.' {
		k := j + 1
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if nsec, ok = fraction(s[j+1 : k]); !ok {
			return i, syslogErr("time", j, "want 1 to 9 digits of a fraction of a second, got "+quote(s[j:k]))
		}
		j = k
	}
	if j < len(s) && s[j] != ' ' {
		return bad()
	}
	if hh > 23 || mi > 59 || ss > 59 || day < 1 || day > daysIn(month, 2000) { // 2000: a leap year, so only Feb 29 waits for the year
		return i, syslogErr("time", i, "no such date or time of day: "+quote(s[i:j]))
	}
	var loc *time.Location
	if p != nil {
		loc = p.Location
	}
	if year == 0 {
		year = p.yearOf(month, day, hh, mi, ss, loc)
	}
	if day > daysIn(month, year) {
		return i, syslogErr("time", i, "no such date in "+strconv.Itoa(year)+": "+quote(s[i:j]))
	}
	if loc == nil || loc == time.UTC {
		m.Time = time.Unix(unixSeconds(year, month, day, hh, mi, ss), int64(nsec)).UTC()
	} else {
		m.Time = time.Date(year, month, day, hh, mi, ss, nsec, loc)
	}
	return j, nil
}

// yearOf chooses the year of a BSD timestamp, as SyslogParser's comment
// tells; p may be nil (ParseSyslog): then each line is placed before the
// current time.
func (p *SyslogParser) yearOf(month time.Month, day, hh, mi, ss int, loc *time.Location) int {
	if p == nil {
		return yearBefore(time.Now(), month, day, hh, mi, ss, loc)
	}
	if p.year == 0 {
		switch {
		case p.Year != 0:
			p.year = p.Year
		case !p.Reference.IsZero():
			p.year = yearBefore(p.Reference, month, day, hh, mi, ss, loc)
		default:
			p.year = yearBefore(time.Now(), month, day, hh, mi, ss, loc)
		}
		p.month = month
		return p.year
	}
	switch {
	case month+6 < p.month: // December, then January
		p.year++
	case month > p.month+6: // a late December line in January
		return p.year - 1
	}
	p.month = month
	return p.year
}

// yearBefore is the latest year that puts the date no more than a day
// after ref.
func yearBefore(ref time.Time, month time.Month, day, hh, mi, ss int, loc *time.Location) int {
	if loc == nil || loc == time.UTC { // without time.Date: ParseSyslog's per-line path
		limit := ref.Unix() + 86400
		y := ref.UTC().Year()
		for range 8 {
			if day <= daysIn(month, y) && unixSeconds(y, month, day, hh, mi, ss) <= limit {
				return y
			}
			y--
		}
		return y
	}
	ref = ref.In(loc)
	y := ref.Year()
	limit := ref.Add(24 * time.Hour)
	for range 8 { // a 29 February looks back to the last leap year
		if day <= daysIn(month, y) && !time.Date(y, month, day, hh, mi, ss, 0, loc).After(limit) {
			return y
		}
		y--
	}
	return y
}

// parse5424 reads the rest of an RFC 5424 line from s[i:], after
// "<PRI>1 ".
func parse5424(m *Syslog, s string, i int) (int, error) {
	// TIMESTAMP
	if i >= len(s) {
		return 0, syslogErr("time", i, "missing (a line cut short?)")
	}
	if s[i] == '-' {
		i++
	} else {
		t, n, why := rfc3339(s[i:], false)
		if why != "" {
			return 0, syslogErr("time", i, why)
		}
		m.Time = t
		i += n
	}
	var err error
	if i, err = sp5424(s, i, "time"); err != nil {
		return 0, err
	}
	if m.Host, i, err = field5424(s, i, "host", 255); err != nil {
		return 0, err
	}
	if m.App, i, err = field5424(s, i, "app", 48); err != nil {
		return 0, err
	}
	if m.PID, i, err = field5424(s, i, "procid", 128); err != nil {
		return 0, err
	}
	if m.MsgID, i, err = field5424(s, i, "msgid", 32); err != nil {
		return 0, err
	}
	// STRUCTURED-DATA
	if i >= len(s) {
		return 0, syslogErr("structured data", i, "missing (a line cut short?)")
	}
	if s[i] == '-' {
		i++
	} else {
		n, err := checkSD(s, i)
		if err != nil {
			return 0, err
		}
		m.StructuredData = StructuredData(s[i:n])
		i = n
	}
	if i < len(s) {
		if s[i] != ' ' {
			return 0, syslogErr("structured data", i, "want a space or the end after it, got "+quote(s[i:]))
		}
		i++
	}
	msg := strings.TrimPrefix(s[i:], "\xEF\xBB\xBF") // the BOM of MSG-UTF8
	m.Message = msg
	return len(s) - len(msg), nil
}

// sp5424 reads the space after a field of the header.
func sp5424(s string, i int, field string) (int, error) {
	if i >= len(s) {
		return i, syslogErr(field, i, "the line ends after it (a line cut short?)")
	}
	if s[i] != ' ' {
		return i, syslogErr(field, i, "want a space after it, got "+quote(s[i:]))
	}
	return i + 1, nil
}

// field5424 reads one of HOSTNAME, APP-NAME, PROCID, MSGID and its space:
// 1 to max bytes of printable US-ASCII, "-" for none.
func field5424(s string, i int, field string, max int) (string, int, error) {
	j := i
	for j < len(s) && j-i <= max && s[j] > ' ' && s[j] < 0x7f {
		j++
	}
	switch {
	case j == i && j >= len(s):
		return "", i, syslogErr(field, i, "missing (a line cut short?)")
	case j == i:
		return "", i, syslogErr(field, i, "want printable US-ASCII, got "+quote(s[i:min(len(s), i+1)]))
	case j-i > max:
		return "", i, syslogErr(field, i, "longer than RFC 5424's "+strconv.Itoa(max)+" bytes: "+quote(s[i:j]))
	}
	v := s[i:j]
	if j < len(s) && s[j] != ' ' {
		return "", i, syslogErr(field, j, "want printable US-ASCII, got "+quote(s[j:min(len(s), j+1)]))
	}
	j, err := sp5424(s, j, field)
	if err != nil {
		return "", i, err
	}
	if v == "-" {
		v = ""
	}
	return v, j, nil
}

// checkSD checks the structured data at s[i:] (RFC 5424 §6.3) and returns
// the offset past its last element.
func checkSD(s string, i int) (int, error) {
	if s[i] != '[' {
		return i, syslogErr("structured data", i, "want - or [, got "+quote(s[i:]))
	}
	for i < len(s) && s[i] == '[' {
		i++
		n := sdName(s, i)
		if n == 0 {
			return i, syslogErr("structured data", i, "want an SD-ID of 1 to 32 printable characters, got "+quote(s[i:]))
		}
		i += n
		for {
			if i >= len(s) {
				return i, syslogErr("structured data", i, "no closing ] (a line cut short?)")
			}
			if s[i] == ']' {
				i++
				break
			}
			if s[i] != ' ' {
				return i, syslogErr("structured data", i, "want a space, ] or =, got "+quote(s[i:]))
			}
			i++
			n := sdName(s, i)
			if n == 0 {
				return i, syslogErr("structured data", i, "want a PARAM-NAME of 1 to 32 printable characters, got "+quote(s[i:]))
			}
			i += n
			if i+1 >= len(s) || s[i] != '=' || s[i+1] != '"' {
				return i, syslogErr("structured data", i, "want =\" after the parameter's name, got "+quote(s[i:]))
			}
			i += 2
			for {
				if i >= len(s) {
					return i, syslogErr("structured data", len(s), "no closing \" of a parameter's value (a line cut short?)")
				}
				c := s[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' {
					i++
				}
				i++
			}
		}
	}
	return i, nil
}

// sdName is the length of the SD-NAME at s[i:] (1 to 32 printable
// US-ASCII bytes but '=', ' ', ']', '"'), 0 if there is none.
func sdName(s string, i int) int {
	j := i
	for j < len(s) && j-i <= 32 {
		c := s[j]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ']' || c == '"' {
			break
		}
		j++
	}
	if j-i > 32 {
		return 0
	}
	return j - i
}

// StructuredData is the STRUCTURED-DATA of an RFC 5424 message as the line
// holds it: one or more elements, [SD-ID PARAM="VALUE" ...].
type StructuredData string

// An SDElement is one element of structured data: its SD-ID
// ("timeQuality", "exampleSDID@32473") and its parameters.
type SDElement struct {
	ID     string
	params string // ` name="value" name="value"`, escapes left in
}

// Elements iterates over the elements in order. It stops at the first
// malformed one (ParseSyslog hands on only well-formed structured data).
func (sd StructuredData) Elements() iter.Seq[SDElement] {
	return func(yield func(SDElement) bool) {
		s := string(sd)
		i := 0
		for i < len(s) && s[i] == '[' {
			n := sdName(s, i+1)
			if n == 0 {
				return
			}
			id := s[i+1 : i+1+n]
			start := i + 1 + n
			j := start
			for j < len(s) && s[j] != ']' {
				if s[j] == '"' { // skip a value, escapes and all
					j++
					for j < len(s) && s[j] != '"' {
						if s[j] == '\\' {
							j++
						}
						j++
					}
				}
				j++
			}
			if j >= len(s) {
				return
			}
			if !yield(SDElement{ID: id, params: s[start:j]}) {
				return
			}
			i = j + 1
		}
	}
}

// Params iterates over the element's parameters in order, as name and
// value, the value unescaped (\" \\ \] undone; a value with escapes is
// copied, one without is a substring of the line).
func (e SDElement) Params() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		s := e.params
		i := 0
		for i < len(s) && s[i] == ' ' {
			n := sdName(s, i+1)
			if n == 0 || i+1+n+1 >= len(s) || s[i+1+n] != '=' || s[i+1+n+1] != '"' {
				return
			}
			name := s[i+1 : i+1+n]
			v := i + 1 + n + 2
			j := v
			esc := false
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					esc = true
					j++
				}
				j++
			}
			if j >= len(s) {
				return
			}
			value := s[v:j]
			if esc {
				value = unescapeSD(value)
			}
			if !yield(name, value) {
				return
			}
			i = j + 1
		}
	}
}

// Param returns the value of the element's first parameter of that name.
func (e SDElement) Param(name string) (string, bool) {
	for n, v := range e.Params() {
		if n == name {
			return v, true
		}
	}
	return "", false
}

// Lookup returns the value of parameter param of the first element with
// SD-ID id: sd.Lookup("origin", "ip").
func (sd StructuredData) Lookup(id, param string) (string, bool) {
	for e := range sd.Elements() {
		if e.ID == id {
			return e.Param(param)
		}
	}
	return "", false
}

// unescapeSD undoes RFC 5424's escapes in a PARAM-VALUE: \" \\ \]; a
// backslash before any other byte stays (§6.3.3).
func unescapeSD(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
			i++
			c = s[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}
