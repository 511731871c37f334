package state_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // named zones load whatever the machine has
	"unsafe"

	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/state"
)

// Types like the state operators checkpoint: accumulators are often
// unexported structs with unexported fields.

type celsius float64

type symbol string

type ids []int64

type inner struct {
	a int8
	b bool
	c []string
	d *uint16
}

type acc struct {
	count    int
	sum      float64
	min, max celsius
	last     symbol
	hist     [4]uint32
	in       inner
	_        int32 // blank fields are data too, for values
	tags     map[string]int
	seen     ids
	when     time.Time
	z        complex128
	raw      [8]byte
	bs       []byte
	span     time.Duration
}

type trade struct {
	Symbol string
	Price  float64
	Qty    int64
	Buy    bool
}

type book struct {
	Name   string
	Trades []trade
}

type withMoney struct {
	id   int
	cash money
	addr netip.Addr
	hist []money
}

type deep struct {
	m    map[int]map[string][]byte
	pp   **string
	arr  [20]string // long enough not to be unrolled
	grid [2][3]int16
	hist [100]float64
	kv   map[trade]*inner
	ts   []time.Time
	fl   []float32
	u8   []uint8
	i8   []int8
	u    []uint
	bl   []bool
	ptrs []*int
	cs   []complex64
}

// codecTypes are the types the property tests draw values of.
var codecTypes = []reflect.Type{
	reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](),
	reflect.TypeFor[int32](), reflect.TypeFor[int64](), reflect.TypeFor[uint](), reflect.TypeFor[uint8](),
	reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](), reflect.TypeFor[float32](),
	reflect.TypeFor[float64](), reflect.TypeFor[complex64](), reflect.TypeFor[complex128](),
	reflect.TypeFor[string](), reflect.TypeFor[[]byte](), reflect.TypeFor[time.Time](),
	reflect.TypeFor[time.Duration](), reflect.TypeFor[celsius](), reflect.TypeFor[symbol](), reflect.TypeFor[ids](),
	reflect.TypeFor[inner](), reflect.TypeFor[acc](), reflect.TypeFor[trade](), reflect.TypeFor[book](),
	reflect.TypeFor[withMoney](), reflect.TypeFor[deep](), reflect.TypeFor[[]acc](),
	reflect.TypeFor[map[string]trade](), reflect.TypeFor[*acc](), reflect.TypeFor[[3]trade](),
	reflect.TypeFor[map[float64][]string](), reflect.TypeFor[money](), reflect.TypeFor[netip.Addr](),
	reflect.TypeFor[struct{}](), reflect.TypeFor[[]struct{}](), reflect.TypeFor[map[struct{}]int](),
}

// anyCodec is a Codec[T] seen through reflect.Values, so that one test can
// run the codecs of many types.
type anyCodec interface {
	append(dst []byte, v reflect.Value) []byte
	decode(src []byte) (reflect.Value, []byte, error)
	decodeExact(src []byte) (reflect.Value, error)
}

type typedCodec[T any] struct{ c state.Codec[T] }

func (c typedCodec[T]) append(dst []byte, v reflect.Value) []byte {
	return c.c.Append(dst, v.Interface().(T))
}

func (c typedCodec[T]) decode(src []byte) (reflect.Value, []byte, error) {
	v, rest, err := c.c.Decode(src)
	return reflect.ValueOf(&v).Elem(), rest, err
}

func (c typedCodec[T]) decodeExact(src []byte) (reflect.Value, error) {
	v, err := state.DecodeExact(c.c, src)
	return reflect.ValueOf(&v).Elem(), err
}

func mustCodec[T any](t testing.TB) anyCodec {
	t.Helper()
	c, err := state.CodecFor[T]()
	if err != nil {
		t.Fatal(err)
	}
	return typedCodec[T]{c}
}

