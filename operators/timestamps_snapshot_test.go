package operators

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/braidstream/braid/internal/testseed"
)

// wmLines shows a Timestamps' output to the snapshot harness: its elements
// and, as lines of their own, its watermarks (which the harness does not
// compare otherwise).
type wmLines struct{ out Input[string] }

func (w wmLines) Push(b *Batch[kv]) error {
	s := &Batch[string]{Times: b.Times}
	for _, v := range b.Values {
		s.Values = append(s.Values, fmt.Sprintf("%s %d", v.K, v.V))
	}
	return w.out.Push(s)
}
func (w wmLines) Watermark(wm int64) error {
	return w.out.Push(&Batch[string]{Values: []string{fmt.Sprintf("wm %d", wm)}, Times: []int64{wm}})
}
func (w wmLines) Idle(bool) error { return nil }
func (w wmLines) Finish() error   { return w.out.Finish() }

// Snapshots of Timestamps: after a restore, watermarks go on from the
// largest timestamp seen before it, never back, never repeated.
func TestTimestampsSnapshots(t *testing.T) {
	build := func(bc *BuildContext, out Input[string]) []any {
		op := NewTimestamps(Timestamper[kv]{Time: func(v kv) time.Time { return time.Unix(0, v.V) }}, 5, 0, bc.Clock, Input[kv](wmLines{out}), nil, nil)
		op.Checkpoint(bc)
		return []any{Input[kv](op)}
	}
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 4))
	for range 4 {
		var script []harnessStep
		at := int64(1000)
		for range 30 {
			var vals []kv
			for range 1 + rng.IntN(3) {
				at += int64(rng.IntN(10)) - 4 // out of order now and then
				vals = append(vals, kv{"k", at})
			}
			script = append(script, hPush[kv](0, nil, vals...))
		}
		script = append(script, hWatermark[kv](0, MaxWatermark), hFinish[kv](0))
		checkSnapshots(t, build, script)
	}
}
