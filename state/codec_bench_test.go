package state_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/braidstream/braid/state"
)

// The codec benchmarks measure what a checkpoint pays per key and value,
// next to a hand-written encoder of the same bytes (the floor). Run:
//
//	go test -run '^$' -bench BenchmarkCodec -count 10 ./state/ | tee new.txt
//	benchstat new.txt
//
// Append writes into a reused buffer, as a checkpoint writer does;
// Decode reads from one encoding.

var benchTrade = trade{Symbol: "AAPL", Price: 187.25, Qty: 300, Buy: true}

var benchBook = book{Name: "NASDAQ", Trades: []trade{benchTrade, benchTrade, benchTrade, benchTrade}}

// series is a struct with a slice of numbers, encoded in bulk.
type series struct {
	Key    string
	Start  int64
	Values []float64
}

var benchSeries = series{Key: "cpu.load", Start: 1700000000, Values: make([]float64, 32)}

func handTrade(dst []byte, t trade) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(t.Symbol)))
	dst = append(dst, t.Symbol...)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(t.Price))
	dst = binary.AppendVarint(dst, t.Qty)
	if t.Buy {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func handBook(dst []byte, b book) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b.Name)))
	dst = append(dst, b.Name...)
	dst = binary.AppendUvarint(dst, uint64(len(b.Trades))+1)
	for _, t := range b.Trades {
		dst = handTrade(dst, t)
	}
	return dst
}

func handSeries(dst []byte, s series) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s.Key)))
	dst = append(dst, s.Key...)
	dst = binary.AppendVarint(dst, s.Start)
	dst = binary.AppendUvarint(dst, uint64(len(s.Values))+1)
	for _, f := range s.Values {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	}
	return dst
}

func benchCodec[T any](b *testing.B, c state.Codec[T], v T, hand func([]byte, T) []byte) {
	enc := c.Append(nil, v)
	if hand != nil && string(hand(nil, v)) != string(enc) {
		b.Fatalf("the hand-written encoder disagrees: %x, codec %x", hand(nil, v), enc)
	}
	buf := make([]byte, 0, 4*len(enc))
	b.Run("op=append", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			buf = c.Append(buf[:0], v)
		}
	})
	if hand != nil {
		b.Run("op=append/hand", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				buf = hand(buf[:0], v)
			}
		})
	}
	b.Run("op=decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, _, err := c.Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCodec(b *testing.B) {
	b.Run("type=int64-key", func(b *testing.B) {
		benchCodec(b, codecMust(state.KeyCodecFor[int64]()), 1234567, binary.AppendVarint)
	})
	b.Run("type=string-key", func(b *testing.B) {
		benchCodec(b, codecMust(state.KeyCodecFor[string]()), "GOOG.2024-06-01", func(dst []byte, s string) []byte {
			return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
		})
	})
	b.Run("type=struct-key", func(b *testing.B) {
		benchCodec(b, codecMust(state.KeyCodecFor[symbolDay]()), symbolDay{"AAPL", 19876}, func(dst []byte, k symbolDay) []byte {
			dst = append(binary.AppendUvarint(dst, uint64(len(k.Symbol))), k.Symbol...)
			return binary.AppendVarint(dst, int64(k.Day))
		})
	})
	b.Run("type=struct4", func(b *testing.B) {
		benchCodec(b, codecMust(state.CodecFor[trade]()), benchTrade, handTrade)
	})
	b.Run("type=struct-slice-of-structs", func(b *testing.B) {
		benchCodec(b, codecMust(state.CodecFor[book]()), benchBook, handBook)
	})
	b.Run("type=struct-slice-of-floats", func(b *testing.B) {
		benchCodec(b, codecMust(state.CodecFor[series]()), benchSeries, handSeries)
	})
	b.Run("type=map8", func(b *testing.B) {
		m := map[string]int64{}
		for i, s := range []string{"a", "bb", "ccc", "d", "ee", "fff", "g", "hh"} {
			m[s] = int64(i * 1000)
		}
		benchCodec(b, codecMust(state.CodecFor[map[string]int64]()), m, nil)
	})
}
