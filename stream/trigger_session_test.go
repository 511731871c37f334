package stream_test

// Triggers and evictors on session windows against a brute-force twin. The
// twin keeps each key's sessions as plain lists and every timer in a set,
// and follows Flink's WindowOperator with a MergingWindowSet (and the
// EvictingWindowOperator) rule by rule:
//   - an element's window [ts, ts+gap) joins the session that contains it;
//     or merges with every session it overlaps or touches: their timers
//     are deleted (Trigger.clear, deleteCleanupTimer), the trigger merges
//     their state (onMerge: counts add up, the next periodic firing is the
//     least, EventTimeTrigger sets a timer at the merged end-1 when the
//     watermark has not passed it) and the merged window gets its cleanup
//     timer; or it opens a new session, unless that is late;
//   - then the element is added and the trigger's onElement decides;
//   - a timer calls onTime, and at the window's cleanup time drops it with
//     its timers;
//   - a firing evicts before, runs the function if anything is left, and
//     evicts after; a purge empties the window.
// The merged window's elements are its sessions', oldest session first.
// One watermark per source batch (max timestamp - bound - 1, when that
// advances), as in reference_test.go.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type sessionPolicy struct {
	gap, bound, lateness int64
	batch                int
	trigger              string // count, event, every, sum
	n                    int64  // count's count, every's period, sum's threshold
	purging              bool
	evictor              string // "", count, time, delta
	after                bool
	keep                 int64 // count evictor's n, time evictor's span, delta evictor's threshold
}

// sumTrigger is a trigger of a user's own: it fires when the values added
// since it last fired reach th, and merges by adding up.
type sumTrigger struct{ th int64 }

func (s sumTrigger) OnElement(e ev, _ int64, st *window.TriggerState[ev]) window.TriggerResult {
	st.Count += e.Val
	if st.Count >= s.th {
		st.Count = 0
		return window.Fire
	}
	return window.Continue
}

func (sumTrigger) OnTime(bool, int64, *window.TriggerState[ev]) window.TriggerResult {
	return window.Continue
}

func (sumTrigger) OnMerge(st *window.TriggerState[ev], merged []*window.TriggerState[ev]) {
	for _, m := range merged {
		st.Count += m.Count
	}
}

func (p sessionPolicy) triggerOf() window.Trigger[ev] {
	var t window.Trigger[ev]
	switch p.trigger {
	case "count":
		t = window.CountTrigger[ev](p.n)
	case "event":
		t = window.EventTimeTrigger[ev]()
	case "every":
		t = window.Every[ev](time.Duration(p.n), true)
	case "sum":
		t = sumTrigger{p.n}
	}
	if p.purging {
		t = window.Purging(t)
	}
	return t
}

func (p sessionPolicy) evictorOf() window.Evictor[ev] {
	switch p.evictor {
	case "count":
		return window.CountEvictor[ev](int(p.keep))
	case "time":
		return window.TimeEvictor[ev](time.Duration(p.keep))
	case "delta":
		return window.DeltaEvictor(float64(p.keep), func(a, b ev) float64 { return math.Abs(float64(a.Val - b.Val)) })
	}
	return nil
}

func formatIDs(key int, w window.Window, elems []ev) string {
	ids := make([]string, len(elems))
	for i, e := range elems {
		ids[i] = fmt.Sprint(e.ID)
	}
	return fmt.Sprintf("%d %v [%s]", key, w, strings.Join(ids, " "))
}

