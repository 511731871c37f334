package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidstream/braid/window"
)

// The reference job end to end: one simulated hour with a seed, every
// printed line checked against figures recomputed directly from the
// generated inputs (the same seeded generators, read in full), and the
// output identical on a second run.
func TestStockPricesHourAgainstRecomputation(t *testing.T) {
	start := time.Date(2015, 2, 9, 9, 0, 0, 0, time.UTC)
	cfg := config{seed: 7, seeded: true, unpaced: true, duration: time.Hour, start: start}
	runOnce := func() string {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), cfg, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		if errOut.Len() > 0 {
			t.Fatalf("stderr: %s", errOut.String())
		}
		return out.String()
	}
	first := runOnce()
	if second := runOnce(); second != first {
		t.Fatal("two runs with the same seed printed different output")
	}
	var got []string
	for _, l := range strings.Split(first, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			got = append(got, l)
		}
	}
	want := recompute(cfg.seed, start, start.Add(cfg.duration))
	if len(want) < 1000 {
		t.Fatalf("only %d expected lines: the recomputation is wrong", len(want))
	}
	g := slices.Clone(got)
	slices.Sort(g)
	slices.Sort(want)
	if !slices.Equal(g, want) {
		missing, extra := 0, 0
		var sample []string
		i, j := 0, 0
		for i < len(want) || j < len(g) {
			switch {
			case j == len(g) || i < len(want) && want[i] < g[j]:
				missing++
				if len(sample) < 10 {
					sample = append(sample, "- "+want[i])
				}
				i++
			case i == len(want) || want[i] > g[j]:
				extra++
				if len(sample) < 10 {
					sample = append(sample, "+ "+g[j])
				}
				j++
			default:
				i++
				j++
			}
		}
		t.Fatalf("%d lines missing, %d extra (of %d):\n%s", missing, extra, len(want), strings.Join(sample, "\n"))
	}
	// Printed in event-time order: a line's window never ends after the
	// next line's.
	var lastEnd string
	for _, l := range got {
		if i := strings.Index(l, ", "); i > 0 && strings.HasPrefix(l[8:], "[") {
			end := l[i+2 : i+10]
			if end < lastEnd && !strings.HasPrefix(l, "WARN ") {
				t.Fatalf("line %q printed after a window ending %s", l, lastEnd)
			}
			lastEnd = max(lastEnd, end)
		}
	}
}

