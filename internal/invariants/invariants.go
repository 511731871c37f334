// Package invariants holds checks of the runtime's own invariants that are
// too costly for production: they run when the build has the invariants or
// race tag (as in CI) and compile away otherwise.
package invariants

import "fmt"

// Check panics with a message naming the broken invariant when cond is
// false and invariants are enabled. Call it as
//
//	if invariants.Enabled { invariants.Check(cond, "...", args...) }
//
// so that the arguments cost nothing in production builds.
func Check(cond bool, format string, args ...any) {
	if Enabled && !cond {
		panic(fmt.Sprintf("braid: invariant broken: "+format, args...))
	}
}
