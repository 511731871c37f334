// Command peers times one workload in one peer (or all of them) and prints
// one JSON line per run:
//
//	{"peer":"go-streams","workload":"tumble","keys":10000,"events":2000000,
//	 "wall_s":...,"cpu_s":...,"events_per_s":...,"cpu_s_per_million":...,
//	 "allocs_per_event":...,"peak_rss_bytes":...,"correct":true,
//	 "semantics":"processing-time"}
//
// Each run is a child process (this binary again, with -child), so that its
// peak RSS (getrusage's ru_maxrss) and CPU time are the peer's alone. The
// child times the run and reduces the peer's output to a digest; the parent
// computes the expected digest directly (package workload) and sets
// "correct". A failed or wrong run is still printed, with "correct":false and
// "error", and makes the command exit 1 at the end; a run the peer declines
// (go-streams' keyed flow above 100,000 keys) is printed with "skipped".
//
// Usage:
//
//	go run ./cmd/peers -workload tumble -keys 10000 -n 2000000 -peer go-streams
//	go run ./cmd/peers -peer all -runs 3
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	beamsdk "github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

// record is the line printed per run. Digest travels from child to parent
// only.
type record struct {
	Peer            string           `json:"peer"`
	Workload        string           `json:"workload"`
	Keys            int64            `json:"keys"`
	Events          int64            `json:"events"`
	WallS           float64          `json:"wall_s"`
	CPUS            float64          `json:"cpu_s"`
	EventsPerS      float64          `json:"events_per_s"`
	CPUSPerMillion  float64          `json:"cpu_s_per_million"`
	AllocsPerEvent  float64          `json:"allocs_per_event"`
	PeakRSSBytes    int64            `json:"peak_rss_bytes"`
	Correct         bool             `json:"correct"`
	Semantics       string           `json:"semantics"`
	Error           string           `json:"error,omitempty"`
	Skipped         string           `json:"skipped,omitempty"` // why the peer declined the run; not a failure
	Digest          *workload.Digest `json:"digest,omitempty"`
	ExpectedResults int64            `json:"-"`
}

type config struct {
	workload string
	keys, n  int64
	window   time.Duration // processing-time window of the peers that have no other
}

