package state_test

import (
	"fmt"
	"math"

	"github.com/braidstream/braid/state"
)

// meanAcc is an accumulator as a user writes one: unexported fields.
type meanAcc struct {
	sum   float64
	n     int64
	peaks []float64
}

// A checkpoint encodes an operator's accumulators and decodes them on
// restore. Build the codec once per type, and reuse a buffer.
func ExampleCodecFor() {
	codec, err := state.CodecFor[meanAcc]()
	if err != nil {
		panic(err) // a type it cannot encode: see the refusals in CodecFor's doc
	}
	var buf []byte
	buf = codec.Append(buf[:0], meanAcc{sum: 10.5, n: 3, peaks: []float64{7}})
	fmt.Printf("%d bytes\n", len(buf))

	acc, err := state.DecodeExact(codec, buf)
	fmt.Printf("%+v %v\n", acc, err)

	_, err = state.DecodeExact(codec, buf[:len(buf)-1])
	fmt.Println(err)
	// Output:
	// 18 bytes
	// {sum:10.5 n:3 peaks:[7]} <nil>
	// braid: decoding state_test.meanAcc: .peaks: length 1, of parts of 8 bytes or more, exceeds the 7 bytes left
}

// Keys equal under == encode to equal bytes, as a key-value store needs.
func ExampleKeyCodecFor() {
	type point struct{ X, Y float64 }
	codec, err := state.KeyCodecFor[point]()
	if err != nil {
		panic(err)
	}
	a := codec.Append(nil, point{X: math.Copysign(0, -1), Y: 1})
	b := codec.Append(nil, point{X: 0, Y: 1})
	fmt.Println(string(a) == string(b))

	_, err = state.KeyCodecFor[*point]()
	fmt.Println(err)
	// Output:
	// true
	// braid: cannot checkpoint key type *state_test.point: it is a pointer: keys are values, an address differs between runs (*state_test.point)
}
