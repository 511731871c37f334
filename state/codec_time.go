package state

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// How a time.Time's Location is encoded, after its instant.
const (
	tzUTC   = 0 // time.UTC
	tzLocal = 1 // time.Local, the decoding process's
	tzFixed = 2 // name, offset: a time.FixedZone
	tzNamed = 3 // name, abbreviation, offset: time.LoadLocation(name), else a fixed zone
)

// appendTime appends t's instant and Location (see CodecFor).
func appendTime(dst []byte, t *time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	dst = binary.AppendUvarint(dst, uint64(t.Nanosecond()))
	loc := t.Location()
	switch loc {
	case time.UTC:
		return append(dst, tzUTC)
	case time.Local:
		return append(dst, tzLocal)
	}
	name := loc.String()
	abbrev, off := t.Zone()
	if name == abbrev {
		// A fixed zone (time.FixedZone names its only zone after
		// itself), or a database zone that is one, such as "EST".
		dst = append(dst, tzFixed)
		dst = appendLenString(dst, name)
		return binary.AppendVarint(dst, int64(off))
	}
	dst = append(dst, tzNamed)
	dst = appendLenString(dst, name)
	dst = appendLenString(dst, abbrev)
	return binary.AppendVarint(dst, int64(off))
}

func appendLenString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func decodeTime(src []byte, t *time.Time) ([]byte, error) {
	u, n := readUvarint(src)
	if n <= 0 {
		return nil, varintError(n)
	}
	sec := unzigzag(u)
	src = src[n:]
	ns, n := readUvarint(src)
	if n <= 0 {
		return nil, varintError(n)
	}
	if ns >= 1e9 {
		return nil, fmt.Errorf("nanoseconds %d out of range", ns)
	}
	src = src[n:]
	if len(src) == 0 {
		return nil, errCodecShort
	}
	tag := src[0]
	src = src[1:]
	// time.Unix wraps sec to the internal seconds since year 1 as
	// t.Unix() wrapped them the other way, so every instant comes back.
	tm := time.Unix(sec, int64(ns))
	switch tag {
	case tzUTC:
		tm = tm.UTC()
	case tzLocal:
		// time.Unix returns local time.
	case tzFixed, tzNamed:
		k := tzKey{named: tag == tzNamed}
		var err error
		if k.name, src, err = viewString(src); err != nil {
			return nil, err
		}
		if k.named {
			if k.abbrev, src, err = viewString(src); err != nil {
				return nil, err
			}
		}
		u, n := readUvarint(src)
		if n <= 0 {
			return nil, varintError(n)
		}
		off := unzigzag(u)
		if off < math.MinInt32 || off > math.MaxInt32 {
			return nil, fmt.Errorf("zone offset %d out of range", off)
		}
		k.off = int(off)
		src = src[n:]
		tm = tm.In(locationFor(k))
	default:
		return nil, fmt.Errorf("location byte %d is not one of 0 to 3", tag)
	}
	*t = tm
	return src, nil
}

// viewString reads a length-prefixed string from src without copying it:
// the string is valid only while src is.
func viewString(src []byte) (string, []byte, error) {
	n, _, rest, err := readLength(src, 1, false)
	if err != nil {
		return "", nil, err
	}
	return unsafe.String(unsafe.SliceData(rest), n), rest[n:], nil
}

type tzKey struct {
	name, abbrev string
	off          int
	named        bool
}

// tzCache caches the Locations that decoded times are given, so that 1
// million times in one zone share one Location, and a name missing from
// the time zone database is looked up once. It is copied on write: reads
// take no lock. It holds at most maxZones entries, which damaged bytes
// cannot exceed.
var tzCache struct {
	m  atomic.Pointer[map[tzKey]*time.Location]
	mu sync.Mutex
}

const tzCacheMax = 1024

func locationFor(k tzKey) *time.Location {
	if m := tzCache.m.Load(); m != nil {
		if loc, ok := (*m)[k]; ok {
			return loc
		}
	}
	k.name, k.abbrev = strings.Clone(k.name), strings.Clone(k.abbrev)
	var loc *time.Location
	if k.named {
		if l, err := time.LoadLocation(k.name); err == nil {
			loc = l
		} else {
			loc = time.FixedZone(k.abbrev, k.off)
		}
	} else {
		loc = time.FixedZone(k.name, k.off)
	}
	tzCache.mu.Lock()
	defer tzCache.mu.Unlock()
	m := map[tzKey]*time.Location{}
	if old := tzCache.m.Load(); old != nil {
		if l, ok := (*old)[k]; ok {
			return l
		}
		if len(*old) >= tzCacheMax {
			return loc
		}
		m = maps.Clone(*old)
	}
	m[k] = loc
	tzCache.m.Store(&m)
	return loc
}
