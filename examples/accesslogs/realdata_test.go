package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// loghubApache is Loghub's Apache sample (see ../shared/data/README.md):
// an error log, not an access log. No access log is among the shared
// data, so the real data tests what the job does with a real log of the
// wrong kind.
const loghubApache = "../../../shared/data/loghub/Apache_2k.log"

// Every line of a real Apache error log is a dead letter with its place
// (file, line, byte offset), none is lost, and the job exits with 1
// saying that no line was a request.
func TestApacheErrorLogIsAllDeadLetters(t *testing.T) {
	b, err := os.ReadFile(loghubApache)
	if err != nil {
		t.Skipf("the Loghub sample is not here (%v): see ../shared/data/README.md", err)
	}
	ls := strings.SplitAfter(string(b), "\n") // with their line ends, for the offsets
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	path, _ := filepath.Abs(loghubApache)
	r, err := tryJob(t, flags(t, path))
	if err == nil || !strings.Contains(err.Error(), "no request could be read: all 2000 lines were dead letters") {
		t.Fatalf("the job's error: %v", err)
	}
	if len(ls) != 2000 || len(r.dead) != len(ls) {
		t.Fatalf("%d lines, %d dead letters", len(ls), len(r.dead))
	}
	byPlace := map[string]string{}
	for _, d := range r.dead {
		where, rest, _ := strings.Cut(d, "): ")
		byPlace[where+")"] = rest
	}
	off := 0
	for i, l := range ls {
		where := fmt.Sprintf("%s:%d (byte %d)", path, i+1, off)
		off += len(l)
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		d, ok := byPlace[where]
		if !ok || !strings.HasPrefix(d, "access log: ") || !strings.HasSuffix(d, ": "+strconv.Quote(l)) {
			t.Fatalf("line %d: dead letter %q, want %s: access log: ...: %q", i+1, d, where, l)
		}
	}
}
