package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		child(spec) // the report re-executes this test binary as its child
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// -quick writes a report that names every workload of the plan with
// figures (no failed row), and its three charts beside it.
func TestQuickReportNamesEveryWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every workload in a child process (about 20 s); run without -short")
	}
	out := filepath.Join(t.TempDir(), "REPORT.md")
	if err := run(true, 1, out, "report -quick"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	specs, _ := plan(true)
	for _, s := range specs {
		if !strings.Contains(md, "| "+s.Name()+" | 1 |") {
			t.Errorf("report has no figures for %s", s.Name())
		}
	}
	if strings.Contains(md, "FAILED") {
		t.Errorf("a workload failed:\n%s", md)
	}
	for _, svg := range []string{"throughput.svg", "keys-throughput.svg", "keys-rss.svg"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(out), "report", svg)); err != nil {
			t.Error(err)
		}
		if !strings.Contains(md, "(report/"+svg+")") {
			t.Errorf("report does not embed %s", svg)
		}
	}
}
