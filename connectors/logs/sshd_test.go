package logs

import (
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	ip4 = netip.MustParseAddr("203.0.113.7")
	ip6 = netip.MustParseAddr("2001:db8::7")
)

// Messages as OpenSSH 5 to 9 and pam_unix write them (the older ones are
// those of Loghub's OpenSSH_2k.log).
var sshdMessages = []struct {
	msg  string
	want SSHD
}{
	{"Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
		SSHD{Kind: SSHDAccepted, User: "fztu", Method: "password", Host: "119.137.62.142", Addr: netip.MustParseAddr("119.137.62.142"), Port: 49116, Count: 1}},
	{"Accepted publickey for alice from 2001:db8::7 port 51234 ssh2: ED25519 SHA256:mU7bJ6j5d0qfK1c6pYf6Bk8jvGQ",
		SSHD{Kind: SSHDAccepted, User: "alice", Method: "publickey", Host: "2001:db8::7", Addr: ip6, Port: 51234, Count: 1, Reason: "ED25519 SHA256:mU7bJ6j5d0qfK1c6pYf6Bk8jvGQ"}},
	{"Accepted keyboard-interactive/pam for bob from 203.0.113.7 port 2222 ssh2",
		SSHD{Kind: SSHDAccepted, User: "bob", Method: "keyboard-interactive/pam", Host: "203.0.113.7", Addr: ip4, Port: 2222, Count: 1}},
	{"Failed password for root from 203.0.113.7 port 50719 ssh2",
		SSHD{Kind: SSHDFailed, User: "root", Method: "password", Host: "203.0.113.7", Addr: ip4, Port: 50719, Count: 1}},
	{"Failed password for invalid user  0101 from 203.0.113.7 port 36279 ssh2",
		SSHD{Kind: SSHDFailed, User: " 0101", InvalidUser: true, Method: "password", Host: "203.0.113.7", Addr: ip4, Port: 36279, Count: 1}},
	{"Failed none for invalid user 0 from 203.0.113.7 port 51889 ssh2",
		SSHD{Kind: SSHDFailed, User: "0", InvalidUser: true, Method: "none", Host: "203.0.113.7", Addr: ip4, Port: 51889, Count: 1}},
	{"Failed publickey for git from gw.example.net port 4000 ssh2: RSA SHA256:abc",
		SSHD{Kind: SSHDFailed, User: "git", Method: "publickey", Host: "gw.example.net", Port: 4000, Count: 1, Reason: "RSA SHA256:abc"}},
	{"Failed password for user from from 203.0.113.7 port 22 ssh2",
		SSHD{Kind: SSHDFailed, User: "user from", Method: "password", Host: "203.0.113.7", Addr: ip4, Port: 22, Count: 1}},
	{"message repeated 5 times: [ Failed password for root from 203.0.113.7 port 50719 ssh2]",
		SSHD{Kind: SSHDFailed, User: "root", Method: "password", Host: "203.0.113.7", Addr: ip4, Port: 50719, Count: 5}},
	{"Invalid user webmaster from 203.0.113.7",
		SSHD{Kind: SSHDInvalidUser, User: "webmaster", InvalidUser: true, Host: "203.0.113.7", Addr: ip4, Count: 1}},
	{"Invalid user  from 2001:db8::7 port 4242",
		SSHD{Kind: SSHDInvalidUser, User: "", InvalidUser: true, Host: "2001:db8::7", Addr: ip6, Port: 4242, Count: 1}},
	{"Connection closed by 203.0.113.7 [preauth]",
		SSHD{Kind: SSHDConnectionClosed, Host: "203.0.113.7", Addr: ip4, Preauth: true, Count: 1}},
	{"Connection closed by invalid user admin 203.0.113.7 port 55555 [preauth]",
		SSHD{Kind: SSHDConnectionClosed, User: "admin", InvalidUser: true, Host: "203.0.113.7", Addr: ip4, Port: 55555, Preauth: true, Count: 1}},
	{"Connection closed by authenticating user root 2001:db8::7 port 55555 [preauth]",
		SSHD{Kind: SSHDConnectionClosed, User: "root", Host: "2001:db8::7", Addr: ip6, Port: 55555, Preauth: true, Count: 1}},
	{"Connection reset by 203.0.113.7 port 55555 [preauth]",
		SSHD{Kind: SSHDConnectionClosed, Host: "203.0.113.7", Addr: ip4, Port: 55555, Preauth: true, Count: 1, Reason: "reset"}},
	{"Received disconnect from 203.0.113.7: 11: Bye Bye [preauth]",
		SSHD{Kind: SSHDDisconnect, Host: "203.0.113.7", Addr: ip4, Preauth: true, Count: 1, Code: 11, Reason: "Bye Bye"}},
	{"error: Received disconnect from 203.0.113.7: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
		SSHD{Kind: SSHDDisconnect, Host: "203.0.113.7", Addr: ip4, Preauth: true, Count: 1, Code: 3, Reason: "com.jcraft.jsch.JSchException: Auth fail"}},
	{"Received disconnect from 2001:db8::7: 11: disconnected by user",
		SSHD{Kind: SSHDDisconnect, Host: "2001:db8::7", Addr: ip6, Count: 1, Code: 11, Reason: "disconnected by user"}},
	{"Received disconnect from 203.0.113.7 port 41414:11: Bye Bye [preauth]",
		SSHD{Kind: SSHDDisconnect, Host: "203.0.113.7", Addr: ip4, Port: 41414, Preauth: true, Count: 1, Code: 11, Reason: "Bye Bye"}},
	{"Received disconnect from 2001:db8::7 port 41414:11: disconnected by user",
		SSHD{Kind: SSHDDisconnect, Host: "2001:db8::7", Addr: ip6, Port: 41414, Count: 1, Code: 11, Reason: "disconnected by user"}},
	{"Disconnected from user alice 203.0.113.7 port 41414",
		SSHD{Kind: SSHDDisconnect, User: "alice", Host: "203.0.113.7", Addr: ip4, Port: 41414, Count: 1}},
	{"Disconnected from invalid user test 203.0.113.7 port 41414 [preauth]",
		SSHD{Kind: SSHDDisconnect, User: "test", InvalidUser: true, Host: "203.0.113.7", Addr: ip4, Port: 41414, Preauth: true, Count: 1}},
	{"Disconnected from 203.0.113.7 port 41414 [preauth]",
		SSHD{Kind: SSHDDisconnect, Host: "203.0.113.7", Addr: ip4, Port: 41414, Preauth: true, Count: 1}},
	{"Disconnecting: Too many authentication failures for admin [preauth]",
		SSHD{Kind: SSHDTooManyAuthFailures, User: "admin", Preauth: true, Count: 1}},
	{"Disconnecting invalid user admin 203.0.113.7 port 42: Too many authentication failures [preauth]",
		SSHD{Kind: SSHDTooManyAuthFailures, User: "admin", InvalidUser: true, Host: "203.0.113.7", Addr: ip4, Port: 42, Preauth: true, Count: 1}},
	{"Disconnecting authenticating user root 203.0.113.7 port 42: Too many authentication failures [preauth]",
		SSHD{Kind: SSHDTooManyAuthFailures, User: "root", Host: "203.0.113.7", Addr: ip4, Port: 42, Preauth: true, Count: 1}},
	{"error: maximum authentication attempts exceeded for root from 203.0.113.7 port 42 ssh2 [preauth]",
		SSHD{Kind: SSHDTooManyAuthFailures, User: "root", Host: "203.0.113.7", Addr: ip4, Port: 42, Preauth: true, Count: 1}},
	{"error: maximum authentication attempts exceeded for invalid user pi from 203.0.113.7 port 42 ssh2 [preauth]",
		SSHD{Kind: SSHDTooManyAuthFailures, User: "pi", InvalidUser: true, Host: "203.0.113.7", Addr: ip4, Port: 42, Preauth: true, Count: 1}},
	{"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
		SSHD{Kind: SSHDPAMAuthFailure, User: "root", Host: "203.0.113.7", Addr: ip4, Count: 1}},
	{"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=ec2-52-80-34-196.cn-north-1.compute.amazonaws.com.cn ",
		SSHD{Kind: SSHDPAMAuthFailure, Host: "ec2-52-80-34-196.cn-north-1.compute.amazonaws.com.cn", Count: 1}},
	{"PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
		SSHD{Kind: SSHDPAMAuthFailure, User: "root", Host: "203.0.113.7", Addr: ip4, Count: 5}},
	{"PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7",
		SSHD{Kind: SSHDPAMAuthFailure, Host: "203.0.113.7", Addr: ip4, Count: 1}},
	{"Did not receive identification string from 203.0.113.7",
		SSHD{Kind: SSHDNoIdentification, Host: "203.0.113.7", Addr: ip4, Count: 1}},
	{"Did not receive identification string from 203.0.113.7 port 6000",
		SSHD{Kind: SSHDNoIdentification, Host: "203.0.113.7", Addr: ip4, Port: 6000, Count: 1}},
	{"reverse mapping checking getaddrinfo for ns.example.com [203.0.113.7] failed - POSSIBLE BREAK-IN ATTEMPT!",
		SSHD{Kind: SSHDReverseMappingFailed, Host: "ns.example.com", Addr: ip4, Count: 1}},
	{"Address 203.0.113.7 maps to ns.example.com, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!",
		SSHD{Kind: SSHDReverseMappingFailed, Host: "ns.example.com", Addr: ip4, Count: 1}},
	{"pam_unix(sshd:session): session opened for user fztu by (uid=0)",
		SSHD{Kind: SSHDSessionOpened, User: "fztu", Count: 1}},
	{"pam_unix(sshd:session): session opened for user alice(uid=1000) by alice(uid=0)",
		SSHD{Kind: SSHDSessionOpened, User: "alice", Count: 1}},
	{"pam_unix(sshd:session): session closed for user fztu",
		SSHD{Kind: SSHDSessionClosed, User: "fztu", Count: 1}},
	{"Connection from 203.0.113.7 port 5555 on 10.0.0.1 port 22 rdomain \"\"",
		SSHD{Kind: SSHDConnection, Host: "203.0.113.7", Addr: ip4, Port: 5555, Count: 1}},
	{"authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root",
		SSHD{Kind: SSHDPAMAuthFailure, User: "root", Host: "220-135-151-1.hinet-ip.hinet.net", Count: 1}},
	{"session opened for user cyrus by (uid=0)", SSHD{Kind: SSHDSessionOpened, User: "cyrus", Count: 1}},
	{"Invalid user \xff\xfe from 203.0.113.7", SSHD{Kind: SSHDInvalidUser, User: "\xff\xfe", InvalidUser: true, Host: "203.0.113.7", Addr: ip4, Count: 1}},
	// Other messages: no kind, no error.
	{"input_userauth_request: invalid user webmaster [preauth]", SSHD{}},
	{"pam_unix(sshd:auth): check pass; user unknown", SSHD{}},
	{"PAM service(sshd) ignoring max retries; 6 > 3", SSHD{}},
	{"fatal: Write failed: Connection reset by peer [preauth]", SSHD{}},
	{"Server listening on 0.0.0.0 port 22.", SSHD{}},
	{"Received signal 15; terminating.", SSHD{}},
	{"message repeated 2 times: [ Server listening on :: port 22.]", SSHD{}},
	{"message repeated 2 times: [ message repeated 3 times: [ Failed password for root from 203.0.113.7 port 1 ssh2]]", SSHD{}},
	{"", SSHD{}},
	{"[preauth]", SSHD{}},
}

