package logs

import (
	"net/netip"
	"strconv"
	"strings"
)

// An SSHD is what one message of OpenSSH's sshd says that matters for
// security: a login accepted or failed, an unknown user tried, a
// connection dropped before authentication, too many attempts.
//
// Its strings are substrings of the parsed message (no copy).
type SSHD struct {
	Kind SSHDKind

	// User is the account named; "" when the message names none. sshd
	// writes what the client sent, spaces and all (" 0101" is a user an
	// attacker tried).
	User string
	// InvalidUser says that sshd called the user invalid: no such account.
	InvalidUser bool
	// Method is the authentication method of an accepted or failed
	// attempt: "password", "publickey", "keyboard-interactive/pam",
	// "none", ...
	Method string

	// Host is the client as the message gives it: its address, or a host
	// name (sshd with UseDNS, PAM's rhost, the name of a reverse-mapping
	// check). Addr is that address parsed, or the zero (invalid) Addr when
	// Host is a name; a reverse-mapping message gives both.
	Host string
	Addr netip.Addr
	Port int // the client's port; 0 when the message gives none

	// Preauth says the message ended in "[preauth]": it was written by the
	// unprivileged child before any user was authenticated.
	Preauth bool
	// Count is how many events the message stands for: 1, or n for
	// "PAM n more authentication failures" and for syslog's
	// "message repeated n times: [ ... ]".
	Count int
	// Code and Reason are the SSH disconnect reason code and text of a
	// "Received disconnect" (11 and "Bye Bye"); Reason is also the key of
	// an accepted public key ("RSA SHA256:..."), and "reset" for a
	// connection reset rather than closed.
	Code   int
	Reason string
}

// An SSHDKind is what an sshd message reports.
type SSHDKind uint8

const (
	// SSHDOther is any message of no kind below: "Server listening",
	// "input_userauth_request: invalid user x [preauth]" (which repeats the
	// "Invalid user" of the same connection), "PAM service(sshd) ignoring
	// max retries", "pam_unix(sshd:auth): check pass; user unknown",
	// "fatal: Write failed: ...". Its fields are all zero.
	SSHDOther SSHDKind = iota
	// SSHDAccepted: "Accepted password for fztu from 119.137.62.142 port 49116 ssh2"
	// (and publickey, with the key in Reason; keyboard-interactive/pam, ...).
	SSHDAccepted
	// SSHDFailed: "Failed password for root from 1.2.3.4 port 22 ssh2",
	// "Failed password for invalid user admin from ... ssh2" (InvalidUser),
	// "Failed none for invalid user 0 from ...", "Failed publickey for ...".
	SSHDFailed
	// SSHDInvalidUser: "Invalid user webmaster from 173.234.31.186 [port 4242]".
	SSHDInvalidUser
	// SSHDConnectionClosed: "Connection closed by 1.2.3.4 [port 22] [preauth]",
	// "Connection closed by invalid user x 1.2.3.4 port 22 [preauth]",
	// "Connection closed by authenticating user root ...", and
	// "Connection reset by ..." (Reason "reset").
	SSHDConnectionClosed
	// SSHDDisconnect: "Received disconnect from 1.2.3.4: 11: Bye Bye [preauth]"
	// (and "from 1.2.3.4 port 22:11: ..."; Code and Reason), and
	// "Disconnected from [invalid user x |authenticating user x |user x ]1.2.3.4 port 22".
	SSHDDisconnect
	// SSHDTooManyAuthFailures: "Disconnecting: Too many authentication failures for admin [preauth]",
	// "Disconnecting invalid user x 1.2.3.4 port 22: Too many authentication failures [preauth]",
	// "error: maximum authentication attempts exceeded for root from 1.2.3.4 port 22 ssh2 [preauth]".
	SSHDTooManyAuthFailures
	// SSHDPAMAuthFailure: "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root"
	// and "PAM 5 more authentication failures; ... rhost=1.2.3.4  user=root" (Count 5).
	// The user is absent when PAM did not know the account. The messages
	// of pam_unix may also come without the "pam_unix(sshd:auth): " prefix,
	// as older systems log them under the tag "sshd(pam_unix)"; so may
	// those of sessions.
	SSHDPAMAuthFailure
	// SSHDNoIdentification: "Did not receive identification string from 1.2.3.4 [port 22]":
	// a client that connected and sent nothing, as port scanners do.
	SSHDNoIdentification
	// SSHDReverseMappingFailed: "reverse mapping checking getaddrinfo for NAME [1.2.3.4] failed - POSSIBLE BREAK-IN ATTEMPT!"
	// and "Address 1.2.3.4 maps to NAME, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!".
	SSHDReverseMappingFailed
	// SSHDSessionOpened: "pam_unix(sshd:session): session opened for user fztu by (uid=0)".
	SSHDSessionOpened
	// SSHDSessionClosed: "pam_unix(sshd:session): session closed for user fztu".
	SSHDSessionClosed
	// SSHDConnection: "Connection from 1.2.3.4 port 5555 on 10.0.0.1 port 22"
	// (sshd -e or LogLevel VERBOSE).
	SSHDConnection
)

