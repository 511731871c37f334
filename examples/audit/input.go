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
	"time"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/internal/deadletter"
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

// A Kind is what a line reports.
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

var kindNames = [...]string{"none", "failed login", "invalid user", "no identification", "accepted login", "packet", "request"}

// A place is where an event was read, as in a logs.Line: a file, the
// line's byte offset (-1 when not known) and its number, or a generator,
// -1 and the line's index from 1.
type place = deadletter.Place

func placeOf(l logs.Line) place { return place{File: l.Source, Offset: l.Offset, Line: l.Number} }

// The events of each format: what the job keeps of a line that matters.
// A zero Time marks a line of no interest, which the parser returns
// rather than an error, to be filtered out.
type (
	// An SSHEvent is a login tried, refused or accepted, by sshd.
	SSHEvent struct {
		Kind Kind
		Time time.Time
		// Host is the client (an address, or a name), User the account
		// tried, N the attempts the line stands for ("message repeated 3
		// times" is 3).
		Host string
		User string
		N    int64
		At   place
	}
	// A Packet is a packet that netfilter logged: its source,
	// destination port (0 for ICMP and the like) and protocol.
	Packet struct {
		Time  time.Time
		Src   netip.Addr
		Port  int
		Proto string
		At    place
	}
	// A Request is a request to a Kubernetes API server at its last
	// stage: who asked (User, from Host, the first source address), what
	// (Verb, the object), and the answer (Code).
	Request struct {
		Time                                         time.Time
		User, Host                                   string
		Verb, Resource, Subresource, Namespace, Name string
		Code                                         int
		At                                           place
	}
	// A syslogEvent is an event of a syslog file that holds both sshd's
	// lines and packets: one or the other.
	syslogEvent struct {
		SSH      SSHEvent
		Packet   Packet
		IsPacket bool
	}
)

func (e SSHEvent) when() time.Time { return e.Time }
func (e Packet) when() time.Time   { return e.Time }
func (e Request) when() time.Time  { return e.Time }
func (e syslogEvent) when() time.Time {
	if e.IsPacket {
		return e.Packet.Time
	}
	return e.SSH.Time
}

func (e SSHEvent) place() place { return e.At }
func (e Packet) place() place   { return e.At }
func (e Request) place() place  { return e.At }
func (e syslogEvent) place() place {
	if e.IsPacket {
		return e.Packet.At
	}
	return e.SSH.At
}

func (e SSHEvent) what() string { return kindNames[e.Kind] }
func (e Packet) what() string   { return "packet" }
func (e Request) what() string  { return e.Verb + " " + e.Resource + " request" }
func (e syslogEvent) what() string {
	if e.IsPacket {
		return e.Packet.what()
	}
	return e.SSH.what()
}

// An event is any of the events above.
type event interface {
	SSHEvent | Packet | Request | syslogEvent
	when() time.Time
	place() place
	what() string
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
// counted by the sink of the dead letters. Each count has one writer, a
// subtask of the job: read them after Execute.
type inputCounts struct {
	lines, events, skipped, dead int64
	rejected                     int64
}

// newParser returns the parser of an input in format f. The year of BSD
// timestamps is year, or when 0 the one that puts the first line no later
// than a day after ref.
func newParser(f format, year int, ref time.Time, tz *time.Location, c *inputCounts) *parser {
	return &parser{format: f, syslog: logs.SyslogParser{Year: year, Reference: ref, Location: tz}, count: c}
}

// parsing makes a parser of one format a MapErr function that counts the
// lines and places the events.
func parsing[T event](p *parser, parse func(string) (T, error), setPlace func(*T, place)) func(logs.Line) (T, error) {
	return func(l logs.Line) (T, error) {
		p.count.lines++
		e, err := parse(l.Text)
		switch {
		case err != nil:
			p.count.dead++
		case e.when().IsZero():
			p.count.skipped++
		default:
			p.count.events++
			setPlace(&e, placeOf(l))
		}
		return e, err
	}
}

// sshd reads a syslog line for sshd's messages.
func (p *parser) sshd(text string) (SSHEvent, error) {
	e, err := p.parseSyslog(text)
	return e.SSH, err
}

// packet reads a syslog line for packets.
func (p *parser) packet(text string) (Packet, error) {
	e, err := p.parseSyslog(text)
	return e.Packet, err
}

// parseSyslog reads a syslog line for sshd's messages, packets, or both,
// as p's format says.
func (p *parser) parseSyslog(text string) (syslogEvent, error) {
	m, err := p.syslog.Parse(text)
	if err != nil {
		if p.format&formatNetfilter != 0 && isPacket(text) {
			// A bare kernel line (dmesg): a packet, but when?
			if _, perr := logs.ParseNetfilter(text); perr != nil {
				return syslogEvent{}, perr
			}
			return syslogEvent{}, errNoTime
		}
		return syslogEvent{}, err
	}
	if m.Time.IsZero() {
		return syslogEvent{}, errNoTime
	}
	switch {
	case p.format&formatNetfilter != 0 && isPacket(m.Message):
		pk, err := logs.ParseNetfilter(m.Message)
		if err != nil {
			return syslogEvent{}, err
		}
		return syslogEvent{IsPacket: true, Packet: Packet{Time: m.Time, Src: pk.Src, Port: pk.DstPort, Proto: pk.Proto}}, nil
	case p.format&formatSSHD != 0 && isSSHD(m.App):
		s, err := logs.ParseSSHD(m.Message)
		if err != nil {
			return syslogEvent{}, err
		}
		e := SSHEvent{Time: m.Time, Host: s.Host, User: s.User, N: int64(s.Count)}
		switch s.Kind {
		case logs.SSHDFailed:
			e.Kind = kindFailed
		case logs.SSHDInvalidUser:
			e.Kind = kindInvalidUser
		case logs.SSHDNoIdentification:
			e.Kind = kindNoIdent
		case logs.SSHDAccepted:
			e.Kind = kindAccepted
		case logs.SSHDPAMAuthFailure:
			// Older systems log a failed password only through PAM, under
			// the tag sshd(pam_unix). Newer ones log pam_unix's failure
			// beside sshd's own "Failed password", the line counted there.
			if m.App != "sshd(pam_unix)" {
				return syslogEvent{}, nil
			}
			e.Kind = kindFailed
		default:
			return syslogEvent{}, nil
		}
		if e.Host == "" {
			return syslogEvent{}, nil // no client to count it against
		}
		return syslogEvent{SSH: e}, nil
	}
	return syslogEvent{}, nil
}

// audit reads a Kubernetes audit event. Only the last stage of a request
// counts (ResponseComplete, or Panic), so that each request is one event.
func (p *parser) audit(text string) (Request, error) {
	a, err := logs.ParseK8sAudit(text)
	if err != nil {
		return Request{}, err
	}
	if a.Stage != "ResponseComplete" && a.Stage != "Panic" {
		return Request{}, nil
	}
	t := a.StageTime
	if t.IsZero() {
		t = a.RequestReceived
	}
	if t.IsZero() {
		return Request{}, errNoTime
	}
	e := Request{Time: t, User: a.User.Username, Verb: a.Verb,
		Resource: a.ObjectRef.Resource, Subresource: a.ObjectRef.Subresource,
		Namespace: a.ObjectRef.Namespace, Name: a.ObjectRef.Name, Code: a.ResponseStatus.Code}
	if len(a.SourceIPs) > 0 {
		e.Host = a.SourceIPs[0]
	}
	return e, nil
}