func TestParseSSHD(t *testing.T) {
	for _, c := range sshdMessages {
		got, err := ParseSSHD(c.msg)
		if err != nil {
			t.Errorf("%q: %v", c.msg, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q:\n got %+v\nwant %+v", c.msg, got, c.want)
		}
	}
}

func TestParseSSHDErrors(t *testing.T) {
	for _, c := range []struct {
		msg, field string
		pos        int
	}{
		{"Failed password for root from", "host", 29},
		{"Failed password for root from 1.2.3.4", "port", 37},
		{"Failed password for root from 1.2.3.4 port", "port", 42},
		{"Failed password for root from 1.2.3.4 port x ssh2", "port", 43},
		{"Failed password for root from 1.2.3.4 port 65536 ssh2", "port", 43},
		{"Failed password", "method", 7},
		{"Accepted password for alice from 1::2::3 port 22 ssh2", "host", 33},
		{"Invalid user bob", "host", 16},
		{"Invalid user bob from 1.2.3.4 port 0", "port", 35},
		{"Connection closed by invalid user x", "host", 35},
		{"Received disconnect from 1.2.3.4", "code", 32},
		{"Received disconnect from 1.2.3.4: x: Bye", "code", 34},
		{"message repeated x times: [ Failed password]", "message", 0},
		{"message repeated 3 times: [ Failed password for root from 1.2.3.4 port x ssh2]", "port", 71},
		{"error: Received disconnect from 1.2.3.4: nope", "code", 41},
		{"PAM x more authentication failures; rhost=1.2.3.4", "count", 4},
		{"pam_unix(sshd:auth): authentication failure; logname=", "rhost", 53},
		{"reverse mapping checking getaddrinfo for x failed - POSSIBLE BREAK-IN ATTEMPT!", "host", 41},
	} {
		_, err := ParseSSHD(c.msg)
		pe, ok := errors.AsType[*ParseError](err)
		if !ok {
			t.Errorf("%q: got %v, want a *ParseError", c.msg, err)
			continue
		}
		if pe.Field != c.field || pe.Pos != c.pos || pe.Format != "sshd" {
			t.Errorf("%q: got %q (field %q at %d), want field %q at %d", c.msg, err, pe.Field, pe.Pos, c.field, c.pos)
		}
	}
}

func TestParseSSHDAllocs(t *testing.T) {
	for _, c := range sshdMessages {
		if n := testing.AllocsPerRun(50, func() { ParseSSHD(c.msg) }); n != 0 {
			t.Errorf("%q: %v allocations, want 0", c.msg, n)
		}
	}
}

// sshdTemplates says what each of the 27 templates of Loghub's
// OpenSSH_2k.log (OpenSSH_2k.log_templates.csv) maps to, and which of
// its <*> are the user, the address and the port (1-based; 0: none).
var sshdTemplates = map[string]struct {
	kind             SSHDKind
	user, addr, port int
	invalid          bool
	count            int // the number of events, or -n for "the nth <*>"
}{
	"E1":  {SSHDAccepted, 1, 2, 3, false, 1},             // Accepted password for <*> from <*> port <*> ssh2
	"E2":  {SSHDConnectionClosed, 0, 1, 0, false, 1},     // Connection closed by <*> [preauth]
	"E3":  {SSHDNoIdentification, 0, 1, 0, false, 1},     // Did not receive identification string from <*>
	"E4":  {SSHDTooManyAuthFailures, -1, 0, 0, false, 1}, // Disconnecting: Too many authentication failures for admin [preauth]
	"E5":  {SSHDTooManyAuthFailures, -1, 0, 0, false, 1}, // Disconnecting: Too many authentication failures for root [preauth]
	"E6":  {SSHDDisconnect, 0, 1, 0, false, 1},           // error: Received disconnect from <*>: <*>: com.jcraft.jsch.JSchException: Auth fail [preauth]
	"E7":  {SSHDDisconnect, 0, 1, 0, false, 1},           // error: Received disconnect from <*>: <*>: No more user authentication methods available. [preauth]
	"E8":  {SSHDFailed, 1, 2, 3, true, 1},                // Failed none for invalid user <*> from <*> port <*> ssh2
	"E9":  {SSHDFailed, 1, 2, 3, false, 1},               // Failed password for <*> from <*> port <*> ssh2
	"E10": {SSHDFailed, 1, 2, 3, true, 1},                // Failed password for invalid user <*> from <*> port <*> ssh2
	"E11": {SSHDOther, 0, 0, 0, false, 0},                // fatal: Write failed: Connection reset by peer [preauth]
	"E12": {SSHDOther, 0, 0, 0, false, 0},                // input_userauth_request: invalid user <*> [preauth]
	"E13": {SSHDInvalidUser, 1, 2, 0, true, 1},           // Invalid user <*> from <*>
	"E14": {SSHDFailed, -2, 2, 3, false, -1},             // message repeated <*> times: [ Failed password for root from <*> port <*>]
	"E15": {SSHDPAMAuthFailure, 0, 4, 0, false, -1},      // PAM <*> more authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>
	"E16": {SSHDPAMAuthFailure, 0, 4, 0, false, -1},      // PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>
	"E17": {SSHDPAMAuthFailure, -2, 4, 0, false, -1},     // PAM <*> more authentication failures; ... rhost=<*>  user=root
	"E18": {SSHDOther, 0, 0, 0, false, 0},                // PAM service(sshd) ignoring max retries; <*> > <*>
	"E19": {SSHDPAMAuthFailure, 0, 3, 0, false, 1},       // pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>
	"E20": {SSHDPAMAuthFailure, 4, 3, 0, false, 1},       // ... rhost=<*> user=<*>
	"E21": {SSHDOther, 0, 0, 0, false, 0},                // pam_unix(sshd:auth): check pass; user unknown
	"E22": {SSHDSessionClosed, 1, 0, 0, false, 1},        // pam_unix(sshd:session): session closed for user <*>
	"E23": {SSHDSessionOpened, 1, 0, 0, false, 1},        // pam_unix(sshd:session): session opened for user <*> by (uid=<*>)
	"E24": {SSHDDisconnect, 0, 1, 0, false, 1},           // Received disconnect from <*>: <*>: Bye Bye [preauth]
	"E25": {SSHDDisconnect, 0, 1, 0, false, 1},           // Received disconnect from <*>: <*>: Closed due to user request. [preauth]
	"E26": {SSHDDisconnect, 0, 1, 0, false, 1},           // Received disconnect from <*>: <*>: disconnected by user
	"E27": {SSHDReverseMappingFailed, 0, 2, 0, false, 1}, // reverse mapping checking getaddrinfo for <*> [<*>] failed - POSSIBLE BREAK-IN ATTEMPT!
}

// Every sshd message of Loghub's OpenSSH_2k.log gives the kind its
// template (EventId) maps to, and the user, address and port that the
// template's <*> take in the dataset's content, read by a regular
// expression made from the template: an oracle that knows nothing of
// ParseSSHD.
func TestLoghubSSHD(t *testing.T) {
	lines, rows := loghub(t, "OpenSSH_2k.log")
	tmpl := map[string]*regexp.Regexp{}
	fixed := map[string][]string{"E4": {"admin"}, "E5": {"root"}, "E14": {"", "root"}, "E17": {"", "root"}}
	p := SyslogParser{Year: 2015}
	kinds := map[SSHDKind]int{}
	for i, line := range lines {
		r := rows[i]
		m, err := p.Parse(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		e, err := ParseSSHD(m.Message)
		if err != nil {
			t.Errorf("line %d: %q: %v", i+1, m.Message, err)
			continue
		}
		kinds[e.Kind]++
		id := r["EventId"]
		want, ok := sshdTemplates[id]
		if !ok {
			t.Fatalf("line %d: template %s has no mapping", i+1, id)
		}
		re := tmpl[id]
		if re == nil {
			re = regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(r["EventTemplate"]), `<\*>`, "(.*)") + "$")
			tmpl[id] = re
		}
		sub := re.FindStringSubmatch(r["Content"])
		if sub == nil {
			t.Fatalf("line %d: the content %q does not fit its template %q", i+1, r["Content"], r["EventTemplate"])
		}
		field := func(n int) string {
			switch {
			case n > 0:
				return sub[n]
			case n < 0:
				return fixed[id][-n-1]
			}
			return ""
		}
		// A template's <*> may take more than the value: the blank before
		// "user=" after a host, the "ssh2" after a port. A user is taken
		// as it is (" 0101" is a user name an attacker tried).
		wantUser, wantHost := field(want.user), strings.TrimSpace(field(want.addr))
		wantPort, _ := strconv.Atoi(strings.TrimSuffix(field(want.port), " ssh2"))
		wantCount := want.count
		if wantCount < 0 {
			wantCount, _ = strconv.Atoi(field(-wantCount))
		}
		var wantAddr netip.Addr
		if a, err := netip.ParseAddr(wantHost); err == nil {
			wantAddr = a
		}
		if id == "E27" { // the name is the first <*>, the address the second
			wantHost = sub[1]
		}
		if e.Kind != want.kind || e.User != wantUser || e.Host != wantHost || e.Addr != wantAddr || e.Port != wantPort ||
			e.InvalidUser != want.invalid || e.Count != wantCount {
			t.Errorf("line %d (%s): %q:\n got %+v\nwant kind %v, user %q, host %q, addr %v, port %d, invalid %v, count %d",
				i+1, id, m.Message, e, want.kind, wantUser, wantHost, wantAddr, wantPort, want.invalid, wantCount)
		}
		if e.Preauth != strings.HasSuffix(r["Content"], "[preauth]") && e.Kind != SSHDOther {
			t.Errorf("line %d: Preauth %v for %q", i+1, e.Preauth, r["Content"])
		}
	}
	t.Logf("OpenSSH_2k.log: %d sshd messages, none refused; by kind: %v", len(lines), kinds)
}