var sshdKindNames = [...]string{"other", "accepted", "failed", "invalid user", "connection closed", "disconnect",
	"too many authentication failures", "PAM authentication failure", "no identification", "reverse mapping failed",
	"session opened", "session closed", "connection"}

// String is the kind in words: "failed", "invalid user".
func (k SSHDKind) String() string {
	if int(k) < len(sshdKindNames) {
		return sshdKindNames[k]
	}
	return "SSHDKind(" + strconv.Itoa(int(k)) + ")"
}

// ParseSSHD reads the message of an sshd syslog line (Syslog.Message
// where Syslog.App is "sshd"), as OpenSSH's sshd and its PAM module write
// them, from OpenSSH 5 to 9: the kinds of SSHDKind and the messages each
// takes. A message of no kind is SSHDOther, with no error: sshd writes
// many messages that do not matter here.
//
// A message that begins as one of the kinds and then does not fit ("Failed
// password for root from" cut short, a port that is no number) returns
// the zero SSHD and a *ParseError naming the field and its byte offset in
// the message. Bytes that are not UTF-8 (in a user name an attacker sent)
// are kept as they are. ParseSSHD never panics and never allocates (an IPv6 address
// with a zone is the exception: netip interns the zone).
func ParseSSHD(msg string) (SSHD, error) {
	var e SSHD
	if err := parseSSHD(&e, msg, 0); err != nil {
		return SSHD{}, err
	}
	return e, nil
}

func sshdErr(field string, pos int, reason string) error {
	return &ParseError{Format: "sshd", Field: field, Pos: pos, Reason: reason}
}

