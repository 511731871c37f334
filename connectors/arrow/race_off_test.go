//go:build !race

package arrow_test

const raceEnabled = false