// sessionTwin runs the policy over the events by hand and returns the
// firings and the late elements' ids, sorted, and how many merges joined
// two sessions or more.
func sessionTwin(events []ev, p sessionPolicy) (out []string, late []int, bridges int) {
	type sess struct {
		w       window.Window
		elems   []ev
		count   int64 // count and sum triggers
		next    int64 // every: the next firing, when hasNext
		hasNext bool
	}
	type timer struct {
		key int
		w   window.Window
		at  int64
	}
	sessions := map[int][]*sess{}
	timers := map[timer]bool{}
	wm := int64(math.MinInt64)
	cleanup := func(w window.Window) int64 { return window.CleanupTime(w, p.lateness) }
	evict := func(es []ev) []ev {
		switch p.evictor {
		case "count":
			if int64(len(es)) > p.keep {
				return es[int64(len(es))-p.keep:]
			}
		case "time":
			latest := int64(math.MinInt64)
			for _, e := range es {
				latest = max(latest, e.Ts)
			}
			var kept []ev
			for _, e := range es {
				if e.Ts > latest-p.keep {
					kept = append(kept, e)
				}
			}
			return kept
		case "delta":
			if len(es) == 0 {
				return es
			}
			last := es[len(es)-1]
			var kept []ev
			for _, e := range es {
				if math.Abs(float64(e.Val-last.Val)) < float64(p.keep) {
					kept = append(kept, e)
				}
			}
			return kept
		}
		return es
	}
	decide := func(key int, s *sess, fire bool) {
		if !fire {
			return
		}
		if !p.after {
			s.elems = evict(s.elems)
		}
		if len(s.elems) > 0 {
			out = append(out, formatIDs(key, s.w, s.elems))
		}
		if p.after {
			s.elems = evict(s.elems)
		}
		if p.purging {
			s.elems = nil
		}
	}
	deleteTimers := func(key int, w window.Window) {
		for t := range timers {
			if t.key == key && t.w == w {
				delete(timers, t)
			}
		}
	}
	advance := func(newWm int64) {
		if newWm <= wm {
			return
		}
		wm = newWm
		for {
			var first *timer
			for t := range timers {
				if t.at <= wm && (first == nil || t.at < first.at) {
					first = &t
				}
			}
			if first == nil {
				break
			}
			t := *first
			delete(timers, t)
			var s *sess
			for _, x := range sessions[t.key] {
				if x.w == t.w {
					s = x
				}
			}
			if s == nil {
				panic("twin: a timer outlived its window")
			}
			fire := false
			switch p.trigger {
			case "event":
				fire = t.at == s.w.MaxTimestamp()
			case "every":
				if s.hasNext && t.at == s.next {
					s.next += p.n
					if wm != math.MaxInt64 {
						timers[timer{t.key, s.w, s.next}] = true
					}
					fire = true
				}
			}
			decide(t.key, s, fire)
			if t.at >= cleanup(s.w) {
				deleteTimers(t.key, s.w)
				sessions[t.key] = slices.DeleteFunc(sessions[t.key], func(x *sess) bool { return x == s })
			}
		}
	}
	for i, e := range events {
		w := window.Window{Start: e.Ts, End: e.Ts + p.gap}
		ss := sessions[e.Key]
		var over []*sess
		merged := w
		var rest []*sess
		for _, s := range ss {
			if s.w.Intersects(w) {
				over = append(over, s)
				merged = merged.Cover(s.w)
			} else {
				rest = append(rest, s)
			}
		}
		var s *sess
		switch {
		case len(over) == 0:
			if cleanup(w) <= wm {
				late = append(late, e.ID)
			} else {
				s = &sess{w: w}
				timers[timer{e.Key, w, cleanup(w)}] = true
			}
		case len(over) == 1 && over[0].w == merged:
			s = over[0]
		default:
			if len(over) > 1 {
				bridges++
			}
			s = &sess{w: merged}
			slices.SortFunc(over, func(a, b *sess) int { return int(a.w.Start - b.w.Start) })
			for _, o := range over {
				deleteTimers(e.Key, o.w)
				s.elems = append(s.elems, o.elems...)
				s.count += o.count
				if o.hasNext && (!s.hasNext || o.next < s.next) {
					s.next, s.hasNext = o.next, true
				}
			}
			switch p.trigger {
			case "event":
				if merged.MaxTimestamp() > wm {
					timers[timer{e.Key, merged, merged.MaxTimestamp()}] = true
				}
			case "every":
				if s.hasNext {
					timers[timer{e.Key, merged, s.next}] = true
				}
			}
			timers[timer{e.Key, merged, cleanup(merged)}] = true
		}
		if s != nil {
			if len(over) != 1 || over[0] != s {
				sessions[e.Key] = append(rest, s)
			}
			s.elems = append(s.elems, e)
			fire := false
			switch p.trigger {
			case "count", "sum":
				if p.trigger == "count" {
					s.count++
				} else {
					s.count += e.Val
				}
				if s.count >= p.n {
					s.count, fire = 0, true
				}
			case "event":
				if s.w.MaxTimestamp() <= wm {
					fire = true
				} else {
					timers[timer{e.Key, s.w, s.w.MaxTimestamp()}] = true
				}
			case "every":
				if !s.hasNext {
					s.next, s.hasNext = window.StartOf(e.Ts, 0, p.n)+p.n, true
					timers[timer{e.Key, s.w, s.next}] = true
				}
			}
			decide(e.Key, s, fire)
		}
		// The source's batch ends: a watermark, when it advances; the final
		// one after the last.
		if (i+1)%p.batch == 0 || i == len(events)-1 {
			newWm := int64(math.MinInt64)
			for _, e := range events[:i+1] {
				newWm = max(newWm, e.Ts-p.bound-1)
			}
			advance(newWm)
		}
	}
	advance(math.MaxInt64)
	slices.Sort(out)
	slices.Sort(late)
	return out, late, bridges
}

