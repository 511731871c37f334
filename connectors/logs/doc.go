// Package logs parses what systems write into their logs (web access
// logs, syslog, sshd, netfilter, Kubernetes audit events, and JSON or CSV
// lines of one's own) into typed events, and carries each line with where
// it came from, so that a line that does not parse is reported with its
// place and the job goes on.
//
// Each parser takes the text of one line and returns an event or an
// error that says what was wrong; none panics, whatever the input. The
// package starts no goroutine and does no I/O: the lines come from a
// source (connectors/tail, connectors/listen, stream.TextFile), the
// events go on down the stream.
//
// # Use
//
//  1. Get lines: a source of Lines (the file source of connectors/tail,
//     the listeners of connectors/listen), or of strings (stream.TextFile).
//
//  2. Parse them with stream.MapErr and a parser: for Lines, wrapped in
//     At, so that a dead letter's error names the file and line, or the
//     peer, it came from:
//
//     events, dead := stream.MapErr(lines, logs.At(logs.ParseAccess))
//
//  3. Give the events their time (stream's WithTimestamps, from the
//     event's Time), key and window them; write the dead letters
//     somewhere a person will look.
//
// # The parsers
//
//	ParseAccess, ParseAccessVHost   nginx and Apache access logs: Common, Combined, vhost_combined
//	ParseSyslog, SyslogParser       RFC 3164 (BSD, files of rsyslog and journalctl) and RFC 5424
//	ParseSSHD                       the security events in the message of an sshd syslog line
//	ParseNetfilter, NetfilterParser iptables/nftables LOG lines, bare or in syslog or journal lines
//	ParseK8sAudit, AuditParser      Kubernetes API-server audit events (audit.k8s.io/v1, JSON lines)
//	JSON, JSONStrict, CSV           JSON lines and CSV lines into a struct of one's own
//
// Each parser's doc says which formats and variants it accepts.
//
// # Contracts
//
// Errors: a line that does not parse gives the zero event and a
// *ParseError: the format, the field, the byte offset in the line and
// why, quoting at most a few dozen bytes of the line. Wrapped by At, it is
// inside a *LineError that says where the line was.
//
// Memory: the events of ParseAccess, ParseSyslog, ParseSSHD and
// ParseNetfilter hold substrings of their line, not copies: an event keeps
// its line's memory alive. Those parsers allocate nothing for a line that
// parses (ParseAccess one string when quoted fields hold escapes).
// ParseK8sAudit's events hold substrings of lines up to 4 KiB too; of a
// longer line (the bodies of a RequestResponse event are large, and not
// kept) it copies what it keeps into one string per event. JSON and CSV
// cost what encoding/json and encoding/csv cost.
//
// Concurrency: the parsing functions are safe for concurrent use; a
// SyslogParser or NetfilterParser (which follow the months of one stream
// of lines to choose years) is not, and serves one stream; nor is an
// AuditParser (which keeps its buffers from line to line), one per
// goroutine.
//
// Cost, measured by the benchmarks of this package on one core: some
// hundreds of nanoseconds a line for access, syslog, sshd and netfilter
// lines, some microseconds an event for audit JSON.
package logs
