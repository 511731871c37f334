package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/braidstream/braid/internal/textsrc"
	"github.com/braidstream/braid/operators"
)

// A TextOption configures TextFile or SocketText.
type TextOption interface{ applyText(*textConfig) }

type textConfig struct {
	file   textsrc.FileOptions
	socket textsrc.SocketOptions
	// maxLine is what MaxLineBytes asked for; 0 if it was not used.
	maxLine    int
	maxLineSet bool
	durable    bool
}

type textOpt func(*textConfig)

func (f textOpt) applyText(c *textConfig) { f(c) }

// Follow keeps TextFile reading lines appended to the file, as tail -f,
// until the job is cancelled. Default false: the stream ends at the end of
// the file.
func Follow(follow bool) TextOption {
	return textOpt(func(c *textConfig) { c.file.Follow = follow })
}

// PollInterval sets how often a followed file is checked for new lines.
// Default 100ms.
func PollInterval(d time.Duration) TextOption {
	return textOpt(func(c *textConfig) { c.file.PollInterval = d })
}

// MaxRetries sets how often SocketText tries to connect, and to reconnect
// after the connection is lost, before it gives up (as the maxRetry of
// Flink's socketTextStream). Default 10 attempts per outage, waiting 100ms
// after the first and doubling up to 5s: about 21s before giving up at the
// start, about 26s after a lost connection. Each failed attempt is logged
// at info (through WithLogger's logger) with the address, the attempt's
// number and the wait before the next.
//
//   - n > 0: up to n attempts per outage. An outage ends only when a
//     connection delivers a whole line, so a server that accepts and at
//     once closes (or sends part of a line and closes) uses up the
//     attempts as one that refuses does. Giving up fails the job with an
//     error naming the address, unless EndQuietly(true) was given.
//   - 0: one connection, never reconnecting: the server closing it ends
//     the stream, as Flink's maxRetry 0 does; this is how to read a
//     bounded socket (nc -l < file). A connection that breaks instead
//     (reset, read error) fails the job, unless EndQuietly(true).
//   - n < 0: retries forever.
//
// A job that never connects fails whatever the options.
func MaxRetries(n int) TextOption {
	return textOpt(func(c *textConfig) { c.socket.MaxRetries = n; c.socket.MaxRetriesSet = true })
}

// EndQuietly(true) makes SocketText end its stream, as a bounded source
// does (windows fire, Execute returns nil once the rest is done), when the
// connection is lost for good: MaxRetries attempts to reconnect used up,
// or with MaxRetries(0) a connection that breaks. A warning is logged.
// Default false: losing the connection for good fails the job, so that a
// job fed by a server that went away does not look like one that
// finished. A job that never connected fails even with EndQuietly: it read
// nothing, the address is likely wrong. No effect with a negative
// MaxRetries, which never gives up.
func EndQuietly(quiet bool) TextOption {
	return textOpt(func(c *textConfig) { c.socket.EndQuietly = quiet })
}

// MaxLineBytes bounds the length of a line of TextFile or SocketText, its
// line end excluded ("\n", "\r\n"). Default 1 MiB; n must be at least 1.
//
// A longer line does not stop the job: it goes to the source's dead
// letters (DeadLetters, counted in the source's Metrics.DeadLetters), its
// Value the start of the line (at most 256 bytes) and its Err naming the file, the line
// number and byte offset (for a socket: the address, the connection, and
// the line and byte offset on it), the line's length and the limit;
// errors.Is(err, ErrLineTooLong) holds. The line is skipped to its end
// without being held in memory, and the lines after it are read as usual.
// The limit is what protects a job from a peer that never sends a newline.
func MaxLineBytes(n int) TextOption {
	return textOpt(func(c *textConfig) { c.maxLine, c.maxLineSet = n, true })
}

