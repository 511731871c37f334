package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/examples/internal/evsort"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// The generated price streams: symbol and the standard deviation of a step.
var walks = []struct {
	sym   string
	sigma float64
}{{"SPX", 10}, {"FTSE", 20}, {"DJI", 30}, {"BUX", 40}}

// initialPrice is the trigger point of each symbol's first delta window,
// as Flink's example's default price.
const initialPrice = 1000

// priceChange is the delta of the warnings: the relative change from old
// to new. (Flink's example divides the other way, old/new-1; this way
// round the change shown on a warning is the one that fired it, always
// more than 5%.)
func priceChange(old, new StockPrice) float64 { return math.Abs(new.Price/old.Price - 1) }

// A deltaTick is a tick as the warnings' delta window sees it.
//
// window.Delta fires a window before adding the element that crossed the
// threshold, so a window function sees neither the move that fired the
// window nor whether the window was fired by a move or flushed at the end
// of the input. So each tick enters the delta window twice: as itself
// (never a trigger), then as its check, the element the delta function
// compares with the trigger point. A window fired by a move then ends in
// the tick that moved, and one flushed at the end ends in a check:
//
//	ticks      1000   1020   1060 (+6% from 1000)
//	elements   t c    t c    t | c ...
//	windows    [t1000 c1000 t1020 c1020 t1060]  fired by c1060: WARN 1000 -> 1060
//	           [c1060 ...                       the next one, from 1060
type deltaTick struct {
	StockPrice
	check bool
}

// moved is the delta function of the warnings: the price change of a
// check from the trigger point, 0 for a tick.
func moved(point, e deltaTick) float64 {
	if !e.check {
		return 0
	}
	return priceChange(point.StockPrice, e.StockPrice)
}

// A warning is a symbol's price move of more than 5% (the delta window
// fired), or, with End, its last price when a bounded input ended and the
// move since its last warning (the window the end of input flushed).
type warning struct {
	Symbol   string
	At       time.Time // the time of the new price
	Old, New float64   // the price at the last warning (initialPrice before the first), and now
	End      bool
}

// sendWarning is the window function of the delta windows (the seed's
// sendWarning): elems are a window's ticks and checks, see deltaTick.
func sendWarning(sym string, _ window.Window, elems []deltaTick, emit func(warning)) {
	old := float64(initialPrice) // the trigger point: the first window's is the initial one
	if elems[0].check {
		old = elems[0].Price // the check that fired the previous window
	}
	last := elems[len(elems)-1]
	switch {
	case last.check: // the end of input flushed the window
		emit(warning{Symbol: sym, At: last.At, Old: old, New: last.Price, End: true})
	case len(elems) > 1: // fired by last's check
		emit(warning{Symbol: sym, At: last.At, Old: old, New: last.Price})
	default:
		// The first tick moved from the initial price: as in Flink's delta
		// policy, an element that fires an empty window only becomes the
		// trigger point.
	}
}

// Count is a symbol's count in a window.
type Count struct {
	Symbol string
	N      int64
}

// Line is one printed result: its timestamp (the result's event time)
// orders lines, Section breaks ties, then the text.
type Line struct {
	Section int
	Text    string
	JSON    string
	JSONErr string // why the result has no JSON (a number JSON cannot hold): the job fails on it under -json
}

const (
	secLow = iota
	secMax
	secMean
	secWarn
	secEnd
	secWarns
	secTweets
	secJoin
	secCorr
)

var sectionNames = []string{"LOW", "MAX", "MEAN", "WARN", "END", "WARNS", "TWEETS", "JOIN", "CORR"}

func hms(t time.Time) string { return t.UTC().Format("15:04:05") }

func line(sec int, w window.Window, sym string, value string, fields map[string]any) Line {
	text := fmt.Sprintf("%-7s [%s, %s)  %-5s %s", sectionNames[sec], hms(w.StartTime()), hms(w.EndTime()), sym, value)
	if w == (window.Window{}) {
		text = fmt.Sprintf("%-7s %-22s %-5s %s", sectionNames[sec], "", sym, value)
	}
	obj := map[string]any{"section": strings.ToLower(sectionNames[sec])}
	if w != (window.Window{}) {
		obj["start"], obj["end"] = w.StartTime().Format(time.RFC3339Nano), w.EndTime().Format(time.RFC3339Nano)
	}
	if sym != "" {
		obj["symbol"] = sym
	}
	for k, v := range fields {
		obj[k] = v
	}
	js, err := json.Marshal(obj)
	if err != nil {
		return Line{Section: sec, Text: text, JSONErr: err.Error()}
	}
	return Line{Section: sec, Text: text, JSON: string(js)}
}

// move is the text of a warning's price move.
func move(w warning) string {
	return fmt.Sprintf("at %s %10.2f -> %10.2f %+7.2f%%", hms(w.At), w.Old, w.New, 100*(w.New/w.Old-1))
}