func main() {
	var (
		wl      = flag.String("workload", "tumble", "workload: tumble (keyed tumbling count) or q5 (Nexmark hot items)")
		keys    = flag.Int64("keys", 10_000, "tumble: number of keys (100, 10000 or 1000000 in the report)")
		n       = flag.Int64("n", 2_000_000, "number of events (q5: Nexmark events, of which 46 in 50 are bids)")
		peer    = flag.String("peer", "all", "peer to run: "+strings.Join(peerNames(), ", ")+", or all (those that run the workload)")
		runs    = flag.Int("runs", 1, "runs of each peer, each in its own process")
		window  = flag.Duration("ptwindow", time.Second, "window size of the processing-time peers (go-streams, benthos)")
		child   = flag.Bool("child", false, "internal: run one peer in this process and print its record with its digest")
		verbose = flag.Bool("v", false, "log each child's stderr")
	)
	flag.Parse()
	beamsdk.Init() // the Beam peer's worker runs in this process (loopback)
	cfg := config{workload: *wl, keys: *keys, n: *n, window: *window}
	if *wl != "tumble" && *wl != "q5" {
		fatalf("unknown workload %q", *wl)
	}
	if *wl == "q5" {
		cfg.keys = 0 // not a parameter of q5
	}
	if (*wl == "tumble" && *keys <= 0) || *n <= 0 {
		fatalf("-keys and -n must be positive")
	}
	if *child {
		rec := runChild(cfg, *peer)
		if err := json.NewEncoder(os.Stdout).Encode(rec); err != nil {
			fatalf("%v", err)
		}
		return
	}

	var names []string
	for _, name := range peerNames() {
		if (*peer == "all" || *peer == name) && peers[name].run(cfg.workload) != nil {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		fatalf("no peer %q runs workload %s (have %s)", *peer, cfg.workload, strings.Join(peerNames(), ", "))
	}
	exp := map[string]workload.Digest{} // by semantics, computed once
	failed := false
	out := json.NewEncoder(os.Stdout)
	for _, name := range names {
		for range *runs {
			rec := spawn(cfg, name, *verbose)
			if rec.Error == "" && rec.Skipped == "" {
				want, ok := exp[rec.Semantics]
				if !ok {
					want = expected(cfg, rec.Semantics)
					exp[rec.Semantics] = want
				}
				check(&rec, want)
			}
			failed = failed || (!rec.Correct && rec.Skipped == "")
			rec.Digest = nil
			if err := out.Encode(rec); err != nil {
				fatalf("%v", err)
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

// check sets rec.Correct: whether the digest its child sent is want, and
// says how it differs if not.
func check(rec *record, want workload.Digest) {
	rec.Correct = rec.Digest != nil && *rec.Digest == want
	if !rec.Correct {
		var got any = "none"
		if rec.Digest != nil {
			got = *rec.Digest
		}
		rec.Error = fmt.Sprintf("results %+v, expected %+v", got, want)
	}
}

// expected is the digest a correct peer of the given semantics produces.
func expected(cfg config, semantics string) workload.Digest {
	if cfg.workload == "q5" {
		return q5(cfg).Expected()
	}
	t := tumble(cfg)
	if semantics == processingTime {
		return t.ExpectedTotals()
	}
	return t.Expected()
}

func tumble(cfg config) workload.Tumble {
	return workload.Tumble{N: cfg.n, Keys: cfg.keys, Step: workload.DefaultStep, Size: workload.DefaultSize}
}

// spawn runs one peer in a child process and returns its record.
func spawn(cfg config, name string, verbose bool) record {
	rec := record{Peer: name, Workload: cfg.workload, Keys: cfg.keys, Events: cfg.n}
	exe, err := os.Executable()
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	cmd := exec.Command(exe, "-child", "-peer", name, "-workload", cfg.workload,
		fmt.Sprint("-keys=", cfg.keys), fmt.Sprint("-n=", cfg.n), "-ptwindow="+cfg.window.String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()
	if verbose {
		os.Stderr.Write(stderr.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), &rec); err != nil || runErr != nil {
		tail := stderr.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		rec.Error = fmt.Sprintf("child: %v %v: %s", runErr, err, tail)
	}
	return rec
}

// runChild runs the peer once in this process and measures it.
func runChild(cfg config, name string) record {
	rec := record{Peer: name, Workload: cfg.workload, Keys: cfg.keys, Events: cfg.n}
	p, ok := peers[name]
	if !ok || p.run(cfg.workload) == nil {
		rec.Error = fmt.Sprintf("no peer %s for workload %s", name, cfg.workload)
		return rec
	}
	rec.Semantics = p.semantics
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	r0 := rusage()
	start := time.Now()
	d, err := p.run(cfg.workload)(cfg)
	wall := time.Since(start)
	r1 := rusage()
	runtime.ReadMemStats(&m1)
	if errors.Is(err, workload.ErrNotRun) {
		rec.Skipped = err.Error()
		return rec
	}
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	rec.Digest = &d
	rec.WallS = wall.Seconds()
	rec.CPUS = cpuSeconds(r1) - cpuSeconds(r0)
	rec.EventsPerS = float64(cfg.n) / rec.WallS
	rec.CPUSPerMillion = rec.CPUS / float64(cfg.n) * 1e6
	rec.AllocsPerEvent = float64(m1.Mallocs-m0.Mallocs) / float64(cfg.n)
	rec.PeakRSSBytes = r1.Maxrss * 1024 // Linux reports kilobytes
	return rec
}

func rusage() syscall.Rusage {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		fatalf("getrusage: %v", err)
	}
	return r
}

func cpuSeconds(r syscall.Rusage) float64 {
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(r.Utime) + tv(r.Stime)
}

func peerNames() []string {
	var names []string
	for n := range peers {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return peers[a].order - peers[b].order })
	return names
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peers: "+format+"\n", args...)
	os.Exit(2)
}
