package stream

import (
	"context"
	"time"

	"github.com/braidstream/braid/internal/textsrc"
	"github.com/braidstream/braid/operators"
)

// A TextOption configures TextFile or SocketText.
type TextOption interface{ applyText(*textConfig) }

type textConfig struct {
	file   textsrc.FileOptions
	socket textsrc.SocketOptions
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
// Flink's socketTextStream): 0 ends the stream when the connection closes,
// a negative number retries forever. Default 10 attempts per outage,
// waiting 100ms after the first and doubling up to 5s: about 21s before
// giving up at the start, about 26s after a lost connection. Never
// connecting fails the job; failing to reconnect ends the stream.
func MaxRetries(n int) TextOption {
	return textOpt(func(c *textConfig) { c.socket.MaxRetries = n; c.socket.MaxRetriesSet = true })
}

// TextFile is a source of the lines of a text file (without their line
// ends), in one subtask. A line longer than 1 MiB fails the job with an
// error naming the file and line.
func TextFile(env *Env, path string, opts ...TextOption) *Stream[string] {
	var cfg textConfig
	for _, o := range opts {
		o.applyText(&cfg)
	}
	return FromSource(env, "file "+path, false, func(ctx context.Context, subtask, parallelism int) (operators.SourceReader[string], error) {
		return textsrc.OpenFile(path, cfg.file)
	})
}

// SocketText is a source of the lines read from a TCP server at addr, as
// Flink's socketTextStream: the job is the client. It reconnects with
// backoff when the connection cannot be made or is lost, and fails with a
// clear error when it never connects. A socket cannot replay: what it
// delivered before a crash is not read again.
func SocketText(env *Env, addr string, opts ...TextOption) *Stream[string] {
	var cfg textConfig
	cfg.socket.Logger = env.cfg.Logger
	for _, o := range opts {
		o.applyText(&cfg)
	}
	return FromSource(env, "socket "+addr, false, func(ctx context.Context, subtask, parallelism int) (operators.SourceReader[string], error) {
		return textsrc.NewSocket(addr, cfg.socket), nil
	})
}