// codecsOf maps each of codecTypes to its codec.
func codecsOf(t testing.TB) map[reflect.Type]anyCodec {
	cs := map[reflect.Type]anyCodec{}
	add := func(c anyCodec, typ reflect.Type) { cs[typ] = c }
	add(mustCodec[bool](t), reflect.TypeFor[bool]())
	add(mustCodec[int](t), reflect.TypeFor[int]())
	add(mustCodec[int8](t), reflect.TypeFor[int8]())
	add(mustCodec[int16](t), reflect.TypeFor[int16]())
	add(mustCodec[int32](t), reflect.TypeFor[int32]())
	add(mustCodec[int64](t), reflect.TypeFor[int64]())
	add(mustCodec[uint](t), reflect.TypeFor[uint]())
	add(mustCodec[uint8](t), reflect.TypeFor[uint8]())
	add(mustCodec[uint16](t), reflect.TypeFor[uint16]())
	add(mustCodec[uint32](t), reflect.TypeFor[uint32]())
	add(mustCodec[uint64](t), reflect.TypeFor[uint64]())
	add(mustCodec[float32](t), reflect.TypeFor[float32]())
	add(mustCodec[float64](t), reflect.TypeFor[float64]())
	add(mustCodec[complex64](t), reflect.TypeFor[complex64]())
	add(mustCodec[complex128](t), reflect.TypeFor[complex128]())
	add(mustCodec[string](t), reflect.TypeFor[string]())
	add(mustCodec[[]byte](t), reflect.TypeFor[[]byte]())
	add(mustCodec[time.Time](t), reflect.TypeFor[time.Time]())
	add(mustCodec[time.Duration](t), reflect.TypeFor[time.Duration]())
	add(mustCodec[celsius](t), reflect.TypeFor[celsius]())
	add(mustCodec[symbol](t), reflect.TypeFor[symbol]())
	add(mustCodec[ids](t), reflect.TypeFor[ids]())
	add(mustCodec[inner](t), reflect.TypeFor[inner]())
	add(mustCodec[acc](t), reflect.TypeFor[acc]())
	add(mustCodec[trade](t), reflect.TypeFor[trade]())
	add(mustCodec[book](t), reflect.TypeFor[book]())
	add(mustCodec[withMoney](t), reflect.TypeFor[withMoney]())
	add(mustCodec[deep](t), reflect.TypeFor[deep]())
	add(mustCodec[[]acc](t), reflect.TypeFor[[]acc]())
	add(mustCodec[map[string]trade](t), reflect.TypeFor[map[string]trade]())
	add(mustCodec[*acc](t), reflect.TypeFor[*acc]())
	add(mustCodec[[3]trade](t), reflect.TypeFor[[3]trade]())
	add(mustCodec[map[float64][]string](t), reflect.TypeFor[map[float64][]string]())
	add(mustCodec[money](t), reflect.TypeFor[money]())
	add(mustCodec[netip.Addr](t), reflect.TypeFor[netip.Addr]())
	add(mustCodec[struct{}](t), reflect.TypeFor[struct{}]())
	add(mustCodec[[]struct{}](t), reflect.TypeFor[[]struct{}]())
	add(mustCodec[map[struct{}]int](t), reflect.TypeFor[map[struct{}]int]())
	for _, typ := range codecTypes {
		if cs[typ] == nil {
			t.Fatalf("no codec for %v", typ)
		}
	}
	return cs
}