// parseSSHD reads msg, which starts at byte off of the message given to
// ParseSSHD (error offsets are of that message). A repeated message
// inside a repeated message is Other: rsyslog never nests them, and
// unwinding a nest of them would be quadratic.
func parseSSHD(e *SSHD, msg string, off int) error {
	msg = strings.TrimRight(msg, " \r\n")
	e.Count = 1
	if rest, ok := strings.CutSuffix(msg, "[preauth]"); ok {
		e.Preauth = true
		msg = strings.TrimRight(rest, " ")
	}
	if rest, ok := strings.CutPrefix(msg, "error: "); ok {
		msg, off = rest, off+len("error: ")
	}
	// pam_unix's messages: "pam_unix(sshd:auth): authentication failure; ..."
	// as Linux-PAM writes them through sshd, or without the prefix under
	// the tag "sshd(pam_unix)" of older Red Hat systems.
	if strings.HasPrefix(msg, "pam_unix(sshd:") {
		if i := strings.Index(msg, "): "); i >= 0 {
			msg, off = msg[i+len("): "):], off+i+len("): ")
		}
	}
	if len(msg) == 0 {
		return other(e)
	}
	switch msg[0] {
	case 'F':
		if rest, ok := strings.CutPrefix(msg, "Failed "); ok {
			e.Kind = SSHDFailed
			return sshdAuth(e, msg, rest, off+len("Failed "))
		}
	case 'A':
		if rest, ok := strings.CutPrefix(msg, "Accepted "); ok {
			e.Kind = SSHDAccepted
			return sshdAuth(e, msg, rest, off+len("Accepted "))
		}
		if rest, ok := strings.CutPrefix(msg, "Address "); ok && strings.HasSuffix(rest, "POSSIBLE BREAK-IN ATTEMPT!") {
			// Address 1.2.3.4 maps to NAME, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!
			e.Kind = SSHDReverseMappingFailed
			addr, after, _ := strings.Cut(rest, " maps to ")
			name, _, ok := strings.Cut(after, ", but")
			if !ok {
				return sshdErr("host", off+len("Address "), "want \"Address ADDR maps to NAME, but ...\", got "+quote(rest))
			}
			if err := sshdAddr(e, addr, off+len("Address ")); err != nil {
				return err
			}
			e.Host = name
			return nil
		}
	case 'I':
		if rest, ok := strings.CutPrefix(msg, "Invalid user "); ok {
			// Invalid user USER from ADDR [port PORT]
			e.Kind, e.InvalidUser = SSHDInvalidUser, true
			from := strings.LastIndex(rest, " from ")
			if from < 0 {
				return sshdErr("host", off+len(msg), "want \"from ADDR\" after the user, got "+quote(rest))
			}
			e.User = rest[:from]
			p := off + len("Invalid user ") + from + len(" from ")
			return sshdAddrPort(e, rest[from+len(" from "):], p, false)
		}
	case 'C':
		if rest, ok := strings.CutPrefix(msg, "Connection closed by "); ok {
			e.Kind = SSHDConnectionClosed
			return sshdWhoAddrPort(e, rest, off+len("Connection closed by "))
		}
		if rest, ok := strings.CutPrefix(msg, "Connection reset by "); ok {
			e.Kind, e.Reason = SSHDConnectionClosed, "reset"
			return sshdWhoAddrPort(e, rest, off+len("Connection reset by "))
		}
		if rest, ok := strings.CutPrefix(msg, "Connection from "); ok {
			// Connection from ADDR port PORT on LADDR port LPORT [rdomain "x"]
			e.Kind = SSHDConnection
			client, _, _ := strings.Cut(rest, " on ")
			return sshdAddrPort(e, client, off+len("Connection from "), true)
		}
	case 'R':
		if rest, ok := strings.CutPrefix(msg, "Received disconnect from "); ok {
			// Received disconnect from ADDR: CODE: REASON (OpenSSH < 7.3)
			// Received disconnect from ADDR port PORT:CODE: REASON
			e.Kind = SSHDDisconnect
			p := off + len("Received disconnect from ")
			// The address ends at the first ": ", or with the port's digits
			// when " port " comes before that (an IPv6 address has colons
			// but never ": ").
			colon := strings.Index(rest, ": ")
			if ps := strings.Index(rest, " port "); ps >= 0 && (colon < 0 || ps < colon) {
				colon = -1
				if c := strings.IndexByte(rest[ps+len(" port "):], ':'); c >= 0 {
					colon = ps + len(" port ") + c
				}
			}
			if colon < 0 {
				return sshdErr("code", p+len(rest), "want \": CODE: REASON\" after the address, got "+quote(rest))
			}
			if err := sshdAddrPort(e, rest[:colon], p, false); err != nil {
				return err
			}
			tail := strings.TrimLeft(rest[colon+1:], " ")
			code, reason, _ := strings.Cut(tail, ":")
			n, ok := digits(code)
			if !ok {
				return sshdErr("code", p+len(rest)-len(tail), "want a disconnect code, got "+quote(code))
			}
			e.Code, e.Reason = n, strings.TrimSpace(reason)
			return nil
		}
	case 'D':
		if rest, ok := strings.CutPrefix(msg, "Disconnected from "); ok {
			e.Kind = SSHDDisconnect
			return sshdWhoAddrPort(e, rest, off+len("Disconnected from "))
		}
		if rest, ok := strings.CutPrefix(msg, "Disconnecting: Too many authentication failures"); ok {
			// ... for [invalid user ]USER (OpenSSH < 7.4); or nothing
			e.Kind = SSHDTooManyAuthFailures
			if u, ok := strings.CutPrefix(rest, " for "); ok {
				if u2, ok := strings.CutPrefix(u, "invalid user "); ok {
					u, e.InvalidUser = u2, true
				}
				e.User = u
			}
			return nil
		}
		if rest, ok := strings.CutPrefix(msg, "Disconnecting "); ok && strings.HasSuffix(rest, ": Too many authentication failures") {
			// Disconnecting [invalid |authenticating ]user USER ADDR port PORT: Too many authentication failures
			e.Kind = SSHDTooManyAuthFailures
			return sshdWhoAddrPort(e, strings.TrimSuffix(rest, ": Too many authentication failures"), off+len("Disconnecting "))
		}
		if rest, ok := strings.CutPrefix(msg, "Did not receive identification string from "); ok {
			e.Kind = SSHDNoIdentification
			return sshdAddrPort(e, rest, off+len("Did not receive identification string from "), false)
		}
	case 'm':
		if rest, ok := strings.CutPrefix(msg, "maximum authentication attempts exceeded for "); ok {
			// ... for [invalid user ]USER from ADDR port PORT ssh2
			e.Kind = SSHDTooManyAuthFailures
			return sshdUserFrom(e, rest, off+len("maximum authentication attempts exceeded for "))
		}
		if rest, ok := strings.CutPrefix(msg, "message repeated "); ok {
			// message repeated N times: [ MESSAGE]  (rsyslog's reduction)
			n, inner, ok := strings.Cut(rest, " times: [")
			count, okN := digits(n)
			if !ok || !okN || !strings.HasSuffix(inner, "]") {
				return sshdErr("message", off, "want \"message repeated N times: [ MESSAGE]\", got "+quote(msg))
			}
			inner = inner[:len(inner)-1]
			if strings.HasPrefix(strings.TrimLeft(inner, " "), "message repeated ") {
				return other(e)
			}
			p := off + len(msg) - 1 - len(inner)
			lead := len(inner) - len(strings.TrimLeft(inner, " "))
			pre := e.Preauth
			*e = SSHD{}
			if err := parseSSHD(e, inner[lead:], p+lead); err != nil {
				return err
			}
			e.Preauth = e.Preauth || pre
			if e.Kind != SSHDOther {
				e.Count *= count
			}
			return nil
		}
	case 'a':
		if rest, ok := strings.CutPrefix(msg, "authentication failure;"); ok {
			e.Kind = SSHDPAMAuthFailure
			return sshdPAM(e, rest, off+len(msg)-len(rest))
		}
	case 's':
		if rest, ok := strings.CutPrefix(msg, "session opened for user "); ok {
			// ... USER[(uid=N)] by [USER](uid=N)
			e.Kind = SSHDSessionOpened
			user, _, _ := strings.Cut(rest, " by ")
			if i := strings.IndexByte(user, '('); i >= 0 { // newer PAM: "user(uid=1000)"
				user = user[:i]
			}
			e.User = user
			return nil
		}
		if rest, ok := strings.CutPrefix(msg, "session closed for user "); ok {
			e.Kind, e.User = SSHDSessionClosed, rest
			return nil
		}
	case 'P':
		if rest, ok := strings.CutPrefix(msg, "PAM "); ok && strings.Contains(rest, " more authentication failure") {
			// PAM N more authentication failure[s]; logname= ... rhost=HOST[  user=USER]
			n, tail, _ := strings.Cut(rest, " ")
			count, ok := digits(n)
			if !ok {
				return sshdErr("count", off+len("PAM "), "want a number of failures, got "+quote(n))
			}
			semi := strings.IndexByte(tail, ';')
			if semi < 0 {
				return sshdErr("rhost", off+len(msg), "want \"; ... rhost=HOST\", got "+quote(tail))
			}
			e.Kind = SSHDPAMAuthFailure
			if err := sshdPAM(e, tail[semi+1:], off+len(msg)-len(tail)+semi+1); err != nil {
				return err
			}
			e.Count = count
			return nil
		}
	}
	if rest, ok := strings.CutPrefix(msg, "reverse mapping checking getaddrinfo for "); ok {
		// ... NAME [ADDR] failed - POSSIBLE BREAK-IN ATTEMPT!
		e.Kind = SSHDReverseMappingFailed
		open := strings.IndexByte(rest, '[')
		close := strings.IndexByte(rest, ']')
		if open <= 0 || close < open || rest[open-1] != ' ' {
			return sshdErr("host", off+len(msg)-len(rest), "want \"NAME [ADDR] failed\", got "+quote(rest))
		}
		p := off + len(msg) - len(rest)
		if err := sshdAddr(e, rest[open+1:close], p+open+1); err != nil {
			return err
		}
		e.Host = rest[:open-1]
		return nil
	}
	return other(e)
}

