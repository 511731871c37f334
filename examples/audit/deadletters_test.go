package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Lines that cannot be read are dead letters, each with its place, the
// error and the line itself, in the -deadletters file; the lines around
// them are read and counted; lines of no interest are skipped; an event
// too late for its windows is reported as late, with its place, and not
// counted. The summary counts each file's lines.
func TestDeadLettersWithTheirPlace(t *testing.T) {
	sshdLines := []string{
		"Dec 10 06:55:46 LabSZ sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
		"Dec 10 06:55:47 LabSZ sshd[1]: Failed password for root from",
		"\xff\xfe not a syslog line",
		"Dec 10 06:55:48 LabSZ sshd[1]: Invalid user bob from 1.2.3.4",
		"Dec 10 06:55:49 LabSZ sshd[1]: Failed password for invalid user bob from 1.2.3.4 port 22 ssh2",
		"Dec 10 06:55:50 LabSZ CRON[2]: (root) CMD (true)",
		"Dec 10 06:55:51 LabSZ sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
	}
	sshd := writeFile(t, "auth.log", sshdLines...)
	packet := "IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=%s DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=1 DF PROTO=TCP SPT=1 DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0"
	kernLines := []string{
		"Dec 10 06:55:46 gw kernel: [1.000000] " + fmt.Sprintf(packet, "198.51.100.7", 111),
		fmt.Sprintf(packet, "198.51.100.7", 112),
		"Dec 10 06:55:47 gw kernel: [2.000000] " + fmt.Sprintf(packet, "198.51.100", 113),
		"Dec 10 06:55:48 gw kernel: [3.000000] e1000e: eth1 NIC Link is Up",
		"Dec 10 06:55:49 gw kernel: [4.000000] " + fmt.Sprintf(packet, "198.51.100.7", 2049),
	}
	kern := writeFile(t, "kern.log", kernLines...)
	event := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"%s","stage":"%s","verb":"get",` +
		`"user":{"username":"eve"},"sourceIPs":["203.0.113.9"],"objectRef":{"resource":"secrets","namespace":"prod","name":"db"},` +
		`"responseStatus":{"code":403},"requestReceivedTimestamp":"2015-12-10T06:55:4%dZ","stageTimestamp":"2015-12-10T06:55:4%dZ"}`
	auditLines := []string{
		fmt.Sprintf(event, "a1", "ResponseComplete", 6, 6),
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a2","stage":`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete"}`,
		fmt.Sprintf(event, "a4", "RequestReceived", 7, 7),
		fmt.Sprintf(event, "a5", "ResponseComplete", 8, 8),
	}
	audit := writeFile(t, "audit.log", auditLines...)
	cfg := flags(t, "-year", "2015", "-brute-force", "0", "-invalid-users", "0", "-session-attempts", "0", "-denied", "0", sshd, kern, audit)
	r := runJob(t, cfg)

	want := []struct{ where, err, line string }{
		{lineAt(sshd, sshdLines, 2), `sshd: `, sshdLines[1]},
		{lineAt(sshd, sshdLines, 3), `syslog: `, sshdLines[2]},
		{lineAt(kern, kernLines, 2), "the line has no timestamp", kernLines[1]},
		{lineAt(kern, kernLines, 3), `netfilter: SRC at byte `, kernLines[2]},
		{lineAt(audit, auditLines, 2), "audit event: ", auditLines[1]},
		{lineAt(audit, auditLines, 3), "audit event: ", auditLines[2]},
	}
	got := slices.Clone(r.dead)
	slices.Sort(got)
	if len(got) != len(want) {
		t.Fatalf("%d dead letters, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		prefix := w.where + ": " + w.err
		tail := ""
		if w.line != "" {
			tail = ": " + strconv.Quote(w.line)
		}
		if !strings.HasPrefix(got[i], prefix) || !strings.HasSuffix(got[i], tail) {
			t.Errorf("dead letter %q, want %q...%q", got[i], prefix, tail)
		}
	}
	for _, s := range []string{
		"audit: " + sshd + " (sshd): 7 lines, 4 events, 1 skipped, 2 dead letters",
		"audit: " + kern + " (netfilter): 5 lines, 2 events, 1 skipped, 2 dead letters",
		"audit: " + audit + " (k8s): 5 lines, 2 events, 1 skipped, 2 dead letters",
		"audit: 6 dead letters and 0 late events in " + r.deadPath,
	} {
		if !slices.Contains(r.summary, s) {
			t.Errorf("no %q in the summary %q", s, r.summary)
		}
	}
	// The events around the dead letters count.
	for _, f := range []string{
		"BRUTE    [2015-12-10 06:55:00, 06:56:00)  1.2.3.4              3 failed logins",
		"PROBE    [2015-12-10 06:55:00, 06:56:00)  198.51.100.7    port 111   (rpcbind)      1 packets",
		"PROBE    [2015-12-10 06:55:00, 06:56:00)  198.51.100.7    port 2049  (nfs)          1 packets",
		"DENIED   [2015-12-10 06:55:00, 07:00:00)  eve                  2 requests refused",
	} {
		if !strings.Contains(r.out, "\n"+f+"\n") {
			t.Errorf("no %q in the output:\n%s", f, r.out)
		}
	}
}

