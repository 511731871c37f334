package state

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// A Codec encodes values of T to bytes and back, for checkpoints: an
// operator encodes the keys and values it changed since the last checkpoint
// and decodes them on restore.
//
// Append appends v's encoding to dst and returns the extended buffer. It
// allocates only when dst must grow: a value holding a map borrows scratch
// space from a pool, a BinaryMarshaler may allocate as it likes, and a
// value holding one in its own memory (not behind a pointer, slice or map)
// is copied to the heap first, since the method may keep its receiver.
// Decode
// reads one value from the front of src and returns it with the bytes that
// follow it; on error v is the zero value and rest is nil. The value Decode
// returns never aliases src: strings and slices are copied.
//
// A Codec is safe for concurrent use. Build one per type when an operator
// is built and keep it: building walks the type with reflection, encoding
// does not.
type Codec[T any] interface {
	Append(dst []byte, v T) []byte
	Decode(src []byte) (v T, rest []byte, err error)
}

// ErrUncodable marks the error CodecFor and KeyCodecFor return for a type
// they cannot encode; test for it with errors.Is.
var ErrUncodable = errors.New("braid: type cannot be checkpointed")

// ErrDecode marks every error of a Codec's Decode and of DecodeExact: the
// bytes are not the encoding of a value of the type (damaged, truncated,
// or written for another type).
var ErrDecode = errors.New("braid: bytes do not decode")

// CodecFor returns the codec for values of T: the accumulators, elements
// and state values an operator checkpoints. It walks T once; keep the
// codec.
//
// # Types
//
// Supported: booleans, integers of every size, floats, complex numbers,
// strings, and structs, arrays, slices, maps and pointers made of them,
// named types of all these, time.Time and time.Duration. Struct fields are
// encoded whether exported or not, blank (_) fields included, in field
// order. A type T whose pointer *T implements both encoding.BinaryMarshaler
// and encoding.BinaryUnmarshaler is encoded by those methods instead (with
// encoding.BinaryAppender when *T has it), except time.Time, which has an
// encoding of its own (below).
//
// Refused, with an error marked ErrUncodable that names T and the path of
// the bad part (for example "braid: cannot checkpoint main.acc: .conn is a
// channel (chan int)"): functions, channels, unsafe pointers, uintptrs
// (an address means nothing after a restart), interfaces (a decoder could
// not know the dynamic type, and there is no registry of types, unlike
// gob's Register), and recursive types (a struct that reaches itself
// through a pointer, slice or map): a value of one could hold a cycle,
// which no encoding would end. Store a tree as a slice of nodes that refer
// to each other by index.
//
// # Encoding
//
// Nothing goes with a value but its data: no type descriptor, no field
// names, no version, unlike gob. The encoding of a type is the order and
// the types of its fields:
//
//   - bool: one byte, 0 or 1.
//   - int8, uint8: one byte. Larger signed integers: a zigzag varint;
//     unsigned: a varint (encoding/binary's). int and uint are encoded as
//     64-bit values, so an int written on a 64-bit machine reads back on a
//     32-bit one if it fits.
//   - float32, float64: 4 or 8 bytes, IEEE 754 bits, little-endian; every
//     value round-trips bit for bit, -0 and each NaN included. complex64
//     and complex128: the real then the imaginary part.
//   - string: a varint length, then the bytes.
//   - slice: a varint of 0 for a nil slice or 1+length, then the elements;
//     nil and empty slices stay apart, as reflect.DeepEqual tells them.
//     []byte, and slices of numbers, are encoded in bulk.
//   - array: its elements, no length; [N]byte is its N bytes.
//   - struct: its fields in order, no padding.
//   - map: a varint of 0 for nil or 1+length, then the entries (key, then
//     value), sorted by the bytes of the key, then of the value: the same
//     map encodes to the same bytes however it was filled.
//   - pointer: a byte 0 for nil, or 1 and the pointee. Two pointers to one
//     value decode as two values: sharing is not kept.
//   - time.Time: the Unix seconds (a zigzag varint), the nanoseconds (a
//     varint), and its Location: UTC, Local (the Local of the process that
//     decodes it), a fixed zone (name and offset), or a named zone (its
//     name, and the abbreviation and offset at that instant, used as a
//     fixed zone where time.LoadLocation does not know the name). The
//     monotonic clock reading is dropped. Every instant a time.Time can
//     hold round-trips (t.Equal), year 1 and billions of years away
//     included; UTC, Local and fixed zones come back as they were.
//   - BinaryMarshaler: a varint length, then MarshalBinary's bytes.
//
// # Versions
//
// A checkpointed value decodes only as the type it was encoded as: change
// the fields of a state type between runs and old checkpoints no longer
// fit. Schema evolution is not supported. Decoding a value of another
// shape usually fails, with an error marked ErrDecode that names the type
// and the path of the part that did not fit ("braid: decoding
// main.acc: .items: length 300 exceeds the 7 bytes left"), because a
// decoder checks what it reads (booleans are 0 or 1, varints are minimal
// and fit their integer, lengths fit the bytes left, map keys come sorted
// and once); DecodeExact also fails when bytes are left over. But a
// checksum, not a codec, is what detects damage: bytes of another type can
// happen to decode.
//
// Decoding never panics, whatever the bytes (a user's UnmarshalBinary that
// panics becomes an error), and allocates in proportion to their number: a
// length is checked against the bytes left, each part taking at least one
// byte, before anything is allocated for it, so a length prefix claiming
// 1<<60 elements is an error. The proportion is a few tens of bytes of
// memory per byte at most (an empty map, one byte, allocates a map
// header), except for a BinaryMarshaler of a large type, allocated whole
// for as little as a one-byte length.
//
// Cost: Append and Decode do not use reflection for booleans, numbers,
// strings, time.Time, and arrays, slices and structs of those (struct
// fields are read at precomputed offsets); maps and BinaryMarshalers go
// through reflect. Decode allocates what the value holds: strings, slices,
// maps, pointees.
func CodecFor[T any]() (Codec[T], error) {
	return buildCodec[T](false)
}