// parseTick reads a socket line, "SYMBOL,price". A price is a decimal
// number, finite and above zero; anything else is an error saying why.
func parseTick(l string) (sym string, price float64, err error) {
	sym, p, ok := strings.Cut(strings.TrimSpace(l), ",")
	sym, p = strings.ToUpper(strings.TrimSpace(sym)), strings.TrimSpace(p)
	if !ok || sym == "" {
		return "", 0, fmt.Errorf("want SYMBOL,price")
	}
	v, err := strconv.ParseFloat(p, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return "", 0, fmt.Errorf("bad price %q: out of range", p)
	case err != nil:
		return "", 0, fmt.Errorf("bad price %q", p)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "", 0, fmt.Errorf("bad price %q: not a finite number", p)
	case v <= 0:
		return "", 0, fmt.Errorf("bad price %q: not above zero", p)
	}
	return sym, v, nil
}

func buildJob(env *stream.Env, cfg config, p pacer, end time.Time, out, errOut io.Writer) {
	ts := func(s StockPrice) time.Time { return s.At }

	// 1. Inputs: the four walks, and the socket if asked.
	var prices *stream.Stream[StockPrice]
	for i, wk := range walks {
		wk, seed := wk, cfg.seed+uint64(i)
		src := stream.FromSource(env, "prices "+wk.sym, false, func(context.Context, int, int) (stream.SourceReader[StockPrice], error) {
			w := newWalk(wk.sym, wk.sigma, seed, cfg.start)
			return &paced[StockPrice]{next: w.next, at: ts, p: p, end: end}, nil
		}).WithTimestamps(ts, stream.MonotonousTimestamps())
		if prices == nil {
			prices = src
		} else {
			prices = prices.Merge(src)
		}
	}
	if cfg.socket != "" {
		var opts []stream.TextOption
		if cfg.socketRetries != nil {
			opts = append(opts, stream.MaxRetries(*cfg.socketRetries))
		}
		parsed, bad := stream.MapErr(stream.SocketText(env, cfg.socket, opts...), func(l string) (StockPrice, error) {
			sym, price, err := parseTick(l)
			return StockPrice{Symbol: sym, Price: price, At: p.now()}, err
		})
		bad.WriteTo(errOut, func(d stream.DeadLetter[string]) string {
			return fmt.Sprintf("stockprices: skipped socket line %q: %v", d.Value, d.Err)
		})
		prices = prices.Merge(parsed.WithTimestamps(ts, stream.MonotonousTimestamps().WithIdleness(time.Second)))
	}
	var lines []*stream.Stream[Line]

	// 2. Every 5 s over the last 10 s: lowest overall, highest and mean per symbol.
	last10 := window.Sliding(10*time.Second, 5*time.Second)
	lines = append(lines, stream.Map(stream.MinBy(prices.WindowAll(last10), func(s StockPrice) float64 { return s.Price }),
		func(r window.Result[struct{}, StockPrice]) Line {
			return line(secLow, r.Window, r.Value.Symbol, fmt.Sprintf("%10.2f", r.Value.Price), map[string]any{"price": r.Value.Price})
		}))
	bySym := stream.KeyBy(prices, func(s StockPrice) string { return s.Symbol })
	lines = append(lines, stream.Map(stream.MaxBy(bySym.Window(last10), func(s StockPrice) float64 { return s.Price }),
		func(r window.Result[string, StockPrice]) Line {
			return line(secMax, r.Window, r.Key, fmt.Sprintf("%10.2f", r.Value.Price), map[string]any{"price": r.Value.Price})
		}))
	lines = append(lines, stream.Map(stream.Mean(bySym.Window(last10), func(s StockPrice) float64 { return s.Price }),
		func(r window.Result[string, float64]) Line {
			return line(secMean, r.Window, r.Key, fmt.Sprintf("%10.2f", r.Value), map[string]any{"mean": r.Value})
		}))

	// 3. Price warnings: a delta window per symbol (each tick entered twice,
	// see deltaTick), and the windows left open at the end of input.
	ticks := stream.FlatMap(prices, func(p StockPrice, emit func(deltaTick)) {
		emit(deltaTick{p, false})
		emit(deltaTick{p, true})
	})
	byTickSym := stream.KeyBy(ticks, func(t deltaTick) string { return t.Symbol })
	moves := stream.Apply(byTickSym.Window(window.Delta(0.05, moved, deltaTick{StockPrice{Price: initialPrice}, true})), sendWarning)
	lines = append(lines, stream.Map(moves, func(w warning) Line {
		sec := secWarn
		if w.End {
			sec = secEnd
		}
		return line(sec, window.Window{}, w.Symbol, move(w), map[string]any{"at": w.At.Format(time.RFC3339Nano),
			"old": w.Old, "new": w.New, "change": w.New/w.Old - 1})
	}))
	warnings := moves.Filter(func(w warning) bool { return !w.End })

	// 4. Warnings per symbol in 30 s.
	every30 := window.Tumbling(30 * time.Second)
	warnCounts := stream.Count(stream.KeyBy(warnings, func(w warning) string { return w.Symbol }).Window(every30))
	lines = append(lines, stream.Map(warnCounts, func(r window.Result[string, int64]) Line {
		return line(secWarns, r.Window, r.Key, fmt.Sprintf("%6d", r.Value), map[string]any{"warnings": r.Value})
	}))

	// 5. Tweets and their mentions per symbol in 30 s.
	tweets := stream.FromSource(env, "tweets", false, func(context.Context, int, int) (stream.SourceReader[Tweet], error) {
		t := newTweets(cfg.seed, cfg.start)
		return &paced[Tweet]{next: t.next, at: func(t Tweet) time.Time { return t.At }, p: p, end: end}, nil
	}).WithTimestamps(func(t Tweet) time.Time { return t.At }, stream.MonotonousTimestamps())
	mentions := stream.FlatMap(tweets, func(t Tweet, emit func(string)) {
		for _, s := range t.Symbols {
			emit(s)
		}
	})
	tweetCounts := stream.Count(stream.KeyBy(mentions, func(s string) string { return s }).Window(every30))
	lines = append(lines, stream.Map(tweetCounts, func(r window.Result[string, int64]) Line {
		return line(secTweets, r.Window, r.Key, fmt.Sprintf("%6d", r.Value), map[string]any{"mentions": r.Value})
	}))

	// 6. The join of warnings and mentions per symbol, and their correlation.
	type pair struct {
		Symbol             string
		Window             window.Window
		Warnings, Mentions int64
	}
	byResultKey := func(r window.Result[string, int64]) string { return r.Key }
	joined := stream.Join(stream.KeyBy(warnCounts, byResultKey), stream.KeyBy(tweetCounts, byResultKey), every30,
		func(w, t window.Result[string, int64]) pair { return pair{w.Key, w.Window, w.Value, t.Value} })
	lines = append(lines, stream.Map(joined, func(p pair) Line {
		return line(secJoin, p.Window, p.Symbol, fmt.Sprintf("%6d warnings %6d mentions", p.Warnings, p.Mentions),
			map[string]any{"warnings": p.Warnings, "mentions": p.Mentions})
	}))
	lines = append(lines, stream.Apply(joined.WindowAll(every30), func(_ struct{}, w window.Window, ps []pair, emit func(Line)) {
		xs, ys := make([]float64, len(ps)), make([]float64, len(ps))
		for i, p := range ps {
			xs[i], ys[i] = float64(p.Warnings), float64(p.Mentions)
		}
		r, ok := pearson(xs, ys)
		value, field := "n/a", any(nil)
		if ok {
			value, field = fmt.Sprintf("%+.4f", r), r
		}
		emit(line(secCorr, w, "", fmt.Sprintf("%s over %d symbols", value, len(ps)), map[string]any{"correlation": field, "symbols": len(ps)}))
	}))

	// Print in event-time order, the same on every run with a seed.
	all := lines[0].Merge(lines[1:]...)
	sorted := stream.Process(stream.KeyBy(all, func(Line) int { return 0 }), sortLines)
	render := func(l Line) (string, error) {
		if !cfg.json {
			return l.Text, nil
		}
		if l.JSONErr != "" {
			return "", fmt.Errorf("cannot write %q as JSON: %s", l.Text, l.JSONErr)
		}
		return l.JSON, nil
	}
	if cfg.out != "" {
		// Exactly once with checkpoints: one sink subtask, so that the part
		// files, in the order of their names, hold the lines in order.
		texts, bad := stream.MapErr(sorted, render)
		bad.ForEach(func(d stream.DeadLetter[Line]) error { return d.Err })
		filesink.Lines(texts, cfg.out, func(s string) string { return s }).SetParallelism(1)
		return
	}
	sorted.ForEach(func(l Line) error {
		s, err := render(l)
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, s+"\n")
		return err
	})
}

// sortLines holds each line until event time passes it, then emits the
// lines of that time in section and text order.
var sortLines = evsort.By(func(a, b Line) int {
	if a.Section != b.Section {
		return a.Section - b.Section
	}
	return strings.Compare(a.Text, b.Text)
})

// pearson is the correlation of xs and ys, false when it is undefined
// (fewer than two pairs, or either side constant).
func pearson(xs, ys []float64) (float64, bool) {
	n := float64(len(xs))
	if len(xs) < 2 {
		return 0, false
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/n, sy/n
	var cov, vx, vy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		cov += dx * dy
		vx += dx * dx
		vy += dy * dy
	}
	if vx == 0 || vy == 0 {
		return 0, false
	}
	return cov / math.Sqrt(vx*vy), true
}
