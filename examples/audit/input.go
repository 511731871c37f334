package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/connectors/logs"
)

// A format is how the lines of an input are read.
type format uint8

const (
	formatSSHD      format = 1 << iota // the sshd lines of a syslog file
	formatNetfilter                    // the packet lines of a syslog or journal file
	formatK8s                          // Kubernetes audit events, one JSON object a line

	formatSyslog = formatSSHD | formatNetfilter // both kinds of syslog line
)

var formatNames = map[string]format{"sshd": formatSSHD, "netfilter": formatNetfilter, "syslog": formatSyslog, "k8s": formatK8s}

func isFormat(s string) bool { _, ok := formatNames[s]; return ok || s == "auto" }

func (f format) String() string {
	for name, g := range formatNames {
		if g == f {
			return name
		}
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// sniffLines and sniffBytes bound what detect reads of a file.
const (
	sniffLines = 1000
	sniffBytes = 1 << 20
)

// detect tells the format of a file from its first lines: a JSON object
// of kind Event and apiVersion audit.k8s.io/... is k8s; a line with IN=
// and SRC= is a packet; a syslog line whose program is sshd is sshd; both
// kinds of syslog line make syslog. A file of .gz is read through gzip.
func detect(path string) (format, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", path, err)
		}
		r = zr
	}
	sc := bufio.NewScanner(io.LimitReader(r, sniffBytes))
	sc.Buffer(make([]byte, 64<<10), sniffBytes)
	var seen format
	n := 0
	for ; n < sniffLines && sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "{"):
			var head struct{ Kind, APIVersion string }
			if json.Unmarshal([]byte(line), &head) == nil && head.Kind == "Event" && strings.HasPrefix(head.APIVersion, "audit.k8s.io/") {
				return formatK8s, nil
			}
		case isPacket(line):
			seen |= formatNetfilter
		default:
			if m, err := logs.ParseSyslog(line); err == nil && isSSHD(m.App) {
				seen |= formatSSHD
			}
		}
	}
	if seen != 0 {
		return seen, nil
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("%s is empty, so its format cannot be told: give -format", path)
	}
	return 0, fmt.Errorf("cannot tell the format of %s from its first %d lines (no sshd line, packet line or Kubernetes audit event): give -format", path, n)
}

// isPacket says whether a line looks like a netfilter packet line.
func isPacket(s string) bool { return strings.Contains(s, "IN=") && strings.Contains(s, " SRC=") }

// isSSHD says whether a syslog program is sshd: "sshd", "sshd-session"
// (OpenSSH 9.8 and later), "sshd(pam_unix)" (older PAM).
func isSSHD(app string) bool { return strings.HasPrefix(app, "sshd") }

// A Kind is what an event reports.
type Kind uint8

const (
	kindNone        Kind = iota // a line of no interest, skipped
	kindFailed                  // sshd: a failed login (N of them)
	kindInvalidUser             // sshd: "Invalid user x from ..."
	kindNoIdent                 // sshd: a client that connected and sent nothing
	kindAccepted                // sshd: a login accepted
	kindPacket                  // netfilter: a packet logged
	kindAudit                   // Kubernetes: a request, at its last stage
)

// An Event is what the job keeps of a line that matters.
type Event struct {
	Kind Kind
	Time time.Time
	// File and Line are where it was read: a file and a line number, or a
	// generator and the line's index from 1.
	File string
	Line int64

	// sshd: Host is the client (an address, or a name), User the account
	// tried, N the attempts the line stands for ("message repeated 3
	// times" is 3). Kubernetes: Host is the first source address, User
	// the user who asked.
	Host string
	User string
	N    int64

	// netfilter: the packet's source, destination port and protocol.
	Addr  netip.Addr
	Port  int
	Proto string

	// Kubernetes: the verb, the object and the answer.
	Verb, Resource, Subresource, Namespace, Name string
	Code                                         int
}

// errNoTime is the error of a line without a timestamp: event time cannot
// place it.
var errNoTime = errors.New("the line has no timestamp, so event time cannot place it")

// A parser reads the lines of one input, in order, into events. It
// counts what it saw; it is used by one goroutine, so the counts are
// plain (read them after Execute).
type parser struct {
	format format
	syslog logs.SyslogParser
	count  *inputCounts
}

