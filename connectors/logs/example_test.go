package logs_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/braidstream/braid/connectors/logs"
)

// A few lines of each format, parsed. In a job each parser goes to
// stream.MapErr, wrapped in logs.At when the lines are logs.Lines.
func Example() {
	// Web access logs: nginx's and Apache's combined format.
	a, _ := logs.ParseAccess(`203.0.113.9 - - [10/Oct/2024:13:55:36 -0700] "GET /wp-login.php HTTP/1.1" 404 153 "-" "python-requests/2.31.0"`)
	fmt.Println("access:", a.Client, a.Method, a.Path, a.Status, a.Time.UTC().Format(time.RFC3339), a.UserAgent)

	// Syslog, BSD and RFC 5424. BSD timestamps have no year: a
	// SyslogParser chooses it (here, given) and carries it across New Year.
	p := logs.SyslogParser{Year: 2024}
	for _, line := range []string{
		"Dec 31 23:59:58 LabSZ sshd[24200]: Failed password for invalid user admin from 198.51.100.7 port 50719 ssh2",
		"Jan  1 00:00:03 LabSZ sshd[24200]: Accepted publickey for alice from 2001:db8::7 port 51234 ssh2: ED25519 SHA256:mU7bJ6j5",
	} {
		m, _ := p.Parse(line)
		// sshd's message says what happened.
		e, _ := logs.ParseSSHD(m.Message)
		fmt.Println("sshd:", m.Time.Format(time.DateTime), m.Host, m.App, m.PID, "|", e.Kind, e.User, e.InvalidUser, e.Addr, e.Port)
	}
	m, _ := logs.ParseSyslog(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event`)
	src, _ := m.StructuredData.Lookup("exampleSDID@32473", "eventSource")
	fmt.Println("rfc5424:", m.Facility, m.Severity, m.Host, m.App, m.MsgID, src, "|", m.Message)

	// Netfilter: a packet an iptables LOG rule (here ufw's) logged.
	nf := logs.NetfilterParser{Syslog: logs.SyslogParser{Year: 2024}}
	pk, _ := nf.Parse("Dec 10 06:55:46 fw1 kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=54321 DF PROTO=TCP SPT=51514 DPT=2049 WINDOW=64240 RES=0x00 SYN URGP=0")
	fmt.Println("netfilter:", pk.Prefix, pk.In, pk.Src, "->", pk.Dst, pk.Proto, pk.DstPort, pk.TCPFlags)

	// A Kubernetes audit event: who was refused what.
	ev, _ := logs.ParseK8sAudit(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0f6b0a4e","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/secrets","verb":"list","user":{"username":"alice","groups":["dev"]},"sourceIPs":["203.0.113.50"],"objectRef":{"resource":"secrets","namespace":"prod","apiVersion":"v1"},"responseStatus":{"metadata":{},"reason":"Forbidden","code":403},"requestReceivedTimestamp":"2024-03-01T12:00:01.000001Z","stageTimestamp":"2024-03-01T12:00:01.001534Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}`)
	fmt.Println("audit:", ev.User.Username, ev.Verb, ev.ObjectRef.Resource, ev.ObjectRef.Namespace, ev.ResponseStatus.Code, ev.Decision, ev.SourceIPs)

	// JSON and CSV lines of one's own.
	type Row struct {
		Host  string
		Bytes int64 `csv:"bytes_sent" json:"bytes"`
	}
	j, _ := logs.JSON[Row]()(`{"host":"web1","bytes":512}`)
	parseCSV := logs.CSV[Row](logs.CSVOptions{})
	_, err := parseCSV("host,bytes_sent") // the header
	c, _ := parseCSV("web2,1024")
	fmt.Println("json:", j.Host, j.Bytes, "csv:", errors.Is(err, logs.ErrCSVHeader), c.Host, c.Bytes)

	// A line that does not parse: the error says where and why.
	_, err = logs.ParseAccess(`203.0.113.9 - - [10/Oct/2024:13:55:36 -0700] "GET / HTTP/1.1" 2OO 153`)
	fmt.Println("error:", err)
	// Output:
	// access: 203.0.113.9 GET /wp-login.php 404 2024-10-10T20:55:36Z python-requests/2.31.0
	// sshd: 2024-12-31 23:59:58 LabSZ sshd 24200 | failed admin true 198.51.100.7 50719
	// sshd: 2025-01-01 00:00:03 LabSZ sshd 24200 | accepted alice false 2001:db8::7 51234
	// rfc5424: local4 notice mymachine.example.com evntslog ID47 Application | An application event
	// netfilter: [UFW BLOCK] eth0 198.51.100.7 -> 192.0.2.10 TCP 2049 SYN
	// audit: alice list secrets prod 403 forbid [203.0.113.50]
	// json: web1 512 csv: true web2 1024
	// error: access log: status at byte 62: want a status of three digits, got "2OO"
}

// At makes a parser of text a parser of Lines: the errors of dead letters
// say where the line was.
func ExampleAt() {
	parse := logs.At(logs.ParseK8sAudit)
	_, err := parse(logs.Line{Text: `{"auditID":"x","verb":5}`, Source: "/var/log/kube-apiserver/audit.log", Offset: 1033, Number: 12})
	fmt.Println(err)
	// Output:
	// /var/log/kube-apiserver/audit.log:12 (byte 1033): audit event: verb: want a string, got number
}
