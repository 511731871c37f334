package swag_test

import (
	"fmt"

	"github.com/braidstream/braid/internal/swag"
)

// Example keeps the maximum price over the last three one-second slices:
// each second pushes the newest slice's maximum, drops the slice that left
// the window, and reads the window's maximum.
func Example() {
	q := swag.New(func(older, newer float64) float64 { return max(older, newer) })
	prices := []float64{101.5, 99.0, 103.2, 100.1, 98.7, 97.9}
	for sec, p := range prices {
		id := int64(sec)
		q.Push(id, p)
		q.PopBefore(id - 2) // the window holds slices id-2, id-1, id
		m, _ := q.Aggregate()
		fmt.Printf("second %d: max %.1f over %d slices\n", sec, m, q.Len())
	}
	// A late tick changes an old slice; later aggregates see it.
	q.Update(4, func(old float64) float64 { return max(old, 104.0) })
	m, _ := q.Aggregate()
	fmt.Printf("after late tick: max %.1f\n", m)
	// Output:
	// second 0: max 101.5 over 1 slices
	// second 1: max 101.5 over 2 slices
	// second 2: max 103.2 over 3 slices
	// second 3: max 103.2 over 3 slices
	// second 4: max 103.2 over 3 slices
	// second 5: max 100.1 over 3 slices
	// after late tick: max 104.0
}
