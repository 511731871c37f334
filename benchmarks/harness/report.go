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
	// Targets are the figures the report is held to, in the order they are
	// listed.
	Targets []Target
}

// A Target is a figure the report is held to: at least (or, with AtMost,
// at most) Want.
type Target struct {
	What   string // "q5: events/s per core"
	Want   float64
	AtMost bool
	// Figure computes the measured figure from the rows; false when a row
	// it needs is missing or failed.
	Figure func(rows []Row) (float64, bool)
	// Format prints Want and the figure (nil: a ratio, "%.2f").
	Format func(float64) string
	// Why says why the target is missed and what would close it; the
	// report prints it only when the figure misses.
	Why string
}

// Met reports the figure and whether it meets the target (false when
// there is no figure).
func (t Target) Met(rows []Row) (fig float64, ok, met bool) {
	fig, ok = t.Figure(rows)
	if !ok || math.IsNaN(fig) {
		return fig, false, false
	}
	if t.AtMost {
		return fig, true, fig <= t.Want
	}
	return fig, true, fig >= t.Want
}

// PerCore is a target's figure: the events per CPU-second of a Braid row
// at parallelism 1 (1e6 / its CPU-seconds per million events), what one
// core would do.
func PerCore(workload string, keys int64) func([]Row) (float64, bool) {
	return func(rows []Row) (float64, bool) {
		r, ok := Find(rows, workload, "braid", keys, false)
		if !ok || r.CPUSPerMillion <= 0 {
			return 0, false
		}
		return 1e6 / r.CPUSPerMillion, true
	}
}

// braidOver is a target's figure made of Braid's row and another
// implementation's (impl) of the same workload, both at parallelism 1:
// num/den of the two, false when a row is missing or den is not above 0.
func braidOver(workload string, keys int64, impl string, num, den func(braid, other Row) float64) func([]Row) (float64, bool) {
	return func(rows []Row) (float64, bool) {
		b, ok1 := Find(rows, workload, "braid", keys, false)
		o, ok2 := Find(rows, workload, impl, keys, false)
		if !ok1 || !ok2 || den(b, o) <= 0 {
			return 0, false
		}
		return num(b, o) / den(b, o), true
	}
}

// CPUPerEventRatio is a target's figure: Braid's CPU per event over the
// baseline's, at parallelism 1.
func CPUPerEventRatio(workload string, keys int64) func([]Row) (float64, bool) {
	return braidOver(workload, keys, "baseline",
		func(b, _ Row) float64 { return b.CPUSPerMillion }, func(_, l Row) float64 { return l.CPUSPerMillion })
}

// WallRatio is a target's figure: Braid's wall time over the baseline's
// for the same events (the baseline's events/s over Braid's), at
// parallelism 1.
func WallRatio(workload string, keys int64) func([]Row) (float64, bool) {
	return braidOver(workload, keys, "baseline",
		func(_, l Row) float64 { return l.EventsPerS }, func(b, _ Row) float64 { return b.EventsPerS })
}

// PeerRatio is a target's figure: Braid's events/s (parallelism 1) over
// a peer's on the same workload.
func PeerRatio(workload string, keys int64, peer string) func([]Row) (float64, bool) {
	return braidOver(workload, keys, peer,
		func(b, _ Row) float64 { return b.EventsPerS }, func(_, p Row) float64 { return p.EventsPerS })
}

// writeTargets writes the table of targets: each one's figure, met or
// missed, and, where missed, why.
func writeTargets(b *strings.Builder, rows []Row, targets []Target) {
	if len(targets) == 0 {
		return
	}
	b.WriteString("## Targets\n\n")
	b.WriteString("| target | wanted | measured | |\n|---|---:|---:|---|\n")
	var why []string
	for _, t := range targets {
		f := t.Format
		if f == nil {
			f = func(x float64) string { return fmt.Sprintf("%.2f", x) }
		}
		want := "at least " + f(t.Want)
		if t.AtMost {
			want = "at most " + f(t.Want)
		}
		fig, ok, met := t.Met(rows)
		switch {
		case !ok:
			fmt.Fprintf(b, "| %s | %s | – | not measured in this run |\n", t.What, want)
		case met:
			fmt.Fprintf(b, "| %s | %s | %s | met |\n", t.What, want, f(fig))
		default:
			fmt.Fprintf(b, "| %s | %s | %s | **missed** |\n", t.What, want, f(fig))
			if t.Why != "" {
				why = append(why, fmt.Sprintf("- **%s** (%s, wanted %s): %s", t.What, f(fig), want, t.Why))
			}
		}
	}
	if len(why) > 0 {
		b.WriteString("\nWhy the missed ones are missed, and what would close them:\n\n")
		b.WriteString(strings.Join(why, "\n") + "\n")
	}
	b.WriteString("\n")
}

