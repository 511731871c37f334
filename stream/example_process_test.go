package stream_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
)

// Process runs code of your own per key, with keyed state and timers, when
// no built-in operator fits. Here each user's page views make a visit,
// reported once the user has been idle for 30 seconds of event time: the
// pages so far are kept in a list state, the time of the last view in a
// value state, and an event-time timer is moved to 30s after each view.
func ExampleProcess() {
	type view struct {
		User, Page string
		At         time.Time
	}
	t0 := time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	views := []view{
		{"alice", "/home", at(0)}, {"bob", "/home", at(3)}, {"alice", "/cart", at(10)},
		{"alice", "/pay", at(25)}, {"bob", "/help", at(70)}, {"alice", "/home", at(90)},
	}
	const idle = 30 * time.Second

	// setup runs once per subtask: it makes the states and returns the
	// function. A state holds a value per key; the function reads and
	// writes only the current key's, c.Key().
	visits := func(st *state.Store) (stream.ProcessFunc[string, view, string], error) {
		var none stream.ProcessFunc[string, view, string]
		pages, err := state.NewList[string, string](st, "pages")
		if err != nil {
			return none, err
		}
		last, err := state.NewValue[string, time.Time](st, "last view")
		if err != nil {
			return none, err
		}
		// report emits the key's visit, idle from its last view, and
		// forgets it.
		report := func(c *stream.ProcessContext[string, string], lastView time.Time) {
			c.Emit(fmt.Sprintf("%s, idle from %s: %s", c.Key(),
				lastView.UTC().Format("15:04:05"), strings.Join(pages.Get(c.Key()), " > ")))
			pages.Clear(c.Key())
			last.Clear(c.Key())
		}
		return stream.ProcessFunc[string, view, string]{
			OnElement: func(c *stream.ProcessContext[string, string], v view) {
				if prev, ok := last.Get(c.Key()); ok {
					c.DeleteEventTimer(prev.Add(idle))
					// The watermark that would fire the timer comes after
					// the element that moves it: a view more than idle
					// after the last one ends the visit here.
					if v.At.Sub(prev) > idle {
						report(c, prev)
					}
				}
				pages.Add(c.Key(), v.Page)
				last.Set(c.Key(), v.At)
				c.SetEventTimer(v.At.Add(idle))
			},
			// Called when the watermark passes a timer's time, for the
			// key that set it.
			OnTimer: func(c *stream.ProcessContext[string, string], t stream.TimerInfo) {
				report(c, t.At.Add(-idle))
			},
		}, nil
	}

	env := stream.NewEnv()
	src := stream.FromSlice(env, views).
		WithTimestamps(func(v view) time.Time { return v.At }, stream.MonotonousTimestamps())
	out := stream.Collect(stream.Process(stream.KeyBy(src, func(v view) string { return v.User }), visits))
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	// Timers fire in time order. At the end of the input every event
	// timer left fires: the last visits are reported too.
	for _, s := range out.Items() {
		fmt.Println(s)
	}
	// Output:
	// bob, idle from 18:00:03: /home
	// alice, idle from 18:00:25: /home > /cart > /pay
	// bob, idle from 18:01:10: /help
	// alice, idle from 18:01:30: /home
}
