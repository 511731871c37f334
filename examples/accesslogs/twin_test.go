package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/internal/testseed"
)

// twin computes every result of the job over lines directly, one line
// after the other, as the job's rules say (see the package doc):
//
//   - a line is a request if ParseAccess or ParseAccessVHost reads it;
//   - event time after a request is the latest time so far minus bound,
//     moved on by whole minutes: a window ending at e has closed for a
//     request when e <= that latest time minus bound, over the requests
//     before it;
//   - a request is late when its minute has closed, and then counts in
//     no HOST, PATH or alert; it counts in the 5-minute and 10-minute
//     windows still open;
//   - alerts: a host's minutes of at least minRequests requests, in time
//     order, against the point (0 at first): one further than jump from it
//     is an alert, and the new point.
//
// It returns the results as the job's -json lines, sorted, and the late
// requests' and dead letters' line numbers.
func twin(ls []string, bound time.Duration, jump float64, minRequests int64) (results []string, late, dead []int) {
	type tallyKey struct {
		host, path string
		end        time.Time
	}
	perHost, perPath := map[tallyKey]*tally{}, map[tallyKey]*tally{}
	slide := map[tallyKey]int64{}             // (host, path, end of a 5-minute window)
	clients := map[tallyKey]map[string]bool{} // (host or "*", "", end of a 10-minute window)
	var latest time.Time
	seen := false
	for i, l := range ls {
		a, err := logs.ParseAccess(l)
		if err != nil {
			if a, err = logs.ParseAccessVHost(l); err != nil {
				dead = append(dead, i+1)
				continue
			}
		}
		closed := func(end time.Time) bool { return seen && !end.After(latest.Add(-bound)) }
		ts := a.Time.UTC()
		minEnd := ts.Truncate(minute).Add(minute)
		if closed(minEnd) {
			late = append(late, i+1)
		} else {
			add := func(m map[tallyKey]*tally, k tallyKey) {
				t := m[k]
				if t == nil {
					t = &tally{}
					m[k] = t
				}
				t.Requests++
				if a.Status/100 == 5 {
					t.Errors++
				}
			}
			add(perHost, tallyKey{a.Host, "", minEnd})
			add(perPath, tallyKey{a.Host, a.Path, minEnd})
		}
		for end := minEnd; end.Before(minEnd.Add(topSize)); end = end.Add(minute) {
			if !closed(end) {
				slide[tallyKey{a.Host, a.Path, end}]++
			}
		}
		if end := ts.Truncate(clientsWin).Add(clientsWin); !closed(end) {
			for _, h := range []string{a.Host, "*"} {
				k := tallyKey{h, "", end}
				if clients[k] == nil {
					clients[k] = map[string]bool{}
				}
				clients[k][a.Client] = true
			}
		}
		if !seen || ts.After(latest) {
			latest, seen = ts, true
		}
	}

	add := func(v any) { results = append(results, renderAny(v)) }
	for k, t := range perHost {
		add(HostMinute{"host", k.end.Add(-minute), k.end, k.host, t.Requests, t.Errors, t.ratio()})
	}
	for k, t := range perPath {
		add(PathMinute{"path", k.end.Add(-minute), k.end, k.host, k.path, t.Requests, t.Errors, t.ratio()})
	}
	byEnd := map[time.Time][]tallyKey{}
	for k := range slide {
		byEnd[k.end] = append(byEnd[k.end], k)
	}
	for end, ks := range byEnd {
		slices.SortFunc(ks, func(a, b tallyKey) int {
			if slide[a] != slide[b] {
				return int(slide[b] - slide[a])
			}
			return strings.Compare(a.host+"\x00"+a.path, b.host+"\x00"+b.path)
		})
		for i, k := range ks[:min(topN, len(ks))] {
			add(TopPath{"top", end.Add(-topSize), end, i + 1, k.host, k.path, slide[k]})
		}
	}
	hosts := map[string][]tallyKey{}
	for k := range perHost {
		hosts[k.host] = append(hosts[k.host], k)
	}
	for host, ks := range hosts {
		slices.SortFunc(ks, func(a, b tallyKey) int { return a.end.Compare(b.end) })
		point := 0.0
		for _, k := range ks {
			t := perHost[k]
			if t.Requests < minRequests {
				continue
			}
			if d := t.ratio() - point; d > jump || -d > jump {
				kind := "alert"
				if t.ratio() <= point {
					kind = "recovered"
				}
				add(Alert{kind, k.end.Add(-minute), k.end, host, t.ratio() > point, point, t.ratio(), t.Requests, t.Errors})
				point = t.ratio()
			}
		}
	}
	for k, set := range clients {
		add(Clients{"clients", k.end.Add(-clientsWin), k.end, k.host, int64(len(set))})
	}
	slices.Sort(results)
	return results, late, dead
}

