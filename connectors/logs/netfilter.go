package logs

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// A Packet is one packet that a netfilter LOG rule (iptables -j LOG,
// ip6tables, nftables' log statement) wrote to the kernel log.
//
// Its strings are substrings of the parsed line (no copy).
type Packet struct {
	// Time and Host are those of the syslog or journal header; zero and ""
	// for a bare kernel line (dmesg).
	Time time.Time
	Host string
	// Uptime is the kernel's own timestamp, "[12345.678901]", the time
	// since boot; 0 when the line has none.
	Uptime time.Duration

	// Prefix is the rule's --log-prefix, without the blanks around it
	// ("[UFW BLOCK]", "DROP-IN:"); "" when the rule gave none.
	Prefix string

	In, Out         string // the interfaces the packet came in and would go out by; "" for none
	PhysIn, PhysOut string // a bridge's ports (br_netfilter), "" when not bridged
	MAC             string // destination MAC, source MAC and EtherType as the kernel prints them ("00:16:3e:..:08:00"); "" for none

	Src, Dst netip.Addr

	// Len is the IP packet's length as the kernel prints LEN=: the total
	// length for IPv4, the payload length plus the 40 bytes of the header
	// for IPv6.
	Len int
	// TTL is IPv4's TTL or IPv6's HOPLIMIT.
	TTL uint8
	// TOS and Prec are IPv4's type of service and precedence bits; TC and
	// FlowLabel, IPv6's traffic class and flow label.
	TOS, Prec uint8
	TC        uint8
	FlowLabel uint32
	// ID is IPv4's identification, or an IPv6 fragment's.
	ID uint32
	// IPFlags are DF, MF and CE; FragOffset is FRAG:, the fragment's
	// offset in 8-byte units.
	IPFlags    IPFlags
	FragOffset int

	// Proto is the transport protocol, as the kernel names it: "TCP",
	// "UDP", "UDPLITE", "SCTP", "ICMP", "ICMPv6", or its number for
	// another ("47").
	Proto string
	// SrcPort and DstPort are those of TCP, UDP, UDP-Lite, SCTP and DCCP;
	// 0 for other protocols.
	SrcPort, DstPort int

	// TCP: the window, the flags (SYN, ACK, ...), the urgent pointer, the
	// reserved bits, and the sequence numbers when the rule logs them
	// (--log-tcp-sequence).
	Window   int
	TCPFlags TCPFlags
	URGP     int
	Res      uint8
	Seq, Ack uint32

	// ICMP and ICMPv6: type and code (both 0 for an echo reply: look at
	// Proto), and the identifier and sequence of an echo request or reply.
	ICMPType, ICMPCode int
	ICMPID, ICMPSeq    int

	Mark uint32 // the packet's mark (MARK=0x...); 0 when not logged
	// UID and GID own the socket of a locally generated packet, when the
	// rule logs them (--log-uid); -1 when not given.
	UID, GID int
}

// IPFlags are the flags of an IP header that netfilter logs.
type IPFlags uint8

// The IP flags.
const (
	FlagDF IPFlags = 1 << iota // don't fragment
	FlagMF                     // more fragments
	FlagCE                     // congestion experienced (ECN)
)

// String lists the flags as the kernel prints them: "DF MF".
func (f IPFlags) String() string {
	return flagString(uint16(f), []string{"DF", "MF", "CE"})
}

// TCPFlags are the flags of a TCP header.
type TCPFlags uint16

// The TCP flags.
const (
	TCPFIN TCPFlags = 1 << iota
	TCPSYN
	TCPRST
	TCPPSH
	TCPACK
	TCPURG
	TCPECE
	TCPCWR
)

// String lists the flags in the kernel's order: "CWR ECE URG ACK PSH RST SYN FIN".
func (f TCPFlags) String() string {
	return flagString(uint16(f), []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}, true)
}

func flagString(f uint16, names []string, reverse ...bool) string {
	var b strings.Builder
	for i := range names {
		j := i
		if len(reverse) > 0 {
			j = len(names) - 1 - i
		}
		if f&(1<<j) != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(names[j])
		}
	}
	return b.String()
}

// A NetfilterParser reads netfilter LOG lines, with a SyslogParser for the
// syslog headers (and so its choice of year for BSD timestamps). Its zero
// value works; it is not safe for concurrent use.
type NetfilterParser struct {
	Syslog SyslogParser
}

