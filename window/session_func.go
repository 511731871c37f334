package window

// MergeSessionFunc is MergeSession over any slice of sessions, reading each
// session's window with win. It lets an operator keep its accumulators
// beside the windows without copying them out.
func MergeSessionFunc[S any](sessions []S, win func(*S) Window, w Window) (merged Window, lo, hi int) {
	l, r := 0, len(sessions)
	for l < r {
		m := int(uint(l+r) >> 1)
		if win(&sessions[m]).End < w.Start {
			l = m + 1
		} else {
			r = m
		}
	}
	lo, hi, merged = l, l, w
	for hi < len(sessions) && win(&sessions[hi]).Intersects(w) {
		merged = merged.Cover(win(&sessions[hi]))
		hi++
	}
	return merged, lo, hi
}
