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
//     refuse with WithStats; learn the port of ":0" with Bound. In a job
//     with checkpoints, give it Durable.
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
// Guarantees. A listener cannot ask a client to send again, so it
// cannot replay by itself. Which source gives what:
//
//   - Without checkpoints: at most once. What the job had received and
//     not yet turned into output when it fails is lost, and so are lines
//     sent while the process is down (nothing listens: TCP clients see
//     their connections refused or reset, UDP datagrams go nowhere);
//     nothing a listener can do about the latter in any mode.
//   - With checkpoints (stream.WithCheckpointing) and without Durable:
//     refused when the job starts, with an error naming listen.Durable(),
//     rather than promise more than the source gives.
//   - With checkpoints and Durable: each batch of accepted lines is
//     logged and synced in the checkpoint directory before the job sees
//     it, and a restored job replays what it had logged but not
//     processed: every line that reached the log before a crash is
//     processed exactly once (in the job's state and a two-phase sink's
//     output). Lines the kernel had acknowledged or delivered but the log
//     had not yet synced die with the process; see Durable for what
//     "accepted" means over TCP and UDP.
//
// For more than that (a sender that must lose nothing), have the senders
// write files and read those with a source that replays
// (connectors/tail).
package listen
