package logs

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Real logs from Loghub (Zhu et al., "Loghub: A Large Collection of System
// Log Datasets for AI-driven Log Analytics", ISSRE 2023), with the
// dataset's own parse of every line in *_structured.csv. They live beside
// the project, in ../shared/data from its root (see its README), and are
// not copied into it: these tests skip when they are absent.
const loghubDir = "../../../shared/data/loghub"

// loghub reads a log and its structured CSV, one row per line.
func loghub(t *testing.T, name string) (lines []string, rows []map[string]string) {
	t.Helper()
	logPath := filepath.Join(loghubDir, name)
	f, err := os.Open(logPath)
	if os.IsNotExist(err) {
		t.Skipf("the Loghub sample %s is absent (it lives in ../shared/data beside the project's root, not in it)", logPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text()) // with the \r of its CRLF ends: the parsers must cope
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	c, err := os.Open(logPath + "_structured.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs, err := csv.NewReader(c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		rows = append(rows, row)
	}
	if len(rows) != len(lines) {
		t.Fatalf("%s: %d lines, %d rows in its CSV", name, len(lines), len(rows))
	}
	return lines, rows
}

// checkSyslogRow compares a parsed line with its row of the CSV.
func checkSyslogRow(t *testing.T, n int, line string, m Syslog, month, day, clock, host, app, pid, content string) {
	t.Helper()
	d, _ := strconv.Atoi(day)
	var errs []string
	if m.Time.Month().String()[:3] != month || m.Time.Day() != d || m.Time.Format("15:04:05") != clock {
		errs = append(errs, "time "+m.Time.String()+", want "+month+" "+day+" "+clock)
	}
	if m.Host != host {
		errs = append(errs, "host "+strconv.Quote(m.Host)+", want "+strconv.Quote(host))
	}
	if m.App != app {
		errs = append(errs, "app "+strconv.Quote(m.App)+", want "+strconv.Quote(app))
	}
	if m.PID != pid {
		errs = append(errs, "pid "+strconv.Quote(m.PID)+", want "+strconv.Quote(pid))
	}
	// The CSV trims the content's blanks (the kernel's indents, a trailing
	// space of pam_unix).
	if got := strings.TrimSpace(m.Message); got != content {
		errs = append(errs, "message "+strconv.Quote(got)+", want "+strconv.Quote(content))
	}
	if errs != nil {
		t.Errorf("line %d: %q: %s", n, line, strings.Join(errs, "; "))
	}
}

// Every line of Linux_2k.log (sysklogd, June to July of one year: sshd,
// su, ftpd, kernel, ... and two irregular tags) parses, and gives the
// time, host, tag, pid and message of the dataset's parse.
func TestLoghubLinuxSyslog(t *testing.T) {
	lines, rows := loghub(t, "Linux_2k.log")
	p := SyslogParser{Year: 2005}
	parsed := 0
	for i, line := range lines {
		m, err := p.Parse(line)
		if err != nil {
			t.Errorf("line %d: %q: %v", i+1, line, err)
			continue
		}
		parsed++
		r := rows[i]
		checkSyslogRow(t, i+1, line, m, r["Month"], r["Date"], r["Time"], r["Level"], r["Component"], r["PID"], r["Content"])
		if m.Time.Year() != 2005 {
			t.Errorf("line %d: year %d, want 2005", i+1, m.Time.Year())
		}
	}
	t.Logf("Linux_2k.log: %d lines, %d parsed, %d refused", len(lines), parsed, len(lines)-parsed)
}

// Every line of OpenSSH_2k.log (an sshd auth log, 10 December) parses,
// and gives the time, host, pid and message of the dataset's parse; the
// tag is sshd throughout.
func TestLoghubOpenSSHSyslog(t *testing.T) {
	lines, rows := loghub(t, "OpenSSH_2k.log")
	// The file's last line is of 10 December: a reference in January
	// puts it in the year before.
	p := SyslogParser{Reference: time.Date(2016, 1, 4, 0, 0, 0, 0, time.UTC)}
	parsed := 0
	for i, line := range lines {
		m, err := p.Parse(line)
		if err != nil {
			t.Errorf("line %d: %q: %v", i+1, line, err)
			continue
		}
		parsed++
		r := rows[i]
		checkSyslogRow(t, i+1, line, m, r["Date"], r["Day"], r["Time"], r["Component"], "sshd", r["Pid"], r["Content"])
		if m.Time.Year() != 2015 {
			t.Errorf("line %d: year %d, want 2015", i+1, m.Time.Year())
		}
	}
	t.Logf("OpenSSH_2k.log: %d lines, %d parsed, %d refused", len(lines), parsed, len(lines)-parsed)
}
