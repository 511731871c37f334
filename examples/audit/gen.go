package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// genStart is the time of the generated logs' first lines.
var genStart = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// A genEvent is what a generated line says, before it is written out: the
// test derives the expected findings from these, not from the lines.
type genEvent struct {
	Kind    Kind // kindNone: a line of no interest
	Garbled bool // a line that cannot be read: a dead letter
	Time    time.Time

	Host string // sshd: the client; Kubernetes: the source address
	User string
	N    int64 // sshd: the attempts the line stands for

	Src   netip.Addr // netfilter
	Port  int
	Proto string

	Stage                                        string // Kubernetes
	Verb, Resource, Subresource, Namespace, Name string
	Code                                         int
}

// A generator is one generated log: event i is event(i), written out as
// line(i).
type generator struct {
	name   string
	format format
	event  func(i int64) genEvent
	render func(e genEvent, i int64) string
}

func (g generator) line(i int64) string { return g.render(g.event(i), i) }

// generators are the generated logs: an sshd log of a bastion host under
// attack, a firewall's packet log, and a Kubernetes API server's audit
// log. Event i of each is a function of the seed and i alone, so that a
// replay after a restore generates the same lines.
func generators(seed uint64) []generator {
	return []generator{
		{"sshd", formatSSHD, sshdEvent(seed), renderSSHD},
		{"netfilter", formatNetfilter, packetEvent(seed), renderPacket},
		{"k8s", formatK8s, auditEvent(seed), renderAudit},
	}
}

// at is the time of line i of a log with a line every step: a little
// earlier, by up to a second (lines come a little out of order, within
// -bound), to the second when whole.
func at(i int64, step time.Duration, rng *rand.Rand, whole bool) time.Time {
	t := genStart.Add(time.Duration(i)*step - time.Duration(rng.IntN(1000))*time.Millisecond)
	if whole {
		return t.Truncate(time.Second)
	}
	return t.Truncate(time.Microsecond)
}

// bands returns a test of whether u is in [lo, hi): the cases of a
// generator take disjoint bands of u, whatever the phase.
func bands(u float64) func(lo, hi float64) bool {
	return func(lo, hi float64) bool { return u >= lo && u < hi }
}

// during says whether t is within minutes [from, to) of the log.
func during(t time.Time, from, to int) bool {
	d := t.Sub(genStart)
	return d >= time.Duration(from)*time.Minute && d < time.Duration(to)*time.Minute
}

var (
	sshUsers    = []string{"root", "admin", "ubuntu", "test", "oracle", "postgres", "git", "pi", "user", "guest", "ftpuser", " 0101"}
	staffUsers  = []string{"alice", "bob", "deploy"}
	bruteClient = "203.0.113.50"   // two sessions of failed logins for root, then a login accepted
	sprayClient = "198.51.100.23"  // a burst of invalid users
	quietClient = "192.0.2.99"     // connects and sends nothing, now and then
	slowClient  = "198.51.100.140" // a few failed logins, never a burst
)

// sshdStep is the time between two lines of the generated sshd log;
// sshdLine(d) is the line at d from its start.
const sshdStep = 200 * time.Millisecond

func sshdLine(d time.Duration) int64 { return int64(d / sshdStep) }

// sshdEvent is the sshd log: a client brute-forces root for ten minutes,
// pauses six, comes back for five and gets in; another tries a burst of
// invalid users for three minutes; a third connects and sends nothing,
// now and then for half an hour; a fourth fails a login now and then,
// never in a burst, all along; staff log in from inside and mistype a
// password now and then.
func sshdEvent(seed uint64) func(i int64) genEvent {
	return func(i int64) genEvent {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		t := at(i, sshdStep, rng, true)
		e := genEvent{Time: t, N: 1}
		band := bands(rng.Float64())
		switch {
		case rng.IntN(500) == 0:
			e.Garbled = true
		case (during(t, 5, 15) || during(t, 21, 26)) && band(0, 0.35):
			e.Kind, e.Host, e.User = kindFailed, bruteClient, []string{"root", "root", "admin"}[rng.IntN(3)]
			if rng.IntN(20) == 0 {
				e.N = int64(2 + rng.IntN(4)) // message repeated N times
			}
		case i == sshdLine(25*time.Minute+30*time.Second):
			e.Kind, e.Host, e.User = kindAccepted, bruteClient, "root" // the attack succeeded
		case during(t, 40, 43) && band(0.36, 0.5):
			e.Kind, e.Host, e.User = kindInvalidUser, sprayClient, sshUsers[rng.IntN(len(sshUsers))]
		case during(t, 40, 43) && band(0.5, 0.6):
			e.Kind, e.Host, e.User = kindFailed, sprayClient, sshUsers[rng.IntN(len(sshUsers))]
		case during(t, 30, 60) && band(0.6, 0.63):
			e.Kind, e.Host = kindNoIdent, quietClient
		case band(0.63, 0.64):
			e.Kind, e.Host, e.User = kindFailed, slowClient, "root"
		case band(0.64, 0.66):
			e.Kind, e.Host, e.User = kindInvalidUser, fmt.Sprintf("203.0.113.%d", 100+rng.IntN(50)), sshUsers[rng.IntN(len(sshUsers))]
		case band(0.66, 0.73):
			e.Kind, e.Host, e.User = kindAccepted, fmt.Sprintf("10.0.0.%d", 2+rng.IntN(20)), staffUsers[rng.IntN(len(staffUsers))]
		case band(0.73, 0.7305):
			e.Kind, e.Host, e.User = kindFailed, fmt.Sprintf("10.0.0.%d", 2+rng.IntN(20)), staffUsers[rng.IntN(len(staffUsers))] // a typo
		}
		return e
	}
}