// inputCounts are an input's lines: read, kept as events, skipped as of
// no interest, and dead letters (lines the parser could not read), all
// counted by the parser; and rejected, what the source could not deliver
// (a line over 1 MiB) and events whose time event time cannot hold,
// counted by the sinks of those dead letters.
type inputCounts struct {
	lines, events, skipped, dead int64
	rejected                     atomic.Int64
}

// newParser returns the parser of an input in format f. The year of BSD
// timestamps is year, or when 0 the one that puts the first line no later
// than a day after ref.
func newParser(f format, year int, ref time.Time, tz *time.Location, c *inputCounts) *parser {
	return &parser{format: f, syslog: logs.SyslogParser{Year: year, Reference: ref, Location: tz}, count: c}
}

// parse reads one line. An event of kindNone is a line of no interest.
// An error is the line's dead letter.
func (p *parser) parse(l logs.Line) (Event, error) {
	p.count.lines++
	var e Event
	var err error
	if p.format == formatK8s {
		e, err = parseAudit(l.Text)
	} else {
		e, err = p.parseSyslog(l.Text)
	}
	switch {
	case err != nil:
		p.count.dead++
		return Event{}, err
	case e.Kind == kindNone:
		p.count.skipped++
	default:
		p.count.events++
		e.File, e.Line = l.Source, l.Number
	}
	return e, nil
}

// parseSyslog reads a syslog line for sshd's messages, packets, or both.
func (p *parser) parseSyslog(text string) (Event, error) {
	m, err := p.syslog.Parse(text)
	if err != nil {
		if p.format&formatNetfilter != 0 && isPacket(text) {
			// A bare kernel line (dmesg): a packet, but when?
			if _, perr := logs.ParseNetfilter(text); perr != nil {
				return Event{}, perr
			}
			return Event{}, errNoTime
		}
		return Event{}, err
	}
	if m.Time.IsZero() {
		return Event{}, errNoTime
	}
	switch {
	case p.format&formatNetfilter != 0 && isPacket(m.Message):
		pk, err := logs.ParseNetfilter(m.Message)
		if err != nil {
			return Event{}, err
		}
		return Event{Kind: kindPacket, Time: m.Time, Addr: pk.Src, Port: pk.DstPort, Proto: pk.Proto}, nil
	case p.format&formatSSHD != 0 && isSSHD(m.App):
		s, err := logs.ParseSSHD(m.Message)
		if err != nil {
			return Event{}, err
		}
		e := Event{Time: m.Time, Host: s.Host, User: s.User, N: int64(s.Count)}
		switch s.Kind {
		case logs.SSHDFailed:
			e.Kind = kindFailed
		case logs.SSHDInvalidUser:
			e.Kind = kindInvalidUser
		case logs.SSHDNoIdentification:
			e.Kind = kindNoIdent
		case logs.SSHDAccepted:
			e.Kind = kindAccepted
		default:
			return Event{}, nil
		}
		if e.Host == "" {
			return Event{}, nil // no client to count it against
		}
		return e, nil
	}
	return Event{}, nil
}

// parseAudit reads a Kubernetes audit event. Only the last stage of a
// request counts (ResponseComplete, or Panic), so that each request is
// one event.
func parseAudit(text string) (Event, error) {
	a, err := logs.ParseK8sAudit(text)
	if err != nil {
		return Event{}, err
	}
	if a.Stage != "ResponseComplete" && a.Stage != "Panic" {
		return Event{}, nil
	}
	t := a.StageTime
	if t.IsZero() {
		t = a.RequestReceived
	}
	if t.IsZero() {
		return Event{}, errNoTime
	}
	e := Event{Kind: kindAudit, Time: t, User: a.User.Username, Verb: a.Verb,
		Resource: a.ObjectRef.Resource, Subresource: a.ObjectRef.Subresource,
		Namespace: a.ObjectRef.Namespace, Name: a.ObjectRef.Name, Code: a.ResponseStatus.Code}
	if len(a.SourceIPs) > 0 {
		e.Host = a.SourceIPs[0]
	}
	return e, nil
}
