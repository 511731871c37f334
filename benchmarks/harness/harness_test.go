package harness

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedianAndPercentile(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	if p50, p99 := Percentile(ds, 0.5), Percentile(ds, 0.99); p50 != 50*time.Millisecond || p99 != 99*time.Millisecond {
		t.Errorf("p50 %v p99 %v, want 50ms 99ms", p50, p99)
	}
	if Percentile(nil, 0.5) != -1 {
		t.Error("Percentile(nil) != -1")
	}
}

func TestParse(t *testing.T) {
	m, err := ParseMeasurement([]byte("noise\n{\"name\":\"q0 braid\",\"workload\":\"q0\",\"impl\":\"braid\",\"events\":10,\"wall_s\":2,\"cpu_s\":1,\"lat_p50_s\":-1}\n"))
	if err != nil || m.Name != "q0 braid" || m.Events != 10 || m.WallS != 2 {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"", "not json", `{"name":"x","events":0,"wall_s":1}`} {
		if _, err := ParseMeasurement([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	peers := `{"peer":"go-streams","workload":"tumble","keys":10000,"events":1000,"wall_s":0.5,"cpu_s":0.4,"allocs_per_event":2,"peak_rss_bytes":1000000,"correct":true,"semantics":"processing-time"}
{"peer":"benthos","workload":"tumble","keys":10000,"events":1000,"wall_s":0.5,"correct":false,"error":"results differ"}
{"peer":"go-streams","workload":"tumble","keys":1000000,"events":1000,"correct":false,"skipped":"too many keys"}
`
	ms, err := ParsePeers([]byte(peers))
	if err != nil || len(ms) != 3 {
		t.Fatalf("%d %v", len(ms), err)
	}
	if ms[0].Name != "tumble keys=10000 go-streams" || ms[0].Allocs != 2000 || ms[0].Error != "" {
		t.Errorf("first: %+v", ms[0])
	}
	if ms[1].Error != "results differ" || ms[2].Skipped == "" || ms[2].Error != "" {
		t.Errorf("failed or skipped: %+v %+v", ms[1], ms[2])
	}
	if _, err := ParsePeers([]byte("{oops\n")); err == nil {
		t.Error("bad line: no error")
	}
}

func fixed() []Row {
	ms := []Measurement{
		{Name: "tumble keys=100 braid", Workload: "tumble", Impl: "braid", Keys: 100, Events: 1e6, WallS: 0.1, CPUS: 0.2, Allocs: 10, PeakRSSBytes: 30e6, LatP50S: 0.001, LatP99S: 0.002},
		{Name: "tumble keys=100 braid", Workload: "tumble", Impl: "braid", Keys: 100, Events: 1e6, WallS: 0.3, CPUS: 0.4, Allocs: 10, PeakRSSBytes: 50e6, LatP50S: 0.003, LatP99S: 0.004},
		{Name: "tumble keys=100 braid", Workload: "tumble", Impl: "braid", Keys: 100, Error: "boom"},
		{Name: "tumble keys=100 baseline", Workload: "tumble", Impl: "baseline", Keys: 100, Events: 1e6, WallS: 0.05, CPUS: 0.05, PeakRSSBytes: 20e6, LatP50S: -1},
		{Name: "tumble keys=10000 braid", Workload: "tumble", Impl: "braid", Keys: 10000, Events: 1e6, WallS: 0.25, CPUS: 0.25, PeakRSSBytes: 40e6, LatP50S: -1},
		{Name: "tumble keys=100 braid checkpoint", Workload: "tumble", Impl: "braid", Keys: 100, Checkpoint: true, Events: 1e6, WallS: 0.4, CPUS: 0.6, PeakRSSBytes: 60e6, LatP50S: -1},
		{Name: "tumble keys=100 go-streams", Workload: "tumble", Impl: "go-streams", Keys: 100, Events: 1e5, WallS: 1, CPUS: 1, PeakRSSBytes: 200e6, LatP50S: -1, Semantics: "processing-time"},
		{Name: "tumble keys=100 benthos", Workload: "tumble", Impl: "benthos", Keys: 100, Error: "results differ"},
	}
	return Summarize(ms)
}

func TestSummarize(t *testing.T) {
	rows := fixed()
	if len(rows) != 6 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	// runs at 10M/s and 3.33M/s: median 6.67M; CPU 0.2 and 0.4 s per M: 0.3.
	if r.Runs != 2 || r.Failed != 1 || math.Abs(r.EventsPerS-(1e7+1e6/0.3)/2) > 1 || math.Abs(r.CPUSPerMillion-0.3) > 1e-9 ||
		r.AllocsPerEvent != 1e-5 || r.PeakRSSBytes != 40e6 || r.LatP50S != 0.002 || r.LatP99S != 0.003 {
		t.Errorf("%+v", r)
	}
	if rows[1].LatP50S != -1 {
		t.Errorf("baseline latency %v, want -1", rows[1].LatP50S)
	}
	if rows[5].OK() || rows[5].Error == "" {
		t.Errorf("failed peer: %+v", rows[5])
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	rep := Report{Machine: Machine{CPU: "TestCPU", Cores: 2, LoadStart: "1 2 3", LoadEnd: "4 5 6", GoVersion: "go9", Commit: "abc", Command: "report"},
		Rows: fixed(), Charts: [][2]string{{"report/throughput.svg", "Throughput"}}}
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"TestCPU, 2 cores", "1 2 3 at the start, 4 5 6 at the end", "noisy", "go9", "abc",
		"![Throughput](report/throughput.svg)",
		"| tumble keys=100 braid | 2 | 6.67M | 0.300 | 0.000 | 40 MB | 2.0 ms | 3.0 ms |",
		"| tumble keys=100 | 6.67M | 20.00M | 0.33 | 6.00 |",             // Braid/baseline
		"| tumble keys=100 braid | 6.67M | 2.50M | 0.38 | 2.00 | 1.50 |", // checkpoint on/off
		"| tumble keys=100 | go-streams | processing-time | 100.0K | 66.67 | 33.33 | 5.00 |",
		"| tumble keys=100 | benthos |  | **FAILED**: results differ |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestCharts(t *testing.T) {
	rows := fixed()
	for name, write := range map[string]func(*bytes.Buffer) error{
		"throughput": func(b *bytes.Buffer) error { return WriteThroughputChart(b, rows) },
		"keys":       func(b *bytes.Buffer) error { return WriteKeysChart(b, rows, false) },
		"rss":        func(b *bytes.Buffer) error { return WriteKeysChart(b, rows, true) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		svg := b.String()
		if !strings.HasPrefix(strings.TrimSpace(svg), "<?xml") || !strings.Contains(svg, "<svg") || !strings.Contains(svg, "</svg>") {
			t.Errorf("%s: not an SVG: %.200s", name, svg)
		}
	}
	if err := WriteThroughputChart(&bytes.Buffer{}, nil); err == nil {
		t.Error("empty throughput chart: no error")
	}
}

// A row at parallelism 2 has its own line in the parallelism table,
// against the parallelism-1 row, and never stands in for it: the baseline
// ratio and the charts read the parallelism-1 row.
func TestParallelismRows(t *testing.T) {
	ms := []Measurement{
		{Name: "tumble keys=10000 braid", Workload: "tumble", Impl: "braid", Keys: 10000, Events: 1e6, WallS: 0.2, CPUS: 0.3, LatP50S: -1},
		{Name: "tumble keys=10000 braid p=2", Workload: "tumble", Impl: "braid", Keys: 10000, Parallelism: 2, Events: 1e6, WallS: 0.1, CPUS: 0.36, LatP50S: -1},
		{Name: "tumble keys=10000 baseline", Workload: "tumble", Impl: "baseline", Keys: 10000, Events: 1e6, WallS: 0.1, CPUS: 0.1, LatP50S: -1},
	}
	rows := Summarize(ms)
	if r, ok := Find(rows, "tumble", "braid", 10000, false); !ok || r.Parallelism > 1 {
		t.Fatalf("Find took %+v for parallelism 1", r)
	}
	if r, ok := FindAt(rows, "tumble", "braid", 10000, false, 2); !ok || r.Parallelism != 2 {
		t.Fatalf("FindAt(2) = %+v", r)
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, Report{Rows: rows}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## Parallelism",
		"| tumble keys=10000 | 1 | 5.00M | 1.00 | 0.300 | 1.00 |",
		"| tumble keys=10000 | 2 | 10.00M | 2.00 | 0.360 | 1.20 |",
		"| tumble keys=10000 | 5.00M | 10.00M | 0.50 | 3.00 |", // Braid/baseline: p=1 only
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| tumble keys=10000 braid p=2 | 10.00M |") {
		t.Errorf("the p=2 row is in the baseline table:\n%s", md)
	}
}

// Targets: met, missed (with why) and not measured, with figures computed
// from the rows.
func TestTargets(t *testing.T) {
	rows := fixed() // tumble keys=100: braid 6.67M/s, 0.3 CPU-s/M; baseline 20M/s, 0.05; go-streams 100K/s
	targets := []Target{
		{What: "tumble CPU ratio", Want: 1.5, AtMost: true, Figure: CPUPerEventRatio("tumble", 100), Why: "the exchange copies twice"},
		{What: "tumble wall ratio", Want: 3.5, AtMost: true, Figure: WallRatio("tumble", 100), Why: "never shown"},
		{What: "tumble per core", Want: 3e6, Figure: PerCore("tumble", 100), Format: FormatRate},
		{What: "go-streams", Want: 100, Figure: PeerRatio("tumble", 100, "go-streams"), Why: "slow peer"},
		{What: "q5 per core", Want: 1e7, Figure: PerCore("q5", 0), Format: FormatRate},
	}
	for i, want := range []struct{ fig float64 }{{6}, {3}, {1e6 / 0.3}, {66.67}} {
		if fig, ok, _ := targets[i].Met(rows); !ok || math.Abs(fig-want.fig) > 0.01 {
			t.Errorf("%s: figure %v (%v), want %v", targets[i].What, fig, ok, want.fig)
		}
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, Report{Rows: rows, Targets: targets}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| tumble CPU ratio | at most 1.50 | 6.00 | **missed** |",
		"| tumble wall ratio | at most 3.50 | 3.00 | met |",
		"| tumble per core | at least 3.00M | 3.33M | met |",
		"| go-streams | at least 100.00 | 66.67 | **missed** |",
		"| q5 per core | at least 10.00M | – | not measured in this run |",
		"- **tumble CPU ratio** (6.00, wanted at most 1.50): the exchange copies twice",
		"- **go-streams** (66.67, wanted at least 100.00): slow peer",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "never shown") {
		t.Error("the why of a met target is printed")
	}
}