// renderSSHD writes an sshd event as auth.log has it.
func renderSSHD(e genEvent, i int64) string {
	head := fmt.Sprintf("%s bastion sshd[%d]: ", e.Time.Format(time.Stamp), 20000+i%5000)
	port := 30000 + i%30000
	switch {
	case e.Garbled:
		switch i % 3 {
		case 0:
			return head + "Failed password for root from" // cut short
		case 1:
			return "Nox 99 12:00:00 bastion sshd[1]: Accepted password for x from 10.0.0.1 port 22 ssh2" // no month
		default:
			return head + fmt.Sprintf("Accepted password for alice from 10.0.0.3 port %dx ssh2", port) // a bad port
		}
	case e.Kind == kindFailed && e.N > 1:
		return head + fmt.Sprintf("message repeated %d times: [ Failed password for %s from %s port %d ssh2]", e.N, e.User, e.Host, port)
	case e.Kind == kindFailed:
		if e.User == "root" || slices.Contains(staffUsers, e.User) {
			return head + fmt.Sprintf("Failed password for %s from %s port %d ssh2", e.User, e.Host, port)
		}
		return head + fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", e.User, e.Host, port)
	case e.Kind == kindInvalidUser:
		return head + fmt.Sprintf("Invalid user %s from %s port %d", e.User, e.Host, port)
	case e.Kind == kindNoIdent:
		return head + fmt.Sprintf("Did not receive identification string from %s port %d", e.Host, port)
	case e.Kind == kindAccepted:
		return head + fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:6p1Dm0aXvVsN2yC1S3yqzfH2vjO6v7Xn6PfB2oTqk7E", e.User, e.Host, port)
	}
	switch i % 4 { // lines of no interest
	case 0:
		return head + "pam_unix(sshd:session): session opened for user alice by (uid=0)"
	case 1:
		return head + fmt.Sprintf("Received disconnect from 10.0.0.7 port %d:11: disconnected by user", port)
	case 2:
		return fmt.Sprintf("%s bastion CRON[%d]: pam_unix(cron:session): session closed for user root", e.Time.Format(time.Stamp), 9000+i%1000)
	}
	return head + "Server listening on 0.0.0.0 port 22."
}

var (
	scanner     = netip.MustParseAddr("192.0.2.66")    // sweeps ports 1-1024 for two minutes
	slowScanner = netip.MustParseAddr("192.0.2.67")    // 15 ports, over and over: never a scan
	prober      = netip.MustParseAddr("198.51.100.77") // probes rpcbind and NFS
	insider     = netip.MustParseAddr("10.1.2.3")      // asks rpcbind too, from inside: allowed
)

