package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/braidstream/braid/stream"
)

// Sinks can be named: their metrics and errors say which one.
func TestNamedSinks(t *testing.T) {
	env := stream.NewEnv()
	src := stream.FromSlice(env, []int{1, 2, 3})
	var buf bytes.Buffer
	src.WriteTo(&buf, func(v int) string { return fmt.Sprint(v) }).Name("audit file")
	src.ForEach(func(v int) error {
		if v == 3 {
			return errors.New("disk full")
		}
		return nil
	}).Name("alerts")
	err := env.Execute(context.Background())
	oe, ok := errors.AsType[*stream.OperatorError](err)
	if !ok || oe.Operator != "alerts" || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Execute = %v, want the alerts sink named", err)
	}
	names := map[string]bool{}
	for _, m := range env.Metrics() {
		names[m.Operator] = true
	}
	if !names["audit file"] || !names["alerts"] {
		t.Fatalf("metrics name %v", names)
	}
}

// Several sinks writing to one writer, at parallelism 4, never interleave
// their lines.
func TestSinksSharingAWriterDoNotInterleave(t *testing.T) {
	env := stream.NewEnv(stream.WithParallelism(4), stream.WithBatchSize(64))
	var buf bytes.Buffer
	line := strings.Repeat("x", 200)
	for i := range 3 {
		src := stream.Generate(env, func(j int64) int64 { return j }, stream.Limit(2000))
		src.WriteTo(&buf, func(int64) string { return fmt.Sprintf("%d %s", i, line) })
	}
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 6000 {
		t.Fatalf("%d lines, want 6000", len(lines))
	}
	for _, l := range lines {
		if _, rest, ok := strings.Cut(l, "> "); !ok || len(rest) != 202 || !strings.HasSuffix(rest, line) {
			t.Fatalf("mangled line %q", l)
		}
	}
}
