package exactlyonce_test

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/internal/testseed"
)

// The simulated-crash test: the job runs on Pebble's crashable in-memory
// filesystem, and at chosen operations of its checkpoints and of its
// sink's commits the test takes a crash clone (what was synced, plus a
// random part of what was not: the disk after a power cut at that
// instant). Each clone is restored, a new job run on it to the end, and
// its published output must equal the uninterrupted run's, line for line.
// Some restores are crashed again, while they restore, and that clone too
// is restored to the end.

var crashPointsFlag = flag.Int("crashpoints", 1000, "crash points for the simulated-crash test (soak: raise it)")

// Every phase must be hit at least this often.
const minPerPhase = 25

// The phases a crash point must fall in, each at least minPerPhase times.
var requiredPhases = []string{phaseState, phaseRecord, phaseUnsynced, phaseRecorded, phasePrune,
	phaseStage, phasePublish, phasePublished}

// crashPoint is a crash clone and where it was taken.
type crashPoint struct {
	fs       *vfs.MemFS
	phase    string
	op       string
	unsynced int // the UnsyncedDataPercent it was cloned with
}

// crashStats counts what the restores saw; safe for concurrent use.
type crashStats struct {
	mu       sync.Mutex
	phases   map[string]int
	total    int
	failures []string
	slowest  time.Duration
	// freshLeftovers counts restores that started fresh and left files in
	// .staging.
	freshLeftovers int
}

func (s *crashStats) add(p crashPoint, took time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phases[p.phase]++
	s.total++
	s.slowest = max(s.slowest, took)
	if err != nil {
		s.failures = append(s.failures, fmt.Sprintf("crash %s (%s, %d%% of unsynced data kept): %v", p.op, p.phase, p.unsynced, err))
	}
}

// enough reports whether the crash points taken, by phase, meet the
// test's bounds.
func enough(taken map[string]int, total int) bool {
	for _, ph := range requiredPhases {
		if taken[ph] < minPerPhase {
			return false
		}
	}
	restores := 0
	for ph, n := range taken {
		if strings.HasPrefix(ph, restorePrefix) {
			restores += n
		}
	}
	return total >= *crashPointsFlag && restores >= minPerPhase
}

// isPoint reports whether the hook call for op is a crash point worth a
// clone: before any operation, and after those whose effect is a phase of
// its own (a completion record or a part file renamed, the record's
// directory synced).
func isPoint(op fsOp, phase string) bool {
	if !op.post {
		return phase != phaseOther
	}
	return op.err == nil && (phase == phaseUnsynced || phase == phaseRecorded || phase == phasePublished)
}

// keep is the chance, in percent, that a crash point of the phase is
// taken: every one of the rare phases, a sample of the many state and
// staging writes.
func keep(phase string) int {
	switch phase {
	case phaseState:
		return 10
	case phaseStage:
		return 30
	}
	return 100
}

func describe(op fsOp) string {
	when := "before"
	if op.post {
		when = "after"
	}
	if op.to != "" {
		return fmt.Sprintf("%s %s %s -> %s", when, op.kind, op.path, op.to)
	}
	return fmt.Sprintf("%s %s %s", when, op.kind, op.path)
}

