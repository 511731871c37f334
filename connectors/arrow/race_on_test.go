//go:build race

package arrow_test

// raceEnabled shrinks the longest tests under the race detector, which
// runs them ten times slower.
const raceEnabled = true
