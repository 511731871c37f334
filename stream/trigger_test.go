package stream_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

type policy struct {
	trigger  string // count, delta
	n        int64
	th       float64
	purging  bool
	evictor  string // "", count, time, delta
	after    bool
	keep     int
	keepTime int64
	evTh     float64
}

type item struct {
	ID  int
	Key int
	Ts  int64
	X   float64
}

func absDiff(a, b item) float64 { return math.Abs(a.X - b.X) }

// triggerTwin applies the policy to each key's elements by hand, rule by
// rule (Flink's EvictingWindowOperator on a global window): append; decide;
// on fire evict-before, run (if not empty), evict-after; on purge empty.
func triggerTwin(items []item, p policy) []string {
	type st struct {
		elems   []item
		count   int64
		last    item
		hasLast bool
	}
	keys := map[int]*st{}
	var out []string
	evict := func(es []item) []item {
		switch p.evictor {
		case "count":
			if len(es) > p.keep {
				return es[len(es)-p.keep:]
			}
		case "time":
			latest := int64(math.MinInt64)
			for _, e := range es {
				latest = max(latest, e.Ts)
			}
			var kept []item
			for _, e := range es {
				if e.Ts > latest-p.keepTime {
					kept = append(kept, e)
				}
			}
			return kept
		case "delta":
			if len(es) == 0 {
				return es
			}
			last := es[len(es)-1]
			var kept []item
			for _, e := range es {
				if absDiff(e, last) < p.evTh {
					kept = append(kept, e)
				}
			}
			return kept
		}
		return es
	}
	for _, it := range items {
		s := keys[it.Key]
		if s == nil {
			s = &st{}
			keys[it.Key] = s
		}
		s.elems = append(s.elems, it)
		fire := false
		switch p.trigger {
		case "count":
			s.count++
			if s.count >= p.n {
				s.count, fire = 0, true
			}
		case "delta":
			if !s.hasLast {
				s.last, s.hasLast = it, true
			} else if absDiff(s.last, it) > p.th {
				s.last, fire = it, true
			}
		}
		if !fire {
			continue
		}
		if !p.after {
			s.elems = evict(s.elems)
		}
		if len(s.elems) > 0 {
			ids := make([]int, len(s.elems))
			for i, e := range s.elems {
				ids[i] = e.ID
			}
			out = append(out, fmt.Sprintf("%d %v", it.Key, ids))
		}
		if p.after {
			s.elems = evict(s.elems)
		}
		if p.purging {
			s.elems = nil
		}
	}
	slices.Sort(out)
	return out
}

func TestTriggersAndEvictorsMatchTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 11))
	for i := range 60 {
		items := make([]item, 20+rng.IntN(200))
		x := map[int]float64{}
		for j := range items {
			k := rng.IntN(4)
			x[k] += rng.NormFloat64()
			items[j] = item{ID: j, Key: k, Ts: int64(j) * 10, X: x[k]}
		}
		p := policy{trigger: []string{"count", "delta"}[rng.IntN(2)], n: 1 + rng.Int64N(6), th: rng.Float64() * 2,
			purging: rng.IntN(2) == 0, evictor: []string{"", "count", "time", "delta"}[rng.IntN(4)], after: rng.IntN(2) == 0,
			keep: 1 + rng.IntN(5), keepTime: 10 * (1 + rng.Int64N(6)), evTh: 0.2 + rng.Float64()*2}
		want := triggerTwin(items, p)
		var trig window.Trigger[item]
		if p.trigger == "count" {
			trig = window.CountTrigger[item](p.n)
		} else {
			trig = window.DeltaTrigger(p.th, absDiff)
		}
		if p.purging {
			trig = window.Purging(trig)
		}
		var ev window.Evictor[item]
		switch p.evictor {
		case "count":
			ev = window.CountEvictor[item](p.keep)
		case "time":
			ev = window.TimeEvictor[item](time.Duration(p.keepTime))
		case "delta":
			ev = window.DeltaEvictor(p.evTh, absDiff)
		}
		for _, par := range []int{1, 4} {
			env := stream.NewEnv(stream.WithParallelism(par), stream.WithBatchSize(1+rng.IntN(30)))
			// Timestamps in the source's one subtask: each key's order must
			// reach the window as it was, since count and delta triggers
			// depend on it.
			src := stream.FromSlice(env, items).WithTimestamps(func(it item) time.Time { return time.Unix(0, it.Ts) }, stream.MonotonousTimestamps()).SetParallelism(1)
			ws := stream.KeyBy(src, func(it item) int { return it.Key }).Window(window.Global()).Trigger(trig)
			if ev != nil {
				if p.after {
					ws = ws.EvictAfter(ev)
				} else {
					ws = ws.Evictor(ev)
				}
			}
			out := stream.Collect(stream.Apply(ws, func(k int, _ window.Window, elems []item, emit func(string)) {
				ids := make([]int, len(elems))
				for i, e := range elems {
					ids[i] = e.ID
				}
				emit(fmt.Sprintf("%d %v", k, ids))
			}))
			if err := env.Execute(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := out.Items()
			slices.Sort(got)
			if d := diff(want, got); d != "" {
				t.Fatalf("case %d %+v, parallelism %d:\n%s", i, p, par, d)
			}
		}
	}
}

// The last 5 elements, every 2 seconds: a global window, a periodic
// processing-time trigger and a count evictor, on the fake clock.
func TestLastFiveEveryTwoSeconds(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	clock := stream.NewFakeClock(start)
	env := stream.NewEnv(stream.WithClock(clock))
	in := make(chan int)
	out := make(chan string, 4)
	ws := stream.KeyBy(stream.FromChannel(env, in), func(int) string { return "k" }).Window(window.Global()).
		Trigger(window.Every[int](2*time.Second, false)).Evictor(window.CountEvictor[int](5))
	stream.Apply(ws, func(_ string, _ window.Window, elems []int, emit func(string)) { emit(fmt.Sprint(elems)) }).ToChannel(out)
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(context.Background()) }()
	for i := range 8 {
		in <- i
	}
	waitFor(t, func() bool { return windowRecordsIn(env) == 8 && clock.Timers() > 0 })
	clock.Advance(2 * time.Second)
	if got := <-out; got != "[3 4 5 6 7]" {
		t.Fatalf("first firing %s, want the last five", got)
	}
	in <- 8
	waitFor(t, func() bool { return windowRecordsIn(env) == 9 })
	clock.Advance(2 * time.Second)
	if got := <-out; got != "[4 5 6 7 8]" {
		t.Fatalf("second firing %s", got)
	}
	close(in)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// An evictor on an event-time tumbling window: the default trigger fires
// at the end, with the last n elements of the key's window.
func TestEvictorOnTumblingWindow(t *testing.T) {
	env := stream.NewEnv()
	var items []item
	for i := range 30 {
		items = append(items, item{ID: i, Key: i % 2, Ts: int64(i) * int64(time.Second)})
	}
	src := stream.FromSlice(env, items).WithTimestamps(func(it item) time.Time { return time.Unix(0, it.Ts) }, stream.MonotonousTimestamps())
	ws := stream.KeyBy(src, func(it item) int { return it.Key }).Window(window.Tumbling(10 * time.Second)).Evictor(window.CountEvictor[item](2))
	out := stream.Collect(stream.Apply(ws, func(k int, w window.Window, elems []item, emit func(string)) {
		emit(fmt.Sprintf("%d %d %d,%d", k, w.StartTime().Unix(), elems[0].ID, elems[1].ID))
	}))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := out.Items()
	slices.Sort(got)
	want := []string{"0 0 6,8", "0 10 16,18", "0 20 26,28", "1 0 7,9", "1 10 17,19", "1 20 27,29"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
