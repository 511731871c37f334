package arrow

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// SchemaOf returns the Arrow schema IPC derives for elements of type T,
// or an error naming each field it cannot map. Parquet uses the same
// schema except that time.Duration columns are int64 (nanoseconds):
// Parquet has no duration type.
//
// The mapping, by Go type of a field:
//
//	int8 … int64, int, uint8 … uint64, uint   int8 … int64, uint8 … uint64 (int, uint: 64 bits)
//	float32, float64                          float32, float64
//	bool                                      bool
//	string                                    utf8
//	[]byte                                    binary; nil is null
//	time.Time                                 timestamp[ns, tz=UTC]; the zero Time is null
//	time.Duration                             duration[ns] (Parquet: int64 nanoseconds)
//	netip.Addr                                utf8, as Addr.String; the zero Addr is null
//	*T                                        T's column, nullable; nil is null
//	[]T, T one of the above but []byte        list<T>; a nil slice is null, an empty one empty
//	a struct                                  its fields, flattened: field B of field A is the column "A.B"
//
// Named types map as their underlying kind (type Status int16 is int16).
// A struct field embedded without a tag has its fields promoted, without
// a prefix, as encoding/json does. The tag `arrow:"name"` names a column
// (or, on a struct field, the prefix of its columns); `arrow:"-"` leaves
// the field out; unexported fields are left out. Nested structs are
// flattened rather than written as Arrow structs so that every column is
// a top-level Parquet column that any reader can select by name; a nil
// pointer to a struct makes each of its columns null; so does a nil
// element when T is a pointer to a struct. A T that is not a struct is
// one column, "value".
//
// Maps, interfaces, channels, functions, complex numbers, arrays, slices
// of structs or of slices, and recursive types are errors: give the sink
// a schema of your own (WithSchema) for those. So are two fields that map
// to one column name.
//
// window.Result[K, V] maps to the columns Key, Window.Start, Window.End
// (int64, as the Window type holds them) and Value (or Value.* when V is
// a struct).
func SchemaOf[T any]() (*arrow.Schema, error) {
	l, err := layoutOf(reflect.TypeFor[T](), false)
	if err != nil {
		return nil, err
	}
	return l.schema, nil
}

// An appender adds n elements, the first at base and each stride bytes
// after the one before, to one column's builder.
type appender func(base unsafe.Pointer, n int, stride uintptr) error

// A layout is what reflection found in T, once: the schema and, per
// column, how to append a batch of Ts to its builder.
type layout struct {
	schema *arrow.Schema
	cols   []colPlan
	size   uintptr // of one T
}

type colPlan struct {
	name string
	// bind returns the column's appender for b, a builder of the
	// column's type.
	bind func(b array.Builder) appender
}

// A path leads from an element to a value inside it: the first offset is
// from the element; before each further offset a pointer is followed
// (a nil one makes the value null).
type path []uintptr

func (p path) at(e unsafe.Pointer) unsafe.Pointer {
	q := unsafe.Add(e, p[0])
	for _, off := range p[1:] {
		q = *(*unsafe.Pointer)(q)
		if q == nil {
			return nil
		}
		q = unsafe.Add(q, off)
	}
	return q
}

func (p path) then(off uintptr) path { return append(p[:len(p):len(p)], off) }

func (p path) plus(off uintptr) path {
	q := append(path(nil), p...)
	q[len(q)-1] += off
	return q
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	addrType     = reflect.TypeFor[netip.Addr]()
)

// Time values a nanosecond timestamp holds: whole seconds strictly inside
// the int64 range of nanoseconds (about 1677-09-21 to 2262-04-11).
const (
	minTimeSec = -9223372036 + 1
	maxTimeSec = 9223372036 - 1
)

// layoutOf maps t by reflection; durationInt64 writes time.Duration as
// int64 (for Parquet).
func layoutOf(t reflect.Type, durationInt64 bool) (*layout, error) {
	w := &walker{durationInt64: durationInt64, names: map[string]string{}, onStack: map[reflect.Type]bool{}}
	st, p, nullable := t, path{0}, false
	for st.Kind() == reflect.Pointer {
		st, p, nullable = st.Elem(), p.then(0), true
	}
	if st.Kind() == reflect.Struct && st != timeType && st != addrType {
		w.walkStruct(st, "", "", p, nullable)
	} else {
		w.field("value", "value", t, path{0}, false)
	}
	if len(w.errs) > 0 {
		return nil, fmt.Errorf("braid: arrow: no schema for %v: %w", t, errors.Join(w.errs...))
	}
	if len(w.fields) == 0 {
		return nil, fmt.Errorf("braid: arrow: no schema for %v: it has no exported field", t)
	}
	return &layout{schema: arrow.NewSchema(w.fields, nil), cols: w.cols, size: t.Size()}, nil
}

