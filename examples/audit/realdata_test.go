package main

import (
	"encoding/csv"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// realSSHD is Loghub's sshd sample (see ../shared/data/README.md), from
// this package's directory.
const (
	realSSHD    = "../../../shared/data/loghub/OpenSSH_2k.log"
	realSSHDCSV = "../../../shared/data/loghub/OpenSSH_2k.log_structured.csv"
	// realLinux is Loghub's Linux syslog sample: sshd of an older system,
	// whose failed passwords PAM logs under the tag sshd(pam_unix).
	realLinux    = "../../../shared/data/loghub/Linux_2k.log"
	realLinuxCSV = "../../../shared/data/loghub/Linux_2k.log_structured.csv"
)

// An sshdFact is a line of the sample that matters, as the dataset's own
// structured parse of it says.
type sshdFact struct {
	kind Kind
	at   time.Time
	ip   string
	user string
	n    int64
}

// The templates of the structured CSV that the job counts, with a regexp
// of each line's content: what kind of event, the user (or none), the
// client's address, and the attempts ("message repeated N times").
var sshdTemplates = map[string]struct {
	kind Kind
	re   *regexp.Regexp // groups: user, ip, n (each where the template has it)
}{
	"E1":  {kindAccepted, regexp.MustCompile(`^Accepted password for (.+) from (\S+) port \d+ ssh2$`)},
	"E3":  {kindNoIdent, regexp.MustCompile(`^Did not receive identification string from ()(\S+)$`)},
	"E8":  {kindFailed, regexp.MustCompile(`^Failed none for invalid user (.+) from (\S+) port \d+ ssh2$`)},
	"E9":  {kindFailed, regexp.MustCompile(`^Failed password for (.+) from (\S+) port \d+ ssh2$`)},
	"E10": {kindFailed, regexp.MustCompile(`^Failed password for invalid user (.+) from (\S+) port \d+ ssh2$`)},
	"E13": {kindInvalidUser, regexp.MustCompile(`^Invalid user (.*) from (\S+)$`)},
	"E14": {kindFailed, regexp.MustCompile(`^message repeated (\d+) times: \[ Failed password for (.+) from (\S+) port \d+ ssh2\]$`)},
}

// readSSHDFacts reads the facts of the structured CSV, its times in year.
func readSSHDFacts(t *testing.T, year int) []sshdFact {
	t.Helper()
	rows := readCSV(t, realSSHDCSV)
	if len(rows) != 2001 {
		t.Fatalf("%d rows in %s, want a header and 2000", len(rows), realSSHDCSV)
	}
	var facts []sshdFact
	for _, row := range rows[1:] {
		// LineId,Date,Day,Time,Component,Pid,Content,EventId,EventTemplate
		tmpl, ok := sshdTemplates[row[7]]
		if !ok {
			continue
		}
		at, err := time.Parse("2006 Jan 2 15:04:05", fmt.Sprintf("%d %s %s %s", year, row[1], row[2], row[3]))
		if err != nil {
			t.Fatalf("row %s: %v", row[0], err)
		}
		m := tmpl.re.FindStringSubmatch(row[6])
		if m == nil {
			t.Fatalf("row %s: %q does not fit template %s", row[0], row[6], row[7])
		}
		fact := sshdFact{kind: tmpl.kind, at: at, user: m[1], ip: m[2], n: 1}
		if row[7] == "E14" {
			fact.n, _ = strconv.ParseInt(m[1], 10, 64)
			fact.user, fact.ip = m[2], m[3]
		}
		facts = append(facts, fact)
	}
	return facts
}

// expectedSSHD derives, from the facts alone, the BRUTE, INVALID and
// SESSION findings of cfg's thresholds, as the records that record makes
// of the job's JSON.
func expectedSSHD(facts []sshdFact, cfg config) []string {
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	var want []string
	// BRUTE: failed logins per client in [s, s+60s) for every s a
	// multiple of 10 s.
	type win struct {
		ip    string
		start time.Time
	}
	brute := map[win]int64{}
	invalid := map[win][]string{}
	for _, f := range facts {
		switch f.kind {
		case kindFailed:
			first := f.at.Truncate(10 * time.Second).Add(-50 * time.Second)
			for s := first; !s.After(f.at); s = s.Add(10 * time.Second) {
				brute[win{f.ip, s}] += f.n
			}
		case kindInvalidUser:
			w := win{f.ip, f.at.Truncate(time.Minute)}
			invalid[w] = append(invalid[w], f.user)
		}
	}
	for w, n := range brute {
		if n > cfg.bruteForce {
			want = append(want, fmt.Sprintf("brute %s %s %d", w.ip, stamp(w.start), n))
		}
	}
	for w, users := range invalid {
		if int64(len(users)) > cfg.invalidUsers {
			want = append(want, fmt.Sprintf("invalid %s %s %d %q", w.ip, stamp(w.start), len(users), distinct(users)))
		}
	}
	// SESSION: a client's facts, split where two are 5 minutes apart or
	// more.
	byIP := map[string][]sshdFact{}
	for _, f := range facts {
		byIP[f.ip] = append(byIP[f.ip], f)
	}
	for ip, fs := range byIP {
		slices.SortStableFunc(fs, func(a, b sshdFact) int { return a.at.Compare(b.at) })
		for len(fs) > 0 {
			end := 1
			for end < len(fs) && fs[end].at.Sub(fs[end-1].at) < 5*time.Minute {
				end++
			}
			var failed, noIdent, inv, accepted int64
			var users []string
			for _, f := range fs[:end] {
				switch f.kind {
				case kindFailed:
					failed += f.n
				case kindNoIdent:
					noIdent++
				case kindInvalidUser:
					inv++
				case kindAccepted:
					accepted++
				}
				if f.user != "" {
					users = append(users, f.user)
				}
			}
			if failed+noIdent >= cfg.sessionAttempts {
				want = append(want, fmt.Sprintf("session %s %s %s attempts=%d failed=%d noident=%d invalid=%d accepted=%d %q",
					ip, stamp(fs[0].at), stamp(fs[end-1].at), failed+noIdent, failed, noIdent, inv, accepted, distinct(users)))
			}
			fs = fs[end:]
		}
	}
	slices.Sort(want)
	return want
}

// distinct is the sorted set of users.
func distinct(users []string) []string {
	set := map[string]bool{}
	for _, u := range users {
		set[u] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// record is a finding of the job's JSON as the test's own text, to
// compare with what the test expects. Numbers are JSON's float64.
func record(t *testing.T, f map[string]any) string {
	t.Helper()
	users := func() []string {
		var us []string
		for _, u := range f["users"].([]any) {
			us = append(us, u.(string))
		}
		return us
	}
	switch f["section"] {
	case "brute":
		return fmt.Sprintf("brute %s %s %v", f["client"], f["start"], f["failed"])
	case "invalid":
		return fmt.Sprintf("invalid %s %s %v %q", f["client"], f["start"], f["attempts"], users())
	case "session":
		return fmt.Sprintf("session %s %s %s attempts=%v failed=%v noident=%v invalid=%v accepted=%v %q", f["client"], f["first"], f["last"],
			f["attempts"], f["failed"], f["noident"], f["invalid"], f["accepted"], users())
	case "scan":
		return fmt.Sprintf("scan %s %s %v %v-%v", f["source"], f["start"], f["ports"], f["lowest"], f["highest"])
	case "probe":
		return fmt.Sprintf("probe %s %s %v %v", f["source"], f["start"], f["port"], f["packets"])
	case "denied":
		return fmt.Sprintf("denied %s %s %v", f["user"], f["start"], f["refused"])
	case "exec":
		return fmt.Sprintf("exec %s %s %s/%s %v", f["at"], f["user"], f["namespace"], f["pod"], f["code"])
	case "escalate":
		b, r := f["binding"].(map[string]any), f["read"].(map[string]any)
		return fmt.Sprintf("escalate %s %s %s/%s %s %s %s/%s", f["user"], b["at"], b["namespace"], b["name"], r["at"], r["verb"], r["namespace"], r["name"])
	}
	t.Fatalf("a finding of no known section: %v", f)
	return ""
}

// records are the job's -json findings as records, sorted.
func records(t *testing.T, out string) []string {
	t.Helper()
	var rs []string
	for _, f := range findings(t, out) {
		rs = append(rs, record(t, f))
	}
	slices.Sort(rs)
	return rs
}

// diff says how got and want, both sorted, differ.
func diff(got, want []string) string {
	var b strings.Builder
	i, j, shown := 0, 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || i < len(want) && want[i] < got[j]:
			if shown++; shown <= 10 {
				fmt.Fprintf(&b, "- %s\n", want[i])
			}
			i++
		case i == len(want) || want[i] > got[j]:
			if shown++; shown <= 10 {
				fmt.Fprintf(&b, "+ %s\n", got[j])
			}
			j++
		default:
			i++
			j++
		}
	}
	return fmt.Sprintf("%d differences (- expected, + got):\n%s", shown, b.String())
}

// The job over Loghub's real sshd log finds exactly what the dataset's
// own structured parse of each line says, counted directly: every
// sliding minute's failed logins per client, every minute's invalid users,
// every session (thresholds 0: all of them), and with the default
// thresholds the alerts among them. Every line is read: none is a dead
// letter.
func TestRealSSHDLogAgainstStructuredCSV(t *testing.T) {
	if _, err := os.Stat(realSSHD); err != nil {
		t.Skipf("the real sshd sample is absent (%v): see ../shared/data/README.md", err)
	}
	facts := readSSHDFacts(t, 2015)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"every window", []string{"-brute-force", "0", "-invalid-users", "0", "-session-attempts", "0"}},
		{"alerts", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := flags(t, append(c.args, "-json", "-year", "2015", realSSHD)...)
			r := runJob(t, cfg)
			want := expectedSSHD(facts, cfg)
			if len(want) < 20 {
				t.Fatalf("only %d findings expected: the test reads the sample wrong", len(want))
			}
			if got := records(t, r.out); !slices.Equal(got, want) {
				t.Fatalf("the job's findings differ from the CSV's: %s", diff(got, want))
			}
			if len(r.dead) != 0 {
				t.Errorf("dead letters of a sample whose every line is sshd's: %q", r.dead)
			}
			// The events are the facts, every other line skipped.
			sum := fmt.Sprintf("audit: %s (sshd): 2000 lines, %d events, %d skipped, 0 dead letters", realSSHD, len(facts), 2000-len(facts))
			if !slices.Contains(r.summary, sum) {
				t.Errorf("summary %q, want %q", r.summary, sum)
			}
			t.Logf("%d findings", len(want))
		})
	}
}