// writeScaling writes, for each Braid workload run at more than one
// parallelism, its figures at each against parallelism 1.
func writeScaling(b *strings.Builder, rows []Row) {
	type key struct {
		workload string
		keys     int64
	}
	var order []key
	pars := map[key][]Row{}
	for _, r := range rows {
		if r.Impl != "braid" || r.Checkpoint || r.Parallelism <= 1 || !r.OK() {
			continue
		}
		k := key{r.Workload, r.Keys}
		if _, seen := pars[k]; !seen {
			order = append(order, k)
		}
		pars[k] = append(pars[k], r)
	}
	if len(order) == 0 {
		return
	}
	b.WriteString("## Parallelism\n\n")
	b.WriteString("The same job at more subtasks per operator, on this machine's cores: events/s and CPU per event against parallelism 1 (speedup above 1: faster; CPU ratio above 1: each event costs more CPU, the overhead of more subtasks).\n\n")
	b.WriteString("| workload | parallelism | events/s | speedup over p=1 | CPU-s per M events | CPU per event against p=1 |\n|---|---:|---:|---:|---:|---:|\n")
	for _, k := range order {
		one, ok := Find(rows, k.workload, "braid", k.keys, false)
		if !ok {
			continue
		}
		name := strings.TrimSuffix(one.Name, " braid")
		fmt.Fprintf(b, "| %s | 1 | %s | 1.00 | %.3f | 1.00 |\n", name, FormatRate(one.EventsPerS), one.CPUSPerMillion)
		for _, r := range pars[k] {
			fmt.Fprintf(b, "| %s | %d | %s | %s | %.3f | %s |\n", name, r.Parallelism, FormatRate(r.EventsPerS),
				fmtRatio(r.EventsPerS, one.EventsPerS), r.CPUSPerMillion, fmtRatio(r.CPUSPerMillion, one.CPUSPerMillion))
		}
	}
	b.WriteString("\n")
}

// FormatRate prints events per second for the report: 1.23M, 456.7K, 89.
func FormatRate(x float64) string {
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
	writeTargets(&b, rep.Rows, rep.Targets)
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
		fmt.Fprintf(&b, "| %s | %d | %s | %.3f | %.3f | %.0f MB | %s | %s | %s |\n", r.Name, r.Runs, FormatRate(r.EventsPerS),
			r.CPUSPerMillion, r.AllocsPerEvent, r.PeakRSSBytes/1e6, fmtDur(r.LatP50S), fmtDur(r.LatP99S), note)
	}
	b.WriteString("\n## Braid against the hand-written baseline\n\n")
	b.WriteString("Throughput ratio above 1: Braid is faster; CPU ratio above 1: Braid spends more CPU per event.\n\n")
	b.WriteString("| workload | Braid events/s | baseline events/s | throughput Braid/baseline | CPU per event Braid/baseline |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		if r.Impl != "braid" || r.Checkpoint || r.Parallelism > 1 || !r.OK() {
			continue
		}
		base, ok := Find(rep.Rows, r.Workload, "baseline", r.Keys, false)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", strings.TrimSuffix(r.Name, " braid"), FormatRate(r.EventsPerS), FormatRate(base.EventsPerS),
			fmtRatio(r.EventsPerS, base.EventsPerS), fmtRatio(r.CPUSPerMillion, base.CPUSPerMillion))
	}
	b.WriteString("\n")
	writeScaling(&b, rep.Rows)
	b.WriteString("## Checkpointing on against off\n\n")
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
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", strings.TrimSuffix(r.Name, " checkpoint"), FormatRate(off.EventsPerS), FormatRate(r.EventsPerS),
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
			fmt.Fprintf(&pb, "| %s | %s | %s | %s | no Braid row | – | – |\n", name, r.Impl, r.Semantics, FormatRate(r.EventsPerS))
			continue
		}
		fmt.Fprintf(&pb, "| %s | %s | %s | %s | %s | %s | %s |\n", name, r.Impl, r.Semantics, FormatRate(r.EventsPerS),
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
