package listen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/internal/textsrc"
	"github.com/braidstream/braid/stream"
)

// Durable makes TCPLines or Syslog log every line (message) it accepts,
// and every dead letter it sets aside, before the job processes them, so
// that a job with checkpoints (stream.WithCheckpointing) can replay them
// after a crash, a failure or a restart: a listener's way to take part in
// checkpoints, since its clients cannot send again. Without checkpoints
// it does nothing.
//
// The log lives in the checkpoint directory, in the source's own
// directory (stream.SourceDirOf), through the checkpoint filesystem
// (stream.CheckpointFS), as stream.Durable's log of SocketText does:
// segment files of checksummed records, each holding a line's text, its
// peer and its number (so dead letters and parsers see the same
// logs.Line after a replay). Each batch the source reads is appended and
// fsynced, one fsync per batch, before the job sees any of it; a
// checkpoint records the position in the log after the batches it
// covers; a restored job replays the log from there (counted in
// Stats.Replayed), then listens again; a job with no complete checkpoint
// to resume from (it crashed before its first one completed) replays all
// the log holds; one started with stream.StartFresh replays none of it.
// A record torn by a crash at the log's end is found by its checksum and
// cut off: it was never given to the job. Old segments go as
// checkpoints complete: once every complete checkpoint the store keeps
// (stream.RetainCheckpoints, 2 by default) is past a segment, it is
// deleted; checkpoints that fail delete nothing, so a restore always
// finds its position.
//
// Guarantee: every line that reached the log (Stats.Logged) before a
// crash is processed exactly once by the restored job: once in the job's
// state, once in the output of a two-phase sink (SinkTo,
// connectors/filesink); ForEach, Print and ToChannel see again what
// followed the checkpoint, as for every source. What "accepted" means:
//
//   - TCP: a line is accepted once the source has read it off its
//     connection and the batch holding it is synced in the log. The
//     kernel acknowledges bytes to the client (TCP's ACK) as they arrive,
//     before the source reads them, so an acknowledged line can still be
//     lost: one in the kernel's buffers, or read but not yet synced, when
//     the process dies. The client cannot tell which; a sender that must
//     lose nothing keeps its own copy (a file it rereads).
//   - UDP: a datagram is accepted once read and synced in the log;
//     datagrams the kernel dropped, RateLimit dropped, or still in the
//     socket's buffer at a crash are lost, as UDP loses them anyway.
//
// The bounds (MaxLineBytes, MaxConns, RateLimit, IdleTimeout) and their
// counts work as without Durable: they act before the log, so refused
// input is not logged, and dead letters are logged and replayed as the
// lines are.
func Durable() Option { return optionFunc(func(c *config) { c.durable = true }) }

// received is what the readers of this package are: what a Durable logs.
type received = textsrc.Received[logs.Line, stream.DeadLetter[logs.Line]]

// durableReader is a reader whose lines go through a log first: a
// textsrc.Durable, which also makes it a stream.ReplayableReader, and the
// counts of the log in the Stats.
type durableReader struct {
	*textsrc.Durable[logs.Line, stream.DeadLetter[logs.Line], *lineCodec]
	stats            *Stats
	logged, replayed int64 // already added to stats
}

// segmentBytes is the size past which a Durable's log starts a new
// segment; 0 is the log's default (16 MiB). Tests make it small.
var segmentBytes int64

// openDurable wraps r, an open reader, in a log in dir; it closes r when
// it fails.
func openDurable(name string, r stream.SourceReader[logs.Line], dir stream.SourceDir, cfg *config) (stream.SourceReader[logs.Line], error) {
	src, ok := r.(received)
	if !ok {
		r.Close()
		return nil, fmt.Errorf("braid: %s: its reader cannot be logged (a bug)", name)
	}
	d, err := textsrc.OpenDurable(name, src, &lineCodec{}, dir.FS, dir.Dir,
		textsrc.DurableOptions{SegmentBytes: segmentBytes, Logger: cfg.logger, Fresh: dir.Fresh, Retain: dir.Retain})
	if err != nil {
		r.Close()
		return nil, err
	}
	return &durableReader{Durable: d, stats: cfg.stats}, nil
}

