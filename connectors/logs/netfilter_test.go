package logs

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const nfMAC = "52:54:00:12:34:56:52:54:00:65:43:21:08:00"

var (
	nfA = netip.MustParseAddr("198.51.100.7")
	nfB = netip.MustParseAddr("192.0.2.10")
	nf6 = netip.MustParseAddr("2001:db8::7")
	nfC = netip.MustParseAddr("2001:db8::10")
)

// Lines as the kernel's nf_log_ipv4 and nf_log_ipv6 write them, inside the
// wrappers they reach files through. Syslog lines are read in 2024.
var netfilterLines = []struct {
	name string
	line string
	want Packet
}{
	{"ufw in rsyslog, TCP SYN",
		"Dec 10 06:55:46 fw1 kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=" + nfMAC + " SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=54321 DF PROTO=TCP SPT=51514 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 \r",
		Packet{Time: utc(2024, 12, 10, 6, 55, 46), Host: "fw1", Uptime: 12345*time.Second + 678901*time.Microsecond, Prefix: "[UFW BLOCK]",
			In: "eth0", MAC: nfMAC, Src: nfA, Dst: nfB, Len: 60, TTL: 51, ID: 54321, IPFlags: FlagDF, Proto: "TCP",
			SrcPort: 51514, DstPort: 22, Window: 64240, TCPFlags: TCPSYN, UID: -1, GID: -1}},
	{"bare ICMP echo, no prefix",
		"IN=eth0 OUT= MAC=" + nfMAC + " SRC=198.51.100.7 DST=192.0.2.10 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1 ",
		Packet{In: "eth0", MAC: nfMAC, Src: nfA, Dst: nfB, Len: 84, TTL: 64, IPFlags: FlagDF, Proto: "ICMP", ICMPType: 8, ICMPID: 7, ICMPSeq: 1, UID: -1, GID: -1}},
	{"journal, IPv6 UDP to rpcbind, prefix with a colon",
		"Dec 10 06:55:47 fw1 kernel: DROP6: IN=eth0 OUT= MAC=" + nfMAC + " SRC=2001:db8::7 DST=2001:db8::10 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=327680 PROTO=UDP SPT=5353 DPT=111 LEN=40 ",
		Packet{Time: utc(2024, 12, 10, 6, 55, 47), Host: "fw1", Prefix: "DROP6:", In: "eth0", MAC: nfMAC, Src: nf6, Dst: nfC, Len: 80, TTL: 64, FlowLabel: 327680,
			Proto: "UDP", SrcPort: 5353, DstPort: 111, UID: -1, GID: -1}},
	{"ICMP error quoting a packet",
		"[ 5.000001] REJECT IN=eth0 OUT= SRC=192.0.2.10 DST=198.51.100.7 LEN=88 TOS=0x00 PREC=0xC0 TTL=64 ID=1234 PROTO=ICMP TYPE=3 CODE=3 [SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4321 DF PROTO=UDP SPT=33434 DPT=2049 LEN=40 ] ",
		Packet{Uptime: 5*time.Second + time.Microsecond, Prefix: "REJECT", In: "eth0", Src: nfB, Dst: nfA, Len: 88, Prec: 0xc0, TTL: 64, ID: 1234,
			Proto: "ICMP", ICMPType: 3, ICMPCode: 3, UID: -1, GID: -1}},
	{"outgoing TCP with sequence numbers, options, uid and mark",
		"OUT-LOG IN= OUT=eth0 SRC=192.0.2.10 DST=198.51.100.7 LEN=52 TOS=0x10 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=22 DPT=51514 SEQ=123456 ACK=4294967295 WINDOW=502 RES=0x00 ACK PSH URGP=0 OPT (0101080A00AB) UID=0 GID=1000 MARK=0x1f ",
		Packet{Prefix: "OUT-LOG", Out: "eth0", Src: nfB, Dst: nfA, Len: 52, TOS: 0x10, TTL: 64, IPFlags: FlagDF, Proto: "TCP", SrcPort: 22, DstPort: 51514,
			Seq: 123456, Ack: 4294967295, Window: 502, TCPFlags: TCPACK | TCPPSH, Mark: 0x1f, UID: 0, GID: 1000}},
	{"bridge, fragment",
		"BR IN=br0 OUT=br0 PHYSIN=eth1 PHYSOUT=eth2 MAC=" + nfMAC + " SRC=198.51.100.7 DST=192.0.2.10 LEN=1500 TOS=0x00 PREC=0x00 TTL=64 ID=12345 CE MF FRAG:185 PROTO=UDP ",
		Packet{Prefix: "BR", In: "br0", Out: "br0", PhysIn: "eth1", PhysOut: "eth2", MAC: nfMAC, Src: nfA, Dst: nfB, Len: 1500, TTL: 64, ID: 12345,
			IPFlags: FlagCE | FlagMF, FragOffset: 185, Proto: "UDP", UID: -1, GID: -1}},
	{"RFC 5424 from a receiver, GRE",
		"<4>1 2024-12-10T06:55:46.5Z fw1 kernel - - - nft-drop IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=1 PROTO=47 ",
		Packet{Time: time.Date(2024, 12, 10, 6, 55, 46, 5e8, time.UTC), Host: "fw1", Prefix: "nft-drop", In: "eth0", Src: nfA, Dst: nfB, Len: 60, TTL: 51, ID: 1,
			Proto: "47", UID: -1, GID: -1}},
	{"dmesg -T, a prefix ending without a blank",
		"[Tue Dec 10 06:55:46 2024] LOG:IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TTL=51 PROTO=TCP SPT=1 DPT=2049 WINDOW=0 RES=0x00 RST FIN URGP=0",
		Packet{Prefix: "LOG:", In: "eth0", Src: nfA, Dst: nfB, Len: 60, TTL: 51, Proto: "TCP", SrcPort: 1, DstPort: 2049, TCPFlags: TCPRST | TCPFIN, UID: -1, GID: -1}},
	{"ulogd, no kernel tag; a prefix holding IN=",
		"Dec 10 06:55:46 fw1 LOGIN=1 IN=eth0 OUT= MAC=" + nfMAC + " SRC=198.51.100.7 DST=192.0.2.10 LEN=60 PROTO=UDP SPT=1 DPT=2 LEN=40",
		Packet{Time: utc(2024, 12, 10, 6, 55, 46), Host: "fw1", Prefix: "LOGIN=1", In: "eth0", MAC: nfMAC, Src: nfA, Dst: nfB, Len: 60, Proto: "UDP", SrcPort: 1, DstPort: 2, UID: -1, GID: -1}},
	{"ICMPv6 echo",
		"IN=eth0 OUT= SRC=2001:db8::7 DST=2001:db8::10 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=99 SEQ=3 ",
		Packet{In: "eth0", Src: nf6, Dst: nfC, Len: 104, TTL: 64, Proto: "ICMPv6", ICMPType: 128, ICMPID: 99, ICMPSeq: 3, UID: -1, GID: -1}},
}

