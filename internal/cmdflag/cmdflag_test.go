package cmdflag

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// check parses args with the flags of a command that checkpoints and
// writes dead letters, and returns the first error of the checks in the
// order the commands make them.
func check(t *testing.T, args ...string) error {
	t.Helper()
	fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var dead, ck, out string
	var every, bound, idle time.Duration
	fs.StringVar(&dead, "deadletters", "", "")
	fs.StringVar(&ck, "checkpoint", "", "")
	fs.DurationVar(&every, "checkpoint-every", time.Second, "")
	fs.StringVar(&out, "out", "", "")
	fs.DurationVar(&bound, "bound", 2*time.Second, "")
	fs.DurationVar(&idle, "idle", 5*time.Second, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	set := Set(fs)
	for _, err := range []error{EventTime(bound, idle), DeadLetters(set, dead), Checkpoint(set, ck, every, out), Files(fs.Args())} {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestChecks(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "": no error
	}{
		{nil, ""},
		{[]string{"-deadletters", "d.txt", "-checkpoint", "ck", "-checkpoint-every", "1ms", "-out", "o", "-bound", "0s", "a.log"}, ""},
		{[]string{"-deadletters", ""}, `invalid value "" for flag -deadletters: want a file`},
		{[]string{"-checkpoint", ""}, `invalid value "" for flag -checkpoint: want a directory`},
		{[]string{"-checkpoint-every", "1s"}, "-checkpoint-every needs -checkpoint"},
		{[]string{"-checkpoint", "ck", "-checkpoint-every", "0s"}, "invalid value 0s for flag -checkpoint-every: want a duration above 0"},
		{[]string{"-out", ""}, `invalid value "" for flag -out: want a directory`},
		{[]string{"-bound", "-1s"}, "invalid value -1s for flag -bound: must not be negative"},
		{[]string{"-idle", "0s"}, "invalid value 0s for flag -idle: want a duration above 0"},
		{[]string{"a.log", ""}, "an empty FILE name"},
		// The first in the order of the checks: -checkpoint before -out.
		{[]string{"-out", "", "-checkpoint", ""}, `invalid value "" for flag -checkpoint: want a directory`},
	} {
		err := check(t, c.args...)
		if got := ""; err != nil {
			got = err.Error()
			if got != c.want {
				t.Errorf("%q: %q, want %q", c.args, got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("%q: no error, want %q", c.args, c.want)
		}
	}
}

// A flag given its default value is set; one left out is not.
func TestSet(t *testing.T) {
	fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
	fs.String("a", "", "")
	fs.String("b", "", "")
	if err := fs.Parse([]string{"-a", ""}); err != nil {
		t.Fatal(err)
	}
	if set := Set(fs); !set["a"] || set["b"] || len(set) != 1 {
		t.Errorf("Set: %v, want a only", set)
	}
}

// The first run records its inputs; a run with the same ones resumes, one
// with others fails naming both and the way out.
func TestSameInputs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	first := []string{"FILE access.log*", "format auto"}
	if err := SameInputs(dir, first); err != nil {
		t.Fatal(err)
	}
	if err := SameInputs(dir, first); err != nil {
		t.Fatalf("the same inputs again: %v", err)
	}
	err := SameInputs(dir, []string{"FILE access.log", "FILE access.log.1", "format auto"})
	if err == nil {
		t.Fatal("other inputs resumed")
	}
	for _, want := range []string{"of a run over FILE access.log*, format auto", "this run reads FILE access.log, FILE access.log.1", "quoted", "remove " + dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want %q in it", err, want)
		}
	}
}
