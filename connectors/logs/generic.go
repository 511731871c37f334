package logs

import (
	"encoding"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// JSON returns a parser of JSON lines (one value a line, as JSON Lines and
// most structured loggers write them) into a T, with encoding/json and
// T's json tags: ready for stream.MapErr, or for At to name each line's
// place in its errors.
//
//	parse := logs.JSON[AppEvent]()
//	events, dead := stream.MapErr(lines, parse)
//
// Fields of the line that T lacks are ignored (JSONStrict refuses them);
// fields of T the line lacks keep their zero value. Anything after the
// value but blanks is an error. Errors are *ParseError, with Format
// "json": Field "line" and the byte offset of a syntax error, or the path
// of a field of the wrong type ("user.id"). The parser is safe for
// concurrent use; it costs what encoding/json costs (several allocations
// a line).
func JSON[T any]() func(string) (T, error) {
	return func(line string) (T, error) { return decodeJSON[T](line, false) }
}

// JSONStrict is JSON, refusing lines with a field T does not have
// (encoding/json's DisallowUnknownFields): a schema that drifted shows up
// as dead letters instead of quietly lost fields. Such a line's error has
// the field's name as its Field.
func JSONStrict[T any]() func(string) (T, error) {
	return func(line string) (T, error) { return decodeJSON[T](line, true) }
}

// decodeJSON is JSON's and JSONStrict's parse, so that both say the same
// of the same line.
func decodeJSON[T any](line string, strict bool) (T, error) {
	var v, zero T
	d := json.NewDecoder(strings.NewReader(line))
	if strict {
		d.DisallowUnknownFields()
	}
	if err := d.Decode(&v); err != nil {
		return zero, jsonErr(err, len(line))
	}
	if _, err := d.Token(); err != io.EOF {
		return zero, &ParseError{Format: "json", Field: "line", Pos: int(d.InputOffset()), Reason: "more after the value"}
	}
	return v, nil
}

// jsonErr is the *ParseError of encoding/json's err on a line of n bytes.
func jsonErr(err error, n int) error {
	pe := &ParseError{Format: "json", Field: "line", Pos: -1, Reason: shortError(err), Err: err}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		pe.Pos = max(int(se.Offset)-1, 0)
	case errors.As(err, &te):
		pe.Field = te.Field
		pe.Pos = max(int(te.Offset)-1, 0)
		pe.Reason = "want " + te.Type.String() + ", got " + te.Value
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		pe.Pos = max(n-1, 0) // the last byte, after which more was wanted
		pe.Reason = "empty or cut short"
	default:
		// DisallowUnknownFields: `json: unknown field "name"`.
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			if f, uerr := strconv.Unquote(name); uerr == nil {
				pe.Field, pe.Reason = f, "not a field of the type the lines are read into"
			}
		}
	}
	return pe
}

// CSVOptions say how CSV reads lines.
type CSVOptions struct {
	// Columns are the names of the columns, in order. When nil, the first
	// line the parser is given is the header that names them; the parser
	// returns ErrCSVHeader for it, and for any later line equal to it
	// (files joined with their headers).
	Columns []string
	// Comma is the field delimiter; 0 means ','.
	Comma rune
	// TrimLeadingSpace drops the blanks that begin a field.
	TrimLeadingSpace bool
}

// ErrCSVHeader is the error CSV returns for a header line: not a record,
// and no reason to worry (filter it out of the dead letters with
// errors.Is).
var ErrCSVHeader = errors.New("braid: csv: the header line")

// CSV returns a parser of CSV lines into a struct T, ready for
// stream.MapErr, with encoding/csv: each column goes to the field whose
// tag `csv:"name"` is the column's name, or else whose name is the
// column's name, case aside. Columns without a field are skipped; fields
// without a column keep their zero value; a field tagged `csv:"-"` is
// never set. A field may be a string, a bool, an integer, a float, a
// time.Duration ("1.5s"), a time.Time (RFC 3339), or implement
// encoding.TextUnmarshaler; an empty column leaves it zero.
//
//	type Row struct {
//		When  time.Time `csv:"timestamp"`
//		Host  string
//		Bytes int64 `csv:"bytes_sent"`
//	}
//	parse := logs.CSV[Row](logs.CSVOptions{}) // the first line is the header
//
// A record must fit on one line (a quoted field may not hold a newline).
// Errors are *ParseError with Format "csv": the column and its byte offset
// for a value that does not convert, Field "line" for a record that is not
// CSV. CSV panics if T is not a struct or has a field of a type it cannot
// set: a mistake in the program, found when the job is built.
//
// The parser is safe for concurrent use. With a header in the data (no
// Columns), it must see the header first: run it where the lines are in
// their order (parallelism 1, or ahead of any rebalance).
func CSV[T any](opts CSVOptions) func(string) (T, error) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		panic("braid: logs.CSV[" + t.String() + "]: T must be a struct")
	}
	fields := csvFields(t)
	p := &csvParser[T]{opts: opts, fields: fields}
	if opts.Columns != nil {
		p.mapping.Store(p.mapColumns(opts.Columns, ""))
	}
	p.readers.New = func() any {
		src := &lineReader{}
		r := csv.NewReader(src)
		r.FieldsPerRecord = -1
		r.ReuseRecord = true
		r.TrimLeadingSpace = opts.TrimLeadingSpace
		if opts.Comma != 0 {
			r.Comma = opts.Comma
		}
		return &csvLineReader{r: r, src: src}
	}
	return p.parse
}

type csvField struct {
	name  string // the tag's name, or the field's
	index []int
	set   func(v reflect.Value, s string) error
}

type csvMapping struct {
	header string      // the header line, "" when Columns were given
	cols   []*csvField // by column; nil for a column without a field
	names  []string
}

