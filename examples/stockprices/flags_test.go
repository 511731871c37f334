package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/cmdtest"
	"github.com/braidstream/braid/internal/killtest"
	"github.com/braidstream/braid/internal/testseed"
)

// cmd is the command as its tests run it: the test binary re-executed
// with STOCKPRICES_ARGS set (the arguments, one a line) runs main, so that
// exit statuses are tested without building the command. An accepted
// -duration -5m would run forever: the child is killed after 10 s.
var cmd = cmdtest.Command{Name: "stockprices", Env: "STOCKPRICES_ARGS", Timeout: 10 * time.Second}

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

var badFlags = []struct {
	args []string
	want string // in the message
}{
	{[]string{"-duration", "-5m"}, "invalid value -5m0s for flag -duration"},
	{[]string{"-duration=-1ns"}, "invalid value -1ns for flag -duration"},
	{[]string{"-speedup", "NaN"}, "invalid value NaN for flag -speedup"},
	{[]string{"-speedup", "Inf"}, "invalid value +Inf for flag -speedup"},
	{[]string{"-speedup", "-Inf"}, "invalid value -Inf for flag -speedup"},
	{[]string{"-speedup", "0"}, "invalid value 0 for flag -speedup"},
	{[]string{"-speedup", "-60"}, "invalid value -60 for flag -speedup"},
	{[]string{"-speedup", "1e400"}, `invalid value "1e400" for flag -speedup`}, // flag's own message
	{[]string{"-seed", "7", "10m"}, `unexpected argument "10m"`},
	{[]string{"-seed", "7", "--", "-json"}, `unexpected argument "-json"`},
	{[]string{"-speed", "60"}, "flag provided but not defined: -speed"},
	// -duration bounds only the generated prices: with a socket the job
	// would go on reading it, so the combination is refused.
	{[]string{"-socket", "localhost:9999", "-duration", "1m"}, "-duration cannot be combined with -socket"},
	{[]string{"-duration", "0", "-socket", "localhost:9999"}, "-duration cannot be combined with -socket"},
	// A malformed address is refused at once, not retried for 20 s.
	{[]string{"-socket", "nohost"}, `invalid value "nohost" for flag -socket: missing port in address: want host:port`},
	{[]string{"-socket", "nohost:"}, `invalid value "nohost:" for flag -socket: missing port: want host:port`},
	{[]string{"-socket", "localhost:99999"}, `invalid value "localhost:99999" for flag -socket: bad port "99999"`},
	{[]string{"-socket", "[::1:9999"}, `invalid value "[::1:9999" for flag -socket: missing ']' in address`},
	{[]string{"-socket", ""}, `invalid value "" for flag -socket: missing port in address`},
	// A replay would stamp socket lines anew.
	{[]string{"-socket", "localhost:9999", "-checkpoint", "/tmp/ck"}, "-checkpoint cannot be combined with -socket"},
	{[]string{"-checkpoint", ""}, `invalid value "" for flag -checkpoint`},
	{[]string{"-checkpoint-every", "1s"}, "-checkpoint-every needs -checkpoint"},
	{[]string{"-checkpoint", "/tmp/ck", "-checkpoint-every", "0s"}, "invalid value 0s for flag -checkpoint-every"},
	{[]string{"-out", ""}, `invalid value "" for flag -out`},
}

// badSocketFlags are the cases of badFlags about -socket.
func badSocketFlags() (cases []int) {
	for i, c := range badFlags {
		if slices.Contains(c.args, "-socket") {
			cases = append(cases, i)
		}
	}
	return cases
}

func TestParseFlagsRejects(t *testing.T) {
	for _, c := range badFlags {
		var errOut bytes.Buffer
		if _, err := parseFlags(c.args, &errOut); err == nil {
			t.Errorf("%q accepted", c.args)
		} else if !strings.Contains(errOut.String(), c.want) || !strings.Contains(errOut.String(), "Usage of stockprices") {
			t.Errorf("%q: reported %q, want %q and the usage", c.args, errOut.String(), c.want)
		}
	}
}

