package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	// A price is above zero, the generated ones too (the widest walk, for
	// some hours).
	w := newWalk("BUX", 40, cfg.seed, start)
	for range 100_000 {
		if p := w.next(); !(p.Price > 0) || math.IsInf(p.Price, 0) {
			t.Fatalf("the walk reached a price of %v", p.Price)
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
	// The end of input is no warning: one END row per symbol, and the WARN
	// rows (and so the counts) are the moves of more than 5% only.
	ends := 0
	for _, l := range got {
		if strings.HasPrefix(l, "END ") {
			ends++
		}
	}
	if ends != len(walks) {
		t.Errorf("%d END rows, want one per symbol, %d", ends, len(walks))
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
	// Warnings: the delta rule, per symbol, by hand: a tick more than 5%
	// from the trigger point fires the window of the ticks since the last
	// one (if any) and becomes the point; at the end, the open window is an
	// END row, not a warning.
	warns := map[string]map[int64]int64{} // symbol -> 30 s window start -> count
	w30 := func(t time.Time) int64 { return window.StartOf(t.UnixNano(), 0, int64(30*time.Second)) }
	for sym, ps := range perSym {
		point, open := 1000.0, 0
		for _, p := range ps {
			if math.Abs(p.Price-point)/point > 0.05 {
				if open > 0 {
					fmtLine(secWarn, window.Window{}, sym, move(warning{At: p.At, Old: point, New: p.Price}))
					if warns[sym] == nil {
						warns[sym] = map[int64]int64{}
					}
					warns[sym][w30(p.At)]++
				}
				point, open = p.Price, 0
			}
			open++
		}
		last := ps[len(ps)-1]
		fmtLine(secEnd, window.Window{}, sym, move(warning{At: last.At, Old: point, New: last.Price}))
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

// serve accepts one connection on a local port, writes lines to it and
// closes it; it returns the address.
func serve(t *testing.T, lines string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Write([]byte(lines))
		c.Close()
	}()
	return l.Addr().String()
}

// socketRun runs five minutes of the seeded job with lines from a socket.
func socketRun(t *testing.T, lines string, asJSON bool) (out, errOut string, err error) {
	t.Helper()
	zero := 0
	cfg := config{seed: 7, seeded: true, unpaced: true, duration: 5 * time.Minute, socket: serve(t, lines), socketRetries: &zero,
		json: asJSON, start: time.Date(2015, 2, 9, 9, 0, 0, 0, time.UTC)}
	var o, e bytes.Buffer
	err = run(context.Background(), cfg, &o, &e)
	return o.String(), e.String(), err
}

// Socket lines join the prices; a bad line is reported, with its reason,
// and skipped, and the job goes on. A price is a finite number above zero.
// A symbol's move of more than 5% is a warning that shows it; its last
// window at the end of the input is an END row.
func TestStockPricesSocketInput(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		out, reports, err := socketRun(t, "ACME,1000\nnot a price line\nACME,abc\nacme, 1100\n"+
			"SPX,NaN\nSPX,nan\nSPX,Inf\nSPX,-Inf\nSPX,+Infinity\nSPX,1e400\nSPX,0\nSPX,-3\nACME,1120\n", asJSON)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"not a price line": want SYMBOL,price`, `"ACME,abc": bad price "abc"`,
			`"SPX,NaN": bad price "NaN": not a finite number`, `"SPX,nan": bad price "nan": not a finite number`,
			`"SPX,Inf": bad price "Inf": not a finite number`, `"SPX,-Inf": bad price "-Inf": not a finite number`,
			`"SPX,+Infinity": bad price "+Infinity": not a finite number`, `"SPX,1e400": bad price "1e400": out of range`,
			`"SPX,0": bad price "0": not above zero`, `"SPX,-3": bad price "-3": not above zero`} {
			if !strings.Contains(reports, want) {
				t.Errorf("stderr %q does not report %s", reports, want)
			}
		}
		if n := strings.Count(reports, "\n"); n != 10 {
			t.Errorf("%d reports, want 10: %q", n, reports)
		}
		if strings.Contains(strings.ToLower(out), "nan") || strings.Contains(out, "Inf") || strings.Contains(out, "\n\n") {
			t.Errorf("a non-finite price or an empty line in the output:\n%s", out)
		}
		if asJSON {
			for _, want := range []string{`"new":1100,"old":1000,"section":"warn","symbol":"ACME"`, `"new":1120,"old":1100,"section":"end","symbol":"ACME"`} {
				if !strings.Contains(out, want) {
					t.Errorf("no %s in the output", want)
				}
			}
			continue
		}
		for _, want := range []string{"ACME  at 09:00:00    1000.00 ->    1100.00  +10.00%", "ACME  at 09:00:00    1100.00 ->    1120.00   +1.82%"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in the output", want)
			}
		}
	}
}

// A result JSON cannot hold fails a -json job with the line, rather than
// printing an empty line: two prices near the float64 limit make a mean
// of +Inf.
func TestStockPricesJSONErrorFailsTheJob(t *testing.T) {
	out, _, err := socketRun(t, "ACME,1.7e308\nACME,1.7e308\n", true)
	if err == nil || !strings.Contains(err.Error(), `cannot write "MEAN`) || !strings.Contains(err.Error(), "json: unsupported value: +Inf") {
		t.Fatalf("the job returned %v, want the MEAN line's JSON error", err)
	}
	if strings.Contains(out, "\n\n") || strings.HasPrefix(out, "\n") {
		t.Fatal("an empty line was printed")
	}
}

// The text and the -json output say the same, line for line, and the
// legend names every kind of line.
func TestStockPricesJSONAgreesWithText(t *testing.T) {
	cfg := config{seed: 7, seeded: true, unpaced: true, duration: 10 * time.Minute, start: time.Date(2015, 2, 9, 9, 0, 0, 0, time.UTC)}
	var text, js, errOut bytes.Buffer
	if err := run(context.Background(), cfg, &text, &errOut); err != nil {
		t.Fatal(err)
	}
	cfg.json = true
	if err := run(context.Background(), cfg, &js, &errOut); err != nil {
		t.Fatal(err)
	}
	if errOut.Len() > 0 {
		t.Fatalf("stderr: %s", errOut.String())
	}
	var texts []string
	for _, l := range strings.Split(strings.TrimSpace(text.String()), "\n") {
		if !strings.HasPrefix(l, "#") {
			texts = append(texts, l)
		}
	}
	objs := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(objs) != len(texts) {
		t.Fatalf("%d JSON lines, %d text lines", len(objs), len(texts))
	}
	seen := map[string]bool{}
	for i, o := range objs {
		var v struct {
			Section, Symbol, At string
			Old, New, Change    *float64
		}
		if err := json.Unmarshal([]byte(o), &v); err != nil {
			t.Fatalf("line %d %q: %v", i, o, err)
		}
		f := strings.Fields(texts[i])
		if strings.ToUpper(v.Section) != f[0] {
			t.Fatalf("line %d: JSON %s, text %s", i, o, texts[i])
		}
		seen[f[0]] = true
		if f[0] == "WARN" || f[0] == "END" {
			at, _ := time.Parse(time.RFC3339Nano, v.At)
			if v.Old == nil || v.New == nil || v.Change == nil || v.Symbol != f[1] {
				t.Fatalf("line %d: JSON %s lacks the move of %s", i, o, texts[i])
			}
			want := fmt.Sprintf("%s %s at %s %.2f -> %.2f %+.2f%%", f[0], v.Symbol, hms(at), *v.Old, *v.New, 100**v.Change)
			if got := strings.Join(f, " "); got != want {
				t.Fatalf("line %d: text %q, JSON says %q", i, got, want)
			}
			if c := math.Abs(*v.Change); (f[0] == "WARN") != (c > 0.05) {
				t.Fatalf("line %d: a change of %.4f in a %s row", i, c, f[0])
			}
		}
	}
	legend := map[string]bool{}
	for _, l := range strings.Split(text.String(), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "#" {
			legend[f[1]] = true
		}
	}
	for _, name := range sectionNames {
		if !seen[name] || !legend[name] {
			t.Errorf("section %s: printed %v, in the legend %v", name, seen[name], legend[name])
		}
	}
}
