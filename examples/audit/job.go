package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/braidstream/braid/examples/internal/evsort"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// The windows of the findings.
const (
	minute      = time.Minute
	bruteSlide  = 10 * time.Second
	sessionGap  = 5 * time.Minute
	deniedSize  = 5 * time.Minute
	escalateMax = 10 * time.Minute
	// watermarkStep is how often, in event time, the inputs' watermarks
	// move on (package stepwm): every window but the sliding minutes and
	// the sessions ends on a minute. One per event would split the batches
	// into single lines in a sparse log (the real sample has a line every
	// 7 s); one per minute makes the job about 1.5 times as fast on it.
	watermarkStep = time.Minute
)

// The sections of the output, in the order lines of one time are printed.
const (
	secScan = iota
	secProbe
	secBrute
	secInvalid
	secSession
	secDenied
	secExec
	secEscalate
)

var sectionNames = []string{"SCAN", "PROBE", "BRUTE", "INVALID", "SESSION", "DENIED", "EXEC", "ESCALATE"}

const legend = `# SCAN      a source sent packets to more than -scan-ports distinct destination ports in a minute
# PROBE     packets to RPC or NFS (ports 111, 2049) from outside the -allow networks, per source, port and minute
# BRUTE     more than -brute-force failed logins from one client in the last minute, every 10 s
# INVALID   more than -invalid-users "Invalid user" attempts from one client in a minute
# SESSION   a client's attempts without a 5-minute pause: first and last seen, attempts, invalid users, logins accepted, users tried
# DENIED    more than -denied requests of one Kubernetes user refused (403) in 5 minutes
# EXEC      a Kubernetes user ran a command in a pod (pods/exec)
# ESCALATE  a Kubernetes user created a role binding, then read secrets within 10 minutes
`

// A Line is one finding as printed: its timestamp (the finding's event
// time) orders lines, then Section, then the text.
type Line struct {
	Section int
	Text    string
	JSON    string
}

// A finder turns events into findings; it formats times in its zone.
type finder struct {
	cfg  config
	dead *deadLetters
}

const stamp = "2006-01-02 15:04:05"

func (f finder) at(t time.Time) string { return t.In(f.cfg.tz).Format(stamp) }

// span is a window as "[2026-11-01 12:03:00, 12:04:00)".
func (f finder) span(w window.Window) string {
	return "[" + f.at(w.StartTime()) + ", " + w.EndTime().In(f.cfg.tz).Format(time.TimeOnly) + ")"
}

// line makes a finding's Line: its text, the section's name then the
// words, and with -json its JSON, the section's name and fields.
func (f finder) line(sec int, text func() string, fields func() map[string]any) Line {
	l := Line{Section: sec, Text: fmt.Sprintf("%-8s %s", sectionNames[sec], text())}
	if f.cfg.json {
		obj := map[string]any{"section": strings.ToLower(sectionNames[sec])}
		maps.Copy(obj, fields())
		js, err := json.Marshal(obj)
		if err != nil {
			panic(err) // strings and integers only
		}
		l.JSON = string(js)
	}
	return l
}

func windowFields(w window.Window, fields map[string]any) map[string]any {
	fields["start"], fields["end"] = w.StartTime().Format(time.RFC3339Nano), w.EndTime().Format(time.RFC3339Nano)
	return fields
}

// An ip16 is an address as a key: netip.Addr holds a pointer (its zone),
// which keys may not.
type ip16 [16]byte

func keyOf(a netip.Addr) ip16 { return a.As16() }

func (k ip16) String() string { return netip.AddrFrom16(k).Unmap().String() }

// A portSet is the destination ports a source sent packets to in a
// window.
type portSet struct {
	Ports map[uint16]bool
}

// A probe is packets of one source to one RPC or NFS port.
type probe struct {
	Src  ip16
	Port int
}

// portNames are the services of the probed ports.
var portNames = map[int]string{111: "rpcbind", 2049: "nfs"}

// invalid is a client's invalid-user attempts in a window.
type invalid struct {
	N     int64
	Users map[string]bool
}

// An attack is a client's session: its events without a 5-minute pause.
type attack struct {
	First, Last time.Time
	Failed      int64 // failed logins
	// Attempts are Failed and NoIdent: the logins tried and the
	// connections that tried nothing (an "Invalid user" line comes before
	// the failed login of that user).
	Invalid  int64 // "Invalid user" attempts
	NoIdent  int64 // connections that sent nothing
	Accepted int64 // logins accepted
	Users    map[string]bool
}

// union returns a new set of the members of a and b.
func union[K comparable](a, b map[K]bool) map[K]bool {
	u := make(map[K]bool, len(a)+len(b))
	maps.Copy(u, a)
	maps.Copy(u, b)
	return u
}