// Parse reads one line as ParseNetfilter does, the syslog header with
// p.Syslog.
func (p *NetfilterParser) Parse(line string) (Packet, error) {
	var pk Packet
	if err := parseNetfilter(&pk, line, &p.Syslog); err != nil {
		return Packet{}, err
	}
	return pk, nil
}

// ParseNetfilter reads a packet that a netfilter LOG rule logged:
//
//	[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=54321 DF PROTO=TCP SPT=51514 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0
//	IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1
//	IN=eth0 OUT= SRC=2001:db8::7 DST=2001:db8::10 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=327680 PROTO=UDP SPT=5353 DPT=111 LEN=40
//
// bare (as dmesg prints it, with or without the kernel's "[uptime]"
// stamp), or inside a syslog line as ParseSyslog reads it (a file of
// rsyslog, "Dec 10 06:55:46 host kernel: [12345.678901] ...") or a line of
// journalctl (the same shape), or a line of ulogd without the kernel tag.
// The prefix is all before IN=. The fields are those the kernel's
// nf_log_ipv4/ipv6 write, IPv4 or IPv6, TCP (flags, --log-tcp-sequence),
// UDP, ICMP, ICMPv6 (echo identifiers), PHYSIN/PHYSOUT of a bridge, MARK,
// UID/GID; the packet quoted in brackets inside an ICMP error, TCP and IP
// options (OPT (...)) and fields it does not know are skipped. SRC, DST
// and PROTO are required.
//
// ParseNetfilter gives a BSD timestamp the year that puts it at most a
// day after the current time; a NetfilterParser chooses years as a
// SyslogParser does.
//
// A line that does not fit returns the zero Packet and a *ParseError
// naming the field and its byte offset (one of the syslog header's, with
// Format "syslog", when the header is wrong). ParseNetfilter never panics
// and never allocates (but for an IPv6 address with a zone).
func ParseNetfilter(line string) (Packet, error) {
	var pk Packet
	if err := parseNetfilter(&pk, line, nil); err != nil {
		return Packet{}, err
	}
	return pk, nil
}

func nfErr(field string, pos int, reason string) error {
	return &ParseError{Format: "netfilter", Field: field, Pos: pos, Reason: reason}
}

// looksSyslog reports whether a line begins as a syslog line does: a
// priority, a BSD timestamp, or an RFC 3339 one.
func looksSyslog(s string) bool {
	switch {
	case len(s) == 0:
		return false
	case s[0] == '<':
		return true
	case len(s) > 4 && s[3] == ' ' && monthOf(s[:3]) != 0:
		return true
	case len(s) > 10 && s[0] >= '0' && s[0] <= '9' && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't'):
		return true
	}
	return false
}