// checkRoundTrip encodes v, decodes it back and checks what a checkpoint
// needs: the value comes back (reflect.DeepEqual, unless it holds NaNs),
// the bytes are the naive twin's, encoding again gives the same bytes, and
// every truncation of the bytes fails to decode, with an error.
func checkRoundTrip(t *testing.T, c anyCodec, v reflect.Value, deepEqual bool) {
	t.Helper()
	if !v.CanAddr() { // the naive twin reads unexported fields through their address
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		v = p.Elem()
	}
	prefix := []byte("prefix")
	b := c.append(bytes.Clone(prefix), v)
	if !bytes.HasPrefix(b, prefix) {
		t.Fatalf("%v %#v: Append overwrote dst", v.Type(), v)
	}
	b = b[len(prefix):]
	if want := naiveEncode(nil, v, false); !bytes.Equal(b, want) {
		t.Fatalf("%v %#v:\nencoding %x\nnaive    %x", v.Type(), v, b, want)
	}
	got, err := c.decodeExact(b)
	if err != nil {
		t.Fatalf("%v %#v: %v (bytes %x)", v.Type(), v, err, b)
	}
	if deepEqual && !reflect.DeepEqual(got.Interface(), v.Interface()) {
		t.Fatalf("%v: round trip of %x\n got %#v\nwant %#v", v.Type(), b, got, v)
	}
	if again := c.append(nil, got); !bytes.Equal(again, b) {
		t.Fatalf("%v %#v: encoding of the decoded value\n%x\nwant\n%x", v.Type(), v, again, b)
	}
	step := max(1, len(b)/128) // every truncation of short encodings, a sample of long ones
	for n := 0; n < len(b); n += step {
		if _, _, err := c.decode(b[:n]); err == nil || !errors.Is(err, state.ErrDecode) {
			t.Fatalf("%v %#v: decoding %d of %d bytes: err %v, want one marked ErrDecode", v.Type(), v, n, len(b), err)
		}
	}
	if _, err := c.decodeExact(append(bytes.Clone(b), 0)); err == nil || !strings.Contains(err.Error(), "1 bytes left over") {
		t.Fatalf("%v: a byte left over: err %v", v.Type(), err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	u16 := uint16(7)
	s := "pointee"
	ps := &s
	one := 1
	when := time.Date(2024, 3, 10, 1, 59, 59, 999999999, time.FixedZone("EST", -5*3600))
	cs := codecsOf(t)
	for _, v := range []any{
		false, true, int8(-128), int16(-300), int32(math.MinInt32), int64(math.MaxInt64), int(-1),
		uint8(255), uint16(65535), uint32(1 << 31), uint64(math.MaxUint64), uint(12345),
		float32(-1.5), math.Inf(-1), math.Copysign(0, -1), math.SmallestNonzeroFloat64,
		complex64(complex(1, -2)), complex(math.Inf(1), math.MaxFloat64),
		"", "héllo, wörld", strings.Repeat("x", 300), []byte(nil), []byte{}, []byte{0, 1, 255},
		time.Duration(-90 * time.Second), celsius(-40), symbol("AAPL"), ids(nil), ids{}, ids{1, -1, 1 << 62},
		inner{a: -3, b: true, c: []string{"", "a"}, d: &u16},
		acc{
			count: 3, sum: 6.5, min: -1, max: 4, last: "GOOG", hist: [4]uint32{1, 0, 0, 1 << 31},
			in:   inner{c: []string{}},
			tags: map[string]int{"b": 2, "a": 1, "": 0}, seen: ids{3, 2, 1}, when: when,
			z: complex(1, 2), raw: [8]byte{1, 2, 3}, bs: []byte("bytes"), span: time.Hour,
		},
		book{Name: "b", Trades: []trade{{"A", 1.5, 10, true}, {"B", -2, -20, false}}},
		book{Trades: []trade{}},
		withMoney{id: 1, cash: money{150, "EUR"}, addr: netip.MustParseAddr("fe80::1%eth0"),
			hist: []money{{1, "USD"}, {}}},
		deep{
			m:   map[int]map[string][]byte{1: {"x": nil, "y": {}}, -1: nil, 2: {}},
			pp:  &ps,
			arr: [20]string{19: "last"}, grid: [2][3]int16{{1, 2, 3}, {-4, -5, -6}},
			hist: [100]float64{0: 1, 99: -1},
			kv:   map[trade]*inner{{"A", 1, 2, true}: nil, {"B", 1, 2, true}: {a: 1}},
			ts:   []time.Time{{}, when, time.Unix(0, 0).UTC()},
			fl:   []float32{1, float32(math.Inf(1))}, u8: []uint8{}, i8: []int8{-1, 1},
			u: []uint{0, math.MaxUint}, bl: []bool{true, false}, ptrs: []*int{nil, &one},
			cs: []complex64{complex(1, 2)},
		},
		[]acc{{}, {count: 1}}, map[string]trade{"x": {Qty: 1}}, (*acc)(nil), &acc{count: 2},
		[3]trade{{Symbol: "x"}}, map[float64][]string{math.Copysign(0, -1): {"neg"}, 0.5: nil},
		money{-7, "USD"}, netip.Addr{}, netip.MustParseAddr("10.0.0.1"),
		struct{}{}, []struct{}{{}, {}}, map[struct{}]int{{}: 3},
	} {
		rv := reflect.ValueOf(v)
		c := cs[rv.Type()]
		if c == nil {
			t.Fatalf("no codec for %T", v)
		}
		checkRoundTrip(t, c, rv, true)
	}
}

// TestCodecProperty round-trips random values of every type in
// codecTypes, against the naive twin encoder.
func TestCodecProperty(t *testing.T) {
	seed := testseed.Seed(t)
	cs := codecsOf(t)
	for _, nan := range []bool{false, true} {
		g := &valueGen{r: rand.New(rand.NewPCG(seed, uint64(len(codecTypes)))), nan: nan}
		for _, typ := range codecTypes {
			for range 150 {
				checkRoundTrip(t, cs[typ], g.value(typ), !nan)
			}
		}
	}
}

// TestCodecNaNRoundTrip checks that floats come back bit for bit, NaN
// payloads and -0 included.
func TestCodecNaNRoundTrip(t *testing.T) {
	c64, _ := state.CodecFor[float64]()
	c32, _ := state.CodecFor[[]float32]()
	for _, bits := range []uint64{0x7ff8000000000001, 0xfff0000000000001, 1 << 63, 0x7ff0000000000000} {
		f := math.Float64frombits(bits)
		got, err := state.DecodeExact(c64, c64.Append(nil, f))
		if err != nil || math.Float64bits(got) != bits {
			t.Errorf("%#x came back as %#x, %v", bits, math.Float64bits(got), err)
		}
	}
	f32 := []float32{math.Float32frombits(0x7fc00001), math.Float32frombits(1 << 31)}
	got, err := state.DecodeExact(c32, c32.Append(nil, f32))
	if err != nil || math.Float32bits(got[0]) != 0x7fc00001 || math.Float32bits(got[1]) != 1<<31 {
		t.Errorf("float32s came back as %v, %v", got, err)
	}
}

// TestCodecMapsDeterministic checks that a map's encoding depends on its
// entries only: not on the order they were added in, nor on Go's random
// iteration order.
func TestCodecMapsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	c, err := state.CodecFor[map[string]map[int]float64]()
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		k  string
		ik int
		f  float64
	}
	var ents []entry
	for i := range 200 {
		ents = append(ents, entry{string(rune('a' + i%26)), i, float64(i) / 3})
	}
	build := func() map[string]map[int]float64 {
		m := map[string]map[int]float64{}
		for _, i := range r.Perm(len(ents)) {
			e := ents[i]
			if m[e.k] == nil {
				m[e.k] = map[int]float64{}
			}
			m[e.k][e.ik] = e.f
		}
		return m
	}
	want := c.Append(nil, build())
	for range 20 {
		if got := c.Append(nil, build()); !bytes.Equal(got, want) {
			t.Fatal("the same map, filled in another order, encodes differently")
		}
	}
	// Several NaN keys: entries with equal keys are ordered by value.
	nan := math.NaN()
	cn, _ := state.CodecFor[map[float64]int]()
	var first []byte
	for i := range 20 {
		m := map[float64]int{}
		for _, j := range r.Perm(5) {
			m[nan] = j
		}
		m[1] = 1
		b := cn.Append(nil, m)
		if i == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatal("a map with NaN keys encodes differently each time")
		}
		got, err := state.DecodeExact(cn, b)
		if err != nil || len(got) != 6 {
			t.Fatalf("map with 5 NaN keys decoded to %v, %v", got, err)
		}
	}
}

