package stream_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// A NaN key cannot group anything (NaN != NaN): the job fails with an error
// naming the KeyBy and the element, at any parallelism, for float keys and
// keys that hold a float; -0 and +0 are one key.
func TestNaNKeysFailNamingTheKeyBy(t *testing.T) {
	type pair struct {
		Sym string
		Px  float64
	}
	for _, par := range []int{1, 3} {
		env := stream.NewEnv(stream.WithParallelism(par))
		src := stream.FromSlice(env, []float64{1, math.Copysign(0, -1), 0, 2, math.NaN(), 3}).Name("prices")
		stream.Count(stream.KeyBy(src, func(v float64) float64 { return v }).Window(window.TumblingCount(2)))
		err := env.Execute(context.Background())
		oe, ok := errors.AsType[*stream.OperatorError](err)
		if !errors.Is(err, stream.ErrNaNKey) || !ok || !strings.Contains(oe.Operator, "keyBy") ||
			!strings.Contains(oe.Operator, "prices") || !strings.Contains(err.Error(), "NaN") {
			t.Fatalf("parallelism %d: Execute = %v", par, err)
		}

		env = stream.NewEnv(stream.WithParallelism(par))
		ps := stream.FromSlice(env, []pair{{"A", 1}, {"B", math.NaN()}})
		stream.Count(stream.KeyBy(ps, func(p pair) pair { return p }).Window(window.TumblingCount(1)))
		if err := env.Execute(context.Background()); !errors.Is(err, stream.ErrNaNKey) || !strings.Contains(err.Error(), "{B NaN}") {
			t.Fatalf("parallelism %d, struct key: Execute = %v", par, err)
		}
	}
	// Without NaN, float keys group as == says: -0 and +0 together.
	env := stream.NewEnv()
	src := stream.FromSlice(env, []float64{math.Copysign(0, -1), 0, 1.5, 1.5})
	counts := stream.Collect(stream.Count(stream.KeyBy(src, func(v float64) float64 { return v }).Window(window.TumblingCount(2))))
	if err := env.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := counts.Items(); len(got) != 2 {
		t.Fatalf("count windows %v, want one for 0 and one for 1.5", got)
	}
}

// A panic in a key selector is reported against the KeyBy, not the
// operator before it, which runs the key function on its side of the
// exchange.
func TestPanicInKeySelectorNamesTheKeyBy(t *testing.T) {
	for _, par := range []int{1, 2} {
		env := stream.NewEnv(stream.WithParallelism(par))
		src := stream.Map(stream.FromSlice(env, []int{1, 2, 3, 0, 5}), func(v int) int { return v }).Name("parse")
		stream.Count(stream.KeyBy(src, func(v int) int { return 10 / v }).Window(window.TumblingCount(1)))
		err := env.Execute(context.Background())
		oe, ok := errors.AsType[*stream.OperatorError](err)
		if !errors.Is(err, stream.ErrPanic) || !ok || !strings.HasPrefix(oe.Operator, "keyBy") || len(oe.Stack) == 0 {
			t.Fatalf("parallelism %d: Execute = %v", par, err)
		}
		if !strings.Contains(oe.Operator, "parse") {
			t.Fatalf("parallelism %d: the KeyBy is not placed (after %q): %v", par, "parse", err)
		}
	}
}

// Errors say "braid:" once, however many layers wrap them.
func TestErrorsSayBraidOnce(t *testing.T) {
	env := stream.NewEnv()
	src := stream.FromSlice(env, []float64{math.NaN()})
	stream.Count(stream.KeyBy(src, func(v float64) float64 { return v }).Window(window.TumblingCount(1)))
	err := env.Execute(context.Background())
	if err == nil || strings.Count(err.Error(), "braid:") != 1 {
		t.Fatalf("Execute = %v, want \"braid:\" once", err)
	}
	env = stream.NewEnv()
	stream.Count(stream.KeyBy(stream.FromSlice(env, []int{1}), func(v int) *int { return &v }).Window(window.TumblingCount(1)))
	err = env.Execute(context.Background())
	if err == nil || strings.Count(err.Error(), "braid:") != 1 {
		t.Fatalf("Execute = %v, want \"braid:\" once", err)
	}
}
