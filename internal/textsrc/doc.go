// Package textsrc reads lines of text for Braid's sources: from a file
// (optionally following it as it grows, like tail -f) and from a TCP
// server (the client side, as Flink's socketTextStream). The stream
// package wraps it as stream.TextFile and stream.SocketText.
//
// Both readers implement the operators.SourceReader contract without
// importing operators:
//
//  1. Open one: OpenFile opens the file at once (and fails naming the
//     path); NewSocket only records the address, and the first Read
//     connects, retrying with backoff as SocketOptions.MaxRetries says.
//  2. Call Read(ctx, buf) from one goroutine. It returns the lines that
//     are ready, without their line ends, blocking only while none is;
//     io.EOF at the end of the input (possibly with lines on that call);
//     and ctx's error promptly once ctx is done.
//  3. To resume a file later, keep FileReader.Offset and pass it back as
//     FileOptions.StartOffset. A socket cannot replay.
//  4. Call Close once, after the last Read.
//
// The package never starts a goroutine: waits are timers selected against
// ctx, and socket reads use short deadlines so that cancellation is seen
// within about 50ms. Errors start with "braid:" and name the file (and
// line) or the address.
package textsrc