// TestCodecNilAndEmpty checks the documented choice: nil and empty slices
// and maps stay apart, as do nil and non-nil pointers.
func TestCodecNilAndEmpty(t *testing.T) {
	type s struct {
		a, b []int
		c, d map[int]int
		e, f []byte
		g, h []trade
		p    *int
	}
	c, err := state.CodecFor[s]()
	if err != nil {
		t.Fatal(err)
	}
	got, err := state.DecodeExact(c, c.Append(nil, s{b: []int{}, d: map[int]int{}, f: []byte{}, h: []trade{}}))
	if err != nil {
		t.Fatal(err)
	}
	if got.a != nil || got.c != nil || got.e != nil || got.g != nil || got.p != nil {
		t.Errorf("a nil came back non-nil: %#v", got)
	}
	if got.b == nil || got.d == nil || got.f == nil || got.h == nil {
		t.Errorf("an empty slice or map came back nil: %#v", got)
	}
}

// TestCodecNoAliasing checks that a decoded value owns its memory: the
// bytes it came from can be reused.
func TestCodecNoAliasing(t *testing.T) {
	c, _ := state.CodecFor[book]()
	b := c.Append(nil, book{Name: "name", Trades: []trade{{Symbol: "sym"}}})
	got, err := state.DecodeExact(c, b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if got.Name != "name" || got.Trades[0].Symbol != "sym" {
		t.Errorf("the decoded value changed with its bytes: %+v", got)
	}
}

// TestCodecTime checks time.Time: the instant of every Time comes back
// (t.Equal), and so do UTC, Local, fixed and named zones.
func TestCodecTime(t *testing.T) {
	c, err := state.CodecFor[time.Time]()
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range []time.Time{
		{},
		time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Date(2024, 1, 2, 3, 4, 5, 6, time.Local),
		time.Date(2024, 7, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
		time.Date(2024, 7, 1, 12, 0, 0, 0, time.FixedZone("", -9*3600-1800)),
		time.Date(2024, 7, 1, 12, 0, 0, 0, ny),  // EDT
		time.Date(2024, 12, 1, 12, 0, 0, 0, ny), // EST
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-4000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1e9, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(math.MaxInt64, 999999999).UTC(), // the internal seconds wrap
		time.Unix(math.MinInt64, 0).UTC(),
		time.Unix(-62135596801, 0).UTC(), // just before year 1
	} {
		b := c.Append(nil, tm)
		got, err := state.DecodeExact(c, b)
		if err != nil {
			t.Fatalf("%v: %v", tm, err)
		}
		gn, goff := got.Zone()
		wn, woff := tm.Zone()
		if !got.Equal(tm) || got.Location().String() != tm.Location().String() || gn != wn || goff != woff {
			t.Errorf("%v (%s) came back as %v (%s)", tm, tm.Location(), got, got.Location())
		}
		if tm.Location() != ny && !reflect.DeepEqual(got, tm) {
			t.Errorf("%#v came back as %#v", tm, got)
		}
	}
	// The monotonic reading is dropped; the instant stays.
	now := time.Now()
	got, err := state.DecodeExact(c, c.Append(nil, now))
	if err != nil || !got.Equal(now) || got != now.Round(0) {
		t.Errorf("now %v came back as %v, %v", now, got, err)
	}
	// Fixed zones share one Location per name and offset.
	z := time.FixedZone("Z1", 60)
	a, _ := state.DecodeExact(c, c.Append(nil, time.Unix(1, 0).In(z)))
	b, _ := state.DecodeExact(c, c.Append(nil, time.Unix(2, 0).In(z)))
	if a.Location() != b.Location() {
		t.Errorf("two times in one fixed zone decode with two Locations")
	}
}

// TestCodecTimeUnknownZone checks that a named zone the decoding machine
// does not know falls back to a fixed zone with the abbreviation and
// offset the encoder saw.
func TestCodecTimeUnknownZone(t *testing.T) {
	c, _ := state.CodecFor[time.Time]()
	// What a zone "Mars/Olympus" (abbreviation "OMT", offset 1h)
	// would encode to: seconds 0, nanoseconds 0, named zone.
	b := []byte{0, 0, 3, 12}
	b = append(b, "Mars/Olympus"...)
	b = append(b, 3, 'O', 'M', 'T')
	b = binary.AppendVarint(b, 3600)
	got, err := state.DecodeExact(c, b)
	if err != nil {
		t.Fatal(err)
	}
	if name, off := got.Zone(); name != "OMT" || off != 3600 || got.Unix() != 0 {
		t.Errorf("got %v (zone %s %d), want the Unix epoch in a fixed zone OMT +1h", got, name, off)
	}
}

// TestCodecTimeExhaustiveEnds round-trips the Unix seconds around the
// internal representation's wrap-around points, one second at a time.
func TestCodecTimeExhaustiveEnds(t *testing.T) {
	c, _ := state.CodecFor[time.Time]()
	const unixToInternal = 62135596800
	for _, center := range []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - unixToInternal, math.MinInt64 + unixToInternal, -unixToInternal, 0} {
		for d := int64(-50); d <= 50; d++ {
			tm := time.Unix(center+d, 1).UTC()
			got, err := state.DecodeExact(c, c.Append(nil, tm))
			if err != nil || got != tm {
				t.Fatalf("%#v came back as %#v, %v", tm, got, err)
			}
		}
	}
}

// TestCodecMarshaler checks that BinaryMarshalers are encoded by their
// methods (money's text form shows in the bytes), BinaryAppenders too.
func TestCodecMarshaler(t *testing.T) {
	c, err := state.CodecFor[withMoney]()
	if err != nil {
		t.Fatal(err)
	}
	v := withMoney{id: 1, cash: money{250, "USD"}, addr: netip.MustParseAddr("1.2.3.4")}
	b := c.Append(nil, v)
	if !bytes.Contains(b, []byte("\x07USD:250")) || !bytes.Contains(b, []byte{4, 1, 2, 3, 4}) {
		t.Errorf("encoding %q does not hold the marshalers' bytes", b)
	}
	bad := c.Append(nil, withMoney{cash: money{1, "X"}})
	i := bytes.Index(bad, []byte("X:1"))
	bad[i+1] = ';' // "X;1": UnmarshalBinary fails
	if _, err := state.DecodeExact(c, bad); err == nil || !strings.Contains(err.Error(), "braid: decoding state_test.withMoney: .cash: UnmarshalBinary: money") {
		t.Errorf("damaged marshaler bytes: err %v", err)
	}
}

//lint:ignore U1000 the codec reads the fields by reflection
type panicky struct{ x int }

func (p panicky) MarshalBinary() ([]byte, error) { return []byte{1}, nil }
func (p *panicky) UnmarshalBinary(b []byte) error {
	if b[0] != 1 {
		panic("not one")
	}
	return nil
}

// TestCodecMarshalerPanics checks that a user's UnmarshalBinary that
// panics on damaged bytes makes an error, not a crash of the restore.
func TestCodecMarshalerPanics(t *testing.T) {
	c, _ := state.CodecFor[[]panicky]()
	_, err := state.DecodeExact(c, []byte{2, 1, 2})
	if err == nil || !strings.Contains(err.Error(), "UnmarshalBinary panicked: not one") || !errors.Is(err, state.ErrDecode) {
		t.Errorf("err %v", err)
	}
}

// TestCodecGolden pins the format: checkpoints written by one version codecMust
// read in the next. A change here is a change of the checkpoint format.
func TestCodecGolden(t *testing.T) {
	check := func(name string, got []byte, want string) {
		t.Helper()
		if hex.EncodeToString(got) != want {
			t.Errorf("%s: encoding %x, want %s", name, got, want)
		}
	}
	ci, _ := state.CodecFor[int64]()
	check("int64 -3", ci.Append(nil, -3), "05")
	check("int64 300", ci.Append(nil, 300), "d804")
	cs, _ := state.CodecFor[string]()
	check(`"ab"`, cs.Append(nil, "ab"), "026162")
	ct, _ := state.CodecFor[trade]()
	check("trade", ct.Append(nil, trade{"X", 1, -1, true}), "0158"+"000000000000f03f"+"01"+"01")
	cb, _ := state.CodecFor[book]()
	check("book", cb.Append(nil, book{"", []trade{{}}}), "00"+"02"+"00"+"0000000000000000"+"00"+"00")
	check("book nil", cb.Append(nil, book{}), "0000")
	cm, _ := state.CodecFor[map[string]int8]()
	check("map", cm.Append(nil, map[string]int8{"b": 2, "a": -1}), "03"+"0161ff"+"016202")
	cp, _ := state.CodecFor[*uint16]()
	v := uint16(128)
	check("pointer", cp.Append(nil, &v), "01"+"8001")
	check("nil pointer", cp.Append(nil, nil), "00")
	ctm, _ := state.CodecFor[time.Time]()
	check("time UTC", ctm.Append(nil, time.Unix(1, 2).UTC()), "02"+"02"+"00")
	check("time Local", ctm.Append(nil, time.Unix(0, 0).Local()), "00"+"00"+"01")
	check("time fixed", ctm.Append(nil, time.Unix(-1, 0).In(time.FixedZone("A", -1))), "01"+"00"+"02"+"0141"+"01")
	ck, _ := state.KeyCodecFor[symbolDay]()
	check("key", ck.Append(nil, symbolDay{"S", 2}), "0153"+"04")
	cf, _ := state.KeyCodecFor[float32]()
	check("key -0", cf.Append(nil, float32(math.Copysign(0, -1))), "00000000")
}

// TestCodecIntegerWidths checks that integers of different sizes share
// their encoding, as the doc says (int on 64- and 32-bit machines), and
// that a value too large for the type decoding it is an error.
func TestCodecIntegerWidths(t *testing.T) {
	c64, _ := state.CodecFor[int64]()
	c16, _ := state.CodecFor[int16]()
	c32, _ := state.CodecFor[int32]()
	cu16, _ := state.CodecFor[uint16]()
	cu64, _ := state.CodecFor[uint64]()
	if v, err := state.DecodeExact(c16, c64.Append(nil, -300)); v != -300 || err != nil {
		t.Errorf("int64 -300 as int16: %d, %v", v, err)
	}
	if _, err := state.DecodeExact(c16, c64.Append(nil, 1<<15)); err == nil || !strings.Contains(err.Error(), "braid: decoding int16: integer out of range") {
		t.Errorf("int64 1<<15 as int16: err %v", err)
	}
	if _, err := state.DecodeExact(c32, c64.Append(nil, math.MinInt32-1)); err == nil {
		t.Errorf("int64 below MinInt32 decoded as int32")
	}
	if _, err := state.DecodeExact(cu16, cu64.Append(nil, 1<<16)); err == nil {
		t.Errorf("uint64 1<<16 decoded as uint16")
	}
}

// TestCodecRejectsNonCanonical checks that bytes Append never writes do
// not decode: so a decoded value re-encodes to the bytes it came from.
func TestCodecRejectsNonCanonical(t *testing.T) {
	ci, _ := state.CodecFor[uint64]()
	cb, _ := state.CodecFor[bool]()
	cm, _ := state.CodecFor[map[string]bool]()
	cp, _ := state.CodecFor[*bool]()
	ct, _ := state.CodecFor[time.Time]()
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"overlong varint", decodeErrOf(ci, []byte{0x80, 0x00}), "braid: decoding uint64: malformed varint"},
		{"varint over 64 bits", decodeErrOf(ci, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), "malformed varint"},
		{"bool 2", decodeErrOf(cb, []byte{2}), "boolean byte is neither 0 nor 1"},
		{"map out of order", decodeErrOf(cm, []byte{3, 1, 'b', 0, 1, 'a', 0}), "map entry 1 is out of order"},
		{"map key twice", decodeErrOf(cm, []byte{3, 1, 'a', 0, 1, 'a', 1}), "map entry 1 repeats a key"},
		{"pointer byte", decodeErrOf(cp, []byte{2, 1}), "pointer byte 2 is neither 0 (nil) nor 1"},
		{"nanoseconds", decodeErrOf(ct, []byte{0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0}), "nanoseconds 1000000000 out of range"},
		{"zone byte", decodeErrOf(ct, []byte{0, 0, 4}), "location byte 4"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) || !errors.Is(c.err, state.ErrDecode) {
			t.Errorf("%s: err %v, want %q", c.name, c.err, c.want)
		}
	}
}