// packetEvent is the firewall's log: a line every 50 ms (20 a second).
func packetEvent(seed uint64) func(i int64) genEvent {
	return func(i int64) genEvent {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		t := at(i, 50*time.Millisecond, rng, true)
		e := genEvent{Time: t, Kind: kindPacket, Proto: "TCP"}
		band := bands(rng.Float64())
		switch {
		case rng.IntN(500) == 0:
			e.Kind, e.Garbled = kindNone, true
		case during(t, 3, 5) && band(0, 0.5):
			e.Src, e.Port = scanner, 1+int(i%1024)
		case band(0.5, 0.53):
			e.Src, e.Port = slowScanner, 8000+rng.IntN(15)
		case during(t, 7, 9) && band(0.53, 0.58):
			e.Src, e.Port, e.Proto = prober, []int{111, 2049}[rng.IntN(2)], []string{"TCP", "UDP"}[rng.IntN(2)]
		case band(0.58, 0.59):
			e.Src, e.Port, e.Proto = insider, 111, "UDP"
		case band(0.59, 0.6):
			e.Src, e.Proto = netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(256))}), "ICMP"
		case band(0.6, 0.63):
			e.Kind = kindNone // a kernel line of no interest
		default:
			e.Src = netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(256))})
			if rng.IntN(3) == 0 {
				e.Src = netip.AddrFrom4([4]byte{10, 0, 0, byte(2 + rng.IntN(200))})
			}
			e.Port = []int{22, 80, 443, 53, 3389, 23}[rng.IntN(6)]
		}
		return e
	}
}

// renderPacket writes a packet as kern.log has it.
func renderPacket(e genEvent, i int64) string {
	head := fmt.Sprintf("%s gw kernel: [%d.%06d] ", e.Time.Format(time.Stamp), 86400+i/20, (i%20)*50000)
	switch {
	case e.Garbled:
		return head + "[FW DROP] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.300 DST=192.0.2.10 LEN=60 TTL=51 ID=1 PROTO=TCP SPT=1 DPT=22"
	case e.Kind == kindNone:
		return head + "e1000e: eth1 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None"
	case e.Proto == "ICMP":
		return head + fmt.Sprintf("[FW DROP] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=%s DST=192.0.2.10 LEN=84 TOS=0x00 PREC=0x00 TTL=55 ID=%d DF PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=%d",
			e.Src, i%65536, i%100)
	case e.Proto == "UDP":
		return head + fmt.Sprintf("[FW DROP] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=%s DST=192.0.2.10 LEN=84 TOS=0x00 PREC=0x00 TTL=55 ID=%d PROTO=UDP SPT=%d DPT=%d LEN=64",
			e.Src, i%65536, 1024+i%60000, e.Port)
	}
	return head + fmt.Sprintf("[FW DROP] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=%s DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=%d DF PROTO=TCP SPT=%d DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0",
		e.Src, i%65536, 1024+i%60000, e.Port)
}

// auditStep is the time between two lines of the generated audit log;
// minuteLine(m) is the first line of minute m.
const auditStep = 300 * time.Millisecond

func minuteLine(m int) int64 { return int64(time.Duration(m) * time.Minute / auditStep) }

// auditEvent is the API server's audit log: a line every 300 ms. Staff
// and controllers read and write; dev-intern is refused secrets for two
// minutes; alice runs commands in pods now and then; mallory creates a
// role binding, reads secrets 4 minutes later (an escalation) and again
// after 15 (too late to count); carol creates one and reads nothing, and
// bob reads secrets with no binding.
func auditEvent(seed uint64) func(i int64) genEvent {
	return func(i int64) genEvent {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		t := at(i, auditStep, rng, false)
		e := genEvent{Time: t, Kind: kindAudit, Stage: "ResponseComplete", Verb: "get", Code: 200,
			Host: fmt.Sprintf("10.0.1.%d", 2+rng.IntN(50)), Namespace: "prod"}
		rolebinding := func(user, ns, name string) {
			e.User, e.Verb, e.Resource, e.Namespace, e.Name, e.Code = user, "create", "rolebindings", ns, name, 201
		}
		secrets := func(user, verb, ns, name string) {
			e.User, e.Verb, e.Resource, e.Namespace, e.Name = user, verb, "secrets", ns, name
		}
		band := bands(rng.Float64())
		switch i {
		case minuteLine(20):
			rolebinding("mallory", "kube-system", "mallory-admin")
		case minuteLine(24):
			secrets("mallory", "get", "kube-system", "cluster-admin-token")
		case minuteLine(24) + 7:
			secrets("mallory", "list", "kube-system", "")
		case minuteLine(35):
			secrets("mallory", "get", "prod", "db-password") // 15 minutes after: no escalation
		case minuteLine(50):
			rolebinding("carol", "prod", "carol-view")
		case minuteLine(51):
			secrets("bob", "get", "prod", "db-password")
		case minuteLine(52):
			e.User, e.Verb, e.Resource, e.Subresource, e.Name, e.Code = "dev-intern", "create", "pods", "exec", "web-1", 403
		default:
			switch {
			case rng.IntN(500) == 0:
				e.Kind, e.Garbled = kindNone, true
			case during(t, 10, 12) && band(0, 0.15):
				secrets("dev-intern", "get", "prod", fmt.Sprintf("secret-%d", rng.IntN(30)))
				e.Code = 403
			case band(0.15, 0.1505):
				e.User, e.Verb, e.Resource, e.Subresource, e.Name, e.Code = "alice", "create", "pods", "exec", fmt.Sprintf("web-%d", rng.IntN(3)), 101
			case band(0.1505, 0.152):
				secrets("bob", "list", "prod", "")
				e.Code = 403 // now and then, never a burst
			case band(0.152, 0.2):
				e.Kind, e.Stage, e.Code = kindNone, "RequestReceived", 0 // the first stage: not counted
				e.User, e.Resource = "alice", "pods"
			case band(0.2, 0.5):
				e.User, e.Verb, e.Resource = staffUsers[rng.IntN(len(staffUsers))], []string{"get", "list"}[rng.IntN(2)], "pods"
			case band(0.5, 0.6):
				e.User, e.Verb, e.Resource, e.Name = "alice", "patch", "deployments", "web"
			default:
				e.User, e.Verb, e.Resource, e.Namespace = "system:serviceaccount:kube-system:coredns", "watch", "endpointslices", ""
			}
		}
		return e
	}
}

