package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/braidstream/braid/internal/cmdtest"
)

// failedAt is an sshd line of a failed login for root from ip at
// 06:mm:ss on Dec 10.
func failedAt(mm, ss int, ip string) string {
	return fmt.Sprintf("Dec 10 06:%02d:%02d LabSZ sshd[1]: Failed password for root from %s port 22 ssh2", mm, ss, ip)
}

// A FILE is a glob: rotated generations (a .gz one too) are read oldest
// first with the current file, as one log: an attacker's session runs
// across all three, and a dead letter names the generation it is in.
func TestGlobReadsRotatedGenerations(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, ls ...string) {
		b := []byte(strings.Join(ls, "\n") + "\n")
		if strings.HasSuffix(name, ".gz") {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(b)
			w.Close()
			b = z.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("auth.log.2.gz", failedAt(50, 0, "1.2.3.4"), failedAt(50, 10, "1.2.3.4"))
	write("auth.log.1", failedAt(52, 0, "1.2.3.4"), "Dec 10 06:52:01 LabSZ sshd[1]: Failed password for root from")
	write("auth.log", failedAt(54, 0, "1.2.3.4"), failedAt(54, 30, "1.2.3.4"))
	glob := filepath.Join(dir, "auth.log*")
	r := runJob(t, flags(t, "-year", "2015", "-json", "-session-attempts", "0", glob))
	got := records(t, r.out)
	want := []string{`session 1.2.3.4 2015-12-10T06:50:00Z 2015-12-10T06:54:30Z attempts=5 failed=5 noident=0 invalid=0 accepted=0 ["root"]`}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %q, want %q", got, want)
	}
	if len(r.dead) != 1 || !strings.Contains(r.dead[0], `"where":"`+filepath.Join(dir, "auth.log.1")+`:2 (byte 82)"`) {
		t.Errorf("dead letters %q, want line 2 of auth.log.1", r.dead)
	}
	if !slices.Contains(r.summary, "audit: "+glob+" (sshd): 6 lines, 5 events, 0 skipped, 1 dead letters") {
		t.Errorf("summary %q", r.summary)
	}
}

// A file with both sshd's lines and packets (syslog) is told as such and
// feeds the analyses of both.
func TestSyslogWithSSHDAndPackets(t *testing.T) {
	var ls []string
	for i := range 25 {
		ls = append(ls, fmt.Sprintf("Dec 10 06:55:%02d gw kernel: [%d.5] [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.66 DST=192.0.2.10 LEN=60 TTL=51 ID=1 PROTO=TCP SPT=40000 DPT=%d", i, i, 1000+i))
		if i%2 == 0 {
			ls = append(ls, failedAt(55, i, "192.0.2.66"))
		}
	}
	ls = append(ls, "Dec 10 06:55:30 gw CRON[2]: (root) CMD (true)")
	path := writeFile(t, "syslog", ls...)
	r := runJob(t, flags(t, "-year", "2015", "-json", "-session-attempts", "13", "-brute-force", "12", path))
	got := records(t, r.out)
	want := []string{ // the sliding minutes that hold all 13 failed logins
		"brute 192.0.2.66 2015-12-10T06:54:30Z 13",
		"brute 192.0.2.66 2015-12-10T06:54:40Z 13",
		"brute 192.0.2.66 2015-12-10T06:54:50Z 13",
		"brute 192.0.2.66 2015-12-10T06:55:00Z 13",
		"scan 192.0.2.66 2015-12-10T06:55:00Z 25 1000-1024",
		`session 192.0.2.66 2015-12-10T06:55:00Z 2015-12-10T06:55:24Z attempts=13 failed=13 noident=0 invalid=0 accepted=0 ["root"]`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %q, want %q", got, want)
	}
	if !slices.Contains(r.summary, "audit: "+path+" (syslog): 39 lines, 38 events, 1 skipped, 0 dead letters") {
		t.Errorf("summary %q", r.summary)
	}
}

// With -follow the job reads lines as they are appended, through a
// rotation (the file renamed and a new one created), and prints a finding
// once event time has passed its window, while it runs; it ends when
// cancelled, with its summary.
func TestFollowThroughRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	appendLines := func(ls ...string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(strings.Join(ls, "\n") + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	appendLines(failedAt(50, 0, "1.2.3.4"))
	cfg := flags(t, "-follow", "-year", "2015", "-brute-force", "2", filepath.Join(dir, "auth.log*"))
	cfg.deadLetters = filepath.Join(t.TempDir(), "dead.txt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := cmdtest.NewRunning()
	go func() { job.Done <- run(ctx, cfg, &job.Out, &job.ErrOut) }()
	appendLines(failedAt(50, 5, "1.2.3.4"), failedAt(50, 9, "1.2.3.4"), failedAt(52, 30, "5.6.7.8"))
	job.WaitFor(t, "BRUTE    [2015-12-10 06:49:10, 06:50:10)  1.2.3.4              3 failed logins")
	// Rotate: the old file renamed, a new one created; its lines follow.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(failedAt(53, 0, "5.6.7.8"), failedAt(53, 1, "5.6.7.8"), failedAt(56, 0, "9.9.9.9"))
	job.WaitFor(t, "BRUTE    [2015-12-10 06:52:10, 06:53:10)  5.6.7.8              3 failed logins")
	cancel()
	if err := <-job.Done; err != nil && err != context.Canceled {
		t.Fatalf("the job: %v", err)
	}
	if s := job.ErrOut.String(); !strings.Contains(s, "(sshd): 7 lines, 7 events, 0 skipped, 0 dead letters") {
		t.Errorf("summary %q", s)
	}
}