func decodeErrOf[T any](c state.Codec[T], b []byte) error {
	_, err := state.DecodeExact(c, b)
	return err
}

// TestCodecHugeLengths checks that a length prefix claiming far more
// elements than there are bytes is an error before anything is allocated
// for it: damaged bytes codecMust not exhaust memory.
func TestCodecHugeLengths(t *testing.T) {
	huge := []byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10} // 1<<60 + 1
	cases := []struct {
		name string
		dec  func([]byte) error
		want string
	}{
		{"string", func(b []byte) error { return decodeErrOf(codecMust(state.CodecFor[string]()), b) }, "braid: decoding string: length 1152921504606846977 exceeds the 3 bytes left"},
		{"[]int64", func(b []byte) error { return decodeErrOf(codecMust(state.CodecFor[[]int64]()), b) }, "braid: decoding []int64: length 1152921504606846976 exceeds"},
		{"[]byte", func(b []byte) error { return decodeErrOf(codecMust(state.CodecFor[[]byte]()), b) }, "exceeds"},
		{"[]trade", func(b []byte) error { return decodeErrOf(codecMust(state.CodecFor[[]trade]()), b) }, "exceeds"},
		{"map", func(b []byte) error { return decodeErrOf(codecMust(state.CodecFor[map[int]int]()), b) }, "exceeds"},
		{"book.Trades", func(b []byte) error { return decodeErrOf(codecMust(state.CodecFor[book]()), append([]byte{0}, b...)) }, "braid: decoding state_test.book: .Trades: length"},
		{"acc.in.c", func(b []byte) error {
			c := codecMust(state.CodecFor[acc]())
			prefix := c.Append(nil, acc{})
			// in.c follows count, sum, min, max, last, hist, in.a, in.b.
			n := 1 + 8 + 8 + 8 + 1 + 4 + 1 + 1
			return decodeErrOf(c, append(append(bytes.Clone(prefix[:n]), huge...), prefix[n+1:]...))
		}, "braid: decoding state_test.acc: .in.c: length"},
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := c.dec(append(bytes.Clone(huge), 1, 2, 3))
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("%s: decoding allocated %d bytes", c.name, d)
		}
	}
	// Zero-size elements take no bytes: any length that fits an int
	// decodes, allocating nothing.
	c := codecMust(state.CodecFor[[]struct{}]())
	v, err := state.DecodeExact(c, binary.AppendUvarint(nil, math.MaxInt/2+1))
	if err != nil || len(v) != math.MaxInt/2 {
		t.Errorf("[]struct{} of MaxInt/2: len %d, %v", len(v), err)
	}
	// A map with a zero-size key has one entry at most.
	cz := codecMust(state.CodecFor[map[struct{}]struct{}]())
	if err := decodeErrOf(cz, binary.AppendUvarint(nil, math.MaxInt/2+1)); err == nil || !strings.Contains(err.Error(), "map entry 1 repeats a key") {
		t.Errorf("map[struct{}]struct{} of MaxInt/2 entries: err %v", err)
	}
}

func codecMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestKeyCodecCanonical checks that equal keys have equal encodings: -0
// and +0 alike, blank fields ignored; and that decoding refuses what a key
// encoding never holds.
func TestKeyCodecCanonical(t *testing.T) {
	negZero := math.Copysign(0, -1)
	type point struct {
		X, Y float64
		_    int
		Name string
	}
	type c64key struct {
		C complex64
		A [2]float32
	}
	cf := codecMust(state.KeyCodecFor[float64]())
	if a, b := cf.Append(nil, negZero), cf.Append(nil, 0); !bytes.Equal(a, b) {
		t.Errorf("keys -0 and +0 encode as %x and %x", a, b)
	}
	cp := codecMust(state.KeyCodecFor[point]())
	p1 := point{X: negZero, Y: 1, Name: "p"}
	p2 := point{X: 0, Y: 1, Name: "p"}
	// Blank fields take no part in ==: write one through memory.
	*(*int)(unsafe.Add(unsafe.Pointer(&p2), unsafe.Offsetof(p2.Name)-unsafe.Sizeof(0))) = 42
	if p1 != p2 {
		t.Fatal("test keys not equal")
	}
	if a, b := cp.Append(nil, p1), cp.Append(nil, p2); !bytes.Equal(a, b) {
		t.Errorf("equal keys encode as %x and %x", a, b)
	}
	if got, err := state.DecodeExact(cp, cp.Append(nil, p1)); err != nil || got != p1 || math.Signbit(got.X) {
		t.Errorf("key came back as %+v, %v", got, err)
	}
	cc := codecMust(state.KeyCodecFor[c64key]())
	k1 := c64key{C: complex(float32(negZero), 1), A: [2]float32{float32(negZero), 2}}
	k2 := c64key{C: complex(0, 1), A: [2]float32{0, 2}}
	if a, b := cc.Append(nil, k1), cc.Append(nil, k2); !bytes.Equal(a, b) {
		t.Errorf("equal complex keys encode as %x and %x", a, b)
	}
	// The value codec keeps -0: it is the value, not a key.
	cv := codecMust(state.CodecFor[float64]())
	if got, _ := state.DecodeExact(cv, cv.Append(nil, negZero)); !math.Signbit(got) {
		t.Errorf("value -0 came back as +0")
	}
	for _, b := range [][]byte{
		{0, 0, 0, 0, 0, 0, 0, 0x80},    // -0
		{1, 0, 0, 0, 0, 0, 0xf8, 0x7f}, // NaN
	} {
		if _, err := state.DecodeExact(cf, b); err == nil || !errors.Is(err, state.ErrDecode) {
			t.Errorf("key bytes %x decoded, err %v", b, err)
		}
	}
	// Keys of the same value encode alike whatever codec is used twice.
	cs := codecMust(state.KeyCodecFor[symbolDay]())
	r := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	g := &valueGen{r: r}
	for range 500 {
		k := g.value(reflect.TypeFor[symbolDay]()).Interface().(symbolDay)
		b := cs.Append(nil, k)
		if want := naiveEncode(nil, reflect.ValueOf(&k).Elem(), true); !bytes.Equal(b, want) {
			t.Fatalf("key %+v: %x, naive %x", k, b, want)
		}
		if got, err := state.DecodeExact(cs, b); err != nil || got != k {
			t.Fatalf("key %+v came back as %+v, %v", k, got, err)
		}
	}
	kp := codecMust(state.KeyCodecFor[point]())
	for range 500 {
		k := g.value(reflect.TypeFor[point]()).Interface().(point)
		if want := naiveEncode(nil, reflect.ValueOf(&k).Elem(), true); !bytes.Equal(kp.Append(nil, k), want) {
			t.Fatalf("key %+v: %x, naive %x", k, kp.Append(nil, k), want)
		}
	}
}