func other(e *SSHD) error {
	*e = SSHD{}
	return nil
}

// sshdAuth reads "METHOD for [invalid user ]USER from ADDR port PORT PROTO[: KEY]"
// of Accepted and Failed.
func sshdAuth(e *SSHD, msg, rest string, off int) error {
	method, tail, ok := strings.Cut(rest, " for ")
	if !ok || method == "" || strings.IndexByte(method, ' ') >= 0 {
		return sshdErr("method", off, "want \"METHOD for USER from ...\", got "+quote(rest))
	}
	e.Method = method
	return sshdUserFrom(e, tail, off+len(method)+len(" for "))
}

// sshdUserFrom reads "[invalid user ]USER from ADDR port PORT [PROTO[: KEY]]".
func sshdUserFrom(e *SSHD, s string, off int) error {
	from := strings.LastIndex(s, " from ")
	if from < 0 {
		return sshdErr("host", off+len(s), "want \"from ADDR port PORT\" after the user, got "+quote(s))
	}
	user := s[:from]
	if u, ok := strings.CutPrefix(user, "invalid user "); ok {
		user, e.InvalidUser = u, true
	}
	e.User = user
	p := off + from + len(" from ")
	tail := s[from+len(" from "):]
	// ADDR port PORT ssh2[: RSA SHA256:...]
	addr, after, ok := strings.Cut(tail, " port ")
	if !ok {
		return sshdErr("port", p+len(tail), "want \"port PORT\" after the address, got "+quote(tail))
	}
	if err := sshdAddr(e, addr, p); err != nil {
		return err
	}
	p += len(addr) + len(" port ")
	port, proto, _ := strings.Cut(after, " ")
	if err := sshdPort(e, port, p); err != nil {
		return err
	}
	if _, key, ok := strings.Cut(proto, ": "); ok {
		e.Reason = key
	}
	return nil
}

