package cmdflag

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// InputsFile is the file, in a checkpoint directory, in which a command
// records the inputs of the job checkpointed there (see SameInputs).
const InputsFile = "inputs.txt"

// SameInputs makes a command with checkpoints resume only the job it
// checkpointed: the first run records inputs (its FILE arguments, and the
// flags that change what the job reads, as "name value" lines) in dir;
// a later run with other inputs fails, saying what the checkpoints are
// of, instead of failing on state the job no longer has operators for or,
// worse, resuming another log's positions. An unquoted glob the shell
// expanded differently is the usual cause, and the error says so.
func SameInputs(dir string, inputs []string) error {
	path := filepath.Join(dir, InputsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return WriteFileSynced(path, []byte(strings.Join(inputs, "\n")+"\n"))
	}
	if err != nil {
		return err
	}
	was := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if slices.Equal(was, inputs) {
		return nil
	}
	return fmt.Errorf("the checkpoints in %s are of a run over %s, and this run reads %s: give the same inputs "+
		"(a glob quoted, so that the shell does not expand it), or remove %s to start afresh",
		dir, strings.Join(was, ", "), strings.Join(inputs, ", "), dir)
}

// Inputs are the inputs SameInputs records for FILE arguments ("FILE
// access.log*" each), or when there are none, generated: the generator
// and its flags.
func Inputs(files []string, generated string) []string {
	if len(files) == 0 {
		return []string{generated}
	}
	r := make([]string, len(files))
	for i, f := range files {
		r[i] = "FILE " + f
	}
	return r
}

// WriteFileSynced writes b to path durably: a crash leaves either no file
// or all of it.
func WriteFileSynced(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