// Durable makes SocketText log the lines it receives before the job
// processes them, so that a job with checkpoints (WithCheckpointing) can
// replay them after a failure or a restart: the socket's way to
// exactly-once, since a socket cannot replay by itself.
//
// The log lives in the checkpoint directory, in a directory of the
// source's own (SourceDirOf), as segment files of checksummed,
// length-prefixed records, through the checkpoint filesystem
// (CheckpointFS). Each batch the source reads is appended and fsynced
// (one fsync per batch, not per line) before the job sees it; dead
// letters (lines over MaxLineBytes, lines cut short) are logged too. A
// checkpoint records the position in the log; a resumed job replays the
// log from there, then reads the socket again. A record torn by a crash
// at the log's end is detected by its checksum and cut off: it was never
// given to the job. A job with no complete checkpoint to resume from (one
// that crashed before its first checkpoint completed) replays all the log
// holds: none of it reached a checkpoint's output. A job started with
// StartFresh replays none of it: it reads the socket from its first Read.
//
// Old segments (16 MiB each) are deleted as checkpoints complete: once
// every complete checkpoint the store keeps (RetainCheckpoints, 2 by
// default) is past a segment. Checkpoints that fail delete nothing, so a
// job restored from any checkpoint the store keeps finds its position;
// until enough checkpoints complete, the log keeps all it has.
//
// Without checkpoints, Durable does nothing: there is nothing to replay
// for. With checkpoints, SocketText needs it.
func Durable() TextOption {
	return textOpt(func(c *textConfig) { c.durable = true })
}

var (
	// ErrLineTooLong marks the error of a dead letter of TextFile or
	// SocketText for a line over MaxLineBytes.
	ErrLineTooLong = textsrc.ErrLineTooLong
	// ErrLineCut marks the error of a dead letter of SocketText for a line
	// cut short: what the server sent after the last newline before the
	// connection ended (the Value is all of it, within MaxLineBytes), or
	// for TextFile with Follow the partial last line of a file that was
	// truncated.
	ErrLineCut = textsrc.ErrLineCut
)

func textOptions(env *Env, name string, opts []TextOption) textConfig {
	var cfg textConfig
	cfg.file.Logger, cfg.socket.Logger = env.cfg.Logger, env.cfg.Logger
	for _, o := range opts {
		o.applyText(&cfg)
	}
	if cfg.maxLineSet {
		if cfg.maxLine < 1 {
			env.fail(fmt.Errorf("braid: %s: MaxLineBytes(%d): a line limit must be at least 1 byte", name, cfg.maxLine))
		}
		cfg.file.MaxLineBytes, cfg.socket.MaxLineBytes = cfg.maxLine, cfg.maxLine
	}
	return cfg
}

// TextFile is a source of the lines of a text file, in one subtask. A line
// ends with "\n" or "\r\n", which are not part of it; the last line needs
// neither (a "\r" ending it is dropped too). A line longer than
// MaxLineBytes goes to the dead letters and the stream goes on.
//
// With checkpoints (WithCheckpointing) TextFile replays: a checkpoint
// records the file's identity (its device and inode, where the system has
// them), the byte offset after the last line read and the line's number
// (so that dead letters keep their line numbers), and hashes of the first
// 4 KiB and of the 4 KiB before the offset. A resumed job reads on from
// the offset, never from inside a line: a followed file's last line
// without its newline is not part of the position until the newline
// comes. It refuses, naming the path, a file replaced since the
// checkpoint (another inode) or rewritten before the offset. With
// Follow, a file shorter than the offset or rewritten was truncated (as
// by copytruncate) and is read again from its start with a warning; a
// path that now holds another file means the checkpointed one was rotated
// away, and resuming in a rotated file is not supported yet: the job
// fails saying the file is no longer at its path.
//
// The file is read with package os, not through CheckpointFS: it is the
// job's input, not a checkpoint file.
func TextFile(env *Env, path string, opts ...TextOption) *Stream[string] {
	name := "file " + path
	cfg := textOptions(env, name, opts)
	if cfg.durable {
		env.fail(fmt.Errorf("braid: %s: Durable is an option of SocketText; a file replays without it", name))
	}
	return FromSource(env, name, false, func(ctx context.Context, subtask, parallelism int) (operators.SourceReader[string], error) {
		c := cfg
		_, c.file.ReturnIdle = SourceDirOf(ctx) // an idle followed file must not hold checkpoints back
		return openTextFile(path, c)
	})
}

func openTextFile(path string, cfg textConfig) (operators.SourceReader[string], error) {
	r, err := textsrc.OpenFile(path, cfg.file)
	if err != nil {
		return nil, err
	}
	return &replayableLines{rejectingLines: rejectingLines{r: r}, rp: r}, nil
}