func parseNetfilter(pk *Packet, line string, sp *SyslogParser) error {
	s := strings.TrimRight(line, "\r\n")
	body := 0 // where the kernel's message starts
	if looksSyslog(s) {
		var m Syslog
		after, err := parseSyslogBody(&m, s, sp)
		if err != nil {
			return err
		}
		pk.Time, pk.Host = m.Time, m.Host
		body = after
		// The message, after "kernel: " or another tag; but ulogd writes
		// no tag, and then the syslog parser took the prefix and fields up
		// to the first colon of MAC= for one.
		if m.App == "kernel" || m.App != "" && !strings.ContainsAny(m.App, " =") {
			body = len(s) - len(m.Message)
		}
	}
	for body < len(s) && s[body] == ' ' {
		body++
	}
	// The kernel's stamp: [12345.678901], or dmesg -T's [Mon Dec 10 06:55:46 2024].
	if body < len(s) && s[body] == '[' {
		if c := strings.IndexByte(s[body:], ']'); c > 0 {
			if d, ok := uptime(strings.TrimLeft(s[body+1:body+c], " ")); ok {
				pk.Uptime = d
				body += c + 1
			} else if looksDmesgTime(s[body+1 : body+c]) {
				body += c + 1
			}
		}
	}
	// IN= begins the fields: the first "IN=" whose interface is followed
	// by " OUT=" (a prefix may hold "IN=" too, or end without a blank).
	in := -1
	for k := body; k < len(s); {
		j := strings.Index(s[k:], "IN=")
		if j < 0 {
			break
		}
		j += k
		blank := strings.IndexByte(s[j:], ' ')
		if blank < 0 {
			break // no blank after: no OUT= either (and no quadratic search)
		}
		if strings.HasPrefix(s[j+blank:], " OUT=") {
			in = j
			break
		}
		k = j + 3
	}
	if in < 0 {
		return nfErr("IN", body, "no \"IN=... OUT=\": not a netfilter LOG line: "+quote(s[body:]))
	}
	pk.Prefix = strings.Trim(s[body:in], " ")
	pk.UID, pk.GID = -1, -1
	var haveSrc, haveDst, haveProto bool
	i := in
	for i < len(s) {
		if s[i] == ' ' {
			i++
			continue
		}
		// Skip the packet an ICMP error quotes, [SRC=... ], and its nesting.
		if s[i] == '[' {
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '[' {
					depth++
				} else if s[i] == ']' {
					if depth--; depth == 0 {
						i++
						break
					}
				}
			}
			continue
		}
		// One pass finds the token's end and its '=': the tokens are short,
		// too short for IndexByte to pay for its setup, twice.
		end, eq := i, -1
		for end < len(s) && s[end] != ' ' {
			if s[end] == '=' && eq < 0 {
				eq = end - i
			}
			end++
		}
		tok := s[i:end]
		pos := i
		i = end
		if eq < 0 {
			switch tok {
			case "DF":
				pk.IPFlags |= FlagDF
			case "MF":
				pk.IPFlags |= FlagMF
			case "CE":
				pk.IPFlags |= FlagCE
			case "CWR":
				pk.TCPFlags |= TCPCWR
			case "ECE":
				pk.TCPFlags |= TCPECE
			case "URG":
				pk.TCPFlags |= TCPURG
			case "ACK":
				pk.TCPFlags |= TCPACK
			case "PSH":
				pk.TCPFlags |= TCPPSH
			case "RST":
				pk.TCPFlags |= TCPRST
			case "SYN":
				pk.TCPFlags |= TCPSYN
			case "FIN":
				pk.TCPFlags |= TCPFIN
			case "OPT":
				// OPT (0204...): skip the options in parentheses.
				if i+1 < len(s) && s[i] == ' ' && s[i+1] == '(' {
					if c := strings.IndexByte(s[i:], ')'); c >= 0 {
						i += c + 1
					} else {
						i = len(s)
					}
				}
			default:
				if v, ok := strings.CutPrefix(tok, "FRAG:"); ok {
					n, ok := digits(v)
					if !ok {
						return nfErr("FRAG", pos, "want a fragment offset, got "+quote(tok))
					}
					pk.FragOffset = n
				}
				// Other words (INCOMPLETE, ...) are skipped.
			}
			continue
		}
		key, v := tok[:eq], tok[eq+1:]
		var err error
		switch key {
		case "IN":
			pk.In = v
		case "OUT":
			pk.Out = v
		case "PHYSIN":
			pk.PhysIn = v
		case "PHYSOUT":
			pk.PhysOut = v
		case "MAC":
			pk.MAC = v
		case "SRC", "DST":
			a, perr := parseIP(v)
			if !perr {
				return nfErr(key, pos, "want an IP address, got "+quote(v))
			}
			if key == "SRC" {
				pk.Src, haveSrc = a, true
			} else {
				pk.Dst, haveDst = a, true
			}
		case "LEN":
			if !haveProto { // after PROTO=UDP, LEN= is the datagram's
				pk.Len, err = nfInt(key, v, pos, 1<<20)
			}
		case "TOS":
			pk.TOS, err = nfHex8(key, v, pos)
		case "PREC":
			pk.Prec, err = nfHex8(key, v, pos)
		case "TTL", "HOPLIMIT":
			var n int
			n, err = nfInt(key, v, pos, 255)
			pk.TTL = uint8(n)
		case "TC":
			var n int
			n, err = nfInt(key, v, pos, 255)
			pk.TC = uint8(n)
		case "FLOWLBL":
			var n int
			n, err = nfInt(key, v, pos, 1<<20-1)
			pk.FlowLabel = uint32(n)
		case "ID":
			var n int
			if haveProto { // ICMP's echo identifier
				pk.ICMPID, err = nfInt(key, v, pos, 65535)
			} else {
				n, err = nfInt(key, v, pos, 1<<32-1)
				pk.ID = uint32(n)
			}
		case "PROTO":
			if v == "" {
				return nfErr(key, pos, "empty")
			}
			pk.Proto, haveProto = v, true
		case "SPT":
			pk.SrcPort, err = nfInt(key, v, pos, 65535)
		case "DPT":
			pk.DstPort, err = nfInt(key, v, pos, 65535)
		case "WINDOW":
			pk.Window, err = nfInt(key, v, pos, 65535)
		case "RES":
			pk.Res, err = nfHex8(key, v, pos)
		case "URGP":
			pk.URGP, err = nfInt(key, v, pos, 65535)
		case "SEQ":
			var n int
			n, err = nfInt(key, v, pos, 1<<32-1)
			if pk.Proto == "TCP" {
				pk.Seq = uint32(n)
			} else {
				pk.ICMPSeq = n
			}
		case "ACK":
			var n int
			n, err = nfInt(key, v, pos, 1<<32-1)
			pk.Ack = uint32(n)
		case "TYPE":
			pk.ICMPType, err = nfInt(key, v, pos, 255)
		case "CODE":
			pk.ICMPCode, err = nfInt(key, v, pos, 255)
		case "MARK":
			var n uint64
			n, err = nfHex(key, v, pos, 1<<32-1)
			pk.Mark = uint32(n)
		case "UID":
			pk.UID, err = nfInt(key, v, pos, 1<<32-1)
		case "GID":
			pk.GID, err = nfInt(key, v, pos, 1<<32-1)
		}
		if err != nil {
			return err
		}
	}
	switch {
	case !haveSrc:
		return nfErr("SRC", len(s), "missing (a line cut short?)")
	case !haveDst:
		return nfErr("DST", len(s), "missing (a line cut short?)")
	case !haveProto:
		return nfErr("PROTO", len(s), "missing (a line cut short?)")
	}
	return nil
}

