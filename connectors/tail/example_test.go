package tail_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/connectors/tail"
	"github.com/braidstream/braid/stream"
)

// Read a log and its rotated generations, oldest first, and show the
// progress at the end.
func Example() {
	dir, _ := os.MkdirTemp("", "tail-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "app.log.1"), []byte("first\nsecond\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.log"), []byte("third\n"), 0o644)

	env := stream.NewEnv()
	prog := &tail.Progress{}
	lines := tail.Lines(env, filepath.Join(dir, "app.log*"), tail.WithProgress(prog))
	lines.ForEach(func(l logs.Line) error {
		fmt.Printf("%s:%d %s\n", filepath.Base(l.Source), l.Number, l.Text)
		return nil
	})
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
	}
	st := prog.Stats()
	fmt.Printf("%d lines, %d of %d bytes, %d files\n", st.Lines, st.Bytes, st.TotalBytes, st.Files)
	// Output:
	// app.log.1:1 first
	// app.log.1:2 second
	// app.log:1 third
	// 3 lines, 19 of 19 bytes, 2 files
}
