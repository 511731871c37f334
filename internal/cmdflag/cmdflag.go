// Package cmdflag holds what the example commands share of their command
// lines: Main, and the checks of the flags of checkpoints and part-file
// output, of the dead-letter file, of event time, and the FILE arguments.
// Each check returns nil for good values, or an error in the words of
// package flag ("invalid value ... for flag -name: want ...") that the
// command prints with its usage.
package cmdflag

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

// Main is a command's main: it reads the command line with parse (which
// reports a bad one on stderr, with the usage, and returns flag.ErrHelp
// for -h), then runs the job with run until it ends or an interrupt
// (Ctrl-C) cancels its context. It exits with 0 for -h, 2 for a bad
// command line, and 1, after printing "name: error", when the job fails;
// an interrupted job has not failed.
func Main[C any](name string, parse func(args []string, errOut io.Writer) (C, error),
	run func(ctx context.Context, cfg C, out, errOut io.Writer) error) {
	cfg, err := parse(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2) // parse said why
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err = run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Set is the names of the flags of fs that the command line set (after
// fs.Parse): a flag given its default value is set, one left out is not.
func Set(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// NotEmpty fails when the flag name was set to "": want says what the
// flag takes instead ("a file", "a directory"). A flag left out is not
// checked: its default "" means none.
func NotEmpty(set map[string]bool, name, value, want string) error {
	if set[name] && value == "" {
		return fmt.Errorf(`invalid value "" for flag -%s: want %s`, name, want)
	}
	return nil
}

// DeadLetters checks -deadletters, the file of the dead letters (left
// out: stderr).
func DeadLetters(set map[string]bool, path string) error {
	return NotEmpty(set, "deadletters", path, "a file")
}

// Checkpoint checks -checkpoint (a directory), -checkpoint-every (only
// with -checkpoint, a duration above 0) and -out (a directory), in that
// order.
func Checkpoint(set map[string]bool, dir string, every time.Duration, out string) error {
	switch {
	case set["checkpoint"] && dir == "":
		return errors.New(`invalid value "" for flag -checkpoint: want a directory`)
	case set["checkpoint-every"] && !set["checkpoint"]:
		return errors.New("-checkpoint-every needs -checkpoint")
	case every <= 0:
		return fmt.Errorf("invalid value %v for flag -checkpoint-every: want a duration above 0", every)
	}
	return NotEmpty(set, "out", out, "a directory")
}

// EventTime checks -bound, the out-of-orderness of an input (not
// negative), and -idle, how long a quiet input holds event time back
// (above 0).
func EventTime(bound, idle time.Duration) error {
	if bound < 0 {
		return fmt.Errorf("invalid value %v for flag -bound: must not be negative", bound)
	}
	if idle <= 0 {
		return fmt.Errorf("invalid value %v for flag -idle: want a duration above 0", idle)
	}
	return nil
}

// Files fails when one of the FILE arguments is "".
func Files(files []string) error {
	for _, f := range files {
		if f == "" {
			return errors.New("an empty FILE name")
		}
	}
	return nil
}
