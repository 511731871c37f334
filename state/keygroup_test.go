package state_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/braidstream/braid/state"
)

// symbolDay stands for a typical composite key: a struct of a string and an
// int.
type symbolDay struct {
	Symbol string
	Day    int
}

// TestHasherGolden pins the hash, and the key group at the default maximum
// parallelism, of a few fixed keys.
//
// These numbers must never change. A checkpoint lays keyed state out by key
// group, and a restored job finds a key's state in the key group its hash
// gives now: if the hash of a key moved, the job would look for the key's
// state in the wrong key group (or on the wrong subtask), not find it, and
// silently start the key from empty. A change to HashString, Mix64 or the
// rules of NewHasher that fails this test needs a new checkpoint format
// version and a migration, not new numbers here.
//
// The values were computed once, on linux/amd64, and agree on linux/386,
// where int is 4 bytes (GOARCH=386 go test ./state/).
func TestHasherGolden(t *testing.T) {
	type golden struct {
		key  string // how the key is written, for messages
		hash uint64
		kg   int // KeyGroup(hash, 128)
	}
	check := func(t *testing.T, g golden, hash uint64) {
		t.Helper()
		if hash != g.hash {
			t.Errorf("hash of %s = %#016x, want %#016x: keys would move across key groups", g.key, hash, g.hash)
		}
		if kg := state.KeyGroup(hash, state.DefaultMaxParallelism); kg != g.kg {
			t.Errorf("key group of %s = %d, want %d", g.key, kg, g.kg)
		}
	}

	hs := mustHasher[string](t)
	for _, c := range []struct {
		k string
		golden
	}{
		{"", golden{`""`, 0xa5506ff52926ac13, 82}},
		{"AAPL", golden{`"AAPL"`, 0x25b8316d8fa3b2b5, 18}},
		{"GOOG", golden{`"GOOG"`, 0x0651462823a2cfd3, 3}},
		{"a key longer than sixteen bytes", golden{`"a key longer than sixteen bytes"`, 0xbc602a3a492de818, 94}},
	} {
		check(t, c.golden, hs(c.k))
	}

	h64 := mustHasher[int64](t)
	for _, c := range []struct {
		k int64
		golden
	}{
		{0, golden{"int64(0)", 0xa5506ff52926ac13, 82}},
		{1, golden{"int64(1)", 0xd153941f83d0cc19, 104}},
		{-1, golden{"int64(-1)", 0xf6316e9a2bff965a, 123}},
		{1 << 40, golden{"int64(1<<40)", 0xebbd77aec406d0fe, 117}},
	} {
		check(t, c.golden, h64(c.k))
	}

	h32 := mustHasher[int32](t)
	for _, c := range []struct {
		k int32
		golden
	}{
		{0, golden{"int32(0)", 0xa5506ff52926ac13, 82}},
		{7, golden{"int32(7)", 0x1b3df961b006f3a9, 13}},
		{-7, golden{"int32(-7)", 0xaf55ac5247223997, 87}},
	} {
		check(t, c.golden, h32(c.k))
	}

	hsd := mustHasher[symbolDay](t)
	for _, c := range []struct {
		k symbolDay
		golden
	}{
		{symbolDay{"AAPL", 3}, golden{`{"AAPL", 3}`, 0x523985121e494fb6, 41}},
		{symbolDay{"", 0}, golden{`{"", 0}`, 0x4a2e020da9bec729, 37}},
		{symbolDay{"GOOG", -1}, golden{`{"GOOG", -1}`, 0x3173d158532e01c5, 24}},
	} {
		check(t, c.golden, hsd(c.k))
	}
}

// TestHasherIntegersByValue checks that an integer key hashes by its value,
// whatever its type or size: int, int8 ... int64 sign-extend, unsigned
// types zero-extend. So an int key hashes the same where int is 4 bytes
// and where it is 8, and widening a key's type keeps its key group.
func TestHasherIntegersByValue(t *testing.T) {
	h, h8, h16, h32, h64 := mustHasher[int](t), mustHasher[int8](t), mustHasher[int16](t), mustHasher[int32](t), mustHasher[int64](t)
	hu, hu8, hu32, hu64, hup := mustHasher[uint](t), mustHasher[uint8](t), mustHasher[uint32](t), mustHasher[uint64](t), mustHasher[uintptr](t)
	for _, v := range []int64{0, 1, -1, 127, -128, 100} {
		want := h64(v)
		if h(int(v)) != want || h8(int8(v)) != want || h16(int16(v)) != want || h32(int32(v)) != want {
			t.Errorf("%d: signed integer types hash differently", v)
		}
		if v >= 0 && (hu(uint(v)) != want || hu8(uint8(v)) != want || hu32(uint32(v)) != want || hu64(uint64(v)) != want || hup(uintptr(v)) != want) {
			t.Errorf("%d: unsigned integer types hash differently from int64", v)
		}
	}
	// The same holds inside a struct.
	type narrow struct {
		S string
		N int32
	}
	type wide struct {
		S string
		N int64
	}
	hn, hw := mustHasher[narrow](t), mustHasher[wide](t)
	for _, v := range []int32{0, -1, math.MinInt32, math.MaxInt32} {
		if hn(narrow{"x", v}) != hw(wide{"x", int64(v)}) {
			t.Errorf("%d: struct with int32 and struct with int64 hash differently", v)
		}
	}
	// Named types hash as their underlying type.
	type symbol string
	if mustHasher[symbol](t)("AAPL") != mustHasher[string](t)("AAPL") {
		t.Errorf("a named string type hashes differently from string")
	}
	if mustHasher[bool](t)(true) != h64(1) || mustHasher[bool](t)(false) != h64(0) {
		t.Errorf("bool keys must hash as 0 and 1")
	}
}

