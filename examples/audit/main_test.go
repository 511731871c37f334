package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/cmdtest"
)

// cmd is the command as its tests run it: the test binary re-executed
// with AUDIT_ARGS set (the arguments, one a line) runs main, so that exit
// statuses are tested without building the command.
var cmd = cmdtest.Command{Name: "audit", Env: "AUDIT_ARGS", Timeout: time.Minute}

func TestMain(m *testing.M) {
	cmd.RunIfChild(main)
	code := m.Run()
	if benchLog.dir != "" {
		os.RemoveAll(benchLog.dir)
	}
	os.Exit(code)
}

// runMain runs the command with args and returns its exit status and
// output.
func runMain(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	return cmd.Run(t, args...)
}

// flags is the config of a command line, which must be good.
func flags(t *testing.T, args ...string) config {
	t.Helper()
	var errOut bytes.Buffer
	cfg, err := parseFlags(args, &errOut)
	if err != nil {
		t.Fatalf("%q: %v\n%s", args, err, errOut.String())
	}
	return cfg
}

// A result is what one run of the job wrote.
type result struct {
	deadPath string   // the dead-letter file
	out      string   // stdout
	dead     []string // the dead-letter file's lines
	summary  []string // the lines of the summary, on stderr
}

// runJob runs the job with cfg, its dead letters into a file, and fails
// the test if the job fails.
func runJob(t *testing.T, cfg config) result {
	t.Helper()
	r, err := tryJob(t, cfg)
	if err != nil {
		t.Fatalf("the job failed: %v\nsummary:\n%s", err, strings.Join(r.summary, "\n"))
	}
	return r
}

func tryJob(t *testing.T, cfg config) (result, error) {
	t.Helper()
	if cfg.deadLetters == "" {
		cfg.deadLetters = filepath.Join(t.TempDir(), "dead.txt")
	}
	r, err := cmdtest.Job(t, cfg.deadLetters, 2*time.Minute, func(ctx context.Context, out, errOut io.Writer) error {
		return run(ctx, cfg, out, errOut)
	})
	return result{deadPath: r.DeadPath, out: r.Out, dead: r.Dead, summary: r.Summary}, err
}

// lines splits s into lines, none for "".
var lines = cmdtest.Lines

// findings decodes the -json output into one map per finding.
func findings(t *testing.T, out string) []map[string]any {
	t.Helper()
	var fs []map[string]any
	for _, l := range lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		fs = append(fs, m)
	}
	return fs
}

