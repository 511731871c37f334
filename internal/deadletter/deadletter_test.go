package deadletter

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/braidstream/braid/connectors/logs"
)

// Where writes a place as logs.Line.Where writes the line's.
func TestWhereIsLineWhere(t *testing.T) {
	for _, p := range []Place{{"access.log", 1033, 12}, {"generated", -1, 7}, {"", 0, 0}, {"a b", 5, 1}} {
		want := logs.Line{Source: p.File, Offset: p.Offset, Number: p.Line}.Where()
		if got := p.Where(); got != want {
			t.Errorf("%+v: Where %q, logs.Line.Where %q", p, got, want)
		}
	}
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		f                Format
		where, err, line string
		want             string
	}{
		{Text, "a.log:3 (byte 9)", "bad", `x "y"`, `a.log:3 (byte 9): bad: "x \"y\""`},
		{Text, "a.log line 3", "late", "", "a.log line 3: late"},
		{JSON, "w", "e", "l", `{"where":"w","error":"e","line":"l"}`},
		{JSON, "w", "e", "", `{"where":"w","error":"e"}`},
		{JSON, "w", "e", "a\xffb", `{"where":"w","error":"e","line":"a\ufffdb"}`},
		{JSONRaw, "w", "e", "l", `{"where":"w","error":"e","line":"l"}`},
		{JSONRaw, "w", "e", "a\xffb", `{"where":"w","error":"e","line":"a\ufffdb","line_base64":"Yf9i"}`},
	} {
		if got := c.f.Line(c.where, c.err, c.line); got != c.want {
			t.Errorf("%d.Line(%q, %q, %q) = %s, want %s", c.f, c.where, c.err, c.line, got, c.want)
		}
	}
}

// Create empties the file, or with resume adds to it.
func TestCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.txt")
	write := func(resume bool, s string) {
		f, err := Create(path, resume)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(false, "a\n")
	write(true, "b\n")
	if b, _ := os.ReadFile(path); string(b) != "a\nb\n" {
		t.Fatalf("resumed: %q", b)
	}
	write(false, "c\n")
	if b, _ := os.ReadFile(path); string(b) != "c\n" {
		t.Fatalf("not resumed: %q", b)
	}
}

// Writes from many goroutines are whole: none interleaves with another.
func TestLocked(t *testing.T) {
	var buf bytes.Buffer
	w := Locked(&buf)
	done := make(chan bool)
	for range 4 {
		go func() {
			for range 200 {
				w.Write([]byte("0123456789\n"))
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	if buf.Len() != 4*200*11 || bytes.Count(buf.Bytes(), []byte("0123456789\n")) != 800 {
		t.Errorf("%d bytes, %d whole lines", buf.Len(), bytes.Count(buf.Bytes(), []byte("0123456789\n")))
	}
}