// TestHasherRejects checks that keys with no stable hash are refused with
// an error marked ErrUnstableKey that names the type and the offending
// part.
func TestHasherRejects(t *testing.T) {
	type withPointer struct {
		Name string
		P    *int
	}
	type nested struct {
		A [2]struct{ C chan int }
	}
	for _, c := range []struct {
		err  func() error
		want []string // substrings of the message
	}{
		{errOf[*int], []string{"*int", "is a pointer"}},
		{errOf[any], []string{"interface {}", "is an interface"}},
		{errOf[error], []string{"error", "is an interface"}},
		{errOf[chan int], []string{"chan int", "is a channel"}},
		{errOf[unsafe.Pointer], []string{"unsafe.Pointer", "is an unsafe pointer"}},
		{errOf[withPointer], []string{"state_test.withPointer", "P is a pointer (*int)"}},
		{errOf[[3]any], []string{"[3]interface {}", "[0] is an interface"}},
		{errOf[nested], []string{"state_test.nested", "A[0].C is a channel (chan int)"}},
	} {
		err := c.err()
		if err == nil {
			t.Errorf("want an error containing %q, got nil", c.want)
			continue
		}
		if !errors.Is(err, state.ErrUnstableKey) {
			t.Errorf("%v: not marked ErrUnstableKey", err)
		}
		for _, s := range c.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%v: want it to contain %q", err, s)
			}
		}
		if !strings.HasPrefix(err.Error(), "braid: ") {
			t.Errorf("%v: want the prefix braid:", err)
		}
	}
}

func errOf[K comparable]() error {
	_, err := state.NewHasher[K]()
	return err
}

// TestHasherNegativeZero checks that -0.0 and +0.0, which are == and so the
// same key, hash the same, in every float shape.
func TestHasherNegativeZero(t *testing.T) {
	negZero := math.Copysign(0, -1)
	if h := mustHasher[float64](t); h(negZero) != h(0) {
		t.Errorf("float64: -0 and +0 hash differently")
	}
	if h := mustHasher[float32](t); h(float32(negZero)) != h(0) {
		t.Errorf("float32: -0 and +0 hash differently")
	}
	if h := mustHasher[complex128](t); h(complex(negZero, negZero)) != h(0) {
		t.Errorf("complex128: -0 and +0 hash differently")
	}
	type point struct{ X, Y float64 }
	if h := mustHasher[point](t); h(point{negZero, 1}) != h(point{0, 1}) {
		t.Errorf("struct of float64: -0 and +0 hash differently")
	}
	if h := mustHasher[float64](t); h(1) == h(0) || h(-1) == h(1) {
		t.Errorf("float64: distinct keys 0, 1, -1 collide")
	}
}

// TestHasherIgnoresPaddingAndBlanks checks that two keys that are == hash
// the same even when the bytes the == operator ignores differ: padding
// between fields and blank (_) fields.
func TestHasherIgnoresPaddingAndBlanks(t *testing.T) {
	type padded struct {
		A int8
		_ int32
		B int64
	}
	a, b := padded{A: 1, B: 2}, padded{A: 1, B: 2}
	// Scribble over every byte of b that is not A or B.
	p := unsafe.Slice((*byte)(unsafe.Pointer(&b)), unsafe.Sizeof(b))
	for i := range p {
		if i != int(unsafe.Offsetof(b.A)) && (i < int(unsafe.Offsetof(b.B)) || i >= int(unsafe.Offsetof(b.B))+8) {
			p[i] = 0xff
		}
	}
	if a != b {
		t.Fatalf("test setup: keys must be ==")
	}
	if h := mustHasher[padded](t); h(a) != h(b) {
		t.Errorf("keys that are == hash differently")
	}
}

