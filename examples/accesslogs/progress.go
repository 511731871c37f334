package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/braidstream/braid/internal/deadletter"
	"github.com/schollz/progressbar/v3"
)

// showProgress says whether to show a progress bar on w: -progress on, or
// auto and w is a terminal.
func showProgress(mode string, w io.Writer) bool {
	switch mode {
	case "on":
		return true
	case "off":
		return false
	}
	if l, ok := w.(*deadletter.LockedWriter); ok {
		w = l.Writer()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar shows the inputs' progress on w, bytes of total and lines a
// second, updated every 100 ms, until the returned function is called
// (after Execute): it shows the final figures and returns once the
// updating goroutine has ended.
func progressBar(ins []*input, w io.Writer) (stop func()) {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetRenderBlankState(true))
	update := func() {
		var bytes, total, lines int64
		var elapsed time.Duration
		for _, in := range ins {
			s := in.progress.Stats()
			bytes, total, lines = bytes+s.Bytes, total+s.TotalBytes, lines+s.Lines
			elapsed = max(elapsed, s.Elapsed)
		}
		if total > 0 && bar.GetMax64() != total {
			bar.ChangeMax64(total)
		}
		rate := 0.0
		if elapsed > 0 {
			rate = float64(lines) / elapsed.Seconds()
		}
		bar.Describe(fmt.Sprintf("%d lines, %.0f lines/s", lines, rate))
		bar.Set64(bytes)
	}
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				update()
			}
		}
	}()
	return func() {
		close(done)
		<-ended
		update()
		bar.Finish()
		fmt.Fprintln(w)
	}
}
