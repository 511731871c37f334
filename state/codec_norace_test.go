//go:build !race

package state_test

// raceEnabled is true under the race detector, whose sync.Pool drops
// items at random: allocation counts that rely on a pool do not hold.
const raceEnabled = false
