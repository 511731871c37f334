package operators

import (
	"testing"
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/window"
)

func triggerBuild(a window.Assigner, eventTime bool, lateness int64, trig window.Trigger[kv], before, after window.Evictor[kv]) opBuild[string] {
	return func(bc *BuildContext, out Input[string]) []any {
		spec := applySpec(a, eventTime)
		spec.Lateness = lateness
		return []any{NewTriggerWindow(spec, trig, before, after, bc, out, lateInto(out))}
	}
}

// sumTrigger is a trigger of the user's own whose state lives in
// window.TriggerState: it fires when the sum of the window's values since
// it last fired reaches 10 (kept in Count), remembers the element it last
// fired on (Last), and asks for a processing-time timer 5 ms after each
// element of a window that has not fired yet, which fires what the window
// holds. It merges (the sums add up).
type sumTrigger struct{}

func (sumTrigger) OnElement(v kv, _ int64, s *window.TriggerState[kv]) window.TriggerResult {
	s.Count += v.V
	if s.Count >= 10 {
		s.Count, s.Last, s.HasLast = 0, v, true
		return window.FireAndPurge
	}
	if !s.HasLast {
		s.SetProcessingTimer(s.Now + int64(5*time.Millisecond))
	}
	return window.Continue
}

func (sumTrigger) OnTime(eventTime bool, _ int64, s *window.TriggerState[kv]) window.TriggerResult {
	if eventTime || s.HasLast {
		return window.Continue
	}
	s.Count = 0
	return window.FireAndPurge
}

func (sumTrigger) OnMerge(s *window.TriggerState[kv], merged []*window.TriggerState[kv]) {
	for _, m := range merged {
		s.Count += m.Count
		if m.HasLast {
			s.Last, s.HasLast = m.Last, true
		}
	}
}

// Event-time steps: windows that fire at the watermark, elements within
// the lateness (fire again) and past it (late), sessions that merge after
// a snapshot, periodic event-time firings.
var triggerEventSteps = []kvStep{
	kvPush([]int64{0, 3, 1, 2}, kv{"b", 1}, kv{"e", 2}, kv{"g", 3}, kv{"b", 4}),
	kvPush([]int64{20, 21, 5}, kv{"b", 10}, kv{"h", 1}, kv{"b", 6}),
	kvPush([]int64{11, 12}, kv{"b", 5}, kv{"e", 7}),
	kvWM(12),
	kvPush([]int64{8, 9}, kv{"g", 4}, kv{"b", 2}),
	kvPush([]int64{0}, kv{"h", 100}),
	kvWM(16),
	kvPush([]int64{2, 4}, kv{"g", 7}, kv{"e", 9}),
	kvPush([]int64{25, 26, 29, 27}, kv{"e", 1}, kv{"h", 1}, kv{"b", 2}, kv{"b", 3}),
	kvWM(40),
	kvPush([]int64{45, 47, 41}, kv{"b", 1}, kv{"b", 1}, kv{"g", 8}),
	kvWM(50),
	kvPush([]int64{31}, kv{"g", 1}),
	kvPush([]int64{56, 57}, kv{"b", 1}, kv{"e", 1}),
	kvEnd(),
}

// Processing-time steps, 1 ms apart and more.
var triggerProcSteps = []kvStep{
	kvPush(nil, kv{"b", 1}, kv{"e", 1}, kv{"g", 1}),
	kvAdvance(3 * time.Millisecond),
	kvPush(nil, kv{"h", 2}, kv{"e", 2}, kv{"b", 9}),
	kvAdvance(5 * time.Millisecond),
	kvPush(nil, kv{"b", 3}, kv{"g", 12}),
	kvAdvance(4 * time.Millisecond),
	kvPush(nil, kv{"g", 4}, kv{"h", 4}),
	kvAdvance(9 * time.Millisecond),
	kvAdvance(9 * time.Millisecond),
	kvPush(nil, kv{"b", 5}, kv{"e", 5}, kv{"g", 5}, kv{"h", 5}),
	kvAdvance(time.Millisecond),
	kvPush(nil, kv{"e", 6}, kv{"e", 7}),
	kvAdvance(20 * time.Millisecond),
	kvPush(nil, kv{"b", 7}),
	kvAdvance(7 * time.Millisecond),
	kvEnd(),
}