// KeyCodecFor returns the codec for keys of type K, as keyed state stores
// them in a checkpoint. Its encoding is CodecFor's, made canonical so that
// equal keys (==) have equal encodings, as a key-value store needs: a
// float's -0 is encoded as +0, blank (_) struct fields are left out (==
// ignores them), and BinaryMarshalers are not used (they need not be
// canonical): a key is encoded by its fields.
//
// The key types are those of NewHasher: strings, booleans, integers,
// floats, complex numbers, and arrays and structs of them. Pointers,
// channels, interfaces and unsafe pointers are refused as NewHasher
// refuses them (an error marked ErrUnstableKey as well as ErrUncodable),
// and so are uintptrs and time.Time (it holds a *time.Location; key by
// UnixNano instead).
//
// NaN is never a key: keyed operators refuse keys that hold one (see
// HoldsFloats), so Append does not check for it; Decode fails on a NaN or
// a -0, which Append never writes.
//
// The encoding does not preserve order (varints and length-prefixed
// strings do not sort as the values do): keyed state is looked up and
// scanned by key group, never by key range.
func KeyCodecFor[K comparable]() (Codec[K], error) {
	return buildCodec[K](true)
}

// DecodeExact decodes src, which must hold exactly one encoded value:
// bytes left over are an error (marked ErrDecode), as they mean the bytes
// were written for another type.
func DecodeExact[T any](c Codec[T], src []byte) (T, error) {
	v, rest, err := c.Decode(src)
	if err != nil {
		return v, err
	}
	if len(rest) != 0 {
		var zero T
		return zero, &codecDecodeError{typ: reflect.TypeFor[T](), msg: fmt.Sprintf("%d bytes left over after the value", len(rest))}
	}
	return v, nil
}

