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
// There are five kinds, each a map from the stream's key K to the
// key's state, held in memory as Go values: nothing is encoded or copied
// on the way in or out, so a slice or pointer stored and then changed is
// changed in the state too:
//
//   - [ValueState]: one value per key. Get, Set, Clear.
//   - [ListState]: a list per key. Get, Add, Set, Clear. The slice Get
//     returns belongs to the state until the key's list next changes.
//   - [MapState]: a map per key, from a user key MK to a value. Get, Put,
//     Delete, Entries, Clear.
//   - [ReducingState]: the reduction of the values added per key, by a
//     function given when it is made (NewReducing). Get, Add, Clear.
//   - [AggregatingState]: an accumulator per key, folded by an
//     [AggregateFunc] (Init, Add, Result); Get returns the result, Add
//     folds a value in, Clear.
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
// # Checkpoints
//
// In a job with checkpoints, the states of a process function are part of
// every checkpoint and come back when the job resumes, also at another
// parallelism (key groups move between subtasks). What a checkpoint
// writes is each key's value encoded by the codecs of package state
// ([CodecFor] for values, [KeyCodecFor] for keys): so with checkpoints on,
// a state's types must be encodable, and making a state of a type that is
// not (a func, a channel, an interface) fails at setup, with an error
// naming the state and the type, which fails the job before it starts.
// Between checkpoints the store notes each key it changed (one map write
// per change), and a checkpoint writes only those keys; without
// checkpoints nothing is noted or encoded.
//
// A checkpoint restores a state by its name: renaming a state, or no
// longer making it, makes the job refuse the checkpoint (naming the
// state); adding one is fine. A value is encoded by its fields in order:
// changing a state's value type makes old checkpoints unreadable.
//
// # Time to live
//
// Any state can be given a time to live when it is made, with [WithTTL]:
//
//	seen, err := state.NewValue[string, time.Time](st, "last seen",
//		state.WithTTL(24*time.Hour, state.OnCreateAndWrite))
//
// A key's value that has not been written for the TTL has expired:
// Get reads it as absent, All and Entries skip it, and it is removed (at
// once when read; else by a later write to the state, or by the next
// checkpoint, which then deletes it from the checkpoint too). With
// [OnReadAndWrite], reads renew the TTL as well as writes. The TTL
// follows processing time, the job's clock (not the watermark), and
// applies to a key's whole value: a list or a map expires as one, not
// entry by entry as in Flink. A checkpoint keeps the time each value was
// last renewed, so a restored value expires when it would have. Len may
// count expired values not yet removed. A TTL costs, per access, one more
// map lookup (and a write with OnReadAndWrite reads), and a queue entry
// per key.
//
// Cost. Get is one map lookup. Set, Add, Put, Delete and Clear write the
// map, and with checkpoints also note the key as changed (one more map
// write). MapState holds a Go map per key.
//
// What is not there yet: state larger than memory, and a TTL per entry of
// a list or a map.
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
// The key group, not the subtask, is the unit of state: checkpoints write
// state by key group, so that a job can be restored at any parallelism up
// to maxParallelism by handing each new subtask its new range. That only works if a key's hash is the same in
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
//  4. Give each subtask a NewStore(maxParallelism), with WithCheckpoints
//     when the job takes checkpoints (and WithClock, the job's clock, for
//     TTLs). Store.States lists its states in the order they were made.
//  5. At a checkpoint, Store.Snapshot(full, emit, del) hands over every key
//     (full) or those changed since the last snapshot, with its key group;
//     the key bytes begin with the state's name, so one operator's states
//     share its key space. On restore, hand each key of the subtask's key
//     groups, KeyGroupRange(subtask, maxParallelism, parallelism), to
//     Store.Restore.
//
// Operators with state of a shape of their own (the window operators'
// slices and sessions) keep it in structures built for their hot path, not
// in a Store.
package state
