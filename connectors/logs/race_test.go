//go:build race

package logs

// raceEnabled: the race detector makes sync.Pool drop what it is given
// at random, so allocation counts of pooled code mean nothing then.
const raceEnabled = true
