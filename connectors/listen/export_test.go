package listen

import "strconv"

// Frame runs a framer over chunks, as a connection's reads would give
// them, and returns what it found, then what cut finds at the end:
// "msg TEXT", "long SIZE PREFIX", "bad START", "cut TEXT (HOW)".
func Frame(syslog bool, limit int, chunks [][]byte) []string {
	f := newFramer(syslog, limit)
	var out []string
	for _, p := range chunks {
		for len(p) > 0 {
			n, ev, msg := f.next(p)
			p = p[n:]
			switch ev {
			case evMsg:
				out = append(out, "msg "+string(msg))
			case evTooLong:
				out = append(out, "long "+strconv.FormatInt(f.size, 10)+" "+string(msg))
			case evBadFrame:
				return append(out, "bad "+string(msg))
			}
		}
	}
	if pending, text, how, over := f.cut(); pending {
		s := "cut " + string(text) + " (" + how + ")"
		if over {
			s += " over"
		}
		out = append(out, s)
	}
	return out
}

// SetSegmentBytes makes the logs of Durable sources start a new segment
// past n bytes, until the test ends.
func SetSegmentBytes(t interface{ Cleanup(func()) }, n int64) {
	old := segmentBytes
	segmentBytes = n
	t.Cleanup(func() { segmentBytes = old })
}
