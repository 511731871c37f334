package window

// MergeSession merges w into sessions, a slice of windows sorted by start in
// which no two intersect, and returns the merged window and the half-open
// range [lo, hi) of sessions it absorbed (lo == hi when it absorbed none and
// would be inserted at lo). The caller replaces sessions[lo:hi] with merged.
//
//	sessions:  [0━━4)   [6━━9)     [12━━15)
//	w:              [4━━━━7)
//	merged:    [0━━━━━━━━━━9)      lo=0 hi=2
//
// It costs O(log n + absorbed).
func MergeSession(sessions []Window, w Window) (merged Window, lo, hi int) {
	return MergeSessionFunc(sessions, func(s *Window) Window { return *s }, w)
}