func TestParseNetfilter(t *testing.T) {
	for _, c := range netfilterLines {
		p := NetfilterParser{Syslog: SyslogParser{Year: 2024}}
		got, err := p.Parse(c.line)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !got.Time.Equal(c.want.Time) {
			t.Errorf("%s: time %v, want %v", c.name, got.Time, c.want.Time)
		}
		got.Time, c.want.Time = time.Time{}, time.Time{}
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	if got, want := (TCPACK | TCPPSH | TCPCWR).String(), "CWR ACK PSH"; got != want {
		t.Errorf("TCPFlags.String: %q, want %q", got, want)
	}
	if got, want := (FlagDF | FlagCE).String(), "DF CE"; got != want {
		t.Errorf("IPFlags.String: %q, want %q", got, want)
	}
}

func TestParseNetfilterErrors(t *testing.T) {
	base := "IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=1 DF PROTO=TCP SPT=1 DPT=2 WINDOW=3 RES=0x00 SYN URGP=0"
	for _, c := range []struct {
		name, line, field string
		pos               int
	}{
		{"empty", "", "IN", 0},
		{"not netfilter", "Dec 10 06:55:46 fw1 kernel: eth0: link up", "IN", 28},
		{"no OUT", "IN=eth0 SRC=1.2.3.4", "IN", 0},
		{"no SRC", strings.Replace(base, "SRC=198.51.100.7 ", "", 1), "SRC", len(base) - len("SRC=198.51.100.7 ")},
		{"no DST", strings.Replace(base, "DST=192.0.2.10 ", "", 1), "DST", len(base) - len("DST=192.0.2.10 ")},
		{"no PROTO", base[:strings.Index(base, " PROTO")], "PROTO", strings.Index(base, " PROTO")},
		{"bad SRC", strings.Replace(base, "198.51.100.7", "198.51.100.700", 1), "SRC", 13},
		{"a name for SRC", strings.Replace(base, "198.51.100.7", "example.com", 1), "SRC", 13},
		{"TTL 300", strings.Replace(base, "TTL=51", "TTL=300", 1), "TTL", strings.Index(base, "TTL=")},
		{"TOS not hex", strings.Replace(base, "TOS=0x00", "TOS=0xzz", 1), "TOS", strings.Index(base, "TOS=")},
		{"DPT too big", strings.Replace(base, "DPT=2", "DPT=65536", 1), "DPT", strings.Index(base, "DPT=")},
		{"empty PROTO", strings.Replace(base, "PROTO=TCP", "PROTO=", 1), "PROTO", strings.Index(base, "PROTO=")},
		{"bad syslog date", "Dec 32 06:55:46 fw1 kernel: " + base, "time", 0},
		{"bad uptime is the prefix, then SRC cut", "[12x.5] IN=eth0 OUT= SRC=", "SRC", 21},
	} {
		_, err := (&NetfilterParser{Syslog: SyslogParser{Year: 2024}}).Parse(c.line)
		pe, ok := errors.AsType[*ParseError](err)
		if !ok {
			t.Errorf("%s: got %v, want a *ParseError", c.name, err)
			continue
		}
		if pe.Field != c.field || pe.Pos != c.pos {
			t.Errorf("%s: got %q (field %q at %d), want field %q at %d", c.name, err, pe.Field, pe.Pos, c.field, c.pos)
		}
	}
}

// Every cut of a line that loses PROTO= is an error; none panics.
func TestParseNetfilterTruncated(t *testing.T) {
	line := netfilterLines[0].line
	proto := strings.Index(line, "PROTO=T")
	for n := range len(line) {
		_, err := (&NetfilterParser{Syslog: SyslogParser{Year: 2024}}).Parse(line[:n])
		if n <= proto+len("PROTO=") && err == nil {
			t.Errorf("cut at %d: %q parsed", n, line[:n])
		}
	}
}

func TestParseNetfilterAllocs(t *testing.T) {
	p := NetfilterParser{Syslog: SyslogParser{Year: 2024}}
	for _, c := range netfilterLines {
		if n := testing.AllocsPerRun(50, func() { p.Parse(c.line) }); n != 0 {
			t.Errorf("%s: %v allocations, want 0", c.name, n)
		}
	}
}

func TestParseNetfilterHugeLine(t *testing.T) {
	prefix := strings.Repeat("P", 10<<20)
	pk, err := ParseNetfilter(prefix + " IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=UDP")
	if err != nil || len(pk.Prefix) != len(prefix) {
		t.Errorf("10 MB prefix: %d bytes, %v", len(pk.Prefix), err)
	}
	for _, junk := range []string{strings.Repeat("IN=", 4<<20), strings.Repeat("[", 10<<20), "IN= OUT= " + strings.Repeat("[", 10<<20)} {
		_, err = ParseNetfilter(junk)
		if err == nil || len(err.Error()) > 200 {
			t.Errorf("10 MB of %.5q...: error of %d bytes: %.200v", junk, len(fmt.Sprint(err)), err)
		}
	}
}
