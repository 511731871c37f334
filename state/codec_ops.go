package state

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"
	"unsafe"
)

// This file is the codecs' interpreter: encodeOps and decodeOps run a node's ops
// over a value's memory, reached through unsafe pointers at the offsets the
// builder computed. Every op reads or writes exactly its part; a decoder
// writes every byte of its part that is not padding, so decoding into
// memory that held another value leaves nothing of it behind.

// rawSlice is the memory layout of every slice.
type rawSlice struct {
	data     unsafe.Pointer
	len, cap int
}

// emptyBase is where empty, non-nil slices point, as the runtime's own
// zero-size allocations do.
var emptyBase [0]uint64

var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// The errors of one part, completed with the part's path by decode.
var (
	errCodecShort   = errors.New("unexpected end of data")
	errCodecVarint  = errors.New("malformed varint")
	errCodecRange   = errors.New("integer out of range for its type")
	errCodecBool    = errors.New("boolean byte is neither 0 nor 1")
	errCodecNegZero = errors.New("key holds -0, which keys encode as +0")
	errCodecNaN     = errors.New("key holds NaN")
)

func varintError(n int) error {
	if n == 0 {
		return errCodecShort
	}
	return errCodecVarint
}

// readUvarint reads a varint from the front of b and returns it with its
// length in bytes: 0 if b ends first, -1 if the varint is malformed
// (longer than 64 bits, or not minimal, so that a value has one encoding).
func readUvarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	var x uint64
	var s uint
	for i, c := range b {
		if c < 0x80 {
			if c == 0 || i == 9 && c > 1 {
				return 0, -1
			}
			return x | uint64(c)<<s, i + 1
		}
		if i == 9 {
			return 0, -1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// readLength reads the length of n things, each at least min bytes, that
// follow in src; with nilable, a varint 0 is nil and others are 1+length.
func readLength(src []byte, min int, nilable bool) (n int, isNil bool, rest []byte, err error) {
	v, k := readUvarint(src)
	if k <= 0 {
		return 0, false, nil, varintError(k)
	}
	rest = src[k:]
	if nilable {
		if v == 0 {
			return 0, true, rest, nil
		}
		v--
	}
	if min > 0 && v > uint64(len(rest)/min) {
		if min == 1 {
			return 0, false, nil, fmt.Errorf("length %d exceeds the %d bytes left", v, len(rest))
		}
		return 0, false, nil, fmt.Errorf("length %d, of parts of %d bytes or more, exceeds the %d bytes left", v, min, len(rest))
	}
	if v > math.MaxInt {
		return 0, false, nil, fmt.Errorf("length %d exceeds the largest int", v)
	}
	return int(v), false, rest, nil
}

// fail completes the error of op o's part.
func (o *codecOp) fail(err error) error {
	return &codecDecodeError{path: o.x.path, msg: err.Error()}
}

// appendScalar appends the encoding of the scalar of kind k at p.
func appendScalar(dst []byte, p unsafe.Pointer, k codecKind) []byte {
	switch k {
	case kindBool:
		if *(*bool)(p) {
			return append(dst, 1)
		}
		return append(dst, 0)
	case kindI8, kindU8:
		return append(dst, *(*uint8)(p))
	case kindI16:
		return binary.AppendVarint(dst, int64(*(*int16)(p)))
	case kindI32:
		return binary.AppendVarint(dst, int64(*(*int32)(p)))
	case kindI64:
		return binary.AppendVarint(dst, *(*int64)(p))
	case kindU16:
		return binary.AppendUvarint(dst, uint64(*(*uint16)(p)))
	case kindU32:
		return binary.AppendUvarint(dst, uint64(*(*uint32)(p)))
	case kindU64:
		return binary.AppendUvarint(dst, *(*uint64)(p))
	case kindF32:
		return binary.LittleEndian.AppendUint32(dst, *(*uint32)(p))
	case kindF64:
		return binary.LittleEndian.AppendUint64(dst, *(*uint64)(p))
	case kindF32Key:
		f := *(*float32)(p)
		if f == 0 {
			f = 0 // -0 == +0
		}
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f))
	case kindF64Key:
		f := *(*float64)(p)
		if f == 0 {
			f = 0
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	case kindString:
		s := *(*string)(p)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	}
	panic("braid: codec: not a scalar op")
}

// decodeScalar decodes the scalar of kind k at the front of src into p.
func decodeScalar(src []byte, p unsafe.Pointer, k codecKind) ([]byte, error) {
	switch k {
	case kindBool:
		if len(src) == 0 {
			return nil, errCodecShort
		}
		if src[0] > 1 {
			return nil, errCodecBool
		}
		*(*bool)(p) = src[0] == 1
		return src[1:], nil
	case kindI8, kindU8:
		if len(src) == 0 {
			return nil, errCodecShort
		}
		*(*uint8)(p) = src[0]
		return src[1:], nil
	case kindI16, kindI32, kindI64:
		u, n := readUvarint(src)
		if n <= 0 {
			return nil, varintError(n)
		}
		v := unzigzag(u)
		switch k {
		case kindI16:
			if v != int64(int16(v)) {
				return nil, errCodecRange
			}
			*(*int16)(p) = int16(v)
		case kindI32:
			if v != int64(int32(v)) {
				return nil, errCodecRange
			}
			*(*int32)(p) = int32(v)
		default:
			*(*int64)(p) = v
		}
		return src[n:], nil
	case kindU16, kindU32, kindU64:
		u, n := readUvarint(src)
		if n <= 0 {
			return nil, varintError(n)
		}
		switch k {
		case kindU16:
			if u > math.MaxUint16 {
				return nil, errCodecRange
			}
			*(*uint16)(p) = uint16(u)
		case kindU32:
			if u > math.MaxUint32 {
				return nil, errCodecRange
			}
			*(*uint32)(p) = uint32(u)
		default:
			*(*uint64)(p) = u
		}
		return src[n:], nil
	case kindF32, kindF32Key:
		if len(src) < 4 {
			return nil, errCodecShort
		}
		b := binary.LittleEndian.Uint32(src)
		if k == kindF32Key {
			if b == 1<<31 {
				return nil, errCodecNegZero
			}
			if f := math.Float32frombits(b); f != f {
				return nil, errCodecNaN
			}
		}
		*(*uint32)(p) = b
		return src[4:], nil
	case kindF64, kindF64Key:
		if len(src) < 8 {
			return nil, errCodecShort
		}
		b := binary.LittleEndian.Uint64(src)
		if k == kindF64Key {
			if b == 1<<63 {
				return nil, errCodecNegZero
			}
			if f := math.Float64frombits(b); f != f {
				return nil, errCodecNaN
			}
		}
		*(*uint64)(p) = b
		return src[8:], nil
	case kindString:
		n, _, rest, err := readLength(src, 1, false)
		if err != nil {
			return nil, err
		}
		*(*string)(p) = string(rest[:n])
		return rest[n:], nil
	}
	panic("braid: codec: not a scalar op")
}

// scalarSize is the size in memory of the scalar of kind k.
func scalarSize(k codecKind) uintptr {
	switch k {
	case kindBool, kindI8, kindU8:
		return 1
	case kindI16, kindU16:
		return 2
	case kindI32, kindU32, kindF32, kindF32Key:
		return 4
	case kindString:
		return unsafe.Sizeof("")
	}
	return 8
}

// encodeOps appends the encoding of the value at p, whose node has the given
// ops.
func encodeOps(dst []byte, p unsafe.Pointer, ops []codecOp) []byte {
	for i := range ops {
		o := &ops[i]
		q := unsafe.Add(p, o.off)
		switch o.kind {
		// The common scalars are inlined here; the others, and these
		// when they stand alone, are appendScalar's.
		case kindBool:
			if *(*bool)(q) {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		case kindI8, kindU8:
			dst = append(dst, *(*uint8)(q))
		case kindI64:
			dst = binary.AppendVarint(dst, *(*int64)(q))
		case kindU64:
			dst = binary.AppendUvarint(dst, *(*uint64)(q))
		case kindF64:
			dst = binary.LittleEndian.AppendUint64(dst, *(*uint64)(q))
		case kindString:
			s := *(*string)(q)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		case kindI16, kindI32, kindU16, kindU32, kindF32, kindF32Key, kindF64Key:
			dst = appendScalar(dst, q, o.kind)
		case kindRaw:
			dst = append(dst, unsafe.Slice((*byte)(q), o.x.n)...)
		case kindBytes:
			b := *(*[]byte)(q)
			if b == nil {
				dst = append(dst, 0)
				continue
			}
			dst = binary.AppendUvarint(dst, uint64(len(b))+1)
			dst = append(dst, b...)
		case kindRun:
			h := (*rawSlice)(q)
			if h.data == nil {
				dst = append(dst, 0)
				continue
			}
			dst = binary.AppendUvarint(dst, uint64(h.len)+1)
			dst = appendRun(dst, h.data, h.len, o.x.elem)
		case kindArrayRun:
			dst = appendRun(dst, q, o.x.n, o.x.elem)
		case kindSlice:
			h := (*rawSlice)(q)
			if h.data == nil {
				dst = append(dst, 0)
				continue
			}
			dst = binary.AppendUvarint(dst, uint64(h.len)+1)
			if sub := o.x.sub.ops; len(sub) > 0 {
				for j := range h.len {
					dst = encodeOps(dst, unsafe.Add(h.data, uintptr(j)*o.x.stride), sub)
				}
			}
		case kindArray:
			for j := range o.x.n {
				dst = encodeOps(dst, unsafe.Add(q, uintptr(j)*o.x.stride), o.x.sub.ops)
			}
		case kindMap:
			dst = appendMapOp(dst, q, o.x)
		case kindPtr:
			pp := *(*unsafe.Pointer)(q)
			if pp == nil {
				dst = append(dst, 0)
				continue
			}
			dst = append(dst, 1)
			dst = encodeOps(dst, pp, o.x.sub.ops)
		case kindTime:
			dst = appendTime(dst, (*time.Time)(q))
		case kindMarshal:
			dst = appendMarshal(dst, q, o.x)
		}
	}
	return dst
}

// decodeOps decodes the value at the front of src into p, whose node has the
// given ops, and returns the rest of src.
func decodeOps(src []byte, p unsafe.Pointer, ops []codecOp) ([]byte, error) {
	for i := range ops {
		o := &ops[i]
		q := unsafe.Add(p, o.off)
		var err error
		switch o.kind {
		// The common scalars are inlined here, as in encodeOps.
		case kindI64:
			u, n := readUvarint(src)
			if n <= 0 {
				return nil, o.fail(varintError(n))
			}
			*(*int64)(q) = unzigzag(u)
			src = src[n:]
		case kindU64:
			u, n := readUvarint(src)
			if n <= 0 {
				return nil, o.fail(varintError(n))
			}
			*(*uint64)(q) = u
			src = src[n:]
		case kindF64:
			if len(src) < 8 {
				return nil, o.fail(errCodecShort)
			}
			*(*uint64)(q) = binary.LittleEndian.Uint64(src)
			src = src[8:]
		case kindString:
			n, _, rest, err := readLength(src, 1, false)
			if err != nil {
				return nil, o.fail(err)
			}
			*(*string)(q) = string(rest[:n])
			src = rest[n:]
		case kindBool, kindI8, kindU8, kindI16, kindI32, kindU16, kindU32, kindF32, kindF32Key, kindF64Key:
			if src, err = decodeScalar(src, q, o.kind); err != nil {
				return nil, o.fail(err)
			}
		case kindRaw:
			if len(src) < o.x.n {
				return nil, o.fail(errCodecShort)
			}
			copy(unsafe.Slice((*byte)(q), o.x.n), src)
			src = src[o.x.n:]
		case kindBytes:
			n, isNil, rest, err := readLength(src, 1, true)
			if err != nil {
				return nil, o.fail(err)
			}
			var b []byte
			if !isNil {
				b = make([]byte, n)
				copy(b, rest)
			}
			*(*[]byte)(q) = b
			src = rest[n:]
		case kindRun:
			n, isNil, rest, err := readLength(src, scalarMinLen(o.x.elem), true)
			if err != nil {
				return nil, o.fail(err)
			}
			if isNil {
				*(*rawSlice)(q) = rawSlice{}
				src = rest
				continue
			}
			data := makeRun(o.x.elem, n)
			if src, err = decodeRun(rest, data, n, o.x.elem); err != nil {
				return nil, o.fail(err)
			}
			*(*rawSlice)(q) = rawSlice{data, n, n}
		case kindArrayRun:
			if src, err = decodeRun(src, q, o.x.n, o.x.elem); err != nil {
				return nil, o.fail(err)
			}
		case kindSlice:
			if src, err = decodeSliceOp(src, q, o); err != nil {
				return nil, err
			}
		case kindArray:
			for j := range o.x.n {
				if src, err = decodeOps(src, unsafe.Add(q, uintptr(j)*o.x.stride), o.x.sub.ops); err != nil {
					return nil, err
				}
			}
		case kindMap:
			if src, err = decodeMapOp(src, q, o); err != nil {
				return nil, err
			}
		case kindPtr:
			if len(src) == 0 {
				return nil, o.fail(errCodecShort)
			}
			switch src[0] {
			case 0:
				*(*unsafe.Pointer)(q) = nil
				src = src[1:]
			case 1:
				pp := reflect.New(o.x.typ).UnsafePointer()
				if src, err = decodeOps(src[1:], pp, o.x.sub.ops); err != nil {
					return nil, err
				}
				*(*unsafe.Pointer)(q) = pp
			default:
				return nil, o.fail(fmt.Errorf("pointer byte %d is neither 0 (nil) nor 1", src[0]))
			}
		case kindTime:
			if src, err = decodeTime(src, (*time.Time)(q)); err != nil {
				return nil, o.fail(err)
			}
		case kindMarshal:
			if src, err = decodeMarshal(src, q, o.x); err != nil {
				return nil, o.fail(err)
			}
		}
	}
	return src, nil
}

// appendRun appends n scalars of kind k from data, without their length.
func appendRun(dst []byte, data unsafe.Pointer, n int, k codecKind) []byte {
	if n == 0 {
		return dst
	}
	switch k {
	case kindI8, kindU8:
		return append(dst, unsafe.Slice((*byte)(data), n)...)
	case kindF32, kindF64:
		if nativeLittleEndian {
			return append(dst, unsafe.Slice((*byte)(data), uintptr(n)*scalarSize(k))...)
		}
	case kindI64:
		for _, v := range unsafe.Slice((*int64)(data), n) {
			dst = binary.AppendVarint(dst, v)
		}
		return dst
	case kindU64:
		for _, v := range unsafe.Slice((*uint64)(data), n) {
			dst = binary.AppendUvarint(dst, v)
		}
		return dst
	case kindString:
		for _, s := range unsafe.Slice((*string)(data), n) {
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		}
		return dst
	}
	size := scalarSize(k)
	for i := range n {
		dst = appendScalar(dst, unsafe.Add(data, uintptr(i)*size), k)
	}
	return dst
}

// decodeRun decodes n scalars of kind k from src into data.
func decodeRun(src []byte, data unsafe.Pointer, n int, k codecKind) ([]byte, error) {
	if n == 0 {
		return src, nil
	}
	switch k {
	case kindI8, kindU8:
		if len(src) < n {
			return nil, errCodecShort
		}
		copy(unsafe.Slice((*byte)(data), n), src)
		return src[n:], nil
	case kindF32, kindF64:
		if nativeLittleEndian {
			size := n * int(scalarSize(k))
			if len(src) < size {
				return nil, errCodecShort
			}
			copy(unsafe.Slice((*byte)(data), size), src)
			return src[size:], nil
		}
	case kindI64:
		s := unsafe.Slice((*int64)(data), n)
		for i := range s {
			u, m := readUvarint(src)
			if m <= 0 {
				return nil, varintError(m)
			}
			s[i] = unzigzag(u)
			src = src[m:]
		}
		return src, nil
	}
	size := scalarSize(k)
	var err error
	for i := range n {
		if src, err = decodeScalar(src, unsafe.Add(data, uintptr(i)*size), k); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// makeRun allocates an array of n scalars of kind k: a slice of a named
// scalar type has the same layout as one of the scalar.
func makeRun(k codecKind, n int) unsafe.Pointer {
	switch k {
	case kindBool:
		return unsafe.Pointer(unsafe.SliceData(make([]bool, n)))
	case kindI8, kindU8:
		return unsafe.Pointer(unsafe.SliceData(make([]uint8, n)))
	case kindI16, kindU16:
		return unsafe.Pointer(unsafe.SliceData(make([]uint16, n)))
	case kindI32, kindU32, kindF32, kindF32Key:
		return unsafe.Pointer(unsafe.SliceData(make([]uint32, n)))
	case kindString:
		return unsafe.Pointer(unsafe.SliceData(make([]string, n)))
	}
	return unsafe.Pointer(unsafe.SliceData(make([]uint64, n)))
}

func decodeSliceOp(src []byte, q unsafe.Pointer, o *codecOp) ([]byte, error) {
	x := o.x
	n, isNil, rest, err := readLength(src, x.sub.min, true)
	if err != nil {
		return nil, o.fail(err)
	}
	if isNil {
		*(*rawSlice)(q) = rawSlice{}
		return rest, nil
	}
	if n == 0 || x.stride == 0 {
		*(*rawSlice)(q) = rawSlice{unsafe.Pointer(&emptyBase), n, n}
		return rest, nil // nothing to decode: every element is the zero value
	}
	// Grow allocates the array (zeroed) and writes the slice in place,
	// where reflect.MakeSlice would allocate a slice header as well.
	*(*rawSlice)(q) = rawSlice{}
	s := reflect.NewAt(x.typ, q).Elem()
	s.Grow(n)
	s.SetLen(n)
	data := (*rawSlice)(q).data
	for j := range n {
		if rest, err = decodeOps(rest, unsafe.Add(data, uintptr(j)*x.stride), x.sub.ops); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// codecMapScratch is where a map's entries are copied, one at a time, to be
// encoded or decoded, and where an encoded map's entries wait to be
// sorted.
type codecMapScratch struct {
	k, v   reflect.Value // settable, of the key and value types
	kp, vp unsafe.Pointer
	buf    []byte
	ents   []codecMapEntry
}

// codecMapEntry is an encoded entry in codecMapScratch.buf: the key is
// buf[start:mid], the value buf[mid:end].
type codecMapEntry struct{ start, mid, end int }

func newCodecMapScratch(t reflect.Type) *codecMapScratch {
	k, v := reflect.New(t.Key()), reflect.New(t.Elem())
	return &codecMapScratch{k: k.Elem(), v: v.Elem(), kp: k.UnsafePointer(), vp: v.UnsafePointer()}
}

// release drops what s refers to before it goes back to its pool.
func (s *codecMapScratch) release() {
	s.k.SetZero()
	s.v.SetZero()
	if cap(s.buf) > 64<<10 {
		s.buf = nil
	}
	s.buf = s.buf[:0]
	s.ents = s.ents[:0]
}

func appendMapOp(dst []byte, q unsafe.Pointer, x *codecOpExtra) []byte {
	m := reflect.NewAt(x.typ, q).Elem()
	if m.IsNil() {
		return append(dst, 0)
	}
	n := m.Len()
	dst = binary.AppendUvarint(dst, uint64(n)+1)
	if n == 0 {
		return dst
	}
	s := x.pool.Get().(*codecMapScratch)
	var it reflect.MapIter
	it.Reset(m)
	if n == 1 {
		it.Next()
		s.k.SetIterKey(&it)
		s.v.SetIterValue(&it)
		dst = encodeOps(dst, s.kp, x.key.ops)
		dst = encodeOps(dst, s.vp, x.sub.ops)
	} else {
		for it.Next() {
			s.k.SetIterKey(&it)
			s.v.SetIterValue(&it)
			start := len(s.buf)
			s.buf = encodeOps(s.buf, s.kp, x.key.ops)
			mid := len(s.buf)
			s.buf = encodeOps(s.buf, s.vp, x.sub.ops)
			s.ents = append(s.ents, codecMapEntry{start, mid, len(s.buf)})
		}
		buf := s.buf
		slices.SortFunc(s.ents, func(a, b codecMapEntry) int {
			if c := bytes.Compare(buf[a.start:a.mid], buf[b.start:b.mid]); c != 0 {
				return c
			}
			return bytes.Compare(buf[a.mid:a.end], buf[b.mid:b.end])
		})
		for _, e := range s.ents {
			dst = append(dst, buf[e.start:e.end]...)
		}
	}
	it.Reset(reflect.Value{})
	s.release()
	x.pool.Put(s)
	return dst
}

func decodeMapOp(src []byte, q unsafe.Pointer, o *codecOp) ([]byte, error) {
	x := o.x
	min := x.key.min + x.sub.min
	n, isNil, rest, err := readLength(src, min, true)
	if err != nil {
		return nil, o.fail(err)
	}
	if isNil {
		*(*unsafe.Pointer)(q) = nil
		return rest, nil
	}
	hint := n
	if min == 0 {
		hint = 1 // a zero-size key: one entry at most
	}
	m := reflect.MakeMapWithSize(x.typ, hint)
	s := x.pool.Get().(*codecMapScratch)
	rest, err = decodeMapEntries(rest, m, n, s, o)
	s.release()
	x.pool.Put(s)
	if err != nil {
		return nil, err
	}
	*(*unsafe.Pointer)(q) = m.UnsafePointer()
	return rest, nil
}

// decodeMapEntries decodes n entries into m, checking that they come in the
// order appendMapOp writes them, each key once.
func decodeMapEntries(src []byte, m reflect.Value, n int, s *codecMapScratch, o *codecOp) ([]byte, error) {
	x := o.x
	var prevK, prevV []byte
	var err error
	for i := range n {
		start := src
		if src, err = decodeOps(src, s.kp, x.key.ops); err != nil {
			return nil, err
		}
		mid := src
		if src, err = decodeOps(src, s.vp, x.sub.ops); err != nil {
			return nil, err
		}
		k, v := start[:len(start)-len(mid)], mid[:len(mid)-len(src)]
		if i > 0 {
			c := bytes.Compare(prevK, k)
			if c > 0 || c == 0 && bytes.Compare(prevV, v) > 0 {
				return nil, o.fail(fmt.Errorf("map entry %d is out of order", i))
			}
		}
		m.SetMapIndex(s.k, s.v)
		if m.Len() != i+1 {
			return nil, o.fail(fmt.Errorf("map entry %d repeats a key", i))
		}
		prevK, prevV = k, v
	}
	return src, nil
}

func appendMarshal(dst []byte, q unsafe.Pointer, x *codecOpExtra) []byte {
	v := reflect.NewAt(x.typ, q).Interface()
	if x.appender {
		start := len(dst)
		dst, err := v.(encoding.BinaryAppender).AppendBinary(dst)
		if err != nil {
			panic(fmt.Sprintf("braid: checkpointing %s: AppendBinary: %v", x.where(), err))
		}
		// Put the length in front of the bytes.
		n := len(dst) - start
		var lb [binary.MaxVarintLen64]byte
		l := binary.PutUvarint(lb[:], uint64(n))
		dst = append(dst, lb[:l]...)
		copy(dst[start+l:], dst[start:start+n])
		copy(dst[start:], lb[:l])
		return dst
	}
	b, err := v.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("braid: checkpointing %s: MarshalBinary: %v", x.where(), err))
	}
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// where names a marshaler's part for the panic of a failed MarshalBinary.
func (x *codecOpExtra) where() string {
	if x.path == "" {
		return x.typ.String()
	}
	return fmt.Sprintf("%s (%v)", x.path, x.typ)
}

func decodeMarshal(src []byte, q unsafe.Pointer, x *codecOpExtra) (rest []byte, err error) {
	n, _, rest, err := readLength(src, 1, false)
	if err != nil {
		return nil, err
	}
	v := reflect.NewAt(x.typ, q)
	v.Elem().SetZero()
	defer func() {
		// Damaged bytes must not crash a restore, even through a user's
		// method.
		if r := recover(); r != nil {
			rest, err = nil, fmt.Errorf("UnmarshalBinary panicked: %v", r)
		}
	}()
	if err := v.Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(rest[:n:n]); err != nil {
		return nil, fmt.Errorf("UnmarshalBinary: %w", err)
	}
	return rest[n:], nil
}