// writeFile writes lines to name in a temporary directory, one a line,
// and returns its path.
func writeFile(t *testing.T, name string, ls ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(ls, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var badFlags = []struct {
	args []string
	want string // in the message
}{
	{[]string{"-format", "apache", "x.log"}, `invalid value "apache" for flag -format`},
	{[]string{"-format", "sshd"}, "-format needs a FILE"},
	{[]string{"-follow"}, "-follow needs a FILE"},
	{[]string{"-n", "10", "x.log"}, "-n and -seed are of the generated logs"},
	{[]string{"-n", "0"}, "invalid value 0 for flag -n"},
	{[]string{"-year", "-1", "x.log"}, "invalid value -1 for flag -year"},
	{[]string{"-tz", "Mars/Olympus", "x.log"}, `invalid value "Mars/Olympus" for flag -tz`},
	{[]string{"-bound", "-1s", "x.log"}, "invalid value -1s for flag -bound"},
	{[]string{"-idle", "0s", "x.log"}, "invalid value 0s for flag -idle"},
	{[]string{"-brute-force", "-3"}, "invalid value -3 for flag -brute-force"},
	{[]string{"-allow", "10.0.0.0/33"}, `"10.0.0.0/33" is not a network`},
	{[]string{"-allow", "10.0.0.0/8,nonsense"}, `"nonsense" is not a network`},
	{[]string{"-deadletters", ""}, `invalid value "" for flag -deadletters`},
	{[]string{"-checkpoint", ""}, `invalid value "" for flag -checkpoint`},
	{[]string{"-checkpoint-every", "1s"}, "-checkpoint-every needs -checkpoint"},
	{[]string{"-checkpoint", "/tmp/ck", "-checkpoint-every", "0s"}, "invalid value 0s for flag -checkpoint-every"},
	{[]string{"-out", ""}, `invalid value "" for flag -out`},
	{[]string{"-speedup", "60"}, "flag provided but not defined: -speedup"},
	{[]string{""}, "an empty FILE name"},
}

func TestParseFlagsRejects(t *testing.T) {
	for _, c := range badFlags {
		var errOut bytes.Buffer
		if _, err := parseFlags(c.args, &errOut); err == nil {
			t.Errorf("%q accepted", c.args)
		} else if !strings.Contains(errOut.String(), c.want) || !strings.Contains(errOut.String(), "Usage of audit") {
			t.Errorf("%q: reported %q, want %q and the usage", c.args, errOut.String(), c.want)
		}
	}
}

func TestParseFlagsAccepts(t *testing.T) {
	cfg := flags(t)
	if len(cfg.files) != 0 || cfg.format != "auto" || cfg.n != 20_000 || cfg.bruteForce != 10 || len(cfg.allow) != 6 || cfg.tz != time.UTC {
		t.Fatalf("no flags: %+v", cfg)
	}
	cfg = flags(t, "-format", "k8s", "-follow", "-allow", "", "-tz", "Europe/Paris", "-year", "2015", "a.log", "b.log")
	if len(cfg.files) != 2 || cfg.format != "k8s" || !cfg.follow || len(cfg.allow) != 0 || cfg.tz.String() != "Europe/Paris" || cfg.year != 2015 {
		t.Fatalf("%+v", cfg)
	}
}

// The command exits with status 2 and says why on a bad command line;
// with 1 when no line of its input can be read or a file cannot be
// opened or told; with 0 after a good run, whose summary counts the
// lines.
func TestMainExitStatus(t *testing.T) {
	for _, i := range []int{0, 1, 10} {
		c := badFlags[i]
		status, stdout, stderr := runMain(t, c.args...)
		if status != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: status %d, stdout %q, stderr %q; want 2 and %q", c.args, status, stdout, stderr, c.want)
		}
	}
	garbage := writeFile(t, "garbage.log", "not a log line", "nor this one")
	empty := writeFile(t, "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cron := writeFile(t, "cron.log", "Dec 10 06:55:46 host CRON[1]: (root) CMD (run-parts /etc/cron.hourly)")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-format", "sshd", garbage}, "no line could be read: all 2 were dead letters"},
		{[]string{"-format", "k8s", garbage}, "no line could be read: all 2 were dead letters"},
		{[]string{"-format", "sshd", empty}, "no line could be read: the input had no lines"},
		{[]string{empty}, "is empty, so its format cannot be told: give -format"},
		{[]string{garbage}, "cannot tell the format of " + garbage + " from its first 2 lines"},
		{[]string{cron}, "cannot tell the format"},
		{[]string{filepath.Join(t.TempDir(), "missing.log")}, "no such file or directory"},
		{[]string{t.TempDir()}, "is a directory"},
	} {
		status, stdout, stderr := runMain(t, c.args...)
		if status != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: status %d, stderr %q; want 1 and %q", c.args, status, stderr, c.want)
		}
		if strings.Contains(stdout, "\n") && !strings.HasPrefix(stdout, "#") {
			t.Errorf("%q: findings %q", c.args, stdout)
		}
	}
	// A file of lines of no interest is read, and says so.
	status, _, stderr := runMain(t, "-format", "sshd", cron)
	if status != 0 || !strings.Contains(stderr, "1 lines, 0 events, 1 skipped, 0 dead letters") {
		t.Errorf("cron lines as sshd: status %d, stderr %q", status, stderr)
	}
	status, stdout, stderr := runMain(t, "-n", "5000")
	if status != 0 || !strings.Contains(stdout, "\nSCAN ") || !strings.Contains(stderr, "audit: generated sshd (sshd): 5000 lines") {
		t.Errorf("the generator: status %d, stderr %q, stdout:\n%s", status, stderr, stdout)
	}
	if status, _, _ := runMain(t, "-h"); status != 0 {
		t.Errorf("-h: status %d, want 0", status)
	}
}

// A file given a -format none of its lines is gets a hint in the summary;
// the same file with its own format does not.
func TestWrongFormatIsHinted(t *testing.T) {
	p := writeFile(t, "kern.log",
		"Dec 10 06:55:46 fw kernel: [ 1.0] IN=eth0 OUT= MAC=00 SRC=203.0.113.9 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=4000 DPT=22 WINDOW=1 RES=0x00 SYN URGP=0",
		"Dec 10 06:55:47 fw cron[1]: job")
	hint := "not one of its 2 lines was an event of format sshd: is -format right?"
	status, _, stderr := runMain(t, "-format", "sshd", p)
	if status != 0 || !strings.Contains(stderr, hint) {
		t.Fatalf("-format sshd on a kernel log: status %d, stderr %q, want the hint", status, stderr)
	}
	if status, _, stderr := runMain(t, "-format", "netfilter", p); status != 0 || strings.Contains(stderr, "is -format right") {
		t.Fatalf("-format netfilter: status %d, stderr %q, want no hint", status, stderr)
	}
}
