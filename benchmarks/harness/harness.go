// Package harness is the report's machinery, apart from running workloads:
// the record a measured child prints, parsing it and the peers' JSON lines,
// medians over runs, and writing the report's markdown and SVG charts.
// benchmarks/cmd/report drives it.
package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// A Measurement is one run of one workload in its own process.
type Measurement struct {
	// Name is the row's label (workloads.Spec.Name or "tumble keys=N <peer>").
	Name string `json:"name"`
	// Workload, Impl and Keys identify the row: Impl is "braid", "baseline"
	// or a peer's name.
	Workload   string `json:"workload"`
	Impl       string `json:"impl"`
	Keys       int64  `json:"keys,omitempty"`
	Checkpoint bool   `json:"checkpoint,omitempty"`
	// Parallelism is Braid's parallelism (0 or 1: one subtask per operator).
	Parallelism int `json:"parallelism,omitempty"`
	// Events is the number of events read, Outputs the results emitted.
	Events  int64 `json:"events"`
	Outputs int64 `json:"outputs"`
	// WallS and CPUS are the measured section's wall time and user+system
	// CPU time of the whole child process over it, in seconds.
	WallS float64 `json:"wall_s"`
	CPUS  float64 `json:"cpu_s"`
	// Allocs is the Go runtime's malloc count over the measured section.
	Allocs float64 `json:"allocs"`
	// PeakRSSBytes is the child's peak resident set (getrusage ru_maxrss).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// LatP50S and LatP99S are latency percentiles in seconds, or -1 when
	// the workload does not measure latency.
	LatP50S float64 `json:"lat_p50_s"`
	LatP99S float64 `json:"lat_p99_s"`
	// Semantics is a peer's window semantics (event-time, processing-time).
	Semantics string `json:"semantics,omitempty"`
	// Error says why the run failed; Skipped why it was not run.
	Error   string `json:"error,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// ParseMeasurement reads the one JSON record a child printed as its last
// line of stdout (anything before it is ignored).
func ParseMeasurement(out []byte) (Measurement, error) {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	last := lines[len(lines)-1]
	var m Measurement
	if len(last) == 0 {
		return m, fmt.Errorf("braid: harness: child printed nothing")
	}
	if err := json.Unmarshal(last, &m); err != nil {
		return m, fmt.Errorf("braid: harness: child's record %q: %w", last, err)
	}
	if m.Error == "" && m.Skipped == "" && (m.Events <= 0 || m.WallS <= 0) {
		return m, fmt.Errorf("braid: harness: child's record %q has no events or no time", last)
	}
	return m, nil
}

// peerRecord is a line of benchmarks/peers/cmd/peers.
type peerRecord struct {
	Peer           string  `json:"peer"`
	Workload       string  `json:"workload"`
	Keys           int64   `json:"keys"`
	Events         int64   `json:"events"`
	WallS          float64 `json:"wall_s"`
	CPUS           float64 `json:"cpu_s"`
	AllocsPerEvent float64 `json:"allocs_per_event"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	Correct        bool    `json:"correct"`
	Semantics      string  `json:"semantics"`
	Error          string  `json:"error"`
	Skipped        string  `json:"skipped"`
}