// The sshd(pam_unix) messages of Loghub's Linux_2k.log, which an older
// Red Hat logged without pam_unix's prefix, give the kinds of their
// templates, and the user and host the templates' <*> take.
func TestLoghubLinuxSSHD(t *testing.T) {
	lines, rows := loghub(t, "Linux_2k.log")
	kinds := map[string]SSHDKind{"E16": SSHDPAMAuthFailure, "E17": SSHDPAMAuthFailure, "E18": SSHDPAMAuthFailure, "E19": SSHDPAMAuthFailure,
		"E27": SSHDOther, "E101": SSHDSessionClosed, "E102": SSHDSessionOpened}
	p := SyslogParser{Year: 2005}
	n := 0
	for i, line := range lines {
		m, err := p.Parse(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if m.App != "sshd(pam_unix)" {
			continue
		}
		n++
		r := rows[i]
		e, err := ParseSSHD(m.Message)
		if err != nil {
			t.Errorf("line %d: %q: %v", i+1, m.Message, err)
			continue
		}
		want, ok := kinds[r["EventId"]]
		if !ok {
			t.Fatalf("line %d: template %s has no mapping", i+1, r["EventId"])
		}
		var wantUser, wantHost string
		c := r["Content"]
		switch want {
		case SSHDPAMAuthFailure:
			_, h, _ := strings.Cut(c, "rhost=")
			wantHost, wantUser, _ = strings.Cut(h, "  user=")
		case SSHDSessionOpened:
			wantUser, _, _ = strings.Cut(strings.TrimPrefix(c, "session opened for user "), " by ")
		case SSHDSessionClosed:
			wantUser = strings.TrimPrefix(c, "session closed for user ")
		}
		if e.Kind != want || e.User != wantUser || e.Host != wantHost {
			t.Errorf("line %d (%s): %q: got %+v, want kind %v, user %q, host %q", i+1, r["EventId"], m.Message, e, want, wantUser, wantHost)
		}
	}
	t.Logf("Linux_2k.log: %d sshd(pam_unix) messages, none refused", n)
}

func TestParseSSHDHugeLine(t *testing.T) {
	user := strings.Repeat("u", 10<<20)
	e, err := ParseSSHD("Failed password for " + user + " from 203.0.113.7 port 22 ssh2")
	if err != nil || e.User != user || e.Port != 22 {
		t.Errorf("10 MB user: %d bytes, port %d, %v", len(e.User), e.Port, err)
	}
	for _, junk := range []string{
		"Failed password for " + strings.Repeat(" from ", 2<<20),
		strings.Repeat("message repeated 1 times: [ ", 400000) + strings.Repeat("]", 400000),
		"Received disconnect from " + strings.Repeat(" port ", 2<<20),
	} {
		_, err := ParseSSHD(junk)
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("%.30q...: error of %d bytes: %.200v", junk, len(err.Error()), err)
		}
	}
}