//lint:ignore U1000 the codec reads the fields by reflection
type listNode struct {
	val  int
	next *listNode
}

//lint:ignore U1000 the codec reads the fields by reflection
type treeNode struct {
	kids []treeNode
}

type graphMap map[string]graphMap

//lint:ignore U1000 the codec reads the fields by reflection
type withChan struct {
	name string
	ch   chan int
}

// TestCodecRefusals checks that each kind the codecs cannot encode is
// refused when the codec is built, naming the type and the bad part.
func TestCodecRefusals(t *testing.T) {
	//lint:ignore U1000 the codec reads the fields by reflection
	type hasFunc struct{ f func() }
	type nested struct {
		A struct {
			B []map[string]withChan
		}
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{buildErr(state.CodecFor[chan int]()), "braid: cannot checkpoint chan int: it is a channel (chan int)"},
		{buildErr(state.CodecFor[withChan]()), "braid: cannot checkpoint state_test.withChan: .ch is a channel (chan int)"},
		{buildErr(state.CodecFor[hasFunc]()), "braid: cannot checkpoint state_test.hasFunc: .f is a function (func())"},
		{buildErr(state.CodecFor[unsafe.Pointer]()), "braid: cannot checkpoint unsafe.Pointer: it is an unsafe.Pointer (unsafe.Pointer)"},
		{buildErr(state.CodecFor[[]uintptr]()), "braid: cannot checkpoint []uintptr: [] is a uintptr: an address means nothing after a restart (uintptr)"},
		{buildErr(state.CodecFor[struct{ E error }]()), "braid: cannot checkpoint struct { E error }: .E is an interface: its dynamic type could not be known when decoding (error)"},
		{buildErr(state.CodecFor[map[string]any]()), "braid: cannot checkpoint map[string]interface {}: [] is an interface"},
		{buildErr(state.CodecFor[nested]()), "braid: cannot checkpoint state_test.nested: .A.B[][].ch is a channel (chan int)"},
		{buildErr(state.CodecFor[map[*int]int]()), ""}, // pointers are values here: allowed
		{buildErr(state.CodecFor[listNode]()), "braid: cannot checkpoint state_test.listNode: .next leads back to state_test.listNode: recursive types are refused"},
		{buildErr(state.CodecFor[treeNode]()), "braid: cannot checkpoint state_test.treeNode: .kids[] leads back to state_test.treeNode"},
		{buildErr(state.CodecFor[graphMap]()), "braid: cannot checkpoint state_test.graphMap: [] leads back to state_test.graphMap"},
		{buildErr(state.KeyCodecFor[*int]()), "braid: cannot checkpoint key type *int: it is a pointer: keys are values, an address differs between runs (*int)"},
		{buildErr(state.KeyCodecFor[struct{ T time.Time }]()), "braid: cannot checkpoint key type struct { T time.Time }: .T is a time.Time, which holds a pointer to its *time.Location: key by its UnixNano instead"},
		{buildErr(state.KeyCodecFor[any]()), "braid: cannot checkpoint key type interface {}: it is an interface"},
		{buildErr(state.KeyCodecFor[struct{ C chan int }]()), "braid: cannot checkpoint key type struct { C chan int }: .C is a channel"},
		{buildErr(state.KeyCodecFor[[2]uintptr]()), "braid: cannot checkpoint key type [2]uintptr: [] is a uintptr"},
	} {
		if c.want == "" {
			if c.err != nil {
				t.Errorf("err %v, want none", c.err)
			}
			continue
		}
		if c.err == nil || !strings.HasPrefix(c.err.Error(), c.want) {
			t.Errorf("err %v\nwant %s", c.err, c.want)
			continue
		}
		if !errors.Is(c.err, state.ErrUncodable) {
			t.Errorf("%v: not marked ErrUncodable", c.err)
		}
	}
	// Key types NewHasher refuses are marked as its errors are.
	for _, err := range []error{buildErr(state.KeyCodecFor[*int]()), buildErr(state.KeyCodecFor[any]()), buildErr(state.KeyCodecFor[struct{ C chan int }]())} {
		if !errors.Is(err, state.ErrUnstableKey) {
			t.Errorf("%v: not marked ErrUnstableKey", err)
		}
	}
}

