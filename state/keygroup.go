package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"unsafe"
)

// DefaultMaxParallelism is the number of key groups when none is set. It
// bounds the parallelism a keyed operator can be rescaled to.
const DefaultMaxParallelism = 128

// KeyGroup maps a key hash onto one of maxParallelism key groups. Key groups
// are the unit of keyed state: a keyed operator's subtask owns a contiguous
// range of them, and a checkpoint lays state out by key group so that a job
// can be restored at another parallelism.
func KeyGroup(hash uint64, maxParallelism int) int {
	return int(((hash >> 32) * uint64(maxParallelism)) >> 32)
}

// SubtaskOf returns the subtask, of parallelism, that owns key group kg
// (Flink's KeyGroupRangeAssignment.computeOperatorIndexForKeyGroup).
func SubtaskOf(kg, maxParallelism, parallelism int) int {
	return kg * parallelism / maxParallelism
}

// KeyGroupRange returns the half-open range [lo, hi) of key groups that
// subtask owns at the given parallelism. The ranges of all subtasks cover
// [0, maxParallelism) without overlap and agree with SubtaskOf.
func KeyGroupRange(subtask, maxParallelism, parallelism int) (lo, hi int) {
	lo = (subtask*maxParallelism + parallelism - 1) / parallelism
	hi = ((subtask+1)*maxParallelism + parallelism - 1) / parallelism
	return lo, hi
}

// A Hasher returns a hash of a key that is the same in every process and on
// every run, so that a key's key group survives a restart. It is built once
// per key type by NewHasher; calling it does not allocate.
type Hasher[K comparable] func(K) uint64

// ErrUnstableKey marks the error NewHasher returns for a key type that has
// no stable hash; test for it with errors.Is.
var ErrUnstableKey = errors.New("braid: key type has no stable hash")

// HoldsFloats reports whether a K can hold a floating-point value (K is a
// float or complex number, or an array or struct with one inside), and so
// can be NaN. A NaN is not equal to itself, so a key holding one matches
// no other key, itself included: keyed operators refuse such keys.
func HoldsFloats[K comparable]() bool {
	var zero K
	return holdsFloats(reflect.TypeOf(&zero).Elem())
}