func buildCodec[T any](key bool) (Codec[T], error) {
	t := reflect.TypeFor[T]()
	b := &codecBuilder{root: t, key: key}
	n, err := b.node(t, "")
	if err != nil {
		return nil, err
	}
	if len(n.ops) == 1 && n.ops[0].kind < kindFirstComposite {
		o := n.ops[0]
		return scalarCodec[T]{kind: o.kind, off: o.off, typ: t, path: o.x.path}, nil
	}
	if b.retains {
		return &heapOpsCodec[T]{n: n}, nil
	}
	return &opsCodec[T]{n: n}, nil
}

// scalarCodec encodes a boolean, a number or a string without the
// interpreter's loop.
type scalarCodec[T any] struct {
	kind codecKind
	off  uintptr // of the scalar: T may be a struct of one field
	typ  reflect.Type
	path string
}

func (c scalarCodec[T]) Append(dst []byte, v T) []byte {
	return appendScalar(dst, unsafe.Add(unsafe.Pointer(&v), c.off), c.kind)
}

func (c scalarCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	rest, e := decodeScalar(src, unsafe.Add(unsafe.Pointer(&v), c.off), c.kind)
	if e != nil {
		var zero T
		return zero, nil, &codecDecodeError{typ: c.typ, path: c.path, msg: e.Error()}
	}
	return v, rest, nil
}

// opsCodec runs the ops of T's codecNode over the value's memory, in a
// scratch value on the heap that it reuses: the ops hand pointers into it
// to reflect (slices, maps), which may keep them, so it must not be on
// the stack. (It was, hidden from escape analysis: a stack that grew while
// the ops ran left values decoded as zero, without an error, and the
// race detector's checks found pointers into freed stacks.)
type opsCodec[T any] struct {
	n       *codecNode
	scratch sync.Pool // *T, zero between uses
}

func (c *opsCodec[T]) get() *T {
	if p, ok := c.scratch.Get().(*T); ok {
		return p
	}
	return new(T)
}

func (c *opsCodec[T]) put(p *T) {
	var zero T
	*p = zero // the pool must not keep what the value points to
	c.scratch.Put(p)
}

func (c *opsCodec[T]) Append(dst []byte, v T) []byte {
	p := c.get()
	*p = v
	dst = encodeOps(dst, unsafe.Pointer(p), c.n.ops)
	c.put(p)
	return dst
}

func (c *opsCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	p := c.get()
	rest, err = decodeOps(src, unsafe.Pointer(p), c.n.ops)
	v = *p
	c.put(p)
	if err != nil {
		var zero T
		return zero, nil, c.n.wrap(err)
	}
	return v, rest, nil
}

// heapOpsCodec is opsCodec for a T that holds, in its own memory, a
// BinaryMarshaler: user methods get a pointer into the value and may keep
// it, so the value must live on the heap.
type heapOpsCodec[T any] struct{ n *codecNode }

func (c *heapOpsCodec[T]) Append(dst []byte, v T) []byte {
	return encodeOps(dst, unsafe.Pointer(&v), c.n.ops)
}

func (c *heapOpsCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	rest, err = decodeOps(src, unsafe.Pointer(&v), c.n.ops)
	if err != nil {
		var zero T
		return zero, nil, c.n.wrap(err)
	}
	return v, rest, nil
}

// A codecNode is the program that encodes a value of one type: its ops, run in
// order over the value's memory. A struct's fields, and small arrays'
// elements, are flattened into the ops of the node that holds them, so a
// struct of numbers and strings is one loop over its fields' offsets.
type codecNode struct {
	ops  []codecOp
	min  int // fewest bytes an encoding takes, to bound lengths on decode
	root reflect.Type
}

// wrap completes a decoding error with the codec's type.
func (n *codecNode) wrap(err error) error {
	if de, ok := err.(*codecDecodeError); ok {
		de.typ = n.root
	}
	return err
}

type codecKind uint8

