// Package textsrc reads lines of text for Braid's sources: from a file
// (optionally following it as it grows, like tail -f) and from a TCP
// server (the client side, as Flink's socketTextStream). The stream
// package wraps it as stream.TextFile and stream.SocketText.
//
// Both readers implement the operators.SourceReader and
// operators.RejectingReader contracts without importing operators (the
// rejects in a type of this package, which stream converts):
//
//  1. Open one: OpenFile opens the file at once (and fails naming the
//     path); NewSocket only records the address, and the first Read
//     connects, retrying with backoff as SocketOptions.MaxRetries says.
//  2. Call Read(ctx, buf) from one goroutine. It returns the lines that
//     are ready, without their line ends, blocking only while none is;
//     io.EOF at the end of the input (possibly with lines on that call);
//     and ctx's error promptly once ctx is done.
//  3. After each Read, call Rejected from the same goroutine: it hands out
//     the input set aside since the last call instead of being returned
//     as lines, each a Reject holding the start of the line and an error
//     saying where it was and why: a line over MaxLineBytes
//     (ErrLineTooLong), skipped to its end without being held in memory,
//     or a line cut short (ErrLineCut) by the end of a connection or the
//     truncation of a followed file. One bad line never stops the reader.
//     The stream package turns them into the source's dead letters
//     (operators.RejectingReader).
//  4. To resume later (operators.ReplayableReader), call Position between
//     Reads and give it to Seek on a freshly opened reader before its
//     first Read. A FileReader's position is the file's identity, the
//     byte offset and the line number; Seek refuses another file at the
//     path. A SocketReader cannot replay; a DurableSocket logs what it
//     receives (through Pebble's vfs.FS, in a directory of its own) before
//     returning it, and replays the log. FileReader.Offset with
//     FileOptions.StartOffset is the simpler form for a file.
//  5. Call Close once, after the last Read.
//
// Source reads stay on package os (the user's file is not a checkpoint
// file, and its identity comes from os.Stat); the durable socket's log,
// which is, goes through vfs.FS so that tests can crash it.
//
// The package never starts a goroutine: waits are timers selected against
// ctx, and socket reads use short deadlines so that cancellation is seen
// within about 50ms. Errors start with "braid:" and name the file (and
// line) or the address.
package textsrc
