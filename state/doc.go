// Package state holds Braid's keyed state, the memory a process function
// keeps per key between elements, and the key groups that lay it out.
//
// # Keyed state in a process function
//
// stream.Process (and stream.CoProcess) call a setup function once per
// subtask with that subtask's [Store]. Setup makes the states the function
// needs, each with a name unique in the store, and returns the function,
// which reads and writes them for the key of the element or timer at
// hand, c.Key():
//
//	setup := func(st *state.Store) (stream.ProcessFunc[string, Login, Alert], error) {
//		failures, err := state.NewValue[string, int](st, "failures")
//		if err != nil {
//			return stream.ProcessFunc[string, Login, Alert]{}, err
//		}
//		return stream.ProcessFunc[string, Login, Alert]{
//			OnElement: func(c *stream.ProcessContext[string, Alert], l Login) {
//				if l.OK {
//					failures.Clear(c.Key())
//					return
//				}
//				n, _ := failures.Get(c.Key())
//				failures.Set(c.Key(), n+1)
//				if n+1 == 5 {
//					c.Emit(Alert{User: c.Key()})
//				}
//			},
//		}, nil
//	}
//
// There are three kinds, each a map from the stream's key K to the
// key's state, held in memory as Go values: nothing is encoded or copied,
// so a slice or pointer stored and then changed is changed in the state
// too:
//
//   - [ValueState]: one value per key. Get, Set, Clear.
//   - [ListState]: a list per key. Get, Add, Set, Clear. The slice Get
//     returns belongs to the state until the key's list next changes.
//   - [MapState]: a map per key, from a user key MK to a value. Get, Put,
//     Delete, Entries, Clear.
//
// Scope. A state is scoped to a key by the key it is given: pass c.Key(),
// as in Flink, where the current key's state is the only one a function
// sees. Nothing stops a function from passing another key, but a subtask
// holds only the state of the keys routed to it, which depend on the
// parallelism: such a function's results would change with it. A key
// with no state reads as the zero value, false
// (or a nil list, an empty map); Clear removes it. A key type must have a
// stable hash (see Key groups): building the state fails otherwise, and
// setup should return that error, which fails the job before it starts.
//
// Goroutines. Each subtask has its own Store and calls its function from
// one goroutine, one element or timer at a time, so the states need no
// lock. A Store is not safe for concurrent use: keep states in setup's
// variables, never in variables shared by subtasks.
//
// Cost. Get is one map lookup. Set, Add, Put, Delete and Clear also note
// the key as changed (one more map write), for the incremental
// checkpoints to come. MapState holds a Go map per key.
//
// What is not there yet:
//
//   - Checkpoints. State lives in memory only: it is gone when Execute
//     returns, whether the job ended, failed or was cancelled, and a new
//     run starts with empty state. Nothing is written to disk and a crash
//     loses it; restoring from a checkpoint, and so rescaling a job's
//     state, will come with the Pebble backend.
//   - State that expires (time-to-live): clear it yourself, from a timer.
//   - Reducing and aggregating state, and state larger than memory.
//
// # Key groups
//
// A keyed stream hashes each key into one of maxParallelism key groups
// (DefaultMaxParallelism, 128, unless the job sets another), and each
// subtask of a keyed operator owns a contiguous range of key groups, as in
// Flink:
//
//	key ──Hasher──▶ hash ──KeyGroup──▶ key group ──SubtaskOf──▶ subtask
//
//	maxParallelism 8, parallelism 3:
//	key groups   0 1 2 | 3 4 5 | 6 7
//	subtask        0   |   1   |  2      KeyGroupRange(1, 8, 3) = [3, 6)
//
// The key group, not the subtask, is meant to be the unit of state: once
// checkpoints exist they will write state by key group, so that a job can
// be restored at any parallelism up to maxParallelism by handing each new
// subtask its new range. That only works if a key's hash is the same in
// every process, on every machine and on every run; [NewHasher] builds
// such a hash for a key type, from the key's value alone (never an address
// or Go's per-process map seed), and refuses key types that have none
// (pointers, interfaces, channels) with an error marked [ErrUnstableKey].
// Keys that hold floats can be NaN, which equals nothing, itself included:
// keyed operators fail on such a key ([HoldsFloats]).
//
// Hashing is on the per-record path of every keyed exchange, so a Hasher
// does not allocate, and the package neither starts goroutines nor does
// I/O.
//
// # For runtime code
//
// The runtime (package operators) routes records and walks state:
//
//  1. Build a Hasher for the key type once, with NewHasher, when the job is
//     planned; report its error to the user.
//  2. Per record, hash the key and map the hash to its key group with
//     KeyGroup(hash, maxParallelism).
//  3. Route the record to SubtaskOf(keyGroup, maxParallelism, parallelism).
//  4. Give each subtask a NewStore(maxParallelism). Store.States lists its
//     states in the order they were made; each knows its keys' key groups
//     (KeyGroupOf) and the keys changed since the last TakeChanges, which
//     is what an incremental checkpoint will write.
//  5. On restore at a new parallelism, give each subtask the key groups in
//     KeyGroupRange(subtask, maxParallelism, parallelism).
//
// Operators with state of a shape of their own (the window operators'
// slices and sessions) keep it in structures built for their hot path, not
// in a Store.
package state