const (
	// Scalars: appendScalar and decodeScalar.
	kindBool codecKind = iota
	kindI8
	kindU8
	kindI16
	kindI32
	kindI64
	kindU16
	kindU32
	kindU64
	kindF32
	kindF64
	kindF32Key // canonical: -0 as +0; decoding refuses -0 and NaN
	kindF64Key
	kindString

	kindFirstComposite
	kindRaw      // x.n raw bytes: [N]byte
	kindBytes    // []byte
	kindRun      // a slice of x.elem scalars
	kindArrayRun // an array of x.n x.elem scalars
	kindSlice    // a slice of x.sub
	kindArray    // an array of x.n x.sub, x.stride apart
	kindMap      // a map from x.key to x.sub
	kindPtr      // a pointer to x.sub
	kindTime     // time.Time
	kindMarshal  // a BinaryMarshaler of type x.typ
)

// A codecOp encodes one part of a value, at offset off in the value's memory.
// What only some ops need, and what only errors need, is in x, so that the
// op list of a struct stays small.
type codecOp struct {
	kind codecKind
	off  uintptr
	x    *codecOpExtra
}

type codecOpExtra struct {
	path     string       // of the part, for errors: ".items[].price"
	n        int          // kindRaw, kindArrayRun, kindArray: length
	elem     codecKind    // kindRun, kindArrayRun: the scalar
	stride   uintptr      // kindArray, kindSlice: element size
	sub      *codecNode   // kindSlice, kindArray, kindPtr: the element; kindMap: the value
	key      *codecNode   // kindMap
	typ      reflect.Type // kindSlice, kindMap: the container; kindPtr: the pointee; kindMarshal: the type
	appender bool         // kindMarshal: *typ implements encoding.BinaryAppender
	pool     *sync.Pool   // kindMap: *codecMapScratch
}

var (
	codecTimeType         = reflect.TypeFor[time.Time]()
	binaryMarshalerType   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	binaryAppenderType    = reflect.TypeFor[encoding.BinaryAppender]()
)

type codecBuilder struct {
	root reflect.Type
	key  bool
	// open holds the composite types whose parts are being built, outer
	// first: meeting one again means the type is recursive.
	open []reflect.Type
	// retains is set when a BinaryMarshaler sits in the root value's own
	// memory (not behind a pointer, slice or map).
	retains bool
	depth   int // of pointers, slices and maps around the current part
}

// node builds the program for a value of t standing alone: the root, an
// element, a map key or value, a pointee.
func (b *codecBuilder) node(t reflect.Type, path string) (*codecNode, error) {
	n := &codecNode{root: b.root}
	if err := b.flatten(t, path, 0, &n.ops); err != nil {
		return nil, err
	}
	for _, o := range n.ops {
		n.min += minLen(o)
	}
	return n, nil
}

// minLen is the fewest bytes op o writes.
func minLen(o codecOp) int {
	switch o.kind {
	case kindF32, kindF32Key:
		return 4
	case kindF64, kindF64Key:
		return 8
	case kindRaw:
		return o.x.n
	case kindArrayRun:
		return o.x.n * scalarMinLen(o.x.elem)
	case kindArray:
		return o.x.n * o.x.sub.min
	case kindTime:
		return 3
	}
	return 1
}

func scalarMinLen(k codecKind) int {
	return minLen(codecOp{kind: k})
}

// codecUnrollMax bounds the ops an array is unrolled into; a longer array is
// one op that loops.
const codecUnrollMax = 16

