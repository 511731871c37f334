package logs

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// Benchmarks report lines parsed per second on one core (run with
// -cpu 1): go test -run - -bench . -benchmem -count 10 ./connectors/logs/
//
// Each parses a small set of realistic lines in turn, so that branch
// predictors do not learn one line.

func benchLines[T any](b *testing.B, lines []string, parse func(string) (T, error)) {
	b.Helper()
	for _, l := range lines {
		if _, err := parse(l); err != nil {
			b.Fatalf("%q: %v", l, err)
		}
	}
	b.ReportAllocs()
	n := 0
	var bytes int64
	cpu0 := cpuTime()
	for b.Loop() {
		l := lines[n%len(lines)]
		parse(l)
		bytes += int64(len(l))
		n++
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(bytes)/1e6/b.Elapsed().Seconds(), "MB/s")
	// On a shared machine the wall time of a line counts the time other
	// processes held the core; the CPU time this process spent does not.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/line")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchAccess = []string{
	`192.168.1.20 - - [09/Nov/2026:14:03:27 +0100] "GET /index.html?q=a+b HTTP/1.1" 200 612 "https://www.example.org/start" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"`,
	`10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET /static/app.3f2a1c.js HTTP/2.0" 304 - "https://www.example.org/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"`,
	`2001:db8:85a3::8a2e:370:7334 - alice [09/Nov/2026:14:03:31 -0230] "POST /api/v1/items HTTP/1.1" 201 87 "-" "okhttp/4.12.0"`,
	`203.0.113.9 - - [09/Nov/2026:14:03:30 +0000] "GET /wp-login.php HTTP/1.1" 404 153 "-" "python-requests/2.31.0"`,
}

// BenchmarkAccess/escapes has one escaped quote per line: the one
// allocation of the unescaped fields.
func BenchmarkAccess(b *testing.B) {
	b.Run("combined", func(b *testing.B) { benchLines(b, benchAccess, ParseAccess) })
	b.Run("escapes", func(b *testing.B) {
		benchLines(b, []string{`10.1.2.3 - - [09/Nov/2026:14:03:29 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (compatible; \"Bot\" 1.0)"`}, ParseAccess)
	})
}

var benchSyslog3164 = []string{
	"Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
	"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
	"Dec 10 07:07:38 LabSZ sshd[24206]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=52.80.34.196  user=root",
	"<86>Dec 10 07:08:28 web1 sudo[771]: pam_unix(sudo:session): session opened for user root by alice(uid=0)",
}

var benchSyslog5424 = []string{
	`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry`,
	`<34>1 2024-05-06T07:08:09.123456+02:00 web1.example.com nginx 1234 - - upstream timed out (110: Connection timed out) while reading response header`,
}

func BenchmarkSyslog(b *testing.B) {
	b.Run("rfc3164", func(b *testing.B) {
		p := SyslogParser{Year: 2015}
		benchLines(b, benchSyslog3164, p.Parse)
	})
	b.Run("rfc3164/now", func(b *testing.B) { benchLines(b, benchSyslog3164, ParseSyslog) })
	b.Run("rfc5424", func(b *testing.B) { benchLines(b, benchSyslog5424, ParseSyslog) })
}

// The most frequent messages of an sshd log under attack (Loghub's
// OpenSSH_2k.log: disconnects, PAM failures, failed passwords).
var benchSSHD = []string{
	"Received disconnect from 112.95.230.3: 11: Bye Bye [preauth]",
	"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=112.95.230.3  user=root",
	"Failed password for root from 112.95.230.3 port 44838 ssh2",
	"Failed password for invalid user admin from 5.188.10.180 port 36279 ssh2",
	"Invalid user webmaster from 173.234.31.186",
	"pam_unix(sshd:auth): check pass; user unknown",
}

func BenchmarkSSHD(b *testing.B) { benchLines(b, benchSSHD, ParseSSHD) }

var benchNetfilter = []string{
	"Dec 10 06:55:46 fw1 kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=54321 DF PROTO=TCP SPT=51514 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ",
	"Dec 10 06:55:47 fw1 kernel: [12345.912345] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.100.7 DST=192.0.2.10 LEN=40 TOS=0x00 PREC=0x00 TTL=240 ID=4242 PROTO=UDP SPT=40000 DPT=111 LEN=20 ",
	"Dec 10 06:55:48 fw1 kernel: DROP6: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:86:dd SRC=2001:db8::7 DST=2001:db8::10 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=327680 PROTO=TCP SPT=5353 DPT=2049 WINDOW=1024 RES=0x00 SYN URGP=0 ",
}

func BenchmarkNetfilter(b *testing.B) {
	p := NetfilterParser{Syslog: SyslogParser{Year: 2024}}
	benchLines(b, benchNetfilter, p.Parse)
}

// BenchmarkAccessOneLine parses one nginx line in the Combined format,
// over and over: the parser's cost without the variety of a log.
func BenchmarkAccessOneLine(b *testing.B) {
	benchLines(b, []string{accessLines[2].line}, ParseAccess)
}

// BenchmarkK8sAudit parses the events of testdata/audit.jsonl (0.5 to
// 2.9 kB, one with request and response bodies); BenchmarkK8sAuditEncodingJSON
// reads the same fields with encoding/json into a struct, the baseline
// that made fastjson worth its dependency.
//
// events=all is the seven events in turn; events=metadata leaves out the
// one with bodies (the Metadata level most audit policies log at).
//
// BenchmarkK8sAuditParser is the same with one AuditParser kept by the
// caller, as a job's operator keeps one.
func BenchmarkK8sAudit(b *testing.B) {
	for _, c := range auditBenchSets(b) {
		b.Run("events="+c.name, func(b *testing.B) { benchLines(b, c.lines, ParseK8sAudit) })
	}
}

func BenchmarkK8sAuditParser(b *testing.B) {
	for _, c := range auditBenchSets(b) {
		b.Run("events="+c.name, func(b *testing.B) {
			var p AuditParser
			benchLines(b, c.lines, p.Parse)
		})
	}
}

func BenchmarkK8sAuditEncodingJSON(b *testing.B) {
	for _, c := range auditBenchSets(b) {
		b.Run("events="+c.name, func(b *testing.B) {
			benchLines(b, c.lines, func(s string) (Audit, error) {
				var j auditJSON
				err := json.Unmarshal([]byte(s), &j)
				return j.audit(), err
			})
		})
	}
}

func auditBenchSets(b *testing.B) []struct {
	name  string
	lines []string
} {
	all := auditLines(b)
	var meta []string
	for _, l := range all {
		if !strings.Contains(l, `"requestObject"`) {
			meta = append(meta, l)
		}
	}
	return []struct {
		name  string
		lines []string
	}{{"all", all}, {"metadata", meta}}
}

// BenchmarkK8sAuditFastjson is fastjson's parse of the same lines and
// nothing more (no field read, no event made): the floor of a parser on
// fastjson, the same-run baseline for BenchmarkK8sAuditParser on a busy
// machine.
func BenchmarkK8sAuditFastjson(b *testing.B) {
	for _, c := range auditBenchSets(b) {
		b.Run("events="+c.name, func(b *testing.B) {
			var p fastjson.Parser
			benchLines(b, c.lines, func(s string) (*fastjson.Value, error) { return p.Parse(s) })
		})
	}
}
