package listen_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/braidstream/braid/connectors/listen"
	"github.com/braidstream/braid/internal/testseed"
)

// frameCases: input, and what the framer must find in it, however the
// input is cut into reads.
var frameCases = []struct {
	name   string
	syslog bool
	limit  int
	in     string
	want   []string
}{
	{"lines", false, 10, "a\nb\r\nc", []string{"msg a", "msg b", "cut c (cut short after 1 bytes, before its newline)"}},
	{"empty input", false, 10, "", nil},
	{"empty lines are lines", false, 10, "\n\r\n", []string{"msg ", "msg "}},
	{"at the limit", false, 10, "0123456789\n", []string{"msg 0123456789"}},
	{"at the limit with CRLF", false, 10, "0123456789\r\n", []string{"msg 0123456789"}},
	{"one over", false, 10, "0123456789a\nok\n", []string{"long 11 0123456789a", "msg ok"}},
	{"one over with CRLF", false, 10, "0123456789a\r\nok\n", []string{"long 11 0123456789a", "msg ok"}},
	{"far over: the prefix only", false, 10, strings.Repeat("x", 300) + "\nok\n",
		[]string{"long 300 " + strings.Repeat("x", listen.PrefixBytes), "msg ok"}},
	{"the prefix ends on a whole character", false, 10, strings.Repeat("x", listen.PrefixBytes-1) + "é" + strings.Repeat("y", 50) + "\n",
		[]string{"long " + strconv.Itoa(listen.PrefixBytes+51) + " " + strings.Repeat("x", listen.PrefixBytes-1)}},
	{"cut after a CR", false, 10, "abc\r", []string{"cut abc (cut short after 3 bytes, before its newline)"}},
	{"cut over the limit", false, 10, strings.Repeat("x", 20),
		[]string{"cut " + strings.Repeat("x", 20) + " (at least 20 bytes, over the limit of 10; cut short before its newline) over"}},
	{"a digit first is text in a line server", false, 10, "5 abcde\n", []string{"msg 5 abcde"}},

	{"octet counted", true, 20, "5 <1>ab", []string{"msg <1>ab"}},
	{"octet counted, then non-transparent", true, 20, "5 <1>ab<2>cd\n6 <3>efg", []string{"msg <1>ab", "msg <2>cd", "msg <3>efg"}},
	{"newlines inside a counted frame", true, 20, "10 <1>a\nb\nc\r\n<2>x\n", []string{"msg <1>a\nb\nc", "msg <2>x"}},
	{"empty frames are skipped", true, 20, "\n\r\n5 <1>ab\n\n1 \n", []string{"msg <1>ab"}},
	{"non-transparent with CRLF", true, 20, "<1>a\r\n<2>b\n", []string{"msg <1>a", "msg <2>b"}},
	{"a zero first is not a count", true, 20, "0 abc\n", []string{"msg 0 abc"}},
	{"bad count", true, 20, "5 <1>ab12x<1>\n<2>after\n", []string{"msg <1>ab", "bad 12x"}},
	{"count too long", true, 20, "12345678901 x", []string{"bad 12345678901"}},
	{"ten digits is a count", true, 20, "1234567890 x", []string{"cut x (1234567890 bytes by its octet count, over the limit of 20; cut short after 1) over"}},
	{"counted frame over the limit is skipped", true, 20, "25 " + strings.Repeat("z", 25) + "3 abc",
		[]string{"long 25 " + strings.Repeat("z", 25), "msg abc"}},
	{"counted frame cut", true, 20, "5 <1>a", []string{"cut <1>a (cut short after 4 of the 5 bytes its octet count gave)"}},
	{"cut in the count", true, 20, "<1>ok\n12", []string{"msg <1>ok", `cut 12 (cut short in its octet count "12")`}},
	{"non-transparent over the limit", true, 20, "<1>" + strings.Repeat("w", 30) + "\n<2>b\n",
		[]string{"long 33 <1>" + strings.Repeat("w", 30), "msg <2>b"}},
	{"RFC 3164 and 5424 lines", true, 2048,
		"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n" +
			"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] An application event\n",
		[]string{"msg <34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			"msg <165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] An application event"}},
}

// The framer finds the same messages however the reads cut the input:
// whole, at every single split point, byte by byte, and at random
// points.
func TestFramerAnySplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	for _, c := range frameCases {
		in := []byte(c.in)
		check := func(how string, chunks [][]byte) {
			t.Helper()
			if got := listen.Frame(c.syslog, c.limit, chunks); !slices.Equal(got, c.want) {
				t.Fatalf("%s, %s:\n got %q\nwant %q", c.name, how, got, c.want)
			}
		}
		check("in one read", [][]byte{in})
		for i := 1; i < len(in); i++ {
			check("split at "+strconv.Itoa(i), [][]byte{in[:i], in[i:]})
		}
		var bytewise [][]byte
		for i := range in {
			bytewise = append(bytewise, in[i:i+1])
		}
		check("byte by byte", bytewise)
		for range 20 {
			var chunks [][]byte
			for p := in; len(p) > 0; {
				k := 1 + rng.IntN(len(p))
				chunks, p = append(chunks, p[:k]), p[k:]
			}
			check("at random points", chunks)
		}
	}
}
