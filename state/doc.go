// Package state holds Braid's keyed state and the key groups that lay it
// out.
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
// The key group, not the subtask, is the unit of state: a checkpoint writes
// state by key group, so a job can be restored at any parallelism up to
// maxParallelism by handing each new subtask its new range. That only works
// if a key's hash is the same in every process, on every machine and on
// every run; NewHasher builds such a hash for a key type, from the key's
// value alone (never an address or Go's per-process map seed), and refuses
// key types that have none (pointers, interfaces, channels).
//
// Hashing is on the per-record path of every keyed exchange, so a Hasher
// does not allocate, and the package neither starts goroutines nor does
// I/O here.
//
// # Keyed state
//
// A Store holds one operator subtask's keyed state: ValueState (a value per
// key), ListState (a list per key) and MapState (a map per key), each
// named, typed, and held in memory, the working state. Each knows its keys'
// key groups (KeyGroupOf) and the keys changed since the last TakeChanges,
// which is what an incremental checkpoint writes. Operators with state of a
// shape of their own (the window operators' slices and sessions) keep it in
// structures built for their hot path and snapshot them the same way: by
// key group and key.
//
// What is coming: a Pebble backend that writes the keys changed since the
// last checkpoint into a database laid out by operator, key group and key,
// so that restore reads one key group with one range scan.
//
// Use:
//
//  1. Build a Hasher for the key type once, with NewHasher, when the job is
//     planned; report its error to the user.
//  2. Per record, hash the key and map the hash to its key group with
//     KeyGroup(hash, maxParallelism).
//  3. Route the record to SubtaskOf(keyGroup, maxParallelism, parallelism).
//  4. On restore at a new parallelism, give each subtask the key groups in
//     KeyGroupRange(subtask, maxParallelism, parallelism).
package state
