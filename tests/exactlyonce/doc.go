// Package exactlyonce holds tests, and only tests, of Braid's
// exactly-once promise, written as a user would: a checkpointed job
// through the public API (stream, window, state, connectors/filesink) on
// Pebble's in-memory filesystems, crashed at chosen operations of its
// checkpoints and sink commits (crash_test.go), given write and sync
// errors (fault_test.go) and restarted on damaged checkpoints
// (damage_test.go). Each restarted job must publish exactly the output of
// a run without failures.
//
//	go test ./tests/exactlyonce/                      # the default suite
//	go test ./tests/exactlyonce/ -run TestCrashPoints -crashpoints 10000   # a soak
package exactlyonce