// sortedUsers is the users in order, [] for none.
func sortedUsers(users map[string]bool) []string {
	return append([]string{}, slices.Sorted(maps.Keys(users))...)
}

// userList is at most five users, sorted and quoted, and how many more.
func userList(users map[string]bool) string {
	us := slices.Sorted(maps.Keys(users))
	var b strings.Builder
	for i, u := range us {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(us)-5)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q", u)
	}
	return b.String()
}

// streams are the job's events, one stream per kind, nil when no input
// has events of that kind.
type streams struct {
	ssh      *stream.Stream[SSHEvent]
	packets  *stream.Stream[Packet]
	requests *stream.Stream[Request]
}

// merge adds s to *all.
func merge[T any](all **stream.Stream[T], s *stream.Stream[T]) {
	if *all == nil {
		*all = s
	} else {
		*all = (*all).Merge(s)
	}
}

// findings builds the analyses of the events there are and returns the
// streams of their Lines. Events too late for a window or a join go to
// f.dead.
func (f finder) findings(in streams) []*stream.Stream[Line] {
	var lines []*stream.Stream[Line]
	if in.packets != nil {
		lines = append(lines, f.packetFindings(in.packets)...)
	}
	if in.ssh != nil {
		lines = append(lines, f.sshFindings(in.ssh)...)
	}
	if in.requests != nil {
		lines = append(lines, f.requestFindings(in.requests)...)
	}
	return lines
}

// packetFindings are the port scans and probes.
func (f finder) packetFindings(packets *stream.Stream[Packet]) []*stream.Stream[Line] {
	cfg := f.cfg
	// 1. Port scans: distinct destination ports per source and minute.
	scanWin := stream.KeyBy(packets.Filter(func(e Packet) bool { return e.Port > 0 }), func(e Packet) ip16 { return keyOf(e.Src) }).
		Window(window.Tumbling(minute))
	reportLate(f.dead, scanWin.Late(), "port-scan minute")
	scans := stream.Aggregate(scanWin, stream.AggregateFunc[Packet, portSet, portSet]{
		Init: func() portSet { return portSet{Ports: map[uint16]bool{}} },
		Add: func(s portSet, e Packet) portSet {
			s.Ports[uint16(e.Port)] = true
			return s
		},
		Merge:  func(a, b portSet) portSet { return portSet{union(a.Ports, b.Ports)} },
		Result: func(s portSet) portSet { return s },
	}).Filter(func(r window.Result[ip16, portSet]) bool { return int64(len(r.Value.Ports)) > cfg.scanPorts })
	scanLines := stream.Map(scans, func(r window.Result[ip16, portSet]) Line {
		lo, hi := uint16(65535), uint16(0)
		for p := range r.Value.Ports {
			lo, hi = min(lo, p), max(hi, p)
		}
		n := len(r.Value.Ports)
		return f.line(secScan, func() string {
			return fmt.Sprintf("%s  %-15s %6d distinct ports from %d to %d", f.span(r.Window), r.Key, n, lo, hi)
		}, func() map[string]any {
			return windowFields(r.Window, map[string]any{"source": r.Key.String(), "ports": n, "lowest": lo, "highest": hi})
		})
	})

	// 2. RPC and NFS probes from outside the allowed networks.
	probes := packets.Filter(func(e Packet) bool { return portNames[e.Port] != "" && !allowed(cfg.allow, e.Src) })
	probeWin := stream.KeyBy(probes, func(e Packet) probe { return probe{keyOf(e.Src), e.Port} }).Window(window.Tumbling(minute))
	reportLate(f.dead, probeWin.Late(), "probe minute")
	probeLines := stream.Map(stream.Count(probeWin), func(r window.Result[probe, int64]) Line {
		return f.line(secProbe, func() string {
			return fmt.Sprintf("%s  %-15s port %-5d %-9s %6d packets", f.span(r.Window), r.Key.Src, r.Key.Port, "("+portNames[r.Key.Port]+")", r.Value)
		}, func() map[string]any {
			return windowFields(r.Window, map[string]any{"source": r.Key.Src.String(), "port": r.Key.Port, "packets": r.Value})
		})
	})
	return []*stream.Stream[Line]{scanLines, probeLines}
}