// sshdWhoAddrPort reads "[invalid user USER |authenticating user USER |user USER ]ADDR[ port PORT]".
func sshdWhoAddrPort(e *SSHD, s string, off int) error {
	switch {
	case strings.HasPrefix(s, "invalid user "):
		e.InvalidUser = true
		return sshdUserAddrPort(e, s[len("invalid user "):], off+len("invalid user "))
	case strings.HasPrefix(s, "authenticating user "):
		return sshdUserAddrPort(e, s[len("authenticating user "):], off+len("authenticating user "))
	case strings.HasPrefix(s, "user "):
		return sshdUserAddrPort(e, s[len("user "):], off+len("user "))
	}
	return sshdAddrPort(e, s, off, false)
}

// sshdUserAddrPort reads "USER ADDR[ port PORT]", the user taking all but
// the address and port (it may hold spaces).
func sshdUserAddrPort(e *SSHD, s string, off int) error {
	end := len(s)
	if i := strings.LastIndex(s, " port "); i >= 0 {
		end = i
	}
	sp := strings.LastIndexByte(s[:end], ' ')
	if sp < 0 {
		return sshdErr("host", off+end, "want \"USER ADDR\", got "+quote(s))
	}
	e.User = s[:sp]
	return sshdAddrPort(e, s[sp+1:], off+sp+1, false)
}