func randomSessionPolicy(rng *rand.Rand) sessionPolicy {
	p := sessionPolicy{gap: 1 + rng.Int64N(15), batch: 1 + rng.IntN(20),
		trigger: []string{"count", "event", "every", "sum"}[rng.IntN(4)], purging: rng.IntN(2) == 0,
		evictor: []string{"", "count", "time", "delta"}[rng.IntN(4)], after: rng.IntN(2) == 0}
	p.bound = rng.Int64N(20)
	if rng.IntN(2) == 0 {
		p.lateness = rng.Int64N(30)
	}
	switch p.trigger {
	case "count":
		p.n = 1 + rng.Int64N(5)
	case "every":
		p.n = 1 + rng.Int64N(10)
	case "sum":
		p.n = 1 + rng.Int64N(3000)
	}
	switch p.evictor {
	case "count":
		p.keep = 1 + rng.Int64N(4)
	case "time":
		p.keep = 1 + rng.Int64N(10)
	case "delta":
		p.keep = 1 + rng.Int64N(600)
	}
	return p
}

func randomSessionEvents(rng *rand.Rand) []ev {
	events := make([]ev, 30+rng.IntN(300))
	keys, disorder := 1+rng.IntN(4), int64(rng.IntN(30))
	base := int64(rng.IntN(200)) - 100
	for i := range events {
		base += int64(rng.IntN(5))
		events[i] = ev{ID: i, Key: rng.IntN(keys), Ts: base - rng.Int64N(disorder+1), Val: rng.Int64N(1000)}
	}
	return events
}

// runSessionPolicy runs the policy through Braid: at parallelism 1, or with
// the window at parallelism par behind a source of one subtask (so each
// key's elements and watermarks reach the window as they were).
func runSessionPolicy(t *testing.T, events []ev, p sessionPolicy, par int) (out []string, late []int) {
	env := stream.NewEnv(stream.WithBatchSize(p.batch), stream.WithParallelism(par))
	src := stream.FromSlice(env, events).
		WithTimestamps(func(e ev) time.Time { return time.Unix(0, e.Ts) }, stream.BoundedOutOfOrderness(time.Duration(p.bound))).SetParallelism(1)
	ws := stream.KeyBy(src, func(e ev) int { return e.Key }).Window(window.Session(time.Duration(p.gap))).
		AllowedLateness(time.Duration(p.lateness)).Trigger(p.triggerOf())
	if ev := p.evictorOf(); ev != nil {
		if p.after {
			ws = ws.EvictAfter(ev)
		} else {
			ws = ws.Evictor(ev)
		}
	}
	res := stream.Collect(stream.Apply(ws, func(k int, w window.Window, elems []ev, emit func(string)) {
		emit(formatIDs(k, w, elems))
	}))
	lateC := stream.Collect(ws.Late())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.Execute(ctx); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	out = res.Items()
	slices.Sort(out)
	for _, e := range lateC.Items() {
		late = append(late, e.ID)
	}
	slices.Sort(late)
	return out, late
}

func TestSessionTriggersMatchTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 12))
	iterations := 150
	if testing.Short() {
		iterations = 40
	}
	bridged := 0
	for i := range iterations {
		events, p := randomSessionEvents(rng), randomSessionPolicy(rng)
		want, wantLate, bridges := sessionTwin(events, p)
		if bridges > 0 {
			bridged++
		}
		for _, par := range []int{1, 2} {
			got, gotLate := runSessionPolicy(t, events, p, par)
			if d := diff(want, got); d != "" || !slices.Equal(wantLate, gotLate) {
				t.Fatalf("case %d %+v, parallelism %d, %d events: firings differ from the twin:\n%s\nlate want %v\nlate got  %v",
					i, p, par, len(events), d, wantLate, gotLate)
			}
		}
	}
	t.Logf("%d of %d cases bridged", bridged, iterations)
	if bridged < iterations/4 {
		t.Fatalf("only %d of %d cases merged two sessions: the inputs do not exercise merging", bridged, iterations)
	}
}

// deltaLike is a trigger of a user's own without OnMerge.
type deltaLike struct{}

func (deltaLike) OnElement(ev, int64, *window.TriggerState[ev]) window.TriggerResult {
	return window.Fire
}
func (deltaLike) OnTime(bool, int64, *window.TriggerState[ev]) window.TriggerResult {
	return window.Continue
}

// Flink's WindowedStream.trigger refuses, when the job is built, a trigger
// that cannot merge on a merging window assigner. So does Braid, naming
// the window and the trigger; merging triggers of the library's and of a
// user's own are accepted.
func TestSessionTriggerMustMerge(t *testing.T) {
	delta := window.DeltaTrigger(1, func(a, b ev) float64 { return float64(b.Val - a.Val) })
	for name, c := range map[string]struct {
		trig window.Trigger[ev]
		ok   bool
	}{
		"delta":          {delta, false},
		"purging(delta)": {window.Purging(delta), false},
		"own, no merge":  {deltaLike{}, false},
		"own, merging":   {sumTrigger{10}, true},
		"purging(count)": {window.Purging(window.CountTrigger[ev](2)), true},
		"every":          {window.Every[ev](time.Second, false), true},
		"processing":     {window.ProcessingTimeTrigger[ev](), true},
	} {
		env := stream.NewEnv()
		src := stream.FromSlice(env, []ev{{Key: 1, Ts: 1, Val: 20}}).
			WithTimestamps(func(e ev) time.Time { return time.Unix(0, e.Ts) }, stream.MonotonousTimestamps())
		ws := stream.KeyBy(src, func(e ev) int { return e.Key }).Window(window.Session(time.Second)).Trigger(c.trig)
		stream.Count(ws).ForEach(func(window.Result[int, int64]) error { return nil })
		err := env.Execute(context.Background())
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", name, err)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), "cannot merge") || !strings.Contains(err.Error(), "session 1s")):
			t.Errorf("%s: got %v, want an error saying the trigger cannot merge on session 1s windows", name, err)
		}
	}
}

// An evictor on session windows with the default trigger: each session
// fires at its end with its last two elements, merged sessions included.
func TestEvictorOnSessions(t *testing.T) {
	env := stream.NewEnv()
	ts := []int64{0, 1, 2, 20, 40, 30, 41} // 30 bridges [20,30) and [40,50)
	var events []ev
	for i, t := range ts {
		events = append(events, ev{ID: i, Key: 1, Ts: t * int64(time.Second)})
	}
	src := stream.FromSlice(env, events).
		WithTimestamps(func(e ev) time.Time { return time.Unix(0, e.Ts) }, stream.BoundedOutOfOrderness(15*time.Second))
	ws := stream.KeyBy(src, func(e ev) int { return e.Key }).Window(window.Session(10 * time.Second)).Evictor(window.CountEvictor[ev](2))
	out := stream.Collect(stream.Apply(ws, func(k int, w window.Window, elems []ev, emit func(string)) {
		ids := make([]int, len(elems))
		for i, e := range elems {
			ids[i] = e.ID
		}
		emit(fmt.Sprintf("%d-%d %v", w.StartTime().Unix(), w.EndTime().Unix(), ids))
	}))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := out.Items()
	slices.Sort(got)
	// [20,30) and [40,50) merge with 30's [30,40): their elements in order
	// of the sessions, then 30, then 41; the last two are 5 and 6.
	want := []string{"0-12 [1 2]", "20-51 [5 6]"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
