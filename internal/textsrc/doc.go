// Package textsrc reads lines of text for Braid's sources: from a file
// (optionally following it as it grows, like tail -f) and from a TCP
// server (the client side, as Flink's socketTextStream). Both implement the
// operators.SourceReader contract: Read returns the lines that are ready
// (blocking only while none is), io.EOF at the end, and ctx's error
// promptly when ctx is done; Close releases the file or connection.
//
// Readers start no goroutines: waits are timers selected against ctx, and
// socket reads use short deadlines so that cancellation is seen.
package textsrc
