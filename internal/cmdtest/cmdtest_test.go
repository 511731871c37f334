package cmdtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// cmd is a command whose main prints its arguments, one a line, and
// exits 3 when the first is "fail".
var cmd = Command{Name: "echo", Env: "CMDTEST_ARGS", Timeout: 30 * time.Second}

func TestMain(m *testing.M) {
	cmd.RunIfChild(func() {
		fmt.Printf("%d %q\n", len(os.Args), os.Args)
		if len(os.Args) > 1 && os.Args[1] == "fail" {
			fmt.Fprintln(os.Stderr, "failed")
			os.Exit(3)
		}
	})
	os.Exit(m.Run())
}

// The child gets the arguments as they were given (one empty argument is
// none: the variable cannot tell them apart), and its exit status and
// output come back.
func TestRun(t *testing.T) {
	for _, c := range []struct {
		args           []string
		status         int
		stdout, stderr string
	}{
		{nil, 0, `1 ["echo"]` + "\n", ""},
		{[]string{""}, 0, `1 ["echo"]` + "\n", ""},
		{[]string{"", ""}, 0, `3 ["echo" "" ""]` + "\n", ""},
		{[]string{"-x", "a b"}, 0, `3 ["echo" "-x" "a b"]` + "\n", ""},
		{[]string{"fail"}, 3, `2 ["echo" "fail"]` + "\n", "failed\n"},
	} {
		status, stdout, stderr := cmd.Run(t, c.args...)
		if status != c.status || stdout != c.stdout || stderr != c.stderr {
			t.Errorf("%q: %d %q %q, want %d %q %q", c.args, status, stdout, stderr, c.status, c.stdout, c.stderr)
		}
	}
}

func TestJob(t *testing.T) {
	dead := t.TempDir() + "/dead.txt"
	r, err := Job(t, dead, time.Minute, func(ctx context.Context, out, errOut io.Writer) error {
		io.WriteString(out, "result\n")
		io.WriteString(errOut, "one\ntwo\n")
		return os.WriteFile(dead, []byte("a\nb\n"), 0o644)
	})
	if err != nil || r.DeadPath != dead || r.Out != "result\n" || !slices.Equal(r.Dead, []string{"a", "b"}) || !slices.Equal(r.Summary, []string{"one", "two"}) {
		t.Errorf("Job: %+v, %v", r, err)
	}
	// No file: no dead letters; the job's error comes back.
	r, err = Job(t, dead+".none", time.Minute, func(ctx context.Context, out, errOut io.Writer) error { return io.EOF })
	if err != io.EOF || r.Dead != nil {
		t.Errorf("Job without a dead-letter file: %+v, %v", r, err)
	}
}

func TestLines(t *testing.T) {
	for s, want := range map[string][]string{"": nil, "\n": {""}, "a": {"a"}, "a\nb\n": {"a", "b"}, "a\n\nb": {"a", "", "b"}} {
		if got := Lines(s); !slices.Equal(got, want) {
			t.Errorf("Lines(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestFirstDiff(t *testing.T) {
	for _, c := range [][3]string{
		{"a\nb", "a\nb", "equal"},
		{"a\nb", "a\nc", `line 2: got "b", want "c" (2 lines got, 2 want)`},
		{"a", "a\nb", `line 2: got "", want "b" (1 lines got, 2 want)`},
	} {
		if got := FirstDiff(c[0], c[1]); got != c[2] {
			t.Errorf("FirstDiff(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestReadParts(t *testing.T) {
	dir := t.TempDir()
	for name, s := range map[string]string{"part-2": "c\n", "part-1": "a\nb\n", "other": "x\n"} {
		if err := os.WriteFile(dir+"/"+name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, n := ReadParts(t, dir); got != "a\nb\nc\n" || n != 2 {
		t.Errorf("ReadParts: %q, %d parts, want a b c from 2", got, n)
	}
}

// WaitFor returns once the output holds what, written while it waits.
func TestWaitFor(t *testing.T) {
	r := NewRunning()
	release, end := make(chan struct{}), make(chan struct{})
	go func() {
		io.WriteString(&r.Out, "start\n")
		<-release
		time.Sleep(50 * time.Millisecond) // WaitFor polls meanwhile
		io.WriteString(&r.Out, "later\n")
		<-end
		r.Done <- nil
	}()
	r.WaitFor(t, "start")
	close(release)
	r.WaitFor(t, "later")
	if !strings.Contains(r.Out.String(), "start\nlater\n") {
		t.Errorf("output %q", r.Out.String())
	}
	close(end)
	<-r.Done
}
