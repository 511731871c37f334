package stream_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
)

type pev struct {
	Key   int
	Ts    int64
	Delay int64
}

// countAndRemind counts elements per key in a ValueState and, for each
// element, sets an event timer Delay after it; the timer reports the key,
// its time and the key's count then.
func countAndRemind(st *state.Store) (stream.ProcessFunc[int, pev, string], error) {
	count, err := state.NewValue[int, int](st, "count")
	if err != nil {
		return stream.ProcessFunc[int, pev, string]{}, err
	}
	return stream.ProcessFunc[int, pev, string]{
		OnElement: func(c *stream.ProcessContext[int, string], e pev) {
			n, _ := count.Get(c.Key())
			count.Set(c.Key(), n+1)
			c.SetEventTimer(time.Unix(0, e.Ts+e.Delay))
		},
		OnTimer: func(c *stream.ProcessContext[int, string], t stream.TimerInfo) {
			n, _ := count.Get(c.Key())
			emitted, _ := c.Timestamp()
			c.Emit(fmt.Sprintf("key %d timer %d count %d ts %d", c.Key(), t.At.UnixNano(), n, emitted.UnixNano()))
		},
	}, nil
}

// The twin: elements in order, one watermark after each (its timestamp
// minus 1), timers per (key, time) once, fired in time order (ties in the
// order they were set) as soon as the watermark reaches them.
func processTwin(events []pev) []string {
	type timer struct {
		key int
		at  int64
		seq int
	}
	var pending []timer
	set := map[[2]int64]bool{}
	count := map[int]int{}
	var out []string
	fire := func(wm int64) {
		slices.SortStableFunc(pending, func(a, b timer) int {
			if a.at != b.at {
				return int(min(max(a.at-b.at, -1), 1))
			}
			return a.seq - b.seq
		})
		for len(pending) > 0 && pending[0].at <= wm {
			t := pending[0]
			pending = pending[1:]
			delete(set, [2]int64{int64(t.key), t.at})
			out = append(out, fmt.Sprintf("key %d timer %d count %d ts %d", t.key, t.at, count[t.key], t.at))
		}
	}
	wm := int64(math.MinInt64)
	for i, e := range events {
		count[e.Key]++
		at := e.Ts + e.Delay
		if !set[[2]int64{int64(e.Key), at}] {
			set[[2]int64{int64(e.Key), at}] = true
			pending = append(pending, timer{key: e.Key, at: at, seq: i})
		}
		wm = max(wm, e.Ts-1)
		fire(wm)
	}
	fire(math.MaxInt64)
	return out
}

func randomProcessEvents(rng *rand.Rand) []pev {
	n := 20 + rng.IntN(300)
	events := make([]pev, n)
	ts := int64(rng.IntN(50)) - 25
	for i := range events {
		ts += int64(rng.IntN(4))
		events[i] = pev{Key: rng.IntN(5), Ts: ts, Delay: int64(rng.IntN(12))}
	}
	return events
}

func runProcess(t *testing.T, events []pev, par int) []string {
	env := stream.NewEnv(stream.WithBatchSize(1), stream.WithParallelism(par))
	src := stream.FromSlice(env, events).WithTimestamps(func(e pev) time.Time { return time.Unix(0, e.Ts) }, stream.MonotonousTimestamps())
	out := stream.Collect(stream.Process(stream.KeyBy(src, func(e pev) int { return e.Key }), countAndRemind))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.Items()
}

func TestProcessTimersMatchTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 3))
	for i := range 30 {
		events := randomProcessEvents(rng)
		want := processTwin(events)
		if got := runProcess(t, events, 1); !slices.Equal(got, want) {
			t.Fatalf("case %d, %d events: timers differ from the twin:\n%s", i, len(events), diff(want, got))
		}
	}
}

// In parallel each subtask holds some keys: every (key, time) still fires
// exactly once, and each key's timers in time order.
func TestProcessTimersParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 4))
	events := randomProcessEvents(rng)
	got := runProcess(t, events, 4)
	want := processTwin(events)
	if len(got) != len(want) {
		t.Fatalf("%d timers fired, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	last := map[int]int64{}
	for _, line := range got {
		var key int
		var at, count, ts int64
		fmt.Sscanf(line, "key %d timer %d count %d ts %d", &key, &at, &count, &ts)
		id := fmt.Sprint(key, at)
		if seen[id] {
			t.Fatalf("timer %s fired twice", id)
		}
		seen[id] = true
		if prev, ok := last[key]; ok && at < prev {
			t.Fatalf("key %d: timer %d after %d", key, at, prev)
		}
		last[key] = at
	}
}

func TestProcessingTimeTimersWithFakeClock(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	clock := stream.NewFakeClock(start)
	env := stream.NewEnv(stream.WithClock(clock))
	in := make(chan string)
	out := make(chan string, 4)
	stream.Process(stream.KeyBy(stream.FromChannel(env, in), func(s string) string { return s }),
		func(*state.Store) (stream.ProcessFunc[string, string, string], error) {
			return stream.ProcessFunc[string, string, string]{
				OnElement: func(c *stream.ProcessContext[string, string], v string) {
					c.SetProcessingTimer(c.Now().Add(10 * time.Second))
					c.SetProcessingTimer(c.Now().Add(10 * time.Second)) // the same timer: fires once
				},
				OnTimer: func(c *stream.ProcessContext[string, string], ti stream.TimerInfo) {
					c.Emit(fmt.Sprintf("%s at +%v", c.Key(), ti.At.Sub(start)))
				},
			}, nil
		}).ToChannel(out)
	errc := make(chan error, 1)
	go func() { errc <- env.Execute(context.Background()) }()
	in <- "a"
	waitFor(t, func() bool { return clock.Timers() > 0 && processIn(env) == 1 })
	clock.Advance(10 * time.Second)
	if got := <-out; got != "a at +10s" {
		t.Fatalf("got %q", got)
	}
	close(in)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	select {
	case extra := <-out:
		t.Fatalf("the timer fired twice: %q", extra)
	default:
	}
}

func processIn(env *stream.Env) int64 {
	for _, m := range env.Metrics() {
		if m.Operator == "process" {
			return m.RecordsIn
		}
	}
	return 0
}

func TestProcessSetupErrorFailsJob(t *testing.T) {
	env := stream.NewEnv()
	stream.Process(stream.KeyBy(stream.FromSlice(env, []int{1}), func(v int) int { return v }),
		func(st *state.Store) (stream.ProcessFunc[int, int, int], error) {
			state.NewValue[int, int](st, "x")
			_, err := state.NewList[int, int](st, "x") // the same name twice
			return stream.ProcessFunc[int, int, int]{}, err
		}).Print()
	err := env.Execute(context.Background())
	if !errors.Is(err, state.ErrStateExists) || !strings.Contains(err.Error(), `operator "process"`) {
		t.Fatalf("Execute = %v", err)
	}
}
