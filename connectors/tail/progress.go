package tail

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/braidstream/braid/internal/textsrc"
)

// A Progress is how far a source of Lines has come, for a command-line
// job to show while it runs: give it to WithProgress, and read Stats from
// any goroutine (for example every 100ms, into a progress bar). The source
// updates it once per batch of lines, so reading it costs the job
// nothing. The zero value is ready; use one Progress per source.
type Progress struct {
	bytes, total     atomic.Int64
	files, fileCount atomic.Int64
	lines, dead      atomic.Int64
	polls            atomic.Int64
	start, end       atomic.Int64 // Unix nanoseconds; 0 when not yet
	follow           atomic.Bool
}

// ProgressStats is a Progress at one moment.
type ProgressStats struct {
	// Bytes read of TotalBytes, the sizes on disk of the files found
	// (compressed, for .gz files). With Follow, TotalBytes grows as files
	// grow and appear, and is not a goal.
	Bytes, TotalBytes int64
	// Files read to their end, of TotalFiles found.
	Files, TotalFiles int
	// Lines delivered, and lines sent to the dead letters. Lines read
	// again after a restart from a checkpoint count again.
	Lines, DeadLetters int64
	// Polls counts the checks made at the end of the newest file, while
	// following: how long the source has been waiting for lines.
	Polls int64
	// Elapsed is the time since the source's first read, up to its end.
	Elapsed time.Duration
	// Following is set with Follow; Done once a bounded read ended.
	Following, Done bool
}

// Stats returns the progress so far.
func (p *Progress) Stats() ProgressStats {
	s := ProgressStats{
		Bytes: p.bytes.Load(), TotalBytes: p.total.Load(),
		Files: int(p.files.Load()), TotalFiles: int(p.fileCount.Load()),
		Lines: p.lines.Load(), DeadLetters: p.dead.Load(), Polls: p.polls.Load(),
		Following: p.follow.Load(),
	}
	if start := p.start.Load(); start != 0 {
		end := p.end.Load()
		s.Done = end != 0
		if end == 0 {
			end = time.Now().UnixNano()
		}
		s.Elapsed = time.Duration(end - start)
	}
	return s
}

// Fraction is Bytes/TotalBytes, between 0 and 1, or -1 when following or
// before the files are found.
func (s ProgressStats) Fraction() float64 {
	if s.Following || s.TotalBytes <= 0 {
		if s.Done {
			return 1
		}
		return -1
	}
	return min(1, float64(s.Bytes)/float64(s.TotalBytes))
}

// LinesPerSecond is the mean rate since the first read.
func (s ProgressStats) LinesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Lines) / s.Elapsed.Seconds()
}

// String is one line for a terminal, e.g. "12.5 MB of 200.0 MB (6.2%),
// 1 of 3 files, 123456 lines (2 dead letters), 951234 lines/s".
func (s ProgressStats) String() string {
	var b []byte
	if f := s.Fraction(); f >= 0 {
		b = fmt.Appendf(b, "%s of %s (%.1f%%), %d of %d files", mb(s.Bytes), mb(s.TotalBytes), 100*f, s.Files, s.TotalFiles)
	} else {
		b = fmt.Appendf(b, "%s read, %d files", mb(s.Bytes), s.TotalFiles)
	}
	b = fmt.Appendf(b, ", %d lines", s.Lines)
	if s.DeadLetters > 0 {
		b = fmt.Appendf(b, " (%d dead letters)", s.DeadLetters)
	}
	b = fmt.Appendf(b, ", %.0f lines/s", s.LinesPerSecond())
	return string(b)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func (p *Progress) begin(follow bool) {
	p.follow.Store(follow)
	p.end.Store(0)
	p.start.CompareAndSwap(0, time.Now().UnixNano())
}

// update takes in a Read: its lines and how far the reader is.
func (p *Progress) update(st textsrc.GlobStats, lines int64, err error) {
	p.bytes.Store(st.Bytes)
	p.total.Store(st.TotalBytes)
	p.files.Store(int64(st.Files))
	p.fileCount.Store(int64(st.TotalFiles))
	p.polls.Store(st.Polls)
	if lines > 0 {
		p.lines.Add(lines)
	}
	if err == io.EOF {
		p.end.Store(time.Now().UnixNano())
	}
}