// On an older system's syslog (Loghub's Linux sample), sshd's failed
// passwords are PAM's "authentication failure" lines under the tag
// sshd(pam_unix): the job counts each as a failed login of its rhost, and
// finds every sliding minute's count the dataset's own parse gives.
func TestRealLinuxSyslogPAMFailures(t *testing.T) {
	if _, err := os.Stat(realLinux); err != nil {
		t.Skipf("the real Linux syslog sample is absent (%v): see ../shared/data/README.md", err)
	}
	rows := readCSV(t, realLinuxCSV)
	rhost := regexp.MustCompile(`^authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=(\S+)(?:  user=(\S+))?$`)
	var facts []sshdFact
	for _, row := range rows[1:] {
		// LineId,Month,Date,Time,Level,Component,PID,Content,EventId,EventTemplate
		if row[5] != "sshd(pam_unix)" || !strings.HasPrefix(row[7], "authentication failure;") {
			continue
		}
		m := rhost.FindStringSubmatch(strings.TrimSpace(row[7]))
		if m == nil {
			t.Fatalf("row %s: %q is not a PAM failure the test knows", row[0], row[7])
		}
		at, err := time.Parse("2006 Jan 2 15:04:05", fmt.Sprintf("2005 %s %s %s", row[1], row[2], row[3]))
		if err != nil {
			t.Fatalf("row %s: %v", row[0], err)
		}
		facts = append(facts, sshdFact{kind: kindFailed, at: at, ip: m[1], user: m[2], n: 1})
	}
	if len(facts) != 489 {
		t.Fatalf("%d PAM failures in the CSV, want the sample's 489", len(facts))
	}
	cfg := flags(t, "-format", "sshd", "-brute-force", "0", "-invalid-users", "0", "-session-attempts", "0", "-json", "-year", "2005", realLinux)
	r := runJob(t, cfg)
	want := expectedSSHD(facts, cfg)
	if got := records(t, r.out); !slices.Equal(got, want) {
		t.Fatalf("the job's findings differ from the CSV's: %s", diff(got, want))
	}
	sum := fmt.Sprintf("audit: %s (sshd): 2000 lines, %d events, %d skipped, 0 dead letters", realLinux, len(facts), 2000-len(facts))
	if !slices.Contains(r.summary, sum) {
		t.Errorf("summary %q, want %q", r.summary, sum)
	}
}

// readCSV reads all the rows of a structured CSV of the dataset.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