// ParsePeers reads the JSON lines of benchmarks/peers/cmd/peers into
// measurements. A record that is not correct becomes a measurement with
// Error set (never a figure); a line that is not JSON is an error.
func ParsePeers(out []byte) ([]Measurement, error) {
	var ms []Measurement
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r peerRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return ms, fmt.Errorf("braid: harness: peers printed %q: %w", line, err)
		}
		name := r.Workload
		if r.Workload == "tumble" {
			name = fmt.Sprintf("tumble keys=%d", r.Keys)
		}
		m := Measurement{
			Name: name + " " + r.Peer, Workload: r.Workload, Impl: r.Peer, Keys: r.Keys,
			Events: r.Events, WallS: r.WallS, CPUS: r.CPUS, Allocs: r.AllocsPerEvent * float64(r.Events),
			PeakRSSBytes: r.PeakRSSBytes, LatP50S: -1, LatP99S: -1, Semantics: r.Semantics,
			Error: r.Error, Skipped: r.Skipped,
		}
		if m.Error == "" && m.Skipped == "" && !r.Correct {
			m.Error = "results not checked correct"
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

// Percentile is the p-th percentile (0 <= p <= 1) of ds by the nearest
// rank, or -1 if ds is empty. It sorts ds.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	slices.Sort(ds)
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// Median is the median of xs (the mean of the middle two for an even
// count), or NaN if xs is empty. It does not change xs.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// A Row is a workload's figures: medians over its successful runs.
type Row struct {
	Name, Workload, Impl string
	Keys                 int64
	Checkpoint           bool
	Parallelism          int // 0 or 1: one subtask per operator
	Semantics            string
	// Runs is the number of successful runs, Failed the failed ones.
	Runs, Failed int
	// EventsPerS, CPUSPerMillion, AllocsPerEvent, PeakRSSBytes, LatP50S
	// and LatP99S are medians (latencies -1 when not measured).
	EventsPerS, CPUSPerMillion, AllocsPerEvent float64
	PeakRSSBytes                               float64
	LatP50S, LatP99S                           float64
	// Error is the last failed run's error, Skipped why it was not run.
	Error, Skipped string
}

// OK reports whether the row has figures.
func (r Row) OK() bool { return r.Runs > 0 }

// Summarize groups measurements by Name (in order of first appearance) and
// takes the medians of each group's successful runs.
func Summarize(ms []Measurement) []Row {
	var order []string
	groups := map[string][]Measurement{}
	for _, m := range ms {
		if _, ok := groups[m.Name]; !ok {
			order = append(order, m.Name)
		}
		groups[m.Name] = append(groups[m.Name], m)
	}
	rows := make([]Row, 0, len(order))
	for _, name := range order {
		g := groups[name]
		r := Row{Name: name, Workload: g[0].Workload, Impl: g[0].Impl, Keys: g[0].Keys, Checkpoint: g[0].Checkpoint, Parallelism: g[0].Parallelism, Semantics: g[0].Semantics}
		var eps, cpu, allocs, rss, p50, p99 []float64
		for _, m := range g {
			switch {
			case m.Skipped != "":
				r.Skipped = m.Skipped
				continue
			case m.Error != "":
				r.Failed++
				r.Error = m.Error
				continue
			}
			r.Runs++
			ev := float64(m.Events)
			eps = append(eps, ev/m.WallS)
			cpu = append(cpu, m.CPUS/ev*1e6)
			allocs = append(allocs, m.Allocs/ev)
			rss = append(rss, float64(m.PeakRSSBytes))
			if m.LatP50S >= 0 {
				p50 = append(p50, m.LatP50S)
				p99 = append(p99, m.LatP99S)
			}
		}
		r.EventsPerS, r.CPUSPerMillion, r.AllocsPerEvent, r.PeakRSSBytes = Median(eps), Median(cpu), Median(allocs), Median(rss)
		r.LatP50S, r.LatP99S = -1, -1
		if len(p50) > 0 {
			r.LatP50S, r.LatP99S = Median(p50), Median(p99)
		}
		rows = append(rows, r)
	}
	return rows
}

// Find returns the row of workload, impl, keys and checkpoint at
// parallelism 1, if any.
func Find(rows []Row, workload, impl string, keys int64, checkpoint bool) (Row, bool) {
	return FindAt(rows, workload, impl, keys, checkpoint, 1)
}

// FindAt is Find at a parallelism (0 and 1 are the same).
func FindAt(rows []Row, workload, impl string, keys int64, checkpoint bool, par int) (Row, bool) {
	for _, r := range rows {
		if r.Workload == workload && r.Impl == impl && r.Keys == keys && r.Checkpoint == checkpoint && max(r.Parallelism, 1) == max(par, 1) {
			return r, r.OK()
		}
	}
	return Row{}, false
}
