// Package testseed gives randomized tests a seed they log, so that a
// failure can be replayed: go test -run TestX -seed N.
package testseed

import (
	"flag"
	"math/rand/v2"
	"testing"
)

var seedFlag = flag.Uint64("seed", 0, "seed for the randomized tests (0: a new one each run)")

// Seed returns the -seed flag, or a new random seed when it is 0, and logs
// it with the command that replays it.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay with -seed %d)", seed, seed)
	return seed
}