func TestParseFlagsAccepts(t *testing.T) {
	cfg, err := parseFlags(strings.Fields("-seed 7 -speedup 60 -duration 10m"), new(bytes.Buffer)) // the README's
	if err != nil || !cfg.seeded || cfg.seed != 7 || cfg.speedup != 60 || cfg.duration != 10*time.Minute {
		t.Fatalf("README's flags: %+v, %v", cfg, err)
	}
	cfg, err = parseFlags(nil, new(bytes.Buffer))
	if err != nil || cfg.seeded || cfg.speedup != 1 || cfg.duration != 0 || cfg.json || cfg.socket != "" {
		t.Fatalf("no flags: %+v, %v", cfg, err)
	}
	for _, addr := range []string{"localhost:9999", ":9999", "[::1]:9999", "localhost:http"} {
		cfg, err = parseFlags([]string{"-socket", addr, "-seed", "7"}, new(bytes.Buffer))
		if err != nil || cfg.socket != addr || cfg.duration != 0 {
			t.Errorf("-socket %s: %+v, %v", addr, cfg, err)
		}
	}
}

// The command exits with status 2 and says why on a bad command line, and
// runs on a good one.
func TestMainExitStatus(t *testing.T) {
	// The socket cases too: a bad address exits at once, not after 20 s of
	// retries (runMain kills it after 10 s).
	for _, i := range append([]int{0, 1, 2}, badSocketFlags()...) {
		c := badFlags[i]
		status, stdout, stderr := runMain(t, c.args...)
		if status != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: status %d, stdout %q, stderr %q; want 2 and %q", c.args, status, stdout, stderr, c.want)
		}
	}
	status, stdout, stderr := runMain(t, "-seed", "7", "-speedup", "6000", "-duration", "30s")
	if status != 0 || stderr != "" || !strings.Contains(stdout, "\nWARNS ") || !strings.Contains(stdout, "\nEND ") {
		t.Errorf("a good run: status %d, stderr %q, stdout:\n%s", status, stderr, stdout)
	}
	if status, _, _ := runMain(t, "-h"); status != 0 {
		t.Errorf("-h: status %d, want 0", status)
	}
}

// A job killed with SIGKILL at random moments and run again with the same
// command, until it ends, publishes with -checkpoint and -out exactly the
// lines of a run that was never interrupted: the README's walkthrough.
func TestCheckpointedRunSurvivesKills(t *testing.T) {
	want := func() string {
		// In process and unpaced: the same lines (they follow event time,
		// not the pace), without runMain's time limit on a loaded machine.
		var out, errOut bytes.Buffer
		cfg := config{seed: 7, seeded: true, speedup: 3000, duration: time.Hour, unpaced: true}
		if err := run(context.Background(), cfg, &out, &errOut); err != nil || errOut.Len() > 0 {
			t.Fatalf("uninterrupted run: %v, stderr %q", err, errOut.String())
		}
		var b strings.Builder
		for _, l := range strings.SplitAfter(out.String(), "\n") {
			if !strings.HasPrefix(l, "#") {
				b.WriteString(l)
			}
		}
		return b.String()
	}()
	dir := t.TempDir()
	ck, outDir := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
	args := []string{"-seed", "7", "-speedup", "3000", "-duration", "1h", "-checkpoint", ck, "-checkpoint-every", "20ms", "-out", outDir}
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	r := killtest.Runs(t, cmd.Env, args, rng, 5, ck)
	if r.Stdout != "" {
		t.Fatalf("with -out, stdout has %q", r.Stdout)
	}
	kills := r.Killed
	if kills == 0 || r.Resumed == 0 {
		t.Fatalf("%d kills, %d runs resumed from a checkpoint: nothing was tested", kills, r.Resumed)
	}
	got, parts := cmdtest.ReadParts(t, outDir)
	if got != want {
		t.Fatalf("after %d kills the published output differs from an uninterrupted run's:\n%s",
			kills, cmdtest.FirstDiff(got, want))
	}
	t.Logf("%d kills, %d lines, %d part files", kills, strings.Count(want, "\n"), parts)

	// The directory keeps the seed: another is refused.
	args[1] = "8"
	if status, _, stderr := runMain(t, args...); status != 1 || !strings.Contains(stderr, "seed 7") {
		t.Fatalf("-seed 8 on a seed-7 checkpoint: status %d, stderr %q", status, stderr)
	}
}
