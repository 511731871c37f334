// Package stream is Braid's API: it builds a job as a graph of typed
// streams and runs it inside the calling program.
//
// Use it in four steps:
//
//  1. Make an environment: env := stream.NewEnv(options...). Its zero
//     configuration runs; options set parallelism, batch size, buffer
//     timeout, clock, logger and the watermark interval.
//  2. Add sources, which return a *Stream[T]: FromSlice, FromSeq,
//     FromChannel, Generate, TextFile, SocketText, or FromSource for a
//     SourceReader of your own (FromEventTimeSource for one that knows
//     event time).
//  3. Transform: methods keep the element type (Filter, Merge, Rebalance,
//     WithTimestamps, WithWatermarks, WindowAll), package functions change
//     it (Map, FlatMap, MapErr, KeyBy, and the window functions Reduce,
//     Aggregate, Apply, Sum, Min, Max, MinBy, MaxBy, Count, Mean). Two
//     streams meet in Connect (CoMap, CoFlatMap), ConnectKeyed (CoProcess,
//     CoReduce), Join, CoGroup and IntervalJoin; Process runs code of your
//     own per key, with keyed state and timers. Windows can have their own
//     triggers and evictors (WindowedStream.Trigger, Evictor). Sinks end a
//     stream: Print, WriteTo, ForEach, ToChannel, Collect.
//  4. Run it: env.Execute(ctx). It returns when every source has ended and
//     every result is out, when ctx is done, or at the first failure, and it
//     leaves no goroutine behind.
//
// Building never fails on the spot: mistakes (a key type with no stable
// hash, a window slide longer than its size, a negative parallelism) are
// gathered and reported together by Execute, each in a plain sentence,
// naming the operator where there is one.
//
// Bad data never stops a job silently or kills the process: a user
// function's error goes to MapErr's dead letters; input a source cannot
// deliver (a line over the limit) and timestamps event time cannot hold go
// to DeadLetters; late elements go to WindowedStream.Late. Each is counted
// in Metrics whether or not it is read. A panic in a user function fails
// the job with the operator's name (ErrPanic). Side outputs are streams
// like any other: they end with the job and carry its watermarks.
//
// Time is processing time unless a stream has timestamps from
// WithTimestamps; windows then follow event time and watermarks, with the
// semantics of Flink's window operator (see WindowedStream).
//
// A Stream and an Env are not safe for concurrent building. User functions
// run on the job's goroutines: at parallelism 1 each operator's functions
// are called from one goroutine at a time; at parallelism n, from n.
package stream
