package state_test

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/braidstream/braid/state"
	"github.com/braidstream/braid/stream"
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

// ExampleNewMap keeps a map state in a process function: per user, the
// addresses they logged in from. A user's third address raises an alert.
// The state is read and written for the current key only, c.Key().
func ExampleNewMap() {
	type login struct{ User, IP string }
	logins := []login{
		{"alice", "10.0.0.5"}, {"bob", "10.0.0.9"}, {"alice", "10.0.0.5"},
		{"alice", "198.51.100.7"}, {"bob", "10.0.0.9"}, {"alice", "203.0.113.40"},
	}

	// Once per subtask: make the state, return the function.
	setup := func(st *state.Store) (stream.ProcessFunc[string, login, string], error) {
		seen, err := state.NewMap[string, string, int](st, "logins by address")
		if err != nil {
			return stream.ProcessFunc[string, login, string]{}, err
		}
		return stream.ProcessFunc[string, login, string]{
			OnElement: func(c *stream.ProcessContext[string, string], l login) {
				n, _ := seen.Get(c.Key(), l.IP)
				seen.Put(c.Key(), l.IP, n+1)
				var addrs []string
				for ip := range seen.Entries(c.Key()) {
					addrs = append(addrs, ip)
				}
				if n == 0 && len(addrs) == 3 {
					slices.Sort(addrs) // Entries come in no particular order
					c.Emit(fmt.Sprintf("%s: third address %s, seen %v", c.Key(), l.IP, addrs))
				}
			},
		}, nil
	}

	env := stream.NewEnv()
	byUser := stream.KeyBy(stream.FromSlice(env, logins), func(l login) string { return l.User })
	alerts := stream.Collect(stream.Process(byUser, setup))
	if err := env.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range alerts.Items() {
		fmt.Println(a)
	}
	// Output:
	// alice: third address 203.0.113.40, seen [10.0.0.5 198.51.100.7 203.0.113.40]
}