// flatten appends the ops for a value of t at offset off.
func (b *codecBuilder) flatten(t reflect.Type, path string, off uintptr, ops *[]codecOp) error {
	if slices.Contains(b.open, t) {
		return b.errorf(false, path, "leads back to %v: recursive types are refused, as a value could hold a cycle; store a tree as a slice of nodes that refer to each other by index", t)
	}
	add := func(k codecKind, x *codecOpExtra) {
		if x == nil {
			x = &codecOpExtra{}
		}
		x.path = path
		*ops = append(*ops, codecOp{kind: k, off: off, x: x})
	}
	if t == codecTimeType {
		if b.key {
			return b.errorf(true, path, "is a time.Time, which holds a pointer to its *time.Location: key by its UnixNano instead")
		}
		add(kindTime, nil)
		return nil
	}
	if !b.key && isBinaryMarshaler(t) {
		if b.depth == 0 {
			b.retains = true
		}
		add(kindMarshal, &codecOpExtra{typ: t, appender: reflect.PointerTo(t).Implements(binaryAppenderType)})
		return nil
	}
	if k, ok := b.scalar(t); ok {
		add(k, nil)
		return nil
	}
	switch t.Kind() {
	case reflect.Complex64:
		part := b.scalarKind(reflect.Float32)
		add(part, nil)
		*ops = append(*ops, codecOp{kind: part, off: off + 4, x: (*ops)[len(*ops)-1].x})
		return nil
	case reflect.Complex128:
		part := b.scalarKind(reflect.Float64)
		add(part, nil)
		*ops = append(*ops, codecOp{kind: part, off: off + 8, x: (*ops)[len(*ops)-1].x})
		return nil
	}

	b.open = append(b.open, t)
	defer func() { b.open = b.open[:len(b.open)-1] }()
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if b.key && f.Name == "_" {
				continue // == ignores blank fields
			}
			if err := b.flatten(f.Type, path+"."+f.Name, off+f.Offset, ops); err != nil {
				return err
			}
		}
		return nil

	case reflect.Array:
		n, e := t.Len(), t.Elem()
		if n == 0 || e.Size() == 0 {
			return nil // nothing to encode: every value is the zero value
		}
		if isByteKind(e) && !b.marshals(e) {
			add(kindRaw, &codecOpExtra{n: n})
			return nil
		}
		if k, ok := b.scalar(e); ok {
			add(kindArrayRun, &codecOpExtra{n: n, elem: k})
			return nil
		}
		sub, err := b.node(e, path+"[]")
		if err != nil {
			return err
		}
		if n*len(sub.ops) <= codecUnrollMax {
			for i := range n {
				if err := b.flatten(e, fmt.Sprintf("%s[%d]", path, i), off+uintptr(i)*e.Size(), ops); err != nil {
					return err
				}
			}
			return nil
		}
		add(kindArray, &codecOpExtra{n: n, sub: sub, stride: e.Size()})
		return nil

	case reflect.Slice:
		e := t.Elem()
		if isByteKind(e) && !b.marshals(e) {
			add(kindBytes, nil)
			return nil
		}
		if k, ok := b.scalar(e); ok {
			add(kindRun, &codecOpExtra{elem: k})
			return nil
		}
		b.depth++
		sub, err := b.node(e, path+"[]")
		b.depth--
		if err != nil {
			return err
		}
		add(kindSlice, &codecOpExtra{sub: sub, typ: t, stride: e.Size()})
		return nil

	case reflect.Map:
		b.depth++
		defer func() { b.depth-- }()
		key, err := b.node(t.Key(), path+"[key]")
		if err != nil {
			return err
		}
		val, err := b.node(t.Elem(), path+"[]")
		if err != nil {
			return err
		}
		x := &codecOpExtra{key: key, sub: val, typ: t}
		x.pool = &sync.Pool{New: func() any { return newCodecMapScratch(t) }}
		add(kindMap, x)
		return nil

	case reflect.Pointer:
		if b.key {
			break
		}
		b.depth++
		sub, err := b.node(t.Elem(), path)
		b.depth--
		if err != nil {
			return err
		}
		add(kindPtr, &codecOpExtra{sub: sub, typ: t.Elem()})
		return nil
	}
	return b.refuse(t, path)
}