func buildErr[T any](_ T, err error) error { return err }

// TestCodecAllocs checks the hot path's promise: Append into a buffer with
// room allocates nothing, maps included; Decode allocates only what the
// value holds.
func TestCodecAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	check := func(name string, want float64, f func()) {
		t.Helper()
		if got := testing.AllocsPerRun(200, f); got != want {
			t.Errorf("%s: %v allocations, want %v", name, got, want)
		}
	}
	ci := codecMust(state.KeyCodecFor[int64]())
	cs := codecMust(state.KeyCodecFor[string]())
	ct := codecMust(state.CodecFor[trade]())
	cb := codecMust(state.CodecFor[book]())
	ca := codecMust(state.CodecFor[acc]())
	cm := codecMust(state.CodecFor[map[string]int]())
	tr := trade{"AAPL", 101.5, 300, true}
	// Strings of 16 bytes and more, which the tiny allocator does not
	// pack together, so that decoding allocates one object per string.
	long := trade{"symbol of 16+ bytes", 101.5, 300, true}
	bk := book{"book name, 16+ bytes", []trade{long, long, long}}
	a := acc{count: 1, tags: map[string]int{"a": 1, "b": 2, "c": 3}, seen: ids{1, 2}, in: inner{c: []string{"x"}}, when: time.Now().In(time.FixedZone("X", 60))}
	m := map[string]int{"x": 1, "y": 2}
	check("Append int64", 0, func() { buf = ci.Append(buf[:0], 12345) })
	check("Append string", 0, func() { buf = cs.Append(buf[:0], "GOOG") })
	if !raceEnabled { // structs and maps borrow scratch space from a sync.Pool
		check("Append struct", 0, func() { buf = ct.Append(buf[:0], tr) })
		check("Append struct with slice", 0, func() { buf = cb.Append(buf[:0], bk) })
		check("Append struct with maps, slices, time", 0, func() { buf = ca.Append(buf[:0], a) })
		check("Append map", 0, func() { buf = cm.Append(buf[:0], m) })
	}

	bi := ci.Append(nil, 12345)
	bt := ct.Append(nil, long)
	bb := cb.Append(nil, bk)
	check("Decode int64", 0, func() { _, _, _ = ci.Decode(bi) })
	if !raceEnabled {
		check("Decode struct", 1, func() { _, _, _ = ct.Decode(bt) }) // the string
		// The name, the array of trades, 3 symbols.
		check("Decode struct with slice", 5, func() { _, _, _ = cb.Decode(bb) })
	}
}

// TestCodecConcurrent uses one codec from several goroutines, as
// subtasks checkpointing at once do: maps borrow pooled scratch space and
// decoded times share cached zones. Run it with -race.
func TestCodecConcurrent(t *testing.T) {
	c := codecMust(state.CodecFor[acc]())
	seed := testseed.Seed(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			g := &valueGen{r: rand.New(rand.NewPCG(seed, uint64(w)))}
			var buf []byte
			for range 200 {
				v := g.value(reflect.TypeFor[acc]()).Interface().(acc)
				buf = c.Append(buf[:0], v)
				got, err := state.DecodeExact(c, buf)
				if err != nil || !reflect.DeepEqual(got, v) {
					t.Errorf("goroutine %d: %#v came back as %#v, %v", w, v, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
