package state_test

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// This file holds the codec tests' tools: a generator of random values of
// any supported type, unexported fields included, and a naive encoder, the
// codecs' deliberately dumb twin, that walks a value with plain reflection
// and writes the format as CodecFor's doc states it.

// money is a BinaryMarshaler with unexported state (and no
// BinaryAppender): the codecs codecMust use its methods, not its fields.
type money struct {
	cents int64
	cur   string
}

func (m money) MarshalBinary() ([]byte, error) {
	return fmt.Appendf(nil, "%s:%d", m.cur, m.cents), nil
}

func (m *money) UnmarshalBinary(b []byte) error {
	cur, cents, ok := strings.Cut(string(b), ":")
	if !ok {
		return fmt.Errorf("money %q has no colon", b)
	}
	n, err := strconv.ParseInt(cents, 10, 64)
	if err != nil {
		return err
	}
	*m = money{cents: n, cur: cur}
	return nil
}

var (
	tMoney = reflect.TypeFor[money]()
	tAddr  = reflect.TypeFor[netip.Addr]()
	tTime  = reflect.TypeFor[time.Time]()
)

// testZones are the Locations of generated times: those DeepEqual can
// compare after a round trip (a loaded zone is checked on its own).
var testZones = []*time.Location{
	time.UTC,
	time.Local,
	time.FixedZone("CET", 3600),
	time.FixedZone("", -7*3600),
	time.FixedZone("+0530", 5*3600+1800),
}

// valueGen makes random values. With nan, floats may be NaN (which DeepEqual
// cannot compare).
type valueGen struct {
	r   *rand.Rand
	nan bool
}

// value returns a random value of type t.
func (g *valueGen) value(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	g.fill(v, 0)
	return v
}

// fill sets v, which is addressable, to a random value; depth bounds the
// nesting of slices and maps.
func (g *valueGen) fill(v reflect.Value, depth int) {
	// A value reached through an unexported field is read-only to
	// reflect: reach the same memory through a pointer instead.
	v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	r := g.r
	switch v.Type() {
	case tTime:
		var sec int64
		switch r.IntN(4) {
		case 0:
			sec = r.Int64N(4e9) - 2e9 // around 1970
		case 1:
			sec = int64(r.Uint64()) // any instant a Time can hold
		case 2:
			sec = -62135596800 // year 1: the zero Time
		default:
			sec = r.Int64N(1 << 40)
		}
		t := time.Unix(sec, r.Int64N(1e9)).In(testZones[r.IntN(len(testZones))])
		if r.IntN(8) == 0 {
			t = time.Time{}
		}
		v.Set(reflect.ValueOf(t))
		return
	case tMoney:
		v.Set(reflect.ValueOf(money{cents: r.Int64N(1e6) - 5e5, cur: []string{"USD", "EUR", ""}[r.IntN(3)]}))
		return
	case tAddr:
		var a netip.Addr
		switch r.IntN(3) {
		case 0:
			a = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), 1, 2})
		case 1:
			var b [16]byte
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			a = netip.AddrFrom16(b).WithZone([]string{"", "eth0"}[r.IntN(2)])
		}
		v.Set(reflect.ValueOf(a))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		var x int64
		switch r.IntN(5) {
		case 0:
			x = 0
		case 1:
			x = -1 << (bits - 1) // the least
		case 2:
			x = 1<<(bits-1) - 1 // the greatest
		case 3:
			x = r.Int64N(256) - 128
		default:
			x = int64(r.Uint64()) >> (64 - bits) // any
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := v.Type().Bits()
		var x uint64
		switch r.IntN(4) {
		case 0:
			x = 0
		case 1:
			x = math.MaxUint64 >> (64 - bits)
		case 2:
			x = r.Uint64N(300)
		default:
			x = r.Uint64() >> (64 - bits)
		}
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(g.float())
	case reflect.Complex64, reflect.Complex128:
		v.SetComplex(complex(g.float(), g.float()))
	case reflect.String:
		v.SetString(g.string())
	case reflect.Array:
		for i := range v.Len() {
			g.fill(v.Index(i), depth)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			g.fill(v.Field(i), depth)
		}
	case reflect.Slice:
		switch n := g.length(depth); n {
		case -1: // nil
		default:
			v.Set(reflect.MakeSlice(v.Type(), n, n))
			for i := range n {
				g.fill(v.Index(i), depth+1)
			}
		}
	case reflect.Map:
		n := g.length(depth)
		if n < 0 {
			return
		}
		m := reflect.MakeMap(v.Type())
		for range n {
			k := g.value(v.Type().Key())
			e := reflect.New(v.Type().Elem()).Elem()
			g.fill(e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		if r.IntN(3) > 0 {
			p := reflect.New(v.Type().Elem())
			g.fill(p.Elem(), depth+1)
			v.Set(p)
		}
	default:
		panic("gen: no values of " + v.Type().String())
	}
}

// length returns a random length for a slice or map: -1 for nil.
func (g *valueGen) length(depth int) int {
	switch g.r.IntN(6) {
	case 0:
		return -1
	case 1:
		return 0
	}
	if depth > 2 {
		return g.r.IntN(2)
	}
	return g.r.IntN(6)
}

func (g *valueGen) float() float64 {
	r := g.r
	switch r.IntN(8) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return math.Inf(1 - 2*r.IntN(2))
	case 3:
		if g.nan {
			return math.NaN()
		}
	case 4:
		return float64(r.IntN(100))
	}
	return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
}