// parseIP reads an address without netip's error (which allocates).
func parseIP(s string) (netip.Addr, bool) {
	if ipShape(s) == 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

func nfInt(key, v string, pos, max int) (int, error) {
	if len(v) > 10 {
		return 0, nfErr(key, pos, "want a number, got "+quote(v))
	}
	n, ok := digits(v)
	if len(v) == 10 { // digits reads 9 at most
		a, ok1 := digits(v[:9])
		b, ok2 := digits(v[9:])
		n, ok = a*10+b, ok1 && ok2
	}
	if !ok || n > max {
		return 0, nfErr(key, pos, "want a number from 0 to "+strconv.Itoa(max)+", got "+quote(v))
	}
	return n, nil
}

func nfHex8(key, v string, pos int) (uint8, error) {
	n, err := nfHex(key, v, pos, 255)
	return uint8(n), err
}

// nfHex reads 0x-prefixed hexadecimal.
func nfHex(key, v string, pos int, max uint64) (uint64, error) {
	h, ok := strings.CutPrefix(v, "0x")
	if !ok || h == "" || len(h) > 16 {
		return 0, nfErr(key, pos, "want 0x and hex digits, got "+quote(v))
	}
	var n uint64
	for i := 0; i < len(h); i++ {
		d, ok := unhex(h[i])
		if !ok {
			return 0, nfErr(key, pos, "want 0x and hex digits, got "+quote(v))
		}
		n = n<<4 | uint64(d)
	}
	if n > max {
		return 0, nfErr(key, pos, "want at most "+strconv.FormatUint(max, 10)+", got "+quote(v))
	}
	return n, nil
}

// uptime reads the kernel's "12345.678901" (seconds since boot).
func uptime(s string) (time.Duration, bool) {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(sec) == 0 || len(sec) > 9 || len(frac) == 0 || len(frac) > 9 {
		return 0, false
	}
	n, ok1 := digits(sec)
	f, ok2 := fraction(frac)
	if !ok1 || !ok2 {
		return 0, false
	}
	return time.Duration(n)*time.Second + time.Duration(f), true
}

// looksDmesgTime reports whether s is dmesg -T's "Mon Dec 10 06:55:46 2024".
func looksDmesgTime(s string) bool {
	return len(s) == 24 && s[3] == ' ' && monthOf(s[4:7]) != 0 && s[13] == ':' && s[16] == ':'
}