// renderAny is a result's JSON line, as the job writes it.
func renderAny(v any) string {
	switch r := v.(type) {
	case HostMinute:
		return renderJSON(r)
	case PathMinute:
		return renderJSON(r)
	case TopPath:
		return renderJSON(r)
	case Alert:
		return renderJSON(r)
	case Clients:
		return renderJSON(r)
	}
	panic(fmt.Sprintf("not a result: %T", v))
}

func renderJSON[T result](r T) string { return render[T](true)(r) }

// The job's results over a generated log are those the twin computes from
// the same lines: every HOST, PATH, TOP, ALERT and CLIENTS figure, the
// late requests and the dead letters, at batch sizes 1 and 256 (event
// time follows the lines, not the batches).
func TestResultsMatchTwin(t *testing.T) {
	seed := testseed.Seed(t)
	n := 30_000
	if testing.Short() {
		n = 12_000
	}
	gen := generate(seed)
	ls := make([]string, n)
	for i := range ls {
		ls[i] = gen(int64(i))
	}
	// A smaller jump, so that a short log has alerts too.
	want, wantLate, wantDead := twin(ls, 2*time.Second, 0.05, 20)
	kinds := map[string]int{}
	for _, l := range want {
		kinds[kindOf(t, l)]++
	}
	if kinds["alert"] == 0 || len(wantDead) == 0 {
		t.Logf("seed %d: kinds %v, %d dead letters: the log lacks something the test checks", seed, kinds, len(wantDead))
	}
	args := func(n int, more ...string) config {
		return flags(t, append([]string{"-json", "-alert-jump", "0.05", "-n", fmt.Sprint(n), "-seed", fmt.Sprint(seed)}, more...)...)
	}
	t.Run("batch=256", func(t *testing.T) { checkAgainstTwin(t, args(n), 256, want, wantLate, wantDead) })
	t.Run("batch=1", func(t *testing.T) {
		ls := ls[:3000]
		want, wantLate, wantDead := twin(ls, 2*time.Second, 0.05, 20)
		checkAgainstTwin(t, args(len(ls)), 1, want, wantLate, wantDead)
	})
	// A log whose alert is followed by its recovery (see generatedArgs).
	t.Run("seed=11", func(t *testing.T) {
		gen := generate(11)
		ls := make([]string, 12_000)
		for i := range ls {
			ls[i] = gen(int64(i))
		}
		want, wantLate, wantDead := twin(ls, 2*time.Second, 0.05, 20)
		rising := map[bool]int{}
		for _, l := range want {
			if k := kindOf(t, l); k == "alert" || k == "recovered" {
				rising[k == "alert"]++
				if k == "alert" != strings.Contains(l, `"rising":true`) {
					t.Fatalf("%s: kind and rising disagree", l)
				}
			}
		}
		if rising[true] == 0 || rising[false] == 0 {
			t.Fatalf("alerts rising and falling: %v; the test needs both", rising)
		}
		checkAgainstTwin(t, flags(t, append([]string{"-json"}, generatedArgs...)...), 256, want, wantLate, wantDead)
	})
	// Without a bound, every request behind the latest one across a minute
	// boundary is late.
	t.Run("bound=0", func(t *testing.T) {
		want, wantLate, wantDead := twin(ls, 0, 0.05, 20)
		if len(wantLate) < 10 {
			t.Fatalf("%d late requests: the test needs more", len(wantLate))
		}
		checkAgainstTwin(t, args(n, "-bound", "0s"), 256, want, wantLate, wantDead)
	})
	t.Logf("seed %d, %d lines: %v results, %d late, %d dead letters", seed, n, kinds, len(wantLate), len(wantDead))
}

func checkAgainstTwin(t *testing.T, cfg config, batch int, want []string, wantLate, wantDead []int) {
	cfg.batchSize = batch
	r := runJob(t, cfg)
	got := lines(r.out)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%d results, want the twin's %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	var late, dead []int
	for _, d := range r.dead {
		var n int
		if _, err := fmt.Sscanf(d, `{"where":"generated line %d"`, &n); err != nil {
			t.Fatalf("dead letter %q has no place", d)
		}
		if strings.Contains(d, `"error":"late request`) {
			late = append(late, n)
		} else {
			dead = append(dead, n)
		}
	}
	slices.Sort(late)
	slices.Sort(dead)
	if !slices.Equal(late, wantLate) || !slices.Equal(dead, wantDead) {
		t.Errorf("late requests at lines %v, want %v; dead letters at %v, want %v", late, wantLate, dead, wantDead)
	}
}

// firstDiff is the first line of one sorted list not in the other.
func firstDiff(got, want []string) string {
	g, w := map[string]int{}, map[string]int{}
	for _, s := range got {
		g[s]++
	}
	for _, s := range want {
		w[s]++
	}
	for _, s := range slices.Sorted(maps.Keys(g)) {
		if g[s] > w[s] {
			return "got " + s
		}
	}
	for _, s := range slices.Sorted(maps.Keys(w)) {
		if w[s] > g[s] {
			return "missing " + s
		}
	}
	return "none"
}