func (g *valueGen) string() string {
	n := g.r.IntN(12)
	if g.r.IntN(10) == 0 {
		n = 130 // a length of two varint bytes
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32()) // not always UTF-8: strings are bytes
	}
	return string(b)
}

// naiveEncode appends v's encoding as CodecFor's doc describes it,
// walking v with reflection. key selects KeyCodecFor's canonical form.
func naiveEncode(dst []byte, v reflect.Value, key bool) []byte {
	if v.CanAddr() {
		v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	t := v.Type()
	if t == tTime {
		tm := v.Interface().(time.Time)
		dst = binary.AppendVarint(dst, tm.Unix())
		dst = binary.AppendUvarint(dst, uint64(tm.Nanosecond()))
		name, off := tm.Zone()
		switch {
		case tm.Location() == time.UTC:
			return append(dst, 0)
		case tm.Location() == time.Local:
			return append(dst, 1)
		case tm.Location().String() == name:
			dst = append(dst, 2)
			dst = naiveString(dst, name)
		default:
			dst = append(dst, 3)
			dst = naiveString(dst, tm.Location().String())
			dst = naiveString(dst, name)
		}
		return binary.AppendVarint(dst, int64(off))
	}
	if !key && reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.BinaryUnmarshaler]()) {
		p := reflect.New(t)
		p.Elem().Set(v)
		b, err := p.Interface().(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic(err)
		}
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		return append(dst, b...)
	}
	switch t.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(dst, 1)
		}
		return append(dst, 0)
	case reflect.Int8:
		return append(dst, byte(v.Int()))
	case reflect.Uint8:
		return append(dst, byte(v.Uint()))
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(dst, v.Int())
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return binary.AppendUvarint(dst, v.Uint())
	case reflect.Float32:
		f := float32(v.Float())
		if key && f == 0 {
			f = 0
		}
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f))
	case reflect.Float64:
		f := v.Float()
		if key && f == 0 {
			f = 0
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	case reflect.Complex64, reflect.Complex128:
		bits := t.Bits() / 2
		c := v.Complex()
		parts := reflect.New(reflect.ArrayOf(2, map[int]reflect.Type{32: reflect.TypeFor[float32](), 64: reflect.TypeFor[float64]()}[bits])).Elem()
		parts.Index(0).SetFloat(real(c))
		parts.Index(1).SetFloat(imag(c))
		return naiveEncode(dst, parts, key)
	case reflect.String:
		return naiveString(dst, v.String())
	case reflect.Array:
		for i := range v.Len() {
			dst = naiveEncode(dst, v.Index(i), key)
		}
		return dst
	case reflect.Struct:
		for i := range v.NumField() {
			if key && t.Field(i).Name == "_" {
				continue
			}
			dst = naiveEncode(dst, v.Field(i), key)
		}
		return dst
	case reflect.Slice:
		if v.IsNil() {
			return append(dst, 0)
		}
		dst = binary.AppendUvarint(dst, uint64(v.Len())+1)
		for i := range v.Len() {
			dst = naiveEncode(dst, v.Index(i), key)
		}
		return dst
	case reflect.Map:
		if v.IsNil() {
			return append(dst, 0)
		}
		dst = binary.AppendUvarint(dst, uint64(v.Len())+1)
		var ents [][2][]byte
		for it := v.MapRange(); it.Next(); {
			k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			k.SetIterKey(it)
			e.SetIterValue(it)
			ents = append(ents, [2][]byte{naiveEncode(nil, k, key), naiveEncode(nil, e, key)})
		}
		slices.SortFunc(ents, func(a, b [2][]byte) int {
			if c := bytes.Compare(a[0], b[0]); c != 0 {
				return c
			}
			return bytes.Compare(a[1], b[1])
		})
		for _, e := range ents {
			dst = append(append(dst, e[0]...), e[1]...)
		}
		return dst
	case reflect.Pointer:
		if v.IsNil() {
			return append(dst, 0)
		}
		return naiveEncode(append(dst, 1), v.Elem(), key)
	}
	panic("naiveEncode: " + t.String())
}

func naiveString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