// sshdAddrPort reads "ADDR[ port PORT]" (the port required when
// needPort), and nothing after.
func sshdAddrPort(e *SSHD, s string, off int, needPort bool) error {
	addr, port, hasPort := strings.Cut(s, " port ")
	if !hasPort && needPort {
		return sshdErr("port", off+len(s), "want \"port PORT\" after the address, got "+quote(s))
	}
	if err := sshdAddr(e, addr, off); err != nil {
		return err
	}
	if hasPort {
		return sshdPort(e, port, off+len(addr)+len(" port "))
	}
	return nil
}

// sshdAddr reads the client's address, or its host name.
func sshdAddr(e *SSHD, s string, off int) error {
	if s == "" || strings.IndexByte(s, ' ') >= 0 {
		return sshdErr("host", off, "want the client's address or name, got "+quote(s))
	}
	e.Host = s
	switch ipShape(s) {
	case 4, 6:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return sshdErr("host", off, "want an IP address, got "+quote(s))
		}
		e.Addr = a
	}
	return nil // a host name ("220-135-151-1.hinet-ip.hinet.net")
}

// ipShape is 4 when s has only digits and dots, 6 when it has a colon and
// only what IPv6 addresses hold (hex digits, '.', ':', and a zone after
// '%'), 0 otherwise (a host name): netip.ParseAddr is only asked about the
// first two, since its errors allocate.
func ipShape(s string) int {
	colon, hex := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.':
		case c == ':':
			colon = true
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			hex = true
		case c == '%' && colon:
			return 6
		default:
			return 0
		}
	}
	switch {
	case colon:
		return 6
	case hex:
		return 0
	}
	return 4
}

func sshdPort(e *SSHD, s string, off int) error {
	n, ok := digits(s)
	if !ok || n == 0 || n > 65535 {
		return sshdErr("port", off, "want a port from 1 to 65535, got "+quote(s))
	}
	e.Port = n
	return nil
}

// sshdPAM reads the fields of pam_unix's "authentication failure;
// logname= uid=0 euid=0 tty=ssh ruser= rhost=HOST  user=USER".
func sshdPAM(e *SSHD, s string, off int) error {
	i := strings.Index(s, "rhost=")
	if i < 0 {
		return sshdErr("rhost", off+len(s), "want rhost=HOST, got "+quote(s))
	}
	host := s[i+len("rhost="):]
	if sp := strings.IndexByte(host, ' '); sp >= 0 {
		host = host[:sp]
	}
	if host != "" { // rhost= is empty for a local login
		if err := sshdAddr(e, host, off+i+len("rhost=")); err != nil {
			return err
		}
	}
	if u := strings.Index(s[i:], " user="); u >= 0 {
		user := s[i+u+len(" user="):]
		if sp := strings.IndexByte(user, ' '); sp >= 0 {
			user = user[:sp]
		}
		e.User = user
	}
	return nil
}
