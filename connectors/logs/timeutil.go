package logs

import (
	"sync/atomic"
	"time"
)

// The parsers read timestamps by hand rather than with time.Parse: it is
// several times faster on these fixed layouts, and time.Parse allocates a
// zone for every numeric offset it reads.

// unixSeconds is the Unix time of a civil date and time of day in UTC
// (Howard Hinnant's days_from_civil). The date must be valid.
func unixSeconds(year int, month time.Month, day, hour, min, sec int) int64 {
	y := int64(year)
	m := int64(month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe - 719468
	return days*86400 + int64(hour)*3600 + int64(min)*60 + int64(sec)
}

func isLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }

// daysIn is the number of days of a month.
func daysIn(month time.Month, year int) int {
	switch month {
	case time.February:
		if isLeap(year) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// validDate reports whether the fields make a real date and time of day
// (no 31 April, no 25:00; a leap second :60 is refused, as Go's time is).
func validDate(year int, month time.Month, day, hour, min, sec int) bool {
	return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(month, year) &&
		hour <= 23 && min <= 59 && sec <= 59
}

// monthOf reads a month's English three-letter abbreviation, as syslog and
// the Common Log Format write it ("Jan", case as written there); 0 if it is
// none.
func monthOf(s string) time.Month {
	if len(s) != 3 {
		return 0
	}
	switch uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2]) {
	case 'J'<<16 | 'a'<<8 | 'n':
		return time.January
	case 'F'<<16 | 'e'<<8 | 'b':
		return time.February
	case 'M'<<16 | 'a'<<8 | 'r':
		return time.March
	case 'A'<<16 | 'p'<<8 | 'r':
		return time.April
	case 'M'<<16 | 'a'<<8 | 'y':
		return time.May
	case 'J'<<16 | 'u'<<8 | 'n':
		return time.June
	case 'J'<<16 | 'u'<<8 | 'l':
		return time.July
	case 'A'<<16 | 'u'<<8 | 'g':
		return time.August
	case 'S'<<16 | 'e'<<8 | 'p':
		return time.September
	case 'O'<<16 | 'c'<<8 | 't':
		return time.October
	case 'N'<<16 | 'o'<<8 | 'v':
		return time.November
	case 'D'<<16 | 'e'<<8 | 'c':
		return time.December
	}
	return 0
}

// digits reads a short run of decimal digits (at most 9, so no overflow);
// false if s is empty, too long or holds anything else.
func digits(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// d2 reads exactly two digits at s[i:i+2]; the caller checked the length.
func d2(s string, i int) (int, bool) {
	a, b := s[i]-'0', s[i+1]-'0'
	if a > 9 || b > 9 {
		return 0, false
	}
	return int(a)*10 + int(b), true
}

// fraction reads the digits of a decimal fraction of a second (after the
// dot), at most 9 of them, as nanoseconds.
func fraction(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n, ok := digits(s)
	if !ok {
		return 0, false
	}
	for i := len(s); i < 9; i++ {
		n *= 10
	}
	return n, true
}

// Fixed zones for the offsets most lines carry (whole quarter hours from
// -14:00 to +14:00), made once each: time.FixedZone allocates, and a parser
// must not allocate per line. The cache is filled lazily and without locks;
// two goroutines that race to fill a slot make equal zones, and either one
// will do.
var fixedZones [14*4*2 + 1]atomic.Pointer[time.Location]

// zoneOf returns a zone for an offset east of UTC in seconds: UTC for 0.
func zoneOf(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	if offset%900 != 0 || offset < -14*3600 || offset > 14*3600 {
		return time.FixedZone("", offset) // rare: allocate
	}
	slot := &fixedZones[offset/900+14*4]
	if loc := slot.Load(); loc != nil {
		return loc
	}
	loc := time.FixedZone("", offset)
	slot.CompareAndSwap(nil, loc)
	return slot.Load()
}

// rfc3339 reads a timestamp of RFC 3339 (as RFC 5424 restricts it, §6.2.3):
//
//	2003-10-11T22:14:15.003Z
//	2003-08-24T05:14:15.000003-07:00
//
// from the start of s, up to the first byte that cannot continue it. With
// lenient, it also takes an offset without a colon (+0200, as journalctl
// -o short-iso writes it) and a lower-case t and z. It returns the time,
// how many bytes it read, and, when it fails, why.
func rfc3339(s string, lenient bool) (t time.Time, n int, why string) {
	const layout = "YYYY-MM-DDThh:mm:ss"
	if len(s) < len(layout) {
		return t, 0, "want a timestamp YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm), got " + quote(s)
	}
	if s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
		!(s[10] == 'T' || lenient && s[10] == 't') {
		return t, 0, "want a timestamp YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm), got " + quote(s[:len(layout)])
	}
	y1, ok1 := d2(s, 0)
	y2, ok2 := d2(s, 2)
	mo, ok3 := d2(s, 5)
	d, ok4 := d2(s, 8)
	hh, ok5 := d2(s, 11)
	mi, ok6 := d2(s, 14)
	ss, ok7 := d2(s, 17)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return t, 0, "want digits in the timestamp, got " + quote(s[:len(layout)])
	}
	year := y1*100 + y2
	if !validDate(year, time.Month(mo), d, hh, mi, ss) {
		return t, 0, "no such date or time of day: " + quote(s[:len(layout)])
	}
	i := len(layout)
	nsec := 0
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		var ok bool
		if nsec, ok = fraction(s[i+1 : j]); !ok {
			return t, 0, "want 1 to 9 digits of a fraction of a second, got " + quote(s[i:j])
		}
		i = j
	}
	if i >= len(s) {
		return t, 0, "the timestamp has no time zone (Z or +hh:mm): " + quote(s)
	}
	offset := 0
	switch c := s[i]; {
	case c == 'Z' || lenient && c == 'z':
		i++
	case c == '+' || c == '-':
		start := i
		var oh, om int
		var ok bool
		switch {
		case i+6 <= len(s) && s[i+3] == ':':
			oh, ok = d2(s, i+1)
			if ok {
				om, ok = d2(s, i+4)
			}
			i += 6
		case lenient && i+5 <= len(s):
			oh, ok = d2(s, i+1)
			if ok {
				om, ok = d2(s, i+3)
			}
			i += 5
		}
		if !ok || oh > 23 || om > 59 {
			return t, 0, "want a time zone offset +hh:mm, got " + quote(s[start:min(start+6, len(s))])
		}
		offset = oh*3600 + om*60
		if c == '-' {
			offset = -offset
		}
	default:
		return t, 0, "want a time zone (Z or +hh:mm) after the time, got " + quote(s[i:])
	}
	sec := unixSeconds(year, time.Month(mo), d, hh, mi, ss) - int64(offset)
	return time.Unix(sec, int64(nsec)).In(zoneOf(offset)), i, ""
}