type triggerCase struct {
	name          string
	a             window.Assigner
	eventTime     bool
	lateness      int64
	trig          window.Trigger[kv]
	before, after window.Evictor[kv]
}

var triggerCases = []triggerCase{
	{"tumbling/event", window.Tumbling(10), true, 5, window.EventTimeTrigger[kv](), window.CountEvictor[kv](2), nil},
	{"sliding/event/count", window.Sliding(10, 5), true, 3, window.CountTrigger[kv](2), nil, window.CountEvictor[kv](1)},
	{"tumbling/event/every", window.Tumbling(20), true, 0, window.Every[kv](4, true), nil, nil},
	{"global/purging-count", window.Global(), true, 0, window.Purging(window.CountTrigger[kv](3)), nil, nil},
	{"global/count/time-evictor", window.Global(), true, 0, window.CountTrigger[kv](2), window.TimeEvictor[kv](6), nil},
	{"session/event", window.Session(10), true, 5, window.EventTimeTrigger[kv](), nil, nil},
	{"session/event/count", window.Session(10), true, 0, window.CountTrigger[kv](3), nil, nil},
	{"session/event/every", window.Session(10), true, 5, window.Every[kv](3, true), nil, window.CountEvictor[kv](2)},
	{"session/event/purging-every", window.Session(10), true, 0, window.Purging(window.Every[kv](3, true)), nil, nil},
	{"session/event/custom", window.Session(10), true, 5, sumTrigger{}, nil, nil},
	{"tumbling/proc", window.Tumbling(10 * time.Millisecond), false, 0, window.ProcessingTimeTrigger[kv](), nil, window.CountEvictor[kv](1)},
	{"sliding/proc/every", window.Sliding(20*time.Millisecond, 10*time.Millisecond), false, 0, window.Every[kv](3*time.Millisecond, false), nil, nil},
	{"global/proc/custom", window.Global(), false, 0, sumTrigger{}, nil, nil},
	{"session/proc", window.Session(10 * time.Millisecond), false, 0, window.ProcessingTimeTrigger[kv](), nil, nil},
	{"session/proc/custom", window.Session(8 * time.Millisecond), false, 0, sumTrigger{}, window.CountEvictor[kv](2), nil},
	{"session/proc/every", window.Session(10 * time.Millisecond), false, 0, window.Every[kv](2*time.Millisecond, false), nil, nil},
}

func (c triggerCase) steps() []kvStep {
	if c.eventTime {
		return triggerEventSteps
	}
	return triggerProcSteps
}

func TestTriggerWindowSnapshots(t *testing.T) {
	for _, c := range triggerCases {
		t.Run(c.name, func(t *testing.T) {
			build := triggerBuild(c.a, c.eventTime, c.lateness, c.trig, c.before, c.after)
			checkSnapshots(t, build, harness(c.steps()))
			checkRestoreChain(t, build, harness(c.steps()))
		})
	}
}

func TestTriggerWindowRescales(t *testing.T) {
	for _, c := range triggerCases {
		t.Run(c.name, func(t *testing.T) {
			build := triggerBuild(c.a, c.eventTime, c.lateness, c.trig, c.before, c.after)
			for _, p := range [][2]int{{1, 2}, {2, 1}, {2, 3}} {
				checkRescale(t, build, spread(c.steps()), p[0], p[1])
			}
		})
	}
}

func TestTriggerWindowUncodable(t *testing.T) {
	type withFunc struct{ F func() }
	tk := &task{cp: &taskCP{coord: &coordinator{}}}
	bc := &BuildContext{Parallelism: 1, MaxParallelism: 16, Clock: NewFakeClock(time.Unix(0, 0)), task: tk, metrics: &opMetrics{}}
	spec := WindowSpec[withFunc, string, int64, string]{Key: func(withFunc) string { return "" }, Hash: state.HashString,
		Assigner: window.Global(), Agg: Agg[withFunc, int64]{Add: func(a int64, _ withFunc) int64 { return a }}}
	NewTriggerWindow(spec, window.CountTrigger[withFunc](2), nil, nil, bc, &collect[string]{}, nil)
	checkUncodable(t, tk, "window with a trigger", "func()")
}