// sshFindings are the brute force, the invalid-user bursts and the
// attackers' sessions.
func (f finder) sshFindings(ssh *stream.Stream[SSHEvent]) []*stream.Stream[Line] {
	cfg := f.cfg
	byHost := func(e SSHEvent) string { return e.Host }
	// 3. Brute force: failed logins per client in the last minute, every
	// 10 s.
	bruteWin := stream.KeyBy(ssh.Filter(func(e SSHEvent) bool { return e.Kind == kindFailed }), byHost).Window(window.Sliding(minute, bruteSlide))
	reportLate(f.dead, bruteWin.Late(), "failed-login minute")
	brute := stream.Sum(bruteWin, func(e SSHEvent) int64 { return e.N }).
		Filter(func(r window.Result[string, int64]) bool { return r.Value > cfg.bruteForce })
	bruteLines := stream.Map(brute, func(r window.Result[string, int64]) Line {
		return f.line(secBrute, func() string {
			return fmt.Sprintf("%s  %-15s %6d failed logins", f.span(r.Window), r.Key, r.Value)
		}, func() map[string]any {
			return windowFields(r.Window, map[string]any{"client": r.Key, "failed": r.Value})
		})
	})

	// 4. Invalid-user bursts per client and minute.
	invalidWin := stream.KeyBy(ssh.Filter(func(e SSHEvent) bool { return e.Kind == kindInvalidUser }), byHost).Window(window.Tumbling(minute))
	reportLate(f.dead, invalidWin.Late(), "invalid-user minute")
	bursts := stream.Aggregate(invalidWin, stream.AggregateFunc[SSHEvent, invalid, invalid]{
		Init: func() invalid { return invalid{Users: map[string]bool{}} },
		Add: func(v invalid, e SSHEvent) invalid {
			v.N++
			v.Users[e.User] = true
			return v
		},
		Merge:  func(a, b invalid) invalid { return invalid{a.N + b.N, union(a.Users, b.Users)} },
		Result: func(v invalid) invalid { return v },
	}).Filter(func(r window.Result[string, invalid]) bool { return r.Value.N > cfg.invalidUsers })
	invalidLines := stream.Map(bursts, func(r window.Result[string, invalid]) Line {
		return f.line(secInvalid, func() string {
			return fmt.Sprintf("%s  %-15s %6d invalid-user attempts, %d users: %s", f.span(r.Window), r.Key, r.Value.N,
				len(r.Value.Users), userList(r.Value.Users))
		}, func() map[string]any {
			return windowFields(r.Window, map[string]any{"client": r.Key, "attempts": r.Value.N, "users": sortedUsers(r.Value.Users)})
		})
	})

	// 5. Attackers' sessions: a client's events until 5 minutes without
	// one.
	sessionWin := stream.KeyBy(ssh, byHost).Window(window.Session(sessionGap))
	reportLate(f.dead, sessionWin.Late(), "session")
	sessions := stream.Aggregate(sessionWin, stream.AggregateFunc[SSHEvent, attack, attack]{
		Init: func() attack { return attack{Users: map[string]bool{}} },
		Add: func(a attack, e SSHEvent) attack {
			if a.First.IsZero() || e.Time.Before(a.First) {
				a.First = e.Time
			}
			if e.Time.After(a.Last) {
				a.Last = e.Time
			}
			switch e.Kind {
			case kindFailed:
				a.Failed += e.N
			case kindInvalidUser:
				a.Invalid++
			case kindNoIdent:
				a.NoIdent++
			case kindAccepted:
				a.Accepted++
			}
			if e.User != "" {
				a.Users[e.User] = true
			}
			return a
		},
		Merge: func(a, b attack) attack {
			m := attack{First: a.First, Last: a.Last, Failed: a.Failed + b.Failed, Invalid: a.Invalid + b.Invalid,
				NoIdent: a.NoIdent + b.NoIdent, Accepted: a.Accepted + b.Accepted, Users: union(a.Users, b.Users)}
			if b.First.Before(m.First) {
				m.First = b.First
			}
			if b.Last.After(m.Last) {
				m.Last = b.Last
			}
			return m
		},
		Result: func(a attack) attack { return a },
	}).Filter(func(r window.Result[string, attack]) bool {
		return r.Value.Failed+r.Value.NoIdent >= cfg.sessionAttempts
	})
	sessionLines := stream.Map(sessions, func(r window.Result[string, attack]) Line {
		a := r.Value
		return f.line(secSession, func() string {
			text := fmt.Sprintf("[%s, %s]  %-15s %6d attempts (%d failed logins, %d without identification), %d invalid users, %d accepted; %d users tried",
				f.at(a.First), a.Last.In(cfg.tz).Format(time.TimeOnly), r.Key, a.Failed+a.NoIdent, a.Failed, a.NoIdent, a.Invalid, a.Accepted, len(a.Users))
			if len(a.Users) > 0 {
				text += ": " + userList(a.Users)
			}
			return text
		}, func() map[string]any {
			return map[string]any{"client": r.Key, "first": a.First.Format(time.RFC3339Nano), "last": a.Last.Format(time.RFC3339Nano),
				"attempts": a.Failed + a.NoIdent, "failed": a.Failed, "invalid": a.Invalid, "noident": a.NoIdent, "accepted": a.Accepted,
				"users": sortedUsers(a.Users)}
		})
	})
	return []*stream.Stream[Line]{bruteLines, invalidLines, sessionLines}
}