// SocketText is a source of the lines read from a TCP server at addr, as
// Flink's socketTextStream: the job is the client. It reconnects with
// backoff when the connection cannot be made or is lost (MaxRetries), and
// fails with an error naming the address when it cannot connect, or
// reconnect, within the attempts (unless EndQuietly). Lines over
// MaxLineBytes, and what the server sent after the last newline before a
// connection ended (a line cut short), go to the dead letters; the stream
// goes on.
//
// A socket cannot replay: what it delivered before a crash is not read
// again. So a job with checkpoints (WithCheckpointing) refuses SocketText
// unless Durable is given, which logs the lines in the checkpoint
// directory before the job processes them and replays them on resume. A
// resumed durable source whose server is gone replays its log and then,
// with EndQuietly, ends as if the server had closed.
//
// What each text source guarantees, with checkpoints:
//
//   - TextFile: replays from its checkpointed offset, so the job's state
//     (windows, process functions, joins) is exactly-once.
//   - SocketText with Durable: the same, for every line that reached the
//     log (a line received but not yet synced when the process dies is
//     lost with it: the server had sent it, the job never had it).
//   - SocketText without Durable: refused.
//   - Without checkpoints, neither replays: a restarted job starts over
//     (TextFile) or loses what it read (SocketText).
//
// What reaches a sink depends on the sink: a two-phase sink publishes each
// checkpoint's output when it completes, exactly once; ForEach, Print,
// WriteTo and ToChannel see again, after a restore, what followed the
// checkpoint: at least once.
func SocketText(env *Env, addr string, opts ...TextOption) *Stream[string] {
	name := "socket " + addr
	cfg := textOptions(env, name, opts)
	return FromSource(env, name, false, func(ctx context.Context, subtask, parallelism int) (operators.SourceReader[string], error) {
		return openSocketSource(ctx, addr, cfg)
	})
}

// openSocketSource opens the socket's reader for a job: durable when the
// job takes checkpoints, which it needs.
func openSocketSource(ctx context.Context, addr string, cfg textConfig) (operators.SourceReader[string], error) {
	dir, checkpointed := SourceDirOf(ctx)
	switch {
	case !checkpointed:
		return openSocketText(addr, cfg), nil
	case !cfg.durable:
		return nil, fmt.Errorf("braid: socket source %s cannot replay what it read before a restart, so it cannot take part in checkpoints: give SocketText the option stream.Durable() to log the lines it receives in the checkpoint directory and replay them", addr)
	}
	cfg.socket.ReturnIdle = true // an idle socket must not hold checkpoints back
	r, err := textsrc.OpenDurableSocket(addr, cfg.socket, dir.FS, dir.Dir, textsrc.DurableOptions{Fresh: dir.Fresh, Retain: dir.Retain})
	if err != nil {
		return nil, err
	}
	return &replayableLines{rejectingLines: rejectingLines{r: r}, rp: r}, nil
}

func openSocketText(addr string, cfg textConfig) operators.SourceReader[string] {
	return &rejectingLines{r: textsrc.NewSocket(addr, cfg.socket)}
}

// replayableLines is a rejectingLines whose reader can replay
// (ReplayableReader): a file, or a durable socket. A plain socket is a
// rejectingLines only, so the runtime sees that it cannot.
type replayableLines struct {
	rejectingLines
	rp operators.ReplayableReader
}

func (a *replayableLines) Position() ([]byte, error) { return a.rp.Position() }
func (a *replayableLines) Seek(pos []byte) error     { return a.rp.Seek(pos) }

// Committed passes the news of a complete checkpoint on to a reader that
// wants it (a durable socket's log, which then deletes old segments).
func (a *replayableLines) Committed(pos []byte) error {
	if c, ok := a.rp.(operators.CommitListener); ok {
		return c.Committed(pos)
	}
	return nil
}

// lineReader is a reader of package textsrc.
type lineReader interface {
	operators.SourceReader[string]
	Rejected(dst []textsrc.Reject) []textsrc.Reject
}

// rejectingLines makes a textsrc reader an operators.RejectingReader: the
// lines it sets aside become the source's dead letters. Taking none
// allocates nothing.
type rejectingLines struct {
	r     lineReader
	taken []textsrc.Reject // reused between calls
}

func (a *rejectingLines) Read(ctx context.Context, buf []string) (int, error) {
	return a.r.Read(ctx, buf)
}

func (a *rejectingLines) Close() error { return a.r.Close() }

// Rejected appends the reader's rejects to dst as dead letters.
func (a *rejectingLines) Rejected(dst []operators.DeadLetter[string]) []operators.DeadLetter[string] {
	a.taken = a.r.Rejected(a.taken[:0])
	for _, j := range a.taken {
		dst = append(dst, operators.DeadLetter[string]{Value: j.Line, Err: j.Err})
	}
	clear(a.taken)
	return dst
}
