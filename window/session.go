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
	// First session whose end reaches w.Start.
	l, r := 0, len(sessions)
	for l < r {
		m := int(uint(l+r) >> 1)
		if sessions[m].End < w.Start {
			l = m + 1
		} else {
			r = m
		}
	}
	lo, hi, merged = l, l, w
	for hi < len(sessions) && sessions[hi].Intersects(w) {
		merged = merged.Cover(sessions[hi])
		hi++
	}
	return merged, lo, hi
}