type walker struct {
	durationInt64 bool
	fields        []arrow.Field
	cols          []colPlan
	names         map[string]string // column name -> Go field that has it
	onStack       map[reflect.Type]bool
	errs          []error
}

// walkStruct adds the columns of struct type t found at p; prefix is the
// column name prefix ("" or "A.B."), goPrefix the same for Go names;
// nullable says a pointer on the way can be nil.
func (w *walker) walkStruct(t reflect.Type, prefix, goPrefix string, p path, nullable bool) {
	if w.onStack[t] {
		w.errs = append(w.errs, fmt.Errorf("field %s: the type %v is recursive", strings.TrimSuffix(goPrefix, "."), t))
		return
	}
	w.onStack[t] = true
	defer delete(w.onStack, t)
	for i := range t.NumField() {
		f := t.Field(i)
		tag, tagged := f.Tag.Lookup("arrow")
		if tag == "-" {
			continue
		}
		goName := goPrefix + f.Name
		ft := f.Type
		if f.Anonymous && !tagged {
			st, fp, fnull := ft, p.plus(f.Offset), nullable
			if st.Kind() == reflect.Pointer {
				st, fp, fnull = st.Elem(), fp.then(0), true
			}
			if st.Kind() == reflect.Struct && st != timeType && st != addrType {
				w.walkStruct(st, prefix, goName+".", fp, fnull)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tagged && tag != "" {
			name = tag
		}
		w.field(prefix+name, goName, ft, p.plus(f.Offset), nullable)
	}
}

// field adds the column or columns of a value of type t at p.
func (w *walker) field(name, goName string, t reflect.Type, p path, nullable bool) {
	for t.Kind() == reflect.Pointer {
		t, p, nullable = t.Elem(), p.then(0), true
	}
	if t.Kind() == reflect.Struct && t != timeType && t != addrType {
		w.walkStruct(t, name+".", goName+".", p, nullable)
		return
	}
	dt, null, bind, err := w.column(goName, t, p)
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	if prev, dup := w.names[name]; dup {
		w.errs = append(w.errs, fmt.Errorf("fields %s and %s both map to the column %q", prev, goName, name))
		return
	}
	w.names[name] = goName
	w.fields = append(w.fields, arrow.Field{Name: name, Type: dt, Nullable: nullable || null})
	w.cols = append(w.cols, colPlan{name: name, bind: bind})
}

func unsupported(goName string, t reflect.Type, why string) error {
	return fmt.Errorf("field %s has type %v: %s", goName, t, why)
}

// column maps a value of type t at p (a list or a scalar): its Arrow
// type, whether its own values can be null, and its binder.
func (w *walker) column(goName string, t reflect.Type, p path) (arrow.DataType, bool, func(array.Builder) appender, error) {
	if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 {
		et, ep, enull := t.Elem(), path{0}, false
		for et.Kind() == reflect.Pointer {
			et, ep, enull = et.Elem(), ep.then(0), true
		}
		if et.Kind() == reflect.Slice && et.Elem().Kind() != reflect.Uint8 || et.Kind() == reflect.Struct && et != timeType && et != addrType {
			return nil, false, nil, unsupported(goName, t, "lists of structs or of lists are not supported")
		}
		edt, null, ebind, err := w.scalar(goName, et, ep)
		if err != nil {
			return nil, false, nil, err
		}
		elemField := arrow.Field{Name: "item", Type: edt, Nullable: enull || null}
		size := t.Elem().Size()
		return arrow.ListOfField(elemField), true, func(b array.Builder) appender {
			lb := b.(*array.ListBuilder)
			elems := ebind(lb.ValueBuilder())
			return listAppender(lb, p, size, elems)
		}, nil
	}
	return w.scalar(goName, t, p)
}

func listAppender(lb *array.ListBuilder, p path, size uintptr, elems appender) appender {
	return func(base unsafe.Pointer, n int, stride uintptr) error {
		lb.Reserve(n)
		for i := range n {
			q := p.at(unsafe.Add(base, uintptr(i)*stride))
			if q == nil {
				lb.AppendNull()
				continue
			}
			s := *(*[]byte)(q) // any slice's header: data and length in elements
			if s == nil {
				lb.AppendNull()
				continue
			}
			lb.Append(true)
			if len(s) > 0 {
				if err := elems(unsafe.Pointer(unsafe.SliceData(s)), len(s), size); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// scalar maps a single value of type t at p.
func (w *walker) scalar(goName string, t reflect.Type, p path) (arrow.DataType, bool, func(array.Builder) appender, error) {
	switch {
	case t == timeType:
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, true, func(b array.Builder) appender {
			return timeAppender(b.(*array.TimestampBuilder), p, goName)
		}, nil
	case t == durationType && !w.durationInt64:
		return arrow.FixedWidthTypes.Duration_ns, false, func(b array.Builder) appender {
			return numeric[arrow.Duration](b.(*array.DurationBuilder), p)
		}, nil
	case t == addrType:
		return arrow.BinaryTypes.String, true, func(b array.Builder) appender {
			return addrAppender(b.(*array.StringBuilder), p)
		}, nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return arrow.BinaryTypes.Binary, true, func(b array.Builder) appender {
			return bytesAppender(b.(*array.BinaryBuilder), p)
		}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return arrow.FixedWidthTypes.Boolean, false, func(b array.Builder) appender { return numeric[bool](b.(*array.BooleanBuilder), p) }, nil
	case reflect.Int8:
		return arrow.PrimitiveTypes.Int8, false, func(b array.Builder) appender { return numeric[int8](b.(*array.Int8Builder), p) }, nil
	case reflect.Int16:
		return arrow.PrimitiveTypes.Int16, false, func(b array.Builder) appender { return numeric[int16](b.(*array.Int16Builder), p) }, nil
	case reflect.Int32:
		return arrow.PrimitiveTypes.Int32, false, func(b array.Builder) appender { return numeric[int32](b.(*array.Int32Builder), p) }, nil
	case reflect.Int64, reflect.Int:
		if t.Size() != 8 {
			return arrow.PrimitiveTypes.Int32, false, func(b array.Builder) appender { return numeric[int32](b.(*array.Int32Builder), p) }, nil
		}
		return arrow.PrimitiveTypes.Int64, false, func(b array.Builder) appender { return numeric[int64](b.(*array.Int64Builder), p) }, nil
	case reflect.Uint8:
		return arrow.PrimitiveTypes.Uint8, false, func(b array.Builder) appender { return numeric[uint8](b.(*array.Uint8Builder), p) }, nil
	case reflect.Uint16:
		return arrow.PrimitiveTypes.Uint16, false, func(b array.Builder) appender { return numeric[uint16](b.(*array.Uint16Builder), p) }, nil
	case reflect.Uint32:
		return arrow.PrimitiveTypes.Uint32, false, func(b array.Builder) appender { return numeric[uint32](b.(*array.Uint32Builder), p) }, nil
	case reflect.Uint64, reflect.Uint:
		if t.Size() != 8 {
			return arrow.PrimitiveTypes.Uint32, false, func(b array.Builder) appender { return numeric[uint32](b.(*array.Uint32Builder), p) }, nil
		}
		return arrow.PrimitiveTypes.Uint64, false, func(b array.Builder) appender { return numeric[uint64](b.(*array.Uint64Builder), p) }, nil
	case reflect.Float32:
		return arrow.PrimitiveTypes.Float32, false, func(b array.Builder) appender { return numeric[float32](b.(*array.Float32Builder), p) }, nil
	case reflect.Float64:
		return arrow.PrimitiveTypes.Float64, false, func(b array.Builder) appender { return numeric[float64](b.(*array.Float64Builder), p) }, nil
	case reflect.String:
		return arrow.BinaryTypes.String, false, func(b array.Builder) appender { return stringAppender(b.(*array.StringBuilder), p) }, nil
	case reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Uintptr:
		return nil, false, nil, unsupported(goName, t, "it has no Arrow column type")
	case reflect.Complex64, reflect.Complex128:
		return nil, false, nil, unsupported(goName, t, "Arrow has no complex numbers")
	case reflect.Array:
		return nil, false, nil, unsupported(goName, t, "arrays are not supported (a slice is a list)")
	}
	return nil, false, nil, unsupported(goName, t, "it has no Arrow column type")
}

// fixedBuilder is an Arrow builder of fixed-width values whose Go
// representation is E.
type fixedBuilder[E any] interface {
	Reserve(n int)
	AppendValues(v []E, valid []bool)
	UnsafeAppend(v E)
	UnsafeAppendBoolToBitmap(valid bool)
}

// numeric appends fixed-width values that the Go value's memory holds as
// E (a Go int64 as an Arrow int64, a time.Duration as a duration). On a
// path with no pointer the batch is gathered into a slice and appended in
// one copy.
func numeric[E any](b fixedBuilder[E], p path) appender {
	if len(p) == 1 {
		off := p[0]
		var scratch []E
		return func(base unsafe.Pointer, n int, stride uintptr) error {
			scratch = scratch[:0]
			for i := range n {
				scratch = append(scratch, *(*E)(unsafe.Add(base, uintptr(i)*stride+off)))
			}
			b.AppendValues(scratch, nil)
			return nil
		}
	}
	return func(base unsafe.Pointer, n int, stride uintptr) error {
		b.Reserve(n)
		for i := range n {
			if q := p.at(unsafe.Add(base, uintptr(i)*stride)); q != nil {
				b.UnsafeAppend(*(*E)(q))
			} else {
				b.UnsafeAppendBoolToBitmap(false)
			}
		}
		return nil
	}
}

func stringAppender(b *array.StringBuilder, p path) appender {
	return func(base unsafe.Pointer, n int, stride uintptr) error {
		b.Reserve(n)
		if len(p) == 1 {
			// No pointer on the way: room for every string at once, then
			// appends that check nothing.
			off, total := p[0], 0
			for i := range n {
				total += len(*(*string)(unsafe.Add(base, uintptr(i)*stride+off)))
			}
			b.ReserveData(total)
			for i := range n {
				s := *(*string)(unsafe.Add(base, uintptr(i)*stride+off))
				b.BinaryBuilder.UnsafeAppend(unsafe.Slice(unsafe.StringData(s), len(s)))
			}
			return nil
		}
		for i := range n {
			q := p.at(unsafe.Add(base, uintptr(i)*stride))
			if q == nil {
				b.AppendNull()
				continue
			}
			s := *(*string)(q)
			// The builder copies the bytes: a view of the string's is enough.
			b.BinaryBuilder.Append(unsafe.Slice(unsafe.StringData(s), len(s)))
		}
		return nil
	}
}

func bytesAppender(b *array.BinaryBuilder, p path) appender {
	return func(base unsafe.Pointer, n int, stride uintptr) error {
		b.Reserve(n)
		for i := range n {
			q := p.at(unsafe.Add(base, uintptr(i)*stride))
			if q == nil || *(*[]byte)(q) == nil {
				b.AppendNull()
				continue
			}
			b.Append(*(*[]byte)(q))
		}
		return nil
	}
}

func timeAppender(b *array.TimestampBuilder, p path, goName string) appender {
	return func(base unsafe.Pointer, n int, stride uintptr) error {
		b.Reserve(n)
		for i := range n {
			q := p.at(unsafe.Add(base, uintptr(i)*stride))
			if q == nil || (*time.Time)(q).IsZero() {
				b.UnsafeAppendBoolToBitmap(false)
				continue
			}
			t := (*time.Time)(q)
			sec := t.Unix()
			if sec < minTimeSec || sec > maxTimeSec {
				return fmt.Errorf("braid: arrow: field %s: %v lies outside the nanosecond timestamps (1677-09-22 to 2262-04-10)", goName, *t)
			}
			b.UnsafeAppend(arrow.Timestamp(sec*1e9 + int64(t.Nanosecond())))
		}
		return nil
	}
}

func addrAppender(b *array.StringBuilder, p path) appender {
	var scratch []byte
	return func(base unsafe.Pointer, n int, stride uintptr) error {
		b.Reserve(n)
		for i := range n {
			q := p.at(unsafe.Add(base, uintptr(i)*stride))
			if q == nil || !(*netip.Addr)(q).IsValid() {
				b.AppendNull()
				continue
			}
			scratch = (*netip.Addr)(q).AppendTo(scratch[:0])
			b.BinaryBuilder.Append(scratch)
		}
		return nil
	}
}
