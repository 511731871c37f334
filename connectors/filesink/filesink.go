// Package filesink writes a stream into files, exactly once with
// checkpoints: each sink subtask stages the lines of each checkpoint in a
// part file and publishes it, by an atomic rename, only when the
// checkpoint is complete.
//
// Layout in dir:
//
//	part-0000-00000000000000000007   subtask 0's lines up to checkpoint 7
//	part-0000-09223372036854775807   subtask 0's lines after the last checkpoint (the end of input)
//	.staging/                        files being written or waiting for their checkpoint
//
// Published files never change, and no name is used twice (checkpoint
// ids are never reused on a checkpoint directory, see
// stream.WithCheckpointing), except the end of input's: a run that falls
// back past a damaged final checkpoint replaces it; names sort in the
// order of their output per subtask. A reader that wants only complete output reads the part
// files and ignores .staging. After a crash, the restored job publishes
// what the checkpoint it resumes from had staged and deletes the rest.
// A subtask that cannot stage its lines (a write, sync or rename error)
// fails the checkpoint and then the job, which restarts from its last
// complete checkpoint under its restart strategy: no checkpoint completes
// without them. Without checkpoints, each subtask's output is published
// at the end of input as one file.
//
// All file operations go through the job's checkpoint filesystem
// (stream.CheckpointFS), the real disk by default.
package filesink

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/staging"
	"github.com/braidstream/braid/stream"
)

// Lines writes format(element) and a newline per element of s into part
// files in dir. The sink runs at the stream's parallelism by default.
func Lines[T any](s *stream.Stream[T], dir string, format func(T) string) *stream.Sink {
	return s.SinkTo("file sink", func(c stream.SinkContext) (stream.TwoPhaseSink[T], error) {
		return open(c, dir, format)
	})
}

type sink[T any] struct {
	fs      vfs.FS
	dir     string
	sub     int
	par     int
	format  func(T) string
	f       vfs.File // the open transaction's file, or nil
	w       *bufio.Writer
	tmp     string // its name in .staging
	seq     int
	scratch []byte
	// broken is set when a pre-commit failed: the lines of its file are
	// neither staged nor kept, so no later checkpoint may complete
	// without them. Write and PreCommit fail with it from then on, and
	// the job restarts from its last complete checkpoint (or fails).
	broken error
}

func open[T any](c stream.SinkContext, dir string, format func(T) string) (*sink[T], error) {
	if err := staging.MkdirAllDurably(c.FS, c.FS.PathJoin(dir, staging.Dir)); err != nil {
		return nil, fmt.Errorf("braid: file sink: creating %s: %w", dir, err)
	}
	return &sink[T]{fs: c.FS, dir: dir, sub: c.Subtask, par: max(c.Parallelism, 1), format: format}, nil
}

func (s *sink[T]) stagingPath(name string) string { return s.fs.PathJoin(s.dir, staging.Dir, name) }

func (s *sink[T]) partName(id int64) string { return fmt.Sprintf("part-%04d-%020d", s.sub, id) }

func (s *sink[T]) Write(vals []T) error {
	if s.broken != nil {
		return s.broken
	}
	if len(vals) == 0 {
		return nil
	}
	if s.f == nil {
		s.seq++
		s.tmp = fmt.Sprintf("open-%04d-%d-%d", s.sub, os.Getpid(), s.seq)
		f, err := s.fs.Create(s.stagingPath(s.tmp), vfs.WriteCategoryUnspecified)
		if err != nil {
			return fmt.Errorf("braid: file sink: %w", err)
		}
		s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	for _, v := range vals {
		s.scratch = append(append(s.scratch[:0], s.format(v)...), '\n')
		if _, err := s.w.Write(s.scratch); err != nil {
			return fmt.Errorf("braid: file sink: writing %s: %w", s.tmp, err)
		}
	}
	return nil
}

// PreCommit makes the open file durable under its staged name. When that
// fails, the sink is broken: see sink.broken.
func (s *sink[T]) PreCommit(id int64) ([]byte, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	if s.f == nil {
		return nil, nil
	}
	name := s.partName(id)
	err := s.w.Flush()
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f, s.w = nil, nil
	if err == nil {
		err = s.fs.Rename(s.stagingPath(s.tmp), s.stagingPath(name))
	}
	if err == nil {
		err = staging.SyncDir(s.fs, s.fs.PathJoin(s.dir, staging.Dir))
	}
	if err != nil {
		s.broken = fmt.Errorf("braid: file sink: staging %s failed, and with it the lines since the previous checkpoint: %w", name, err)
		return nil, s.broken
	}
	return []byte(name), nil
}

// Commit publishes a staged file; one published already is left as it is.
func (s *sink[T]) Commit(txn []byte) error {
	name := string(txn)
	if !strings.HasPrefix(name, "part-") || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("braid: file sink: %q is not one of its transactions", name)
	}
	from, to := s.stagingPath(name), s.fs.PathJoin(s.dir, name)
	if err := s.fs.Rename(from, to); err != nil {
		if _, serr := s.fs.Stat(to); serr == nil && staging.Missing(s.fs, from) {
			return nil // published before a restart
		}
		return fmt.Errorf("braid: file sink: publishing %s: %w", name, err)
	}
	if err := staging.SyncDir(s.fs, s.dir); err != nil {
		return fmt.Errorf("braid: file sink: publishing %s: %w", name, err)
	}
	return nil
}

// Recover publishes what the restored checkpoint staged and deletes what
// else this subtask left in .staging, and what the subtasks it answers for
// after a change of parallelism left (old subtask j, for j mod the
// parallelism = this subtask).
func (s *sink[T]) Recover(pending [][]byte) error {
	keep := map[string]bool{}
	for _, p := range pending {
		if err := s.Commit(p); err != nil {
			return err
		}
		keep[string(p)] = true
	}
	names, err := s.fs.List(s.fs.PathJoin(s.dir, staging.Dir))
	if err != nil {
		return fmt.Errorf("braid: file sink: %w", err)
	}
	for _, n := range names {
		if keep[n] || !s.answersFor(n) {
			continue
		}
		if err := s.fs.Remove(s.stagingPath(n)); err != nil && !staging.Missing(s.fs, s.stagingPath(n)) {
			return fmt.Errorf("braid: file sink: discarding %s: %w", n, err)
		}
	}
	return nil
}

// answersFor reports whether a name in .staging is a file of a subtask
// this one answers for: part-SSSS-... or open-SSSS-... with SSSS mod the
// parallelism equal to this subtask.
func (s *sink[T]) answersFor(name string) bool {
	j, ok := staging.SubtaskOf(name, "")
	return ok && j%s.par == s.sub
}

// Abort discards the open file.
func (s *sink[T]) Abort() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f, s.w = nil, nil
	return errors.Join(err, s.fs.Remove(s.stagingPath(s.tmp)))
}

func (s *sink[T]) Close() error { return s.Abort() }