// Read is Durable.Read, then the log's counts to the Stats.
func (r *durableReader) Read(ctx context.Context, buf []logs.Line) (int, error) {
	n, err := r.Durable.Read(ctx, buf)
	logged, replayed := r.Counts()
	if logged != r.logged {
		r.stats.Logged.Add(logged - r.logged)
		r.logged = logged
	}
	if replayed != r.replayed {
		r.stats.Replayed.Add(replayed - r.replayed)
		r.replayed = replayed
	}
	return n, err
}

// lineCodec writes a logs.Line as uvarint(Number), zigzag varint(Offset),
// uvarint(len(Source)), Source, Text; a dead letter as a byte of marks
// (stream.ErrLineTooLong, stream.ErrLineCut, ErrBadFrame), its line as
// above after uvarint(len(Text)) in place of the rest, then the error's
// message. Reading back, a line's Source is the previous one's string
// when they are equal, so that a replay does not allocate a peer per line.
type lineCodec struct {
	source string // the last Source decoded
}

// marks, in the order of their bits in a dead letter's record.
var marks = [...]error{stream.ErrLineTooLong, stream.ErrLineCut, ErrBadFrame}

func appendLine(dst []byte, l *logs.Line) []byte {
	dst = binary.AppendUvarint(dst, uint64(l.Number))
	dst = binary.AppendVarint(dst, l.Offset)
	dst = binary.AppendUvarint(dst, uint64(len(l.Source)))
	return append(dst, l.Source...)
}

// decodeLine reads what appendLine wrote into l, and returns the rest.
func (c *lineCodec) decodeLine(p []byte, l *logs.Line) ([]byte, error) {
	num, k := binary.Uvarint(p)
	if k <= 0 {
		return nil, errors.New("a line record cut short")
	}
	p = p[k:]
	off, k := binary.Varint(p)
	if k <= 0 {
		return nil, errors.New("a line record cut short")
	}
	p = p[k:]
	n, k := binary.Uvarint(p)
	if k <= 0 || uint64(len(p)-k) < n {
		return nil, errors.New("a line record cut short")
	}
	src := p[k : k+int(n)]
	if string(src) != c.source {
		c.source = string(src)
	}
	l.Number, l.Offset, l.Source = int64(num), off, c.source
	return p[k+int(n):], nil
}

func (c *lineCodec) AppendElem(dst []byte, l *logs.Line) []byte {
	return append(appendLine(dst, l), l.Text...)
}

func (c *lineCodec) DecodeElem(p []byte, l *logs.Line) error {
	rest, err := c.decodeLine(p, l)
	if err != nil {
		return err
	}
	l.Text = string(rest)
	return nil
}

func (c *lineCodec) AppendReject(dst []byte, d *stream.DeadLetter[logs.Line]) []byte {
	var flags byte
	for i, m := range marks {
		if errors.Is(d.Err, m) {
			flags |= 1 << i
		}
	}
	dst = append(dst, flags)
	dst = appendLine(dst, &d.Value)
	dst = binary.AppendUvarint(dst, uint64(len(d.Value.Text)))
	dst = append(dst, d.Value.Text...)
	return append(dst, d.Err.Error()...)
}

func (c *lineCodec) DecodeReject(p []byte) (stream.DeadLetter[logs.Line], error) {
	var d stream.DeadLetter[logs.Line]
	if len(p) < 1 {
		return d, errors.New("a dead letter's record too short")
	}
	flags := p[0]
	rest, err := c.decodeLine(p[1:], &d.Value)
	if err != nil {
		return d, err
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || uint64(len(rest)-k) < n {
		return d, errors.New("a dead letter's record cut short")
	}
	d.Value.Text = string(rest[k : k+int(n)])
	e := &lineError{msg: string(rest[k+int(n):])}
	for i, m := range marks {
		if flags&(1<<i) != 0 {
			e.marks = append(e.marks, m)
		}
	}
	d.Err = e
	return d, nil
}