// recompute derives every result line from the inputs directly.
func recompute(seed uint64, start, end time.Time) []string {
	var ticks []StockPrice
	perSym := map[string][]StockPrice{}
	for i, wk := range walks {
		w := newWalk(wk.sym, wk.sigma, seed+uint64(i), start)
		for {
			p := w.next()
			if p.At.After(end) {
				break
			}
			ticks = append(ticks, p)
			perSym[wk.sym] = append(perSym[wk.sym], p)
		}
	}
	var out []string
	fmtLine := func(sec int, w window.Window, sym, value string) {
		out = append(out, line(sec, w, sym, value, nil).Text)
	}
	// Sliding 10 s every 5 s.
	byEnd := map[int64][]StockPrice{}
	for _, p := range ticks {
		for _, w := range window.Sliding(10*time.Second, 5*time.Second).Assign(p.At.UnixNano(), nil) {
			byEnd[w.End] = append(byEnd[w.End], p)
		}
	}
	for e, ps := range byEnd {
		w := window.Window{Start: e - int64(10*time.Second), End: e}
		low := ps[0]
		hi := map[string]StockPrice{}
		sum, n := map[string]float64{}, map[string]int{}
		for _, p := range ps {
			if p.Price < low.Price {
				low = p
			}
			if h, ok := hi[p.Symbol]; !ok || p.Price > h.Price {
				hi[p.Symbol] = p
			}
			sum[p.Symbol] += p.Price
			n[p.Symbol]++
		}
		fmtLine(secLow, w, low.Symbol, fmt.Sprintf("%10.2f", low.Price))
		for s, h := range hi {
			fmtLine(secMax, w, s, fmt.Sprintf("%10.2f", h.Price))
			fmtLine(secMean, w, s, fmt.Sprintf("%10.2f", sum[s]/float64(n[s])))
		}
	}
	// Warnings: the delta rule, per symbol, by hand.
	warns := map[string]map[int64]int64{} // symbol -> 30 s window start -> count
	w30 := func(t time.Time) int64 { return window.StartOf(t.UnixNano(), 0, int64(30*time.Second)) }
	for sym, ps := range perSym {
		point := StockPrice{Price: 1000}
		var open []StockPrice
		emit := func() {
			if len(open) > 0 {
				at := open[len(open)-1].At
				fmtLine(secWarn, window.Window{}, sym, "at "+hms(at))
				if warns[sym] == nil {
					warns[sym] = map[int64]int64{}
				}
				warns[sym][w30(at)]++
			}
			open = nil
		}
		for _, p := range ps {
			if math.Abs(point.Price/p.Price-1) > 0.05 {
				emit()
				point = p
			}
			open = append(open, p)
		}
		emit()
	}
	mentions := map[string]map[int64]int64{}
	tw := newTweets(seed, start)
	for {
		x := tw.next()
		if x.At.After(end) {
			break
		}
		for _, s := range x.Symbols {
			if mentions[s] == nil {
				mentions[s] = map[int64]int64{}
			}
			mentions[s][w30(x.At)]++
		}
	}
	win30 := func(s int64) window.Window { return window.Window{Start: s, End: s + int64(30*time.Second)} }
	type pair struct{ x, y float64 }
	pairs := map[int64][]pair{}
	for sym, m := range warns {
		for s, c := range m {
			fmtLine(secWarns, win30(s), sym, fmt.Sprintf("%6d", c))
			if t, ok := mentions[sym][s]; ok {
				fmtLine(secJoin, win30(s), sym, fmt.Sprintf("%6d warnings %6d mentions", c, t))
				pairs[s] = append(pairs[s], pair{float64(c), float64(t)})
			}
		}
	}
	for sym, m := range mentions {
		for s, c := range m {
			fmtLine(secTweets, win30(s), sym, fmt.Sprintf("%6d", c))
		}
	}
	for s, ps := range pairs {
		xs, ys := make([]float64, len(ps)), make([]float64, len(ps))
		for i, p := range ps {
			xs[i], ys[i] = p.x, p.y
		}
		v := "n/a"
		if r, ok := pearsonByHand(xs, ys); ok {
			v = fmt.Sprintf("%+.4f", r)
		}
		fmtLine(secCorr, win30(s), "", fmt.Sprintf("%s over %d symbols", v, len(ps)))
	}
	return out
}

// pearsonByHand is the textbook formula, written apart from the job's.
func pearsonByHand(xs, ys []float64) (float64, bool) {
	n := float64(len(xs))
	var sx, sy, sxx, syy, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		syy += ys[i] * ys[i]
		sxy += xs[i] * ys[i]
	}
	den := math.Sqrt(n*sxx-sx*sx) * math.Sqrt(n*syy-sy*sy)
	if len(xs) < 2 || den == 0 {
		return 0, false
	}
	return (n*sxy - sx*sy) / den, true
}

// Socket lines join the prices; a bad line is reported, with its reason,
// and skipped, and the job goes on.
func TestStockPricesSocketInput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("ACME,1000\nnot a price line\nACME,abc\nacme, 2000\n"))
		c.Close()
	}()
	zero := 0
	cfg := config{seed: 7, seeded: true, unpaced: true, duration: 5 * time.Minute, socket: l.Addr().String(), socketRetries: &zero,
		start: time.Date(2015, 2, 9, 9, 0, 0, 0, time.UTC)}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), cfg, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	reports := errOut.String()
	for _, want := range []string{`"not a price line": want SYMBOL,price`, `"ACME,abc": bad price "abc"`} {
		if !strings.Contains(reports, want) {
			t.Fatalf("stderr %q does not report %s", reports, want)
		}
	}
	if strings.Count(reports, "\n") != 2 {
		t.Fatalf("stderr reports other lines: %q", reports)
	}
	if !strings.Contains(out.String(), "ACME") {
		t.Fatal("the socket's good lines are not in the results")
	}
}
