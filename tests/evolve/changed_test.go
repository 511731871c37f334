package evolve_test

import (
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// What the docs promise (Stream.Uid, DropUnmappedState): an operator's id
// is its Uid, or derives from its name and what feeds it, "so adding or
// removing an unrelated operator keeps it, but changing what feeds it does
// not"; a job resumed from a checkpoint that holds state of operators it
// does not have refuses to start and names them (ErrUnmappedState), unless
// DropUnmappedState drops that state with a warning; Uids must be unique.

// held runs first until a checkpoint holds its source at hold and returns
// its filesystem and what it published.
func held(t *testing.T, first job, hold int64) (vfs.FS, []string) {
	t.Helper()
	first.fs, first.clock, first.src = vfs.NewMem(), clockBefore, newSource()
	first.src.delay = 400 * time.Microsecond
	return first.fs, runHeld(t, first, hold)
}

// then runs j from the checkpoint in fs, to its end or its refusal.
func then(t *testing.T, j job, fs vfs.FS) (job, error) {
	j.fs, j.clock, j.src = fs, clockAfter, newSource()
	return j, execute(t, j.env())
}

// split parts lines into those of the branches named and the others.
func split(lines []string, branches ...string) (in, out []string) {
	for _, l := range lines {
		b, _, _ := strings.Cut(l, " ")
		if slices.Contains(branches, b) {
			in = append(in, l)
		} else {
			out = append(out, l)
		}
	}
	return in, out
}

// added is a branch a later version of the job adds: a stateless map and
// a stateful window over it. name, when set, names the window.
func added(name string) func(env *stream.Env, events *stream.Stream[ev]) []*stream.Stream[string] {
	return func(env *stream.Env, events *stream.Stream[ev]) []*stream.Stream[string] {
		doubled := stream.Map(events, func(e ev) ev { e.Val *= 2; return e })
		w := stream.Max(stream.KeyBy(doubled, key).Window(window.Tumbling(2*time.Second)), val)
		if name != "" {
			w.Name(name)
		}
		return []*stream.Stream[string]{results("added", w)}
	}
}

// (a) A job resumed with an operator added on a branch of its own: the old
// operators get their state back, so their results are those of the
// uninterrupted old job, line for line; the new window starts empty at the
// checkpoint, so its results are those of a run of it alone over the
// events from the checkpoint's position on. The resumed job logs which
// operators start empty: the new window, and nothing else stateful.
func TestAddedOperatorStartsEmpty(t *testing.T) {
	want := reference(t, job{par: 2})
	hold := int64(nEvents / 2)
	fromHold := newSource()
	fromHold.from = hold
	wantAdded := reference(t, job{par: 2, branches: []string{}, extra: added(""), src: fromHold})
	if len(wantAdded) == 0 {
		t.Fatal("the added branch alone gives nothing")
	}
	fs, _ := held(t, job{par: 2}, hold)
	lg := &logs{}
	j, err := then(t, job{par: 3, extra: added(""), log: lg.logger()}, fs)
	if err != nil {
		t.Fatal(err)
	}
	checkResumedAt(t, j.src, hold, srcPar)
	gotAdded, gotOld := split(published(t, fs), "added")
	if !slices.Equal(gotOld, want) {
		t.Errorf("the old operators' results: %s", diff(gotOld, want))
	}
	if !slices.Equal(gotAdded, wantAdded) {
		t.Errorf("the added window's results: %s", diff(gotAdded, wantAdded))
	}
	fresh := lg.find("braid: operators without state in the checkpoint start empty")
	if len(fresh) != 1 || fresh[0].attrs["operators"] != "window tumbling 2s max" {
		t.Errorf("logged as starting empty: %v, want the added window alone", fresh)
	}
}

// uidRE finds the operators an unmapped-state error names, with their ids.
var uidRE = regexp.MustCompile(`"([^"]+)" \(uid ([^)]+)\)`)

// unmapped returns the name -> uid pairs an ErrUnmappedState error names.
func unmapped(err error) map[string]string {
	m := map[string]string{}
	for _, s := range uidRE.FindAllStringSubmatch(err.Error(), -1) {
		m[s[1]] = s[2]
	}
	return m
}

// (b) A job resumed without a stateful operator it had refuses to start,
// before reading anything, with ErrUnmappedState naming the operator and
// its id (derived, or the user's Uid); the refusal leaves the checkpoint as
// it was. With DropUnmappedState it runs, logs a warning naming the
// dropped operators, and the remaining operators' results are the
// uninterrupted run's, while the removed one's stop at what the first run
// published.
func TestRemovedOperatorIsRefusedOrDropped(t *testing.T) {
	want := reference(t, job{par: 2})
	withoutBranches := func(bs ...string) []string {
		return slices.DeleteFunc(slices.Clone(allBranches), func(b string) bool { return slices.Contains(bs, b) })
	}
	hold := int64(nEvents / 2)
	fs, before := held(t, job{par: 2, uids: map[string]string{"count": "counts per 7"}}, hold)

	j, err := then(t, job{par: 2, branches: withoutBranches("session", "count")}, fs)
	if !errors.Is(err, stream.ErrUnmappedState) {
		t.Fatalf("got %v, want ErrUnmappedState", err)
	}
	names := unmapped(err)
	if len(names) != 2 || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(names["window session 1s sum"]) ||
		names["window tumbling count 7 sum"] != "counts per 7" {
		t.Errorf("the error names %v; want the session window with its derived id and the count window with its Uid: %v", names, err)
	}
	if n := j.src.reads.Load(); n != 0 {
		t.Errorf("the refused job read its source %d times", n)
	}
	if got := published(t, fs); !slices.Equal(got, before) {
		t.Errorf("the refused job changed the output: %s", diff(got, before))
	}

	lg := &logs{}
	if _, err := then(t, job{par: 2, branches: withoutBranches("session", "count"), log: lg.logger(),
		ckOpts: []stream.CheckpointOption{stream.DropUnmappedState()}}, fs); err != nil {
		t.Fatal(err)
	}
	warned := lg.find("braid: dropping state the job has no operator for")
	if len(warned) != 1 || warned[0].level != slog.LevelWarn ||
		!strings.Contains(warned[0].attrs["operators"], `"window session 1s sum" (uid `) ||
		!strings.Contains(warned[0].attrs["operators"], `"window tumbling count 7 sum" (uid counts per 7)`) {
		t.Errorf("logged %v, want one warning naming both dropped windows", warned)
	}
	gone, kept := split(published(t, fs), "session", "count")
	wantGone, wantKept := split(want, "session", "count")
	if !slices.Equal(kept, wantKept) {
		t.Errorf("the remaining operators' results: %s", diff(kept, wantKept))
	}
	beforeGone, _ := split(before, "session", "count")
	if !slices.Equal(gone, beforeGone) || len(gone) == 0 || len(gone) >= len(wantGone) {
		t.Errorf("the removed windows published %d lines, want the first run's %d (of %d in a whole run)", len(gone), len(beforeGone), len(wantGone))
	}
}

// (c) Renaming an operator changes its derived id, so its state does not
// map: refused, naming the old name and id. Keeping its Uid keeps its
// state whatever its name; and the id an error names is the one to give
// as Uid to map the state to a renamed operator.
func TestRenamedOperator(t *testing.T) {
	want := reference(t, job{par: 2})
	hold := int64(nEvents / 2)
	t.Run("uid", func(t *testing.T) {
		fs, _ := held(t, job{par: 2, uids: map[string]string{"tumbling": "tumbling sums"}}, hold)
		if _, err := then(t, job{par: 3, uids: map[string]string{"tumbling": "tumbling sums"},
			names: map[string]string{"tumbling": "sums per second"}}, fs); err != nil {
			t.Fatal(err)
		}
		if got := published(t, fs); !slices.Equal(got, want) {
			t.Fatalf("renamed with its Uid: %s", diff(got, want))
		}
	})
	t.Run("derived", func(t *testing.T) {
		fs, _ := held(t, job{par: 2}, hold)
		renamed := map[string]string{"tumbling": "sums per second"}
		_, err := then(t, job{par: 2, names: renamed}, fs)
		if !errors.Is(err, stream.ErrUnmappedState) {
			t.Fatalf("got %v, want ErrUnmappedState", err)
		}
		names := unmapped(err)
		uid, ok := names["window tumbling 1s sum"]
		if len(names) != 1 || !ok {
			t.Fatalf("the error names %v, want the tumbling window under its old name alone: %v", names, err)
		}
		if _, err := then(t, job{par: 2, names: renamed, uids: map[string]string{"tumbling": uid}}, fs); err != nil {
			t.Fatalf("with the id from the error as Uid: %v", err)
		}
		if got := published(t, fs); !slices.Equal(got, want) {
			t.Fatalf("renamed with the old id as Uid: %s", diff(got, want))
		}
	})
}

// (d) Two operators with the same Uid are refused when the job is built,
// before anything runs, with or without checkpoints, naming both and the
// Uid.
func TestDuplicateUidRefused(t *testing.T) {
	for _, checkpoints := range []bool{true, false} {
		j := job{par: 2, fs: vfs.NewMem(), clock: clockAfter, src: newSource(),
			uids: map[string]string{"tumbling": "sums", "session": "sums"}}
		env := j.env()
		if !checkpoints {
			env = stream.NewEnv()
			a := stream.FromSlice(env, []int{1, 2, 3})
			stream.Map(a, func(v int) int { return v }).Uid("twice").ForEach(func(int) error { return nil })
			a.Filter(func(int) bool { return true }).Name("keep").Uid("twice").ForEach(func(int) error { return nil })
		}
		err := execute(t, env)
		if err == nil {
			t.Fatalf("checkpoints %v: the job ran", checkpoints)
		}
		w := `operators "window tumbling 1s sum" and "window session 1s sum" have the same UID "sums"`
		if !checkpoints {
			w = `operators "map" and "keep" have the same UID "twice"`
		}
		if !strings.Contains(err.Error(), w) {
			t.Errorf("checkpoints %v: got %v, want it to say %s", checkpoints, err, w)
		}
		if n := j.src.reads.Load(); n != 0 {
			t.Errorf("the source was read %d times", n)
		}
		if checkpoints {
			if names, _ := j.fs.List("/out"); len(names) > 0 {
				t.Errorf("the refused job made its sink's files: %v", names)
			}
		}
	}
}

// reordered is a branch with a filter and a map before a keyed window, in
// one order or the other (the same elements reach the window); uid, when
// set, is the window's Uid.
func reordered(swap bool, uid string) func(env *stream.Env, events *stream.Stream[ev]) []*stream.Stream[string] {
	return func(env *stream.Env, events *stream.Stream[ev]) []*stream.Stream[string] {
		big := func(e ev) bool { return e.Val >= 20 }
		shift := func(e ev) ev { e.Val += 10; return e }
		var s *stream.Stream[ev]
		if swap {
			s = stream.Map(events.Filter(func(e ev) bool { return big(e) }), shift)
		} else {
			s = stream.Map(events, shift).Filter(func(e ev) bool { return e.Val >= 30 })
		}
		w := stream.Count(stream.KeyBy(s, key).Window(window.Session(500 * time.Millisecond)))
		if uid != "" {
			w.Uid(uid)
		}
		return []*stream.Stream[string]{results("reordered", w)}
	}
}

// (e) Swapping two stateless operators in front of a stateful one changes
// what feeds it, and so its derived id (documented on Stream.Uid): the
// resumed job refuses, naming that window alone; the operators of the
// other branches keep their ids. With a Uid on the window, the swapped job
// resumes and every result is the uninterrupted run's.
func TestReorderedUpstreamOperators(t *testing.T) {
	hold := int64(nEvents / 2)
	want := reference(t, job{par: 2, extra: reordered(false, "")})
	if r, _ := split(want, "reordered"); len(r) == 0 {
		t.Fatal("the reordered branch gives nothing")
	}
	t.Run("derived", func(t *testing.T) {
		fs, _ := held(t, job{par: 2, extra: reordered(false, "")}, hold)
		_, err := then(t, job{par: 2, extra: reordered(true, "")}, fs)
		if !errors.Is(err, stream.ErrUnmappedState) {
			t.Fatalf("got %v, want ErrUnmappedState", err)
		}
		if names := unmapped(err); len(names) != 1 || names["window session 500ms count"] == "" {
			t.Fatalf("the error names %v, want the reordered branch's window alone: %v", names, err)
		}
	})
	t.Run("uid", func(t *testing.T) {
		fs, _ := held(t, job{par: 2, extra: reordered(false, "sessions of big values")}, hold)
		if _, err := then(t, job{par: 3, extra: reordered(true, "sessions of big values")}, fs); err != nil {
			t.Fatal(err)
		}
		if got := published(t, fs); !slices.Equal(got, want) {
			t.Fatalf("reordered with a Uid: %s", diff(got, want))
		}
	})
}
