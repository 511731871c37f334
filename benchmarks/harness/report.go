package harness

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Machine is where and what the report ran.
type Machine struct {
	CPU                  string
	Cores                int
	LoadStart, LoadEnd   string // /proc/loadavg's first three fields
	GoVersion, Commit    string
	Started, Duration    string
	Command              string
	RunsPerWorkload      int
	Quick, PeersIncluded bool
}

// A Report is what WriteMarkdown writes.
type Report struct {
	Machine Machine
	Rows    []Row
	// Charts are the SVGs' paths relative to the markdown file, with titles.
	Charts [][2]string
	// Notes are paragraphs added after the machine (what N was, what the
	// latency is, caveats).
	Notes []string
}

func fmtRate(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fK", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func fmtDur(s float64) string {
	switch {
	case s < 0 || math.IsNaN(s):
		return "–"
	case s < 1e-3:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1e3)
	}
	return fmt.Sprintf("%.2f s", s)
}

func fmtRatio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// WriteMarkdown writes the report: the machine, the notes, the charts, a
// table of every row, and the ratio tables (Braid against its baseline,
// checkpoints on against off, Braid against the peers).
func WriteMarkdown(w io.Writer, rep Report) error {
	var b strings.Builder
	m := rep.Machine
	b.WriteString("# Braid benchmark report\n\n")
	fmt.Fprintf(&b, "Written by `%s`. Do not edit by hand: run the command again.\n\n", m.Command)
	if m.Quick {
		b.WriteString("**Quick run** (`-quick`): small inputs, one run each, no peers; a smoke test of the harness, not figures to quote.\n\n")
	}
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s, %d cores (logical)\n", m.CPU, m.Cores)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min): %s at the start, %s at the end. **The machine is shared with other engineers' builds and tests and is noisy**: read the ratios of workloads run in the same session rather than absolute figures, and CPU-seconds per event rather than wall time.\n", m.LoadStart, m.LoadEnd)
	fmt.Fprintf(&b, "- Go: %s; commit: %s\n", m.GoVersion, m.Commit)
	fmt.Fprintf(&b, "- Started %s, took %s; %d run(s) per workload, each in its own child process; figures are medians over the runs.\n\n", m.Started, m.Duration, m.RunsPerWorkload)
	for _, n := range rep.Notes {
		b.WriteString(n + "\n\n")
	}
	if len(rep.Charts) > 0 {
		b.WriteString("## Charts\n\n")
		for _, c := range rep.Charts {
			fmt.Fprintf(&b, "![%s](%s)\n\n", c[1], c[0])
		}
	}
	b.WriteString("## All workloads\n\n")
	b.WriteString("| workload | runs | events/s | CPU-s per M events | allocs/event | peak RSS | latency p50 | latency p99 | note |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rep.Rows {
		note := r.Semantics
		switch {
		case r.Skipped != "":
			note = "skipped: " + r.Skipped
		case r.Error != "" && !r.OK():
			note = "**FAILED**: " + clip(r.Error)
		case r.Error != "":
			note += fmt.Sprintf(" (%d run(s) failed: %s)", r.Failed, clip(r.Error))
		}
		if !r.OK() {
			fmt.Fprintf(&b, "| %s | 0 | – | – | – | – | – | – | %s |\n", r.Name, note)
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.3f | %.3f | %.0f MB | %s | %s | %s |\n", r.Name, r.Runs, fmtRate(r.EventsPerS),
			r.CPUSPerMillion, r.AllocsPerEvent, r.PeakRSSBytes/1e6, fmtDur(r.LatP50S), fmtDur(r.LatP99S), note)
	}
	b.WriteString("\n## Braid against the hand-written baseline\n\n")
	b.WriteString("Throughput ratio above 1: Braid is faster; CPU ratio above 1: Braid spends more CPU per event.\n\n")
	b.WriteString("| workload | Braid events/s | baseline events/s | throughput Braid/baseline | CPU per event Braid/baseline |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		if r.Impl != "braid" || r.Checkpoint || !r.OK() {
			continue
		}
		base, ok := Find(rep.Rows, r.Workload, "baseline", r.Keys, false)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", strings.TrimSuffix(r.Name, " braid"), fmtRate(r.EventsPerS), fmtRate(base.EventsPerS),
			fmtRatio(r.EventsPerS, base.EventsPerS), fmtRatio(r.CPUSPerMillion, base.CPUSPerMillion))
	}
	b.WriteString("\n## Checkpointing on against off\n\n")
	b.WriteString("Checkpoint every second to a temporary directory on the local disk.\n\n")
	b.WriteString("| workload | off events/s | on events/s | throughput on/off | CPU per event on/off | peak RSS on/off |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		if !r.Checkpoint || !r.OK() {
			continue
		}
		off, ok := Find(rep.Rows, r.Workload, r.Impl, r.Keys, false)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", strings.TrimSuffix(r.Name, " checkpoint"), fmtRate(off.EventsPerS), fmtRate(r.EventsPerS),
			fmtRatio(r.EventsPerS, off.EventsPerS), fmtRatio(r.CPUSPerMillion, off.CPUSPerMillion), fmtRatio(r.PeakRSSBytes, off.PeakRSSBytes))
	}
	b.WriteString("\n## Braid against the peers\n\n")
	peerRows := 0
	var pb strings.Builder
	pb.WriteString("| workload | peer | semantics | peer events/s | throughput Braid/peer | CPU per event peer/Braid | peak RSS peer/Braid |\n|---|---|---|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		if r.Impl == "braid" || r.Impl == "baseline" {
			continue
		}
		peerRows++
		name := strings.TrimSuffix(r.Name, " "+r.Impl)
		br, ok := Find(rep.Rows, r.Workload, "braid", r.Keys, false)
		if !r.OK() {
			status := "**FAILED**: " + clip(r.Error)
			if r.Skipped != "" {
				status = "skipped: " + r.Skipped
			}
			fmt.Fprintf(&pb, "| %s | %s | %s | %s | – | – | – |\n", name, r.Impl, r.Semantics, status)
			continue
		}
		if !ok {
			fmt.Fprintf(&pb, "| %s | %s | %s | %s | no Braid row | – | – |\n", name, r.Impl, r.Semantics, fmtRate(r.EventsPerS))
			continue
		}
		fmt.Fprintf(&pb, "| %s | %s | %s | %s | %s | %s | %s |\n", name, r.Impl, r.Semantics, fmtRate(r.EventsPerS),
			fmtRatio(br.EventsPerS, r.EventsPerS), fmtRatio(r.CPUSPerMillion, br.CPUSPerMillion), fmtRatio(r.PeakRSSBytes, br.PeakRSSBytes))
	}
	if peerRows == 0 {
		b.WriteString("Not run in this report.\n")
	} else {
		b.WriteString("The peers ran through `benchmarks/peers/cmd/peers` (their own module), each run in its own process, its results checked before its figures are used. The Braid figure is the same workload's row above (its own N); peers ran on fewer events when they are slow (see the notes).\n\n")
		b.WriteString(pb.String())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clip shortens an error for a table cell: one line, at most 200 bytes, no
// pipes.
func clip(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