type csvParser[T any] struct {
	opts    CSVOptions
	fields  []csvField
	mapping atomic.Pointer[csvMapping]
	mu      sync.Mutex
	readers sync.Pool
}

// A lineReader hands csv.Reader one line, then io.EOF.
type lineReader struct {
	s string
	i int
}

func (r *lineReader) Read(b []byte) (int, error) {
	if r.i >= len(r.s) {
		return 0, io.EOF
	}
	n := copy(b, r.s[r.i:])
	r.i += n
	return n, nil
}

type csvLineReader struct {
	r   *csv.Reader
	src *lineReader
}

func (p *csvParser[T]) parse(line string) (T, error) {
	var v T
	line = strings.TrimRight(line, "\r\n")
	m := p.mapping.Load()
	if m != nil && m.header != "" && line == m.header {
		return v, ErrCSVHeader
	}
	lr := p.readers.Get().(*csvLineReader)
	defer p.readers.Put(lr)
	lr.src.s, lr.src.i = line, 0
	rec, err := lr.r.Read()
	if err != nil {
		lr.drain()
		if line == "" {
			return v, &ParseError{Format: "csv", Field: "line", Pos: 0, Reason: "empty"}
		}
		pe := &ParseError{Format: "csv", Field: "line", Pos: -1, Reason: shortError(err), Err: err}
		var ce *csv.ParseError
		if errors.As(err, &ce) {
			pe.Pos, pe.Reason = ce.Column-1, shortError(ce.Err)
		}
		return v, pe
	}
	if m == nil {
		p.mu.Lock()
		if m = p.mapping.Load(); m == nil {
			m = p.mapColumns(rec, line)
			p.mapping.Store(m)
			p.mu.Unlock()
			lr.drain()
			return v, ErrCSVHeader
		}
		p.mu.Unlock()
		if line == m.header {
			lr.drain()
			return v, ErrCSVHeader
		}
	}
	rv := reflect.ValueOf(&v).Elem()
	for i, s := range rec {
		if i >= len(m.cols) || m.cols[i] == nil || s == "" {
			continue
		}
		f := m.cols[i]
		if err := f.set(rv.FieldByIndex(f.index), s); err != nil {
			_, col := lr.r.FieldPos(i)
			lr.drain()
			var zero T
			return zero, &ParseError{Format: "csv", Field: m.names[i], Pos: col - 1, Reason: shortError(err) + ": " + quote(s), Err: err}
		}
	}
	if lr.drain() > 0 { // a quoted newline, or a newline in the "line"
		var zero T
		return zero, &ParseError{Format: "csv", Field: "line", Pos: -1, Reason: "more than one record in the line"}
	}
	return v, nil
}

// drain reads what is left of the line, so that the reader starts the
// next one afresh, and says how many records or errors it met.
func (lr *csvLineReader) drain() int {
	n := 0
	for range len(lr.src.s) + 2 { // each Read takes a line of it at least
		if _, err := lr.r.Read(); err == io.EOF {
			return n
		}
		n++
	}
	return n
}

func (p *csvParser[T]) mapColumns(names []string, header string) *csvMapping {
	m := &csvMapping{header: header, cols: make([]*csvField, len(names)), names: make([]string, len(names))}
	for i, n := range names {
		n = strings.TrimSpace(strings.TrimPrefix(n, "\uFEFF")) // a BOM before the first name
		m.names[i] = n
		for j := range p.fields {
			if p.fields[j].name == n {
				m.cols[i] = &p.fields[j]
				break
			}
		}
		if m.cols[i] == nil {
			for j := range p.fields {
				if strings.EqualFold(p.fields[j].name, n) {
					m.cols[i] = &p.fields[j]
					break
				}
			}
		}
	}
	return m
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
	timeType        = reflect.TypeFor[time.Time]()
)

// csvFields lists the exported fields of t, and how to set each.
func csvFields(t reflect.Type) []csvField {
	var out []csvField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct && f.Type != timeType {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("csv"); ok {
			tag, _, _ = strings.Cut(tag, ",")
			if tag == "-" {
				continue
			}
			if tag != "" {
				name = tag
			}
		}
		set := csvSetter(f.Type)
		if set == nil {
			panic(fmt.Sprintf("braid: logs.CSV[%v]: field %s of type %v: want a string, bool, number, time.Duration, time.Time or encoding.TextUnmarshaler", t, f.Name, f.Type))
		}
		out = append(out, csvField{name: name, index: f.Index, set: set})
	}
	return out
}

func csvSetter(t reflect.Type) func(reflect.Value, string) error {
	switch {
	case reflect.PointerTo(t).Implements(textUnmarshaler):
		return func(v reflect.Value, s string) error {
			return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
		}
	case t == durationType:
		return func(v reflect.Value, s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return errors.New("want a duration")
			}
			v.SetInt(int64(d))
			return nil
		}
	}
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value, s string) error { v.SetString(s); return nil }
	case reflect.Bool:
		return func(v reflect.Value, s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return errors.New("want true or false")
			}
			v.SetBool(b)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return errors.New("want an integer of " + strconv.Itoa(bits) + " bits")
			}
			v.SetInt(n)
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				return errors.New("want an unsigned integer of " + strconv.Itoa(bits) + " bits")
			}
			v.SetUint(n)
			return nil
		}
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				return errors.New("want a number")
			}
			v.SetFloat(f)
			return nil
		}
	}
	return nil
}

// shortError is err's message, cut to a readable length: the errors of
// time.Time and other TextUnmarshalers quote all of their input.
func shortError(err error) string {
	const max = 120
	msg := err.Error()
	if len(msg) <= max {
		return msg
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "..."
}
