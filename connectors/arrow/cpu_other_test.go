//go:build !unix

package arrow_test

func cpuSeconds() float64 { return 0 }