// requestFindings are the Kubernetes findings: refusals, execs and
// escalations.
func (f finder) requestFindings(requests *stream.Stream[Request]) []*stream.Stream[Line] {
	cfg := f.cfg
	byUser := func(e Request) string { return e.User }
	// 6. Requests refused per user in 5 minutes.
	deniedWin := stream.KeyBy(requests.Filter(func(e Request) bool { return e.Code == 403 }), byUser).Window(window.Tumbling(deniedSize))
	reportLate(f.dead, deniedWin.Late(), "denied 5 minutes")
	denied := stream.Count(deniedWin).Filter(func(r window.Result[string, int64]) bool { return r.Value > cfg.denied })
	deniedLines := stream.Map(denied, func(r window.Result[string, int64]) Line {
		return f.line(secDenied, func() string {
			return fmt.Sprintf("%s  %-15s %6d requests refused", f.span(r.Window), r.Key, r.Value)
		}, func() map[string]any {
			return windowFields(r.Window, map[string]any{"user": r.Key, "refused": r.Value})
		})
	})

	// 7. exec into pods.
	execs := requests.Filter(func(e Request) bool { return e.Resource == "pods" && e.Subresource == "exec" })
	execLines := stream.Map(execs, func(e Request) Line {
		return f.line(secExec, func() string {
			return fmt.Sprintf("%s  %-15s exec in pod %s/%s from %s (%s, %d)", f.at(e.Time), e.User, e.Namespace, e.Name, e.Host, e.Verb, e.Code)
		}, func() map[string]any {
			return map[string]any{"at": e.Time.Format(time.RFC3339Nano), "user": e.User, "verb": e.Verb, "namespace": e.Namespace, "pod": e.Name,
				"source": e.Host, "code": e.Code}
		})
	})

	// 8. A role binding created, then secrets read by the same user within
	// 10 minutes.
	bindings := requests.Filter(func(e Request) bool {
		return (e.Resource == "rolebindings" || e.Resource == "clusterrolebindings") && e.Verb == "create" && e.Code/100 == 2
	})
	reads := requests.Filter(func(e Request) bool {
		return e.Resource == "secrets" && (e.Verb == "get" || e.Verb == "list" || e.Verb == "watch") && e.Code/100 == 2
	})
	type escalation struct{ Binding, Read Request }
	joined, lateBindings, lateReads := stream.IntervalJoin(stream.KeyBy(bindings, byUser), stream.KeyBy(reads, byUser), 0, escalateMax,
		func(b, r Request) escalation { return escalation{b, r} }, stream.LowerBoundExclusive())
	reportLate(f.dead, lateBindings, "role-binding join")
	reportLate(f.dead, lateReads, "secret-read join")
	escalateLines := stream.Map(joined, func(x escalation) Line {
		b, r := x.Binding, x.Read
		return f.line(secEscalate, func() string {
			return fmt.Sprintf("%s  %-15s created %s %s at %s, then %s secrets %s %v later", f.at(r.Time), r.User,
				b.Resource, object(b), b.Time.In(cfg.tz).Format(time.TimeOnly), r.Verb, object(r), r.Time.Sub(b.Time))
		}, func() map[string]any {
			return map[string]any{"user": r.User,
				"binding": map[string]any{"at": b.Time.Format(time.RFC3339Nano), "resource": b.Resource, "namespace": b.Namespace, "name": b.Name},
				"read":    map[string]any{"at": r.Time.Format(time.RFC3339Nano), "verb": r.Verb, "namespace": r.Namespace, "name": r.Name}}
		})
	})
	return []*stream.Stream[Line]{deniedLines, execLines, escalateLines}
}

// object is an event's object as namespace/name, "*" for a name not
// given (a list), without the namespace for a cluster-wide object.
func object(e Request) string {
	name := e.Name
	if name == "" {
		name = "*"
	}
	if e.Namespace == "" {
		return name
	}
	return e.Namespace + "/" + name
}

// allowed says whether a is in one of the networks.
func allowed(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sortLines holds each line until event time passes it, then emits the
// lines of that time in section and text order: the output is the same
// whatever the order in which the findings' operators ran.
var sortLines = evsort.By(func(a, b Line) int {
	if a.Section != b.Section {
		return a.Section - b.Section
	}
	return strings.Compare(a.Text, b.Text)
})