// The JSON of an audit event, as the API server writes it.
type (
	k8sEvent struct {
		Kind                     string         `json:"kind"`
		APIVersion               string         `json:"apiVersion"`
		Level                    string         `json:"level"`
		AuditID                  string         `json:"auditID"`
		Stage                    string         `json:"stage"`
		RequestURI               string         `json:"requestURI"`
		Verb                     string         `json:"verb"`
		User                     k8sUser        `json:"user"`
		SourceIPs                []string       `json:"sourceIPs"`
		UserAgent                string         `json:"userAgent"`
		ObjectRef                k8sObjectRef   `json:"objectRef"`
		ResponseStatus           *k8sStatus     `json:"responseStatus,omitempty"`
		RequestReceivedTimestamp string         `json:"requestReceivedTimestamp"`
		StageTimestamp           string         `json:"stageTimestamp"`
		Annotations              map[string]any `json:"annotations,omitempty"`
	}
	k8sUser struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	}
	k8sObjectRef struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource,omitempty"`
		Namespace   string `json:"namespace,omitempty"`
		Name        string `json:"name,omitempty"`
		APIGroup    string `json:"apiGroup,omitempty"`
		APIVersion  string `json:"apiVersion"`
	}
	k8sStatus struct {
		Metadata struct{} `json:"metadata"`
		Status   string   `json:"status,omitempty"`
		Reason   string   `json:"reason,omitempty"`
		Code     int      `json:"code"`
	}
)

// renderAudit writes an audit event as the log backend does.
func renderAudit(e genEvent, i int64) string {
	if e.Garbled {
		return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"%08x-cut`, i)
	}
	received := e.Time.Add(-time.Duration(1+i%40) * time.Millisecond)
	ev := k8sEvent{Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: "Metadata", AuditID: fmt.Sprintf("%08x-5e1c-4c0e-9b5e-%012x", i, i*7919),
		Stage: e.Stage, Verb: e.Verb, User: k8sUser{Username: e.User, Groups: []string{"system:authenticated"}},
		SourceIPs: []string{e.Host}, UserAgent: "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
		ObjectRef:                k8sObjectRef{Resource: e.Resource, Subresource: e.Subresource, Namespace: e.Namespace, Name: e.Name, APIVersion: "v1"},
		RequestReceivedTimestamp: received.Format("2006-01-02T15:04:05.000000Z"), StageTimestamp: e.Time.Format("2006-01-02T15:04:05.000000Z")}
	if e.Resource == "rolebindings" {
		ev.ObjectRef.APIGroup = "rbac.authorization.k8s.io"
	}
	path := "/api/v1"
	if e.Namespace != "" {
		path += "/namespaces/" + e.Namespace
	}
	path += "/" + e.Resource
	if e.Name != "" {
		path += "/" + e.Name
	}
	if e.Subresource != "" {
		path += "/" + e.Subresource + "?command=sh&stdin=true&tty=true"
	}
	ev.RequestURI = path
	if e.Stage != "RequestReceived" {
		ev.ResponseStatus = &k8sStatus{Code: e.Code}
		decision := "allow"
		if e.Code == 403 {
			ev.ResponseStatus.Status, ev.ResponseStatus.Reason, decision = "Failure", "Forbidden", "forbid"
		}
		ev.Annotations = map[string]any{"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": ""}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return string(b)
}
