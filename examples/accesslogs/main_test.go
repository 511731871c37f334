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
// with ACCESSLOGS_ARGS set (the arguments, one a line) runs main, so that
// exit statuses are tested without building the command.
var cmd = cmdtest.Command{Name: "accesslogs", Env: "ACCESSLOGS_ARGS", Timeout: time.Minute}

func TestMain(m *testing.M) {
	cmd.RunIfChild(main)
	os.Exit(m.Run())
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

// A jobRun is what one run of the job wrote.
type jobRun struct {
	deadPath string
	out      string   // stdout
	dead     []string // the dead-letter file's lines
	summary  []string // stderr's lines
}

// runJob runs the job with cfg, its dead letters into a file, and fails
// the test if the job fails.
func runJob(t *testing.T, cfg config) jobRun {
	t.Helper()
	r, err := tryJob(t, cfg)
	if err != nil {
		t.Fatalf("the job failed: %v\nstderr:\n%s", err, strings.Join(r.summary, "\n"))
	}
	return r
}

func tryJob(t *testing.T, cfg config) (jobRun, error) {
	t.Helper()
	if cfg.deadLetters == "" {
		cfg.deadLetters = filepath.Join(t.TempDir(), "dead.txt")
	}
	r, err := cmdtest.Job(t, cfg.deadLetters, time.Minute, func(ctx context.Context, out, errOut io.Writer) error {
		return run(ctx, cfg, out, errOut)
	})
	return jobRun{deadPath: r.DeadPath, out: r.Out, dead: r.Dead, summary: r.Summary}, err
}

// lines splits s into lines, none for "".
var lines = cmdtest.Lines

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

// kindOf is the kind of a JSON result line.
func kindOf(t *testing.T, line string) string {
	t.Helper()
	var k struct{ Kind string }
	if err := json.Unmarshal([]byte(line), &k); err != nil || k.Kind == "" {
		t.Fatalf("output line %q: not a result (%v)", line, err)
	}
	return k.Kind
}

var badFlags = []struct {
	args []string
	want string // in the message
}{
	{[]string{"-follow"}, "-follow needs a FILE"},
	{[]string{"-n", "10", "x.log"}, "-n and -seed are of the generated log"},
	{[]string{"-n", "0"}, "invalid value 0 for flag -n"},
	{[]string{"-bound", "-1s"}, "invalid value -1s for flag -bound"},
	{[]string{"-idle", "0s"}, "invalid value 0s for flag -idle"},
	{[]string{"-alert-jump", "0"}, "invalid value 0 for flag -alert-jump"},
	{[]string{"-alert-jump", "NaN"}, "invalid value NaN for flag -alert-jump"},
	{[]string{"-alert-min-requests", "0"}, "invalid value 0 for flag -alert-min-requests"},
	{[]string{"-progress", "yes"}, `invalid value "yes" for flag -progress`},
	{[]string{"-deadletters", ""}, `invalid value "" for flag -deadletters`},
	{[]string{"-parquet", ""}, `invalid value "" for flag -parquet`},
	{[]string{"-checkpoint", ""}, `invalid value "" for flag -checkpoint`},
	{[]string{"-checkpoint-every", "1s"}, "-checkpoint-every needs -checkpoint"},
	{[]string{"-checkpoint", "/tmp/ck", "-checkpoint-every", "0s"}, "invalid value 0s for flag -checkpoint-every"},
	{[]string{"-out", ""}, `invalid value "" for flag -out`},
	{[]string{"-out", "o", "-parquet", "p"}, "-out and -parquet both say where the results go"},
	{[]string{"-json", "-parquet", "p"}, "-json and -parquet are two output formats"},
	{[]string{"-file", "x.log"}, "flag provided but not defined: -file"},
	{[]string{""}, "an empty FILE name"},
}

func TestParseFlagsRejects(t *testing.T) {
	for _, c := range badFlags {
		var errOut bytes.Buffer
		if _, err := parseFlags(c.args, &errOut); err == nil {
			t.Errorf("%q accepted", c.args)
		} else if !strings.Contains(errOut.String(), c.want) || !strings.Contains(errOut.String(), "Usage of accesslogs") {
			t.Errorf("%q: reported %q, want %q and the usage", c.args, errOut.String(), c.want)
		}
	}
}

func TestParseFlagsAccepts(t *testing.T) {
	cfg := flags(t)
	if len(cfg.files) != 0 || cfg.n != 60_000 || cfg.alertJump != 0.10 || cfg.bound != 2*time.Second || cfg.progress != "auto" {
		t.Fatalf("no flags: %+v", cfg)
	}
	cfg = flags(t, "-follow", "-json", "-alert-jump", "0.2", "a.log", "b.log*")
	if len(cfg.files) != 2 || !cfg.follow || !cfg.json || cfg.alertJump != 0.2 {
		t.Fatalf("%+v", cfg)
	}
}

// The command exits with 2 and says why on a bad command line; with 1
// when no line of its input is a request or a file cannot be read; with
// 0 after a good run, whose summary counts the lines.
func TestMainExitStatus(t *testing.T) {
	for _, i := range []int{0, 2} {
		c := badFlags[i]
		status, stdout, stderr := runMain(t, c.args...)
		if status != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: status %d, stdout %q, stderr %q; want 2 and %q", c.args, status, stdout, stderr, c.want)
		}
	}
	garbage := writeFile(t, "garbage.log", "not a log line", "nor this one")
	empty := filepath.Join(t.TempDir(), "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{garbage}, "no request could be read: all 2 lines were dead letters"},
		{[]string{empty}, "no request could be read: the input had no lines"},
		{[]string{filepath.Join(t.TempDir(), "missing.log")}, "no such file or directory"},
		{[]string{t.TempDir()}, "is a directory"},
	} {
		status, stdout, stderr := runMain(t, c.args...)
		if status != 1 || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%q: status %d, stdout %q, stderr %q; want 1 and %q", c.args, status, stdout, stderr, c.want)
		}
	}
	// What CI runs.
	status, stdout, stderr := runMain(t, "-n", "5000")
	if status != 0 || !strings.Contains(stdout, "\nHOST ") || !strings.Contains(stderr, "accesslogs: generated: 5000 lines, ") {
		t.Errorf("the generator: status %d, stderr %q, stdout:\n%s", status, stderr, stdout)
	}
	if status, _, _ := runMain(t, "-h"); status != 0 {
		t.Errorf("-h: status %d, want 0", status)
	}
}
