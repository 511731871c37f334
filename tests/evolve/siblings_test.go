package evolve_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Operators that share a name and an input (several events.Filter, two
// windows of one kind on one keyed stream) are told apart in checkpoints
// by their rank among them and their number (operators/restore.go):
//   - twin: a window added before an existing one with the same name and
//     input must not take the existing one's state; the existing one
//     must not start empty while nothing says so. Resuming gives both
//     their right state or refuses, naming the window.
//   - filter: removing a stateless branch that began with events.Filter
//     must not change the ids of the stateful operators under the other
//     events.Filter: the job resumes and its results are exact.
func TestSiblings(t *testing.T) {
	want := reference(t, job{par: 2})
	hold := int64(nEvents / 2)
	t.Run("twin", func(t *testing.T) {
		twin := func(env *stream.Env, events *stream.Stream[ev]) []*stream.Stream[string] {
			// Sums of squares per second: a "window tumbling 1s sum" fed by
			// the same timestamps as the tumbling branch's.
			sq := stream.Sum(stream.KeyBy(events, key).Window(window.Tumbling(time.Second)), func(e ev) int64 { return e.Val * e.Val })
			return []*stream.Stream[string]{results("twin", sq)}
		}
		fromHold := newSource()
		fromHold.from = hold
		wantTwin := reference(t, job{par: 2, branches: []string{}, extra: twin, src: fromHold})
		fs, _ := held(t, job{par: 2}, hold)
		if _, err := then(t, job{par: 2, extra: twin, first: true}, fs); err != nil {
			// Refusing would be a fair answer too, if it said why.
			if !errors.Is(err, stream.ErrUnmappedState) || !strings.Contains(err.Error(), "window tumbling 1s sum") {
				t.Fatalf("refused with %v, want ErrUnmappedState naming the window", err)
			}
			t.Logf("refused: %v", err)
			return
		}
		gotTwin, gotOld := split(published(t, fs), "twin")
		if !slices.Equal(gotOld, want) {
			t.Errorf("the old operators' results: %s", diff(gotOld, want))
		}
		if !slices.Equal(gotTwin, wantTwin) {
			t.Errorf("the added window's results: %s", diff(gotTwin, wantTwin))
		}
	})
	t.Run("filter", func(t *testing.T) {
		big := func(env *stream.Env, events *stream.Stream[ev]) []*stream.Stream[string] {
			return []*stream.Stream[string]{stream.Map(events.Filter(func(e ev) bool { return e.Val > 95 }),
				func(e ev) string { return "big " + time.UnixMilli(e.At).UTC().Format(time.StampMilli) })}
		}
		fs, _ := held(t, job{par: 2, extra: big, first: true}, hold)
		if _, err := then(t, job{par: 2}, fs); err != nil {
			t.Fatalf("without a stateless branch: %v", err)
		}
		_, got := split(published(t, fs), "big")
		if !slices.Equal(got, want) {
			t.Errorf("without a stateless branch: %s", diff(got, want))
		}
	})
}