func holdsFloats(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return holdsFloats(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsFloats(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// NewHasher builds the Hasher for K. Keys may be strings, booleans, integers,
// floats, complex numbers, and arrays or structs made of them, including
// named types of these. Pointers, channels, interfaces and unsafe pointers
// are comparable in Go but have no stable hash (an address or a dynamic type
// differs between runs), so they are rejected with an error, marked with
// ErrUnstableKey, that names the type.
//
// The hash depends only on the key's value, never on the platform:
//   - integers hash by value, signed ones sign-extended and unsigned ones
//     zero-extended to 64 bits, so int, int32 and int64 keys of equal value
//     hash alike, on 32- and 64-bit machines;
//   - floats hash by their bits, with -0.0 taken as +0.0 (they are ==);
//   - a struct or array hashes its fields or elements in order, skipping
//     blank (_) fields and padding, which == ignores too.
//
// These rules, HashString and Mix64 decide which key group, and so which
// part of a checkpoint, holds a key's state: they must never change.
func NewHasher[K comparable]() (Hasher[K], error) {
	var zero K
	t := reflect.TypeOf(&zero).Elem()
	switch t.Kind() {
	case reflect.String:
		return func(k K) uint64 { return HashString(*(*string)(unsafe.Pointer(&k))) }, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch t.Size() {
		case 1:
			return func(k K) uint64 { return Mix64(uint64(*(*int8)(unsafe.Pointer(&k)))) }, nil
		case 2:
			return func(k K) uint64 { return Mix64(uint64(*(*int16)(unsafe.Pointer(&k)))) }, nil
		case 4:
			return func(k K) uint64 { return Mix64(uint64(*(*int32)(unsafe.Pointer(&k)))) }, nil
		case 8:
			return func(k K) uint64 { return Mix64(uint64(*(*int64)(unsafe.Pointer(&k)))) }, nil
		}
	case reflect.Bool, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		switch t.Size() {
		case 1:
			return func(k K) uint64 { return Mix64(uint64(*(*uint8)(unsafe.Pointer(&k)))) }, nil
		case 2:
			return func(k K) uint64 { return Mix64(uint64(*(*uint16)(unsafe.Pointer(&k)))) }, nil
		case 4:
			return func(k K) uint64 { return Mix64(uint64(*(*uint32)(unsafe.Pointer(&k)))) }, nil
		case 8:
			return func(k K) uint64 { return Mix64(*(*uint64)(unsafe.Pointer(&k))) }, nil
		}
	}
	var leaves []leaf
	if err := collectLeaves(t, "", 0, &leaves); err != nil {
		return nil, fmt.Errorf("%w: %v: %v; use strings, integers, floats, booleans, or arrays and structs of them", ErrUnstableKey, t, err)
	}
	return func(k K) uint64 { return hashLeaves(unsafe.Pointer(&k), leaves) }, nil
}

type leafKind uint8

const (
	leafString leafKind = iota
	leafInt             // signed: sign-extended
	leafUint            // unsigned and bool: zero-extended
	leafFloat32
	leafFloat64
)

type leaf struct {
	offset uintptr
	size   uintptr
	kind   leafKind
}

// collectLeaves appends the scalar parts of a value of type t, found at
// offset base, in field and element order. path names the part for errors
// ("" for the key itself).
func collectLeaves(t reflect.Type, path string, base uintptr, out *[]leaf) error {
	switch t.Kind() {
	case reflect.String:
		*out = append(*out, leaf{base, t.Size(), leafString})
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		*out = append(*out, leaf{base, t.Size(), leafInt})
	case reflect.Bool, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		*out = append(*out, leaf{base, t.Size(), leafUint})
	case reflect.Float32:
		*out = append(*out, leaf{base, 4, leafFloat32})
	case reflect.Float64:
		*out = append(*out, leaf{base, 8, leafFloat64})
	case reflect.Complex64:
		*out = append(*out, leaf{base, 4, leafFloat32}, leaf{base + 4, 4, leafFloat32})
	case reflect.Complex128:
		*out = append(*out, leaf{base, 8, leafFloat64}, leaf{base + 8, 8, leafFloat64})
	case reflect.Array:
		for i := 0; i < t.Len(); i++ {
			if err := collectLeaves(t.Elem(), fmt.Sprintf("%s[%d]", path, i), base+uintptr(i)*t.Elem().Size(), out); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Name == "_" {
				continue // blank fields take no part in ==
			}
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			if err := collectLeaves(f.Type, p, base+f.Offset, out); err != nil {
				return err
			}
		}
	default:
		what := map[reflect.Kind]string{
			reflect.Pointer:       "a pointer",
			reflect.Interface:     "an interface",
			reflect.Chan:          "a channel",
			reflect.UnsafePointer: "an unsafe pointer",
		}[t.Kind()]
		if what == "" {
			what = "a " + t.Kind().String()
		}
		if path == "" {
			return fmt.Errorf("it is %s", what)
		}
		return fmt.Errorf("%s is %s (%v)", path, what, t)
	}
	return nil
}

func hashLeaves(p unsafe.Pointer, leaves []leaf) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, l := range leaves {
		q := unsafe.Add(p, l.offset)
		var v uint64
		switch l.kind {
		case leafString:
			v = HashString(*(*string)(q))
		case leafInt:
			switch l.size {
			case 1:
				v = uint64(*(*int8)(q))
			case 2:
				v = uint64(*(*int16)(q))
			case 4:
				v = uint64(*(*int32)(q))
			default:
				v = uint64(*(*int64)(q))
			}
		case leafUint:
			switch l.size {
			case 1:
				v = uint64(*(*uint8)(q))
			case 2:
				v = uint64(*(*uint16)(q))
			case 4:
				v = uint64(*(*uint32)(q))
			default:
				v = *(*uint64)(q)
			}
		case leafFloat32:
			f := *(*float32)(q)
			if f == 0 {
				f = 0 // -0 == +0
			}
			v = uint64(math.Float32bits(f))
		case leafFloat64:
			f := *(*float64)(q)
			if f == 0 {
				f = 0
			}
			v = math.Float64bits(f)
		}
		h = Mix64(h ^ v)
	}
	return h
}

const (
	m1 = 0xa0761d6478bd642f
	m2 = 0xe7037ed1a0b428db
	m3 = 0x8ebc6af09c88c6e3
)

// Mix64 is a strong 64-bit mixer (a multiply-fold, as in wyhash), used to
// hash integer keys.
func Mix64(x uint64) uint64 {
	hi, lo := bits.Mul64(x^m1, m2)
	hi, lo = bits.Mul64(hi^lo, m3)
	return hi ^ lo
}

// HashString hashes a string eight bytes at a time. The result is fixed for
// all time: it decides which key group a string key belongs to in every
// checkpoint.
func HashString(s string) uint64 {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	h := uint64(len(s)) * m3
	for len(b) >= 8 {
		hi, lo := bits.Mul64(h^binary.LittleEndian.Uint64(b)^m1, m2)
		h = hi ^ lo
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for i, c := range b {
			t |= uint64(c) << (8 * i)
		}
		hi, lo := bits.Mul64(h^t^m1, m2)
		h = hi ^ lo
	}
	return Mix64(h)
}
