// Package listen is Braid's listening sources for forwarded logs: a TCP
// line server (TCPLines) and a syslog receiver on UDP and TCP (Syslog).
// Each is a stream of logs.Line, one element per line or message, its
// Source the address of the peer that sent it, ready for a parser of
// package logs through stream.MapErr and logs.At.
//
// In a job:
//
//  1. Build the source: listen.TCPLines(env, ":5140", opts...) or
//     listen.Syslog(env, "udp+tcp", ":514", opts...). Nothing listens
//     yet.
//  2. Bound what it may take: MaxLineBytes (64 KiB by default),
//     MaxConns (1024), RateLimit per client, IdleTimeout; count what they
//     refuse with WithStats; learn the port of ":0" with Bound.
//  3. Read its dead letters if you care where bad input came from:
//     stream.DeadLetters(src) holds each line over the limit
//     (stream.ErrLineTooLong), each line cut by the end of its
//     connection (stream.ErrLineCut) and each unreadable syslog octet
//     count (ErrBadFrame), its Value a logs.Line with the peer and the
//     line's number, its Err saying what and where. The lines around
//     them are delivered as usual and the job goes on.
//  4. Execute: the source listens when the job starts, and closes its
//     sockets and every connection when the job ends, fails or is
//     cancelled, before Execute returns.
//
// How it runs: one subtask, one reader, in the goroutine the runtime gives
// the source; the package starts no goroutine. Each Read polls the
// listening sockets and every connection at once (poll(2), so Unix
// systems only; elsewhere the job fails when it starts, saying so), reads
// the ready ones in turn, and returns the lines it found without waiting
// for a full batch; with nothing to deliver it returns no lines after
// about 50ms, so that cancellation (and the runtime) get a turn. The
// sockets are read only when the job asks for more: a slow job leaves the
// data in the kernel's buffers and TCP makes the clients wait. Nothing is
// dropped for being slow, except UDP datagrams the kernel's buffer cannot
// hold, which UDP loses by design. Cost: one read(2) per ready connection
// per poll, and a string per line; no lock, map lookup or channel per
// line (UDP looks its peer up in a map when the sender changes).
//
// Guarantees. A listener cannot ask a client to send again, so it cannot
// replay: what the job had received and not yet turned into output when
// it fails is lost, and a job with checkpoints (stream.WithCheckpointing)
// refuses these sources when it starts, rather than promise more than
// they give. For exactly-once results from forwarded logs, have the
// senders write files (or a durable queue) and read those with a source
// that replays. (stream.SocketText's Durable mode logs what it receives
// in the checkpoint directory; its log is internal to package stream and
// not yet offered to other sources.)
package listen