// refuse returns the error for a part of kind the codecs never encode.
func (b *codecBuilder) refuse(t reflect.Type, path string) error {
	var what string
	unstable := false // NewHasher refuses it too
	switch t.Kind() {
	case reflect.Func:
		what = "a function"
	case reflect.Chan:
		what, unstable = "a channel", true
	case reflect.UnsafePointer:
		what, unstable = "an unsafe.Pointer", true
	case reflect.Interface:
		what, unstable = "an interface: its dynamic type could not be known when decoding", true
	case reflect.Uintptr:
		what = "a uintptr: an address means nothing after a restart"
	case reflect.Pointer:
		what, unstable = "a pointer: keys are values, an address differs between runs", true
	default:
		what = "a " + t.Kind().String()
	}
	return b.errorf(unstable, path, "is %s (%v)", what, t)
}

// errorf returns a build error naming the root type and the part's path.
func (b *codecBuilder) errorf(unstable bool, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path == "" {
		path = "it"
	}
	verb := "cannot checkpoint"
	if b.key {
		verb = "cannot checkpoint key type"
	}
	e := &codecTypeError{msg: fmt.Sprintf("braid: %s %v: %s %s", verb, b.root, path, msg), marks: []error{ErrUncodable}}
	if unstable && b.key {
		e.marks = append(e.marks, ErrUnstableKey)
	}
	return e
}

// scalar returns the op of a boolean, number or string type that needs no
// special treatment.
func (b *codecBuilder) scalar(t reflect.Type) (codecKind, bool) {
	if t == codecTimeType || (!b.key && isBinaryMarshaler(t)) {
		return 0, false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Uint:
		if t.Size() == 4 {
			if t.Kind() == reflect.Int {
				return kindI32, true
			}
			return kindU32, true
		}
		if t.Kind() == reflect.Int {
			return kindI64, true
		}
		return kindU64, true
	case reflect.Bool, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return b.scalarKind(t.Kind()), true
	}
	return 0, false
}

func (b *codecBuilder) scalarKind(k reflect.Kind) codecKind {
	switch k {
	case reflect.Bool:
		return kindBool
	case reflect.Int8:
		return kindI8
	case reflect.Int16:
		return kindI16
	case reflect.Int32:
		return kindI32
	case reflect.Int64:
		return kindI64
	case reflect.Uint8:
		return kindU8
	case reflect.Uint16:
		return kindU16
	case reflect.Uint32:
		return kindU32
	case reflect.Uint64:
		return kindU64
	case reflect.Float32:
		if b.key {
			return kindF32Key
		}
		return kindF32
	case reflect.Float64:
		if b.key {
			return kindF64Key
		}
		return kindF64
	case reflect.String:
		return kindString
	}
	panic("braid: not a scalar kind: " + k.String())
}

func (b *codecBuilder) marshals(t reflect.Type) bool { return !b.key && isBinaryMarshaler(t) }

func isByteKind(t reflect.Type) bool {
	return t.Kind() == reflect.Uint8 || t.Kind() == reflect.Int8
}

func isBinaryMarshaler(t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return false
	}
	pt := reflect.PointerTo(t)
	return pt.Implements(binaryMarshalerType) && pt.Implements(binaryUnmarshalerType)
}

// codecTypeError is the error of a type a codec refuses.
type codecTypeError struct {
	msg   string
	marks []error
}

func (e *codecTypeError) Error() string   { return e.msg }
func (e *codecTypeError) Unwrap() []error { return e.marks }

// codecDecodeError is the error of bytes that do not decode.
type codecDecodeError struct {
	typ  reflect.Type
	path string
	msg  string
}

func (e *codecDecodeError) Error() string {
	var s strings.Builder
	s.WriteString("braid: decoding ")
	s.WriteString(e.typ.String())
	s.WriteString(": ")
	if e.path != "" {
		s.WriteString(e.path)
		s.WriteString(": ")
	}
	s.WriteString(e.msg)
	return s.String()
}

func (e *codecDecodeError) Unwrap() error { return ErrDecode }