// An event too late for its windows (more than -bound behind the latest
// line before it, and its windows closed) is reported as late, with its
// place, once per analysis it missed, and not counted. (In one file: the
// event time of several files is the least of theirs, so which events are
// late then also depends on how fast each file is read.)
func TestLateEventsAreReported(t *testing.T) {
	ls := []string{
		"Dec 10 06:55:46 LabSZ sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
		"Dec 10 06:55:45 LabSZ sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2", // within -bound
		"Dec 10 06:50:00 LabSZ sshd[1]: Failed password for root from 1.2.3.4 port 2222 ssh2",
		"Dec 10 06:55:51 LabSZ sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
	}
	path := writeFile(t, "auth.log", ls...)
	cfg := flags(t, "-year", "2015", "-brute-force", "0", "-json", path)
	r := runJob(t, cfg)
	var reasons []string
	for _, d := range r.dead {
		var v struct{ Where, Error string }
		if err := json.Unmarshal([]byte(d), &v); err != nil || v.Where != lineAt(path, ls, 3) {
			t.Fatalf("dead letter %q (%v): want one of line 3", d, err)
		}
		reasons = append(reasons, v.Error)
	}
	slices.Sort(reasons)
	want := []string{"late event (failed login at 2015-12-10T06:50:00Z): its failed-login minute had closed",
		"late event (failed login at 2015-12-10T06:50:00Z): its session had closed"}
	if !slices.Equal(reasons, want) {
		t.Fatalf("late reports %q, want %q", reasons, want)
	}
	if !slices.Contains(r.summary, "audit: 0 dead letters and 2 late events in "+r.deadPath) {
		t.Errorf("summary %q", r.summary)
	}
	for _, f := range findings(t, r.out) {
		if f["section"] == "brute" && f["failed"].(float64) > 3 || f["section"] == "session" && f["failed"].(float64) != 3 {
			t.Errorf("the late login was counted: %v", f)
		}
	}
}

// lineAt is the place of line n (from 1) of the file of lines at path,
// as the dead letters name it: "path:n (byte offset)".
func lineAt(path string, lines []string, n int) string {
	off := 0
	for _, l := range lines[:n-1] {
		off += len(l) + 1
	}
	return fmt.Sprintf("%s:%d (byte %d)", path, n, off)
}

// A line over the sources' limit (1 MiB) is a dead letter naming its
// line, not the end of the job: the lines after it are read.
func TestLongLineIsADeadLetter(t *testing.T) {
	ok := "Dec 10 06:55:46 LabSZ sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2"
	ls := []string{ok, "Dec 10 06:55:47 LabSZ sshd[1]: " + strings.Repeat("x", 3<<20), ok}
	path := writeFile(t, "auth.log", ls...)
	cfg := flags(t, "-year", "2015", "-format", "sshd", "-brute-force", "1", path)
	r := runJob(t, cfg)
	if len(r.dead) != 1 || !strings.HasPrefix(r.dead[0], lineAt(path, ls, 2)+": ") || !strings.Contains(r.dead[0], "over the line limit") || len(r.dead[0]) > 2000 {
		t.Fatalf("dead letters %.300q", r.dead)
	}
	if !strings.Contains(r.out, "  1.2.3.4              2 failed logins") {
		t.Errorf("the lines around the long one were not both counted:\n%s", r.out)
	}
	if !slices.Contains(r.summary, "audit: "+path+" (sshd): 3 lines, 2 events, 0 skipped, 1 dead letters") {
		t.Errorf("summary %q", r.summary)
	}
}

// Each file's format is told from its first lines: Kubernetes audit
// events, packet lines, sshd's lines, both kinds of syslog line; a file
// of other lines is refused, naming it. A .gz file is read through gzip.
func TestDetectFormat(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, ls ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(ls, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cron := "Dec 10 06:55:46 host CRON[1]: (root) CMD (true)"
	sshd := "Dec 10 06:55:46 host sshd[24200]: Invalid user webmaster from 173.234.31.186"
	kern := "Dec 10 06:55:46 host kernel: [12.5] [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TTL=51 ID=1 PROTO=TCP SPT=1 DPT=22"
	k8s := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"x","stage":"ResponseComplete"}`
	for _, c := range []struct {
		path string
		want format
	}{
		{write("auth.log", cron, cron, sshd), formatSSHD},
		{write("kern.log", cron, kern), formatNetfilter},
		{write("dmesg.log", "[12.5] IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TTL=51 ID=1 PROTO=TCP SPT=1 DPT=22"), formatNetfilter},
		{write("syslog", sshd, cron, kern), formatSyslog},
		{write("audit.log", "", k8s), formatK8s},
		{write("sshd-session.log", "Dec 10 06:55:46 host sshd-session[1]: Failed password for root from 1.2.3.4 port 22 ssh2"), formatSSHD},
	} {
		if got, err := detect(c.path); err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", filepath.Base(c.path), got, err, c.want)
		}
	}
	for _, c := range []struct {
		path, want string
	}{
		{write("cron.log", cron, cron), "cannot tell the format of " + filepath.Join(dir, "cron.log") + " from its first 2 lines"},
		{write("other.json", `{"kind":"Pod","apiVersion":"v1"}`), "cannot tell the format"},
		{write("old.log.gz", "this is not what gzip writes"), "old.log.gz: gzip: invalid header"},
	} {
		if got, err := detect(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, %v; want an error %q", filepath.Base(c.path), got, err, c.want)
		}
	}
	// A sshd line after the first 1000 lines is not looked at.
	many := make([]string, sniffLines, sniffLines+1)
	for i := range many {
		many[i] = cron
	}
	if _, err := detect(write("late.log", append(many, sshd)...)); err == nil {
		t.Error("a line past the first 1000 decided the format")
	}
}
