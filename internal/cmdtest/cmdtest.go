// Package cmdtest is what the tests of the example commands share: a test
// binary that re-executes itself as the command (so that exit statuses are
// tested without building it), a job run in-process with its output and
// dead letters collected, a buffer a running job writes while the test
// reads it, and the comparison of two outputs line by line.
package cmdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Command is an example command as its own test binary runs it: the
// binary re-executed with Env set to the arguments, one a line, runs the
// command's main as Name.
type Command struct {
	Name    string        // the command's name, os.Args[0] in the child
	Env     string        // the variable that holds the arguments
	Timeout time.Duration // how long Run waits for the child before killing it
}

// RunIfChild runs main as the command and exits 0 (main exits otherwise
// itself) when this process is a child started by Run; else it returns.
// Call it first in TestMain.
func (c Command) RunIfChild(main func()) {
	args, ok := os.LookupEnv(c.Env)
	if !ok {
		return
	}
	os.Args = []string{c.Name}
	if args != "" {
		os.Args = append(os.Args, strings.Split(args, "\n")...)
	}
	main()
	os.Exit(0)
}

// Run runs the command with args in a child process and returns its exit
// status and output. It fails t if the child cannot be started. (One
// empty argument reaches the child as no argument: joined, they are the
// same.)
func (c Command) Run(t testing.TB, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), c.Env+"="+strings.Join(args, "\n"))
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode(), o.String(), e.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, o.String(), e.String()
}

// A Result is what one in-process run of a job wrote.
type Result struct {
	DeadPath string   // the dead-letter file
	Out      string   // stdout
	Dead     []string // the dead-letter file's lines
	Summary  []string // stderr's lines
}

// Job calls run, with a context that times out after timeout, and
// returns what it wrote to its out and errOut and to the dead-letter file
// deadPath (none if the file does not exist), with run's error. It fails
// t if the file cannot be read.
func Job(t testing.TB, deadPath string, timeout time.Duration, run func(ctx context.Context, out, errOut io.Writer) error) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, &out, &errOut)
	r := Result{DeadPath: deadPath, Out: out.String(), Summary: Lines(errOut.String())}
	b, rerr := os.ReadFile(deadPath)
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		t.Fatal(rerr)
	}
	r.Dead = Lines(string(b))
	return r, err
}

// Lines splits s into lines, none for "" (a final newline ends the last
// line, it does not start another).
func Lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// A SyncBuffer is a buffer a job writes while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A Running is a job a test runs in a goroutine of its own, writing Out
// and ErrOut, that sends its error to Done when it ends:
//
//	r := cmdtest.NewRunning()
//	go func() { r.Done <- run(ctx, cfg, &r.Out, &r.ErrOut) }()
type Running struct {
	Out, ErrOut SyncBuffer
	Done        chan error
}

// NewRunning returns a Running whose Done holds the job's error without
// blocking the job.
func NewRunning() *Running { return &Running{Done: make(chan error, 1)} }

// WaitFor waits until the job's output holds what. It fails t if the job
// ends first or after 20 s without it.
func (r *Running) WaitFor(t testing.TB, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.Out.String(), what) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q after 20 s; output:\n%s\nstderr:\n%s", what, r.Out.String(), r.ErrOut.String())
		}
		select {
		case err := <-r.Done:
			t.Fatalf("the job ended: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ReadParts is the content of the part files (part-*) of dir, in the
// order of their names, and how many there are. It fails t if one cannot
// be read.
func ReadParts(t testing.TB, dir string) (content string, parts int) {
	t.Helper()
	var got strings.Builder
	names, _ := filepath.Glob(filepath.Join(dir, "part-*"))
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got.Write(b)
	}
	return got.String(), len(names)
}

// FirstDiff shows the first line where got and want differ, or says
// "equal".
func FirstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d: got %q, want %q (%d lines got, %d want)", i+1, a, b, len(g), len(w))
		}
	}
	return "equal"
}
