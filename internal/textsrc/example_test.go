package textsrc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/braidstream/braid/internal/textsrc"
)

// A FileReader hands back lines in batches, and io.EOF at the end.
func Example() {
	dir, _ := os.MkdirTemp("", "textsrc")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")
	os.WriteFile(path, []byte("GET /\r\nPOST /login\nGET /x"), 0o644)

	r, err := textsrc.OpenFile(path, textsrc.FileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	buf := make([]string, 2)
	for {
		n, err := r.Read(context.Background(), buf)
		fmt.Printf("%q %v\n", buf[:n], err)
		if err != nil {
			break
		}
	}
	// Output:
	// ["GET /" "POST /login"] <nil>
	// ["GET /x"] EOF
}
