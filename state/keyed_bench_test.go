package state_test

import (
	"testing"

	"github.com/braidstream/braid/state"
)

// BenchmarkValueStateUpdate: a read and a write per element over 10,000
// keys, as a process function's running sum does, without checkpoints
// (nothing tracked) and with them (a flag test per write, and a slice
// append per key and snapshot, for the incremental snapshot).
func BenchmarkValueStateUpdate(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []state.StoreOption
	}{{"checkpoints=off", nil}, {"checkpoints=on", []state.StoreOption{state.WithCheckpoints()}}} {
		b.Run(c.name, func(b *testing.B) {
			s := state.NewStore(128, c.opts...)
			v, err := state.NewValue[int64, int64](s, "sum")
			if err != nil {
				b.Fatal(err)
			}
			i := int64(0)
			for b.Loop() {
				k := (i * 7919) % 10_000
				x, _ := v.Get(k)
				v.Set(k, x+i)
				i++
			}
		})
	}
}
