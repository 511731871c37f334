package state_test

import (
	"errors"
	"fmt"

	"github.com/braidstream/braid/state"
)

// Example routes a few stock symbols to subtasks: hash, key group, owner.
// The key groups are fixed for all time; the subtask depends only on the
// parallelism.
func Example() {
	// 1. One hasher per key type.
	hash, err := state.NewHasher[string]()
	if err != nil {
		panic(err)
	}
	const maxP, parallelism = state.DefaultMaxParallelism, 4
	for _, sym := range []string{"AAPL", "GOOG", "MSFT"} {
		// 2-3. Per record: key group, then the subtask that owns it.
		kg := state.KeyGroup(hash(sym), maxP)
		fmt.Printf("%s: key group %d, subtask %d of %d\n", sym, kg, state.SubtaskOf(kg, maxP, parallelism), parallelism)
	}
	// 4. What each subtask owns.
	for s := range parallelism {
		lo, hi := state.KeyGroupRange(s, maxP, parallelism)
		fmt.Printf("subtask %d: key groups [%d,%d)\n", s, lo, hi)
	}

	// Keys with no stable hash are refused when the job is built.
	_, err = state.NewHasher[*string]()
	fmt.Println(errors.Is(err, state.ErrUnstableKey))

	// Output:
	// AAPL: key group 18, subtask 0 of 4
	// GOOG: key group 3, subtask 0 of 4
	// MSFT: key group 64, subtask 2 of 4
	// subtask 0: key groups [0,32)
	// subtask 1: key groups [32,64)
	// subtask 2: key groups [64,96)
	// subtask 3: key groups [96,128)
	// true
}