func TestCrashPoints(t *testing.T) {
	seed := testseed.Seed(t)
	want := reference(t)
	start := time.Now()

	stats := &crashStats{phases: map[string]int{}}
	nworkers := max(2, runtime.GOMAXPROCS(0))
	taken := map[string]int{} // crash points taken, by phase
	total := 0
	runs := 0
	dups := 0
	seen := map[[32]byte]bool{} // the fingerprints of the clones taken
	var againMu sync.Mutex      // guards taken, total, dups and seen while restores run
	for ; !enough(taken, total) && runs < 60; runs++ {
		// One run, uninterrupted, taking crash clones as it goes; the
		// clones are cheap and taken under the filesystem's lock, so the
		// run goes on about as it would (the restores come after it, so
		// as not to slow it: its checkpoints follow wall time).
		rng := rand.New(rand.NewPCG(seed, 1<<32+uint64(runs)))
		mem := vfs.NewCrashableMem()
		var mu sync.Mutex
		renamed := map[string]bool{}
		var clones []crashPoint
		var h *hookFS
		h = newHookFS(mem, func(op fsOp) {
			mu.Lock()
			defer mu.Unlock()
			ph := classify(op, renamed)
			if !isPoint(op, ph) || rng.IntN(100) >= keep(ph) {
				return
			}
			p := crashPoint{phase: ph, op: describe(op)}
			switch rng.IntN(4) {
			case 0:
				p.unsynced = 30
			case 1:
				p.unsynced = 90
			}
			p.fs = h.clone(vfs.CrashCloneCfg{UnsyncedDataPercent: p.unsynced, RNG: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))})
			clones = append(clones, p)
		})
		if err := job(run{fs: h, interval: 2 * time.Millisecond, rate: 5_000}).Execute(context.Background()); err != nil {
			t.Fatalf("run %d, without crashes: %v", runs, err)
		}
		if err := checkOutput(mem, want, true); err != nil {
			t.Fatalf("run %d, without crashes: %v", runs, err)
		}

		// Restore each clone, in parallel.
		points := make(chan crashPoint)
		var workers sync.WaitGroup
		for w := range nworkers {
			workers.Go(func() {
				rng := rand.New(rand.NewPCG(seed, uint64(runs)<<8|uint64(w)))
				for p := range points {
					if again := restore(p, want, rng, stats); again != nil {
						fp := fingerprint(again.fs)
						againMu.Lock()
						dup := seen[fp]
						seen[fp] = true
						if dup {
							dups++
						} else {
							taken[again.phase]++
							total++
						}
						againMu.Unlock()
						if !dup {
							restore(*again, want, nil, stats)
						}
					}
				}
			})
		}
		for _, p := range clones {
			fp := fingerprint(p.fs)
			againMu.Lock()
			dup := seen[fp]
			seen[fp] = true
			if dup {
				dups++
			} else {
				taken[p.phase]++
				total++
			}
			againMu.Unlock()
			if !dup {
				points <- p
			}
		}
		close(points)
		workers.Wait()
	}

	var phases []string
	for ph := range stats.phases {
		phases = append(phases, ph)
	}
	slices.Sort(phases)
	var b strings.Builder
	restores := 0
	for _, ph := range phases {
		fmt.Fprintf(&b, "\n  %5d %s", stats.phases[ph], ph)
		if strings.HasPrefix(ph, restorePrefix) {
			restores += stats.phases[ph]
		}
	}
	t.Logf("%d crash points from %d runs, each restored and run to the end, in %v (slowest restore %v); by phase:%s",
		stats.total, runs, time.Since(start).Round(time.Millisecond), stats.slowest.Round(time.Millisecond), b.String())
	t.Logf("%d crash clones skipped: the same files as one taken before", dups)
	if stats.freshLeftovers > 0 {
		t.Logf("%d restores started fresh (no complete checkpoint) and left the crashed run's staged files in .staging", stats.freshLeftovers)
	}
	if len(stats.failures) > 0 {
		t.Errorf("%d of %d crash points went wrong; the first:\n%s", len(stats.failures), stats.total,
			strings.Join(stats.failures[:min(len(stats.failures), 5)], "\n"))
	}
	for _, ph := range requiredPhases {
		if stats.phases[ph] < minPerPhase {
			t.Errorf("phase %q: %d crash points, want at least %d", ph, stats.phases[ph], minPerPhase)
		}
	}
	if restores < minPerPhase {
		t.Errorf("%d crash points during a restore, want at least %d", restores, minPerPhase)
	}
	if stats.total < *crashPointsFlag {
		t.Errorf("%d crash points, want at least %d", stats.total, *crashPointsFlag)
	}
}

// restore runs the job on p's filesystem to the end and checks its
// output. With rng, one restore in five is crashed again at a random
// operation, and that crash point is returned (its clone taken, not yet
// restored).
func restore(p crashPoint, want []string, rng *rand.Rand, stats *crashStats) *crashPoint {
	var again *crashPoint
	var fs vfs.FS = p.fs
	if rng != nil && rng.IntN(5) == 0 {
		k := 1 + rng.IntN(60) // the restore proper (Resume, the sink's Recover) comes first
		cloneRNG := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		unsynced := 0
		if rng.IntN(2) == 0 {
			unsynced = 50
		}
		n := 0
		renamed := map[string]bool{}
		var mu sync.Mutex
		var h *hookFS
		h = newHookFS(p.fs, func(op fsOp) {
			mu.Lock()
			defer mu.Unlock()
			ph := classify(op, renamed)
			if op.post || again != nil {
				return
			}
			if n++; n == k {
				again = &crashPoint{phase: restorePrefix + ph, op: describe(op) + " restoring from a crash " + p.op, unsynced: unsynced,
					fs: h.clone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: cloneRNG})}
			}
		})
		fs = h
	}
	log, logs := newLog(slog.LevelInfo)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	err := job(run{fs: fs, interval: 2 * time.Millisecond, log: log}).Execute(ctx)
	took := time.Since(began)
	// Only a job that resumed from a checkpoint cleans .staging (the
	// sink's Recover); one that found none starts fresh and leaves what
	// the crashed run had staged, unpublished.
	resumed := len(logs.lines("braid: resuming from checkpoint")) > 0 || len(logs.lines("already ran to its end")) > 0
	if err == nil {
		err = checkOutput(p.fs, want, resumed)
		if err == nil && !resumed {
			if staged, _ := p.fs.List(outDir + "/.staging"); len(staged) > 0 {
				stats.mu.Lock()
				stats.freshLeftovers++
				stats.mu.Unlock()
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("%w\nlog of the restored run:\n%s", err, logs.tail(3000))
	}
	stats.add(p, took, err)
	return again
}

// fingerprint is a digest of every directory and file of fs, names and
// contents: crash clones with the same one are the same disk.
func fingerprint(fs *vfs.MemFS) [32]byte {
	h := sha256.New()
	var walk func(dir string)
	walk = func(dir string) {
		names, err := fs.List(dir)
		if err != nil {
			panic(err)
		}
		slices.Sort(names)
		for _, n := range names {
			p := fs.PathJoin(dir, n)
			st, err := fs.Stat(p)
			if err != nil {
				panic(err)
			}
			fmt.Fprintf(h, "%s %v %d\n", p, st.IsDir(), st.Size())
			if st.IsDir() {
				walk(p)
				continue
			}
			f, err := fs.Open(p)
			if err != nil {
				panic(err)
			}
			io.Copy(h, f)
			f.Close()
		}
	}
	walk("/")
	return [32]byte(h.Sum(nil))
}
