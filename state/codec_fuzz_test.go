package state_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/braidstream/braid/state"
)

// fuzzKey is a key type with a float, a string and a blank field.
type fuzzKey struct {
	Sym string
	Px  float64
	_   int16
	N   [2]int8
}

// fuzzCodec is one codec FuzzCodecDecode feeds with bytes. canonical says
// its encoding is a bijection: bytes that decode are the value's only
// encoding, so encoding the value again gives them back. Types that hold
// a user's BinaryMarshaler (whose parsing may accept several spellings)
// or a time in a named zone (whose abbreviation comes from the decoding
// machine's database) are not canonical: for them a second round trip
// must be stable.
type fuzzCodec struct {
	typ       reflect.Type
	c         anyCodec
	canonical bool
}

func fuzzCodecs(t testing.TB) []fuzzCodec {
	kc, err := state.KeyCodecFor[fuzzKey]()
	if err != nil {
		t.Fatal(err)
	}
	cs := codecsOf(t)
	c := func(typ reflect.Type, canonical bool) fuzzCodec { return fuzzCodec{typ, cs[typ], canonical} }
	return []fuzzCodec{
		c(reflect.TypeFor[int64](), true),
		c(reflect.TypeFor[string](), true),
		c(reflect.TypeFor[[]byte](), true),
		c(reflect.TypeFor[trade](), true),
		c(reflect.TypeFor[book](), true),
		c(reflect.TypeFor[acc](), true),
		c(reflect.TypeFor[deep](), true),
		c(reflect.TypeFor[map[string]trade](), true),
		c(reflect.TypeFor[[]struct{}](), true),
		c(reflect.TypeFor[map[float64][]string](), true),
		{reflect.TypeFor[fuzzKey](), typedCodec[fuzzKey]{kc}, true},
		c(reflect.TypeFor[time.Time](), false),
		c(reflect.TypeFor[withMoney](), false),
	}
}

// FuzzCodecDecode decodes arbitrary bytes as values of several types. It
// must return a value or an error, never panic, and never allocate more
// than the bytes justify (a length prefix claiming 1<<60 elements is an
// error, not an out-of-memory crash). A value that decodes must encode
// back to the bytes it came from (or, for the types that are not
// canonical, to bytes that round-trip unchanged).
func FuzzCodecDecode(f *testing.F) {
	cs := fuzzCodecs(f)
	g := &valueGen{r: rand.New(rand.NewPCG(1, 2))}
	for _, c := range cs {
		for range 3 {
			f.Add(c.c.append(nil, g.value(c.typ)))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range cs {
			v, rest, err := c.c.decode(b)
			if err != nil {
				continue
			}
			used := b[:len(b)-len(rest)]
			again := c.c.append(nil, v)
			if c.canonical {
				if !bytes.Equal(again, used) {
					t.Fatalf("%s: %x decodes to %#v, which encodes as %x", c.typ, used, v, again)
				}
				continue
			}
			v2, err := c.c.decodeExact(again)
			if err != nil {
				t.Fatalf("%s: %x decodes to %#v, whose encoding %x does not decode: %v", c.typ, used, v, again, err)
			}
			if third := c.c.append(nil, v2); !bytes.Equal(third, again) {
				t.Fatalf("%s: a second round trip changed %x to %x", c.typ, again, third)
			}
		}
	})
}