// TestKeyGroupRange checks Flink's key-group assignment
// (KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex and
// computeOperatorIndexForKeyGroup): for each parallelism, the subtasks'
// ranges are contiguous, cover [0, maxParallelism) without overlap, and
// each key group lies in the range of the subtask SubtaskOf names.
func TestKeyGroupRange(t *testing.T) {
	for maxP := 1; maxP <= 300; maxP++ {
		for p := 1; p <= maxP+2; p++ {
			next := 0
			for s := range p {
				lo, hi := state.KeyGroupRange(s, maxP, p)
				if lo != next || hi < lo {
					t.Fatalf("maxP %d, p %d: subtask %d has [%d,%d), want it to start at %d", maxP, p, s, lo, hi, next)
				}
				for kg := lo; kg < hi; kg++ {
					if got := state.SubtaskOf(kg, maxP, p); got != s {
						t.Fatalf("maxP %d, p %d: key group %d is in subtask %d's range, but SubtaskOf says %d", maxP, p, kg, s, got)
					}
				}
				// Ranges are balanced: sizes differ by at most one (while
				// p <= maxP, as Flink requires; beyond, some are empty).
				if p <= maxP && (hi-lo < maxP/p || hi-lo > maxP/p+1) {
					t.Fatalf("maxP %d, p %d: subtask %d owns %d key groups", maxP, p, s, hi-lo)
				}
				next = hi
			}
			if next != maxP {
				t.Fatalf("maxP %d, p %d: ranges end at %d, want %d", maxP, p, next, maxP)
			}
		}
	}
	for _, maxP := range []int{1 << 15, 1 << 20} {
		for _, p := range []int{1, 3, 7, 128, 1000} {
			lo, hi := state.KeyGroupRange(p-1, maxP, p)
			if hi != maxP || state.SubtaskOf(lo, maxP, p) != p-1 || state.SubtaskOf(maxP-1, maxP, p) != p-1 {
				t.Errorf("maxP %d, p %d: last subtask owns [%d,%d)", maxP, p, lo, hi)
			}
		}
	}
}

// TestKeyGroupBounds checks that KeyGroup maps every hash, the extremes
// included, into [0, maxParallelism).
func TestKeyGroupBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, maxP := range []int{1, 2, 3, 128, 1000, 1 << 15} {
		for _, h := range []uint64{0, 1, math.MaxUint64, math.MaxUint64 >> 1, 1 << 63, rng.Uint64(), rng.Uint64()} {
			if kg := state.KeyGroup(h, maxP); kg < 0 || kg >= maxP {
				t.Errorf("KeyGroup(%#x, %d) = %d, out of range", h, maxP, kg)
			}
		}
	}
}

// TestKeyGroupDistribution checks that 10,000 sequential int keys, the
// kind of key a generator produces, spread evenly over 128 key groups: none
// is empty, none holds less than half or more than twice its share, and the
// chi-squared statistic (127 degrees of freedom, mean 127) stays below 200
// (p < 0.0002 for a fair spread).
func TestKeyGroupDistribution(t *testing.T) {
	const n, maxP = 10000, 128
	h := mustHasher[int](t)
	var count [maxP]int
	for k := range n {
		count[state.KeyGroup(h(k), maxP)]++
	}
	mean := float64(n) / maxP
	chi2 := 0.0
	for kg, c := range count {
		if float64(c) < mean/2 || float64(c) > 2*mean {
			t.Errorf("key group %d holds %d keys, want about %.0f", kg, c, mean)
		}
		chi2 += (float64(c) - mean) * (float64(c) - mean) / mean
	}
	t.Logf("chi-squared %.1f", chi2)
	if chi2 > 200 {
		t.Errorf("chi-squared %.1f over %d key groups: the spread is uneven", chi2, maxP)
	}
}

// TestHasherAllocs checks that hashing a key allocates nothing, for the
// shapes of key a keyed exchange hashes per record.
func TestHasherAllocs(t *testing.T) {
	hs, hd, hi := mustHasher[string](t), mustHasher[symbolDay](t), mustHasher[int64](t)
	keys := []string{"AAPL", "a key longer than sixteen bytes"}
	var sink uint64
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"string", func() { sink += hs(keys[sink&1]) }},
		{"struct", func() { sink += hd(symbolDay{keys[sink&1], int(sink)}) }},
		{"int64", func() { sink += hi(int64(sink)) }},
	} {
		if allocs := testing.AllocsPerRun(1000, c.f); allocs != 0 {
			t.Errorf("%s: %v allocations per hash, want 0", c.name, allocs)
		}
	}
}

func mustHasher[K comparable](t *testing.T) state.Hasher[K] {
	t.Helper()
	h, err := state.NewHasher[K]()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
