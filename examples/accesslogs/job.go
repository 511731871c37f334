package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/examples/internal/evsort"
	"github.com/braidstream/braid/internal/deadletter"
	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// The windows of the results.
const (
	minute     = time.Minute
	topSize    = 5 * time.Minute
	topN       = 10
	clientsWin = 10 * time.Minute
)

// A Request is what the job keeps of an access log line. Its strings are
// substrings of the line (logs.Access's), so an element holds its line's
// memory until it is dropped.
type Request struct {
	Host, Path, Client string
	Status             int
	Time               time.Time
	At                 place
}

// A place is where a line was read: a file, the line's byte offset (-1
// for the generator) and its number.
type place = deadletter.Place

// A parser reads one input's lines, in order, into Requests: each line in
// the format of the line before it (Combined, or vhost_combined), then in
// the other. It counts what it saw; it serves one subtask, so the counts
// are plain (read them after Execute).
type parser struct {
	vhost bool
	count *inputCounts
}

// inputCounts are an input's lines: those read and the requests among
// them, counted by its parser; and its dead letters, with those the
// parser never saw (unread: the source could not deliver them) and those
// it took for requests (timeless: event time cannot hold their times),
// counted by the dead letters' sink. Each count has one writer, a subtask
// of the job: read them after Execute.
type inputCounts struct {
	lines, requests        int64
	dead, unread, timeless int64
}

// parse is the MapErr function of an input.
func (p *parser) parse(l logs.Line) (Request, error) {
	p.count.lines++
	a, err := p.access(l.Text, p.vhost)
	if err != nil {
		b, err2 := p.access(l.Text, !p.vhost)
		if err2 != nil {
			return Request{}, err // the error of the format the input was in
		}
		a, err, p.vhost = b, nil, !p.vhost
	}
	p.count.requests++
	return Request{Host: a.Host, Path: a.Path, Client: a.Client, Status: a.Status, Time: a.Time,
		At: place{File: l.Source, Offset: l.Offset, Line: l.Number}}, nil
}

func (p *parser) access(text string, vhost bool) (logs.Access, error) {
	if vhost {
		return logs.ParseAccessVHost(text)
	}
	return logs.ParseAccess(text)
}

// The results, one type per kind: what -json writes (with the kind) and
// -parquet writes (one file set per kind, without it).
type (
	// A HostMinute is a host's requests in a minute.
	HostMinute struct {
		Kind       string    `json:"kind" arrow:"-"`
		Start      time.Time `json:"start"`
		End        time.Time `json:"end"`
		Host       string    `json:"host"`
		Requests   int64     `json:"requests"`
		Errors     int64     `json:"errors"` // 5xx
		ErrorRatio float64   `json:"error_ratio"`
	}
	// A PathMinute is a path's requests in a minute.
	PathMinute struct {
		Kind       string    `json:"kind" arrow:"-"`
		Start      time.Time `json:"start"`
		End        time.Time `json:"end"`
		Host       string    `json:"host"`
		Path       string    `json:"path"`
		Requests   int64     `json:"requests"`
		Errors     int64     `json:"errors"`
		ErrorRatio float64   `json:"error_ratio"`
	}
	// A TopPath is one of the most requested paths in 5 minutes.
	TopPath struct {
		Kind     string    `json:"kind" arrow:"-"`
		Start    time.Time `json:"start"`
		End      time.Time `json:"end"`
		Rank     int       `json:"rank"` // from 1
		Host     string    `json:"host"`
		Path     string    `json:"path"`
		Requests int64     `json:"requests"`
	}
	// An Alert is a host's minute whose 5xx ratio moved by more than
	// -alert-jump from From, the ratio of the host's last alert (0 at
	// first): Rising, or falling back.
	Alert struct {
		Kind       string    `json:"kind" arrow:"-"`
		Start      time.Time `json:"start"`
		End        time.Time `json:"end"`
		Host       string    `json:"host"`
		Rising     bool      `json:"rising"`
		From       float64   `json:"from"`
		ErrorRatio float64   `json:"error_ratio"`
		Requests   int64     `json:"requests"`
		Errors     int64     `json:"errors"`
	}
	// A Clients is the distinct client addresses of a host ("*": of all
	// hosts) in 10 minutes.
	Clients struct {
		Kind    string    `json:"kind" arrow:"-"`
		Start   time.Time `json:"start"`
		End     time.Time `json:"end"`
		Host    string    `json:"host"`
		Clients int64     `json:"clients"`
	}
)

// A tally is requests and 5xx responses.
type tally struct{ Requests, Errors int64 }

func (t tally) ratio() float64 { return float64(t.Errors) / float64(t.Requests) }

var tallies = stream.AggregateFunc[Request, tally, tally]{
	Init: func() tally { return tally{} },
	Add: func(t tally, r Request) tally {
		t.Requests++
		if r.Status/100 == 5 {
			t.Errors++
		}
		return t
	},
	Merge:  func(a, b tally) tally { return tally{a.Requests + b.Requests, a.Errors + b.Errors} },
	Result: func(t tally) tally { return t },
}

// A hostPath is the key of a path's windows: paths are the host's.
type hostPath struct{ Host, Path string }

// A clientSet is the distinct clients of a window.
type clientSet struct{ Clients map[string]bool }

var distinctClients = stream.AggregateFunc[Request, clientSet, int64]{
	Init: func() clientSet { return clientSet{map[string]bool{}} },
	Add: func(s clientSet, r Request) clientSet {
		s.Clients[r.Client] = true
		return s
	},
	Merge: func(a, b clientSet) clientSet {
		m := maps.Clone(a.Clients)
		maps.Copy(m, b.Clients)
		return clientSet{m}
	},
	Result: func(s clientSet) int64 { return int64(len(s.Clients)) },
}

// results are the job's result streams, one per kind.
type results struct {
	hosts   *stream.Stream[HostMinute]
	paths   *stream.Stream[PathMinute]
	top     *stream.Stream[TopPath]
	alerts  *stream.Stream[Alert]
	clients *stream.Stream[Clients]
	// late are the requests whose minute had closed.
	late *stream.Stream[Request]
}

func utc(w window.Window) (start, end time.Time) { return w.StartTime().UTC(), w.EndTime().UTC() }

// analyse builds the analyses of reqs, in event time.
func analyse(cfg config, reqs *stream.Stream[Request]) results {
	var r results
	// 1. Per host and minute.
	hostMin := stream.KeyBy(reqs, func(q Request) string { return q.Host }).Window(window.Tumbling(minute))
	r.late = hostMin.Late()
	r.hosts = stream.Map(stream.Aggregate(hostMin, tallies).Uid("host minutes"), func(w window.Result[string, tally]) HostMinute {
		start, end := utc(w.Window)
		return HostMinute{"host", start, end, w.Key, w.Value.Requests, w.Value.Errors, w.Value.ratio()}
	})

	// 2. Per path and minute.
	byPath := stream.KeyBy(reqs, func(q Request) hostPath { return hostPath{q.Host, q.Path} })
	r.paths = stream.Map(stream.Aggregate(byPath.Window(window.Tumbling(minute)), tallies).Uid("path minutes"), func(w window.Result[hostPath, tally]) PathMinute {
		start, end := utc(w.Window)
		return PathMinute{"path", start, end, w.Key.Host, w.Key.Path, w.Value.Requests, w.Value.Errors, w.Value.ratio()}
	})

	// 3. The top paths of the last 5 minutes, every minute: each path's
	// count in the sliding window, then the counts of a window together
	// (their timestamps, the window's end - 1 ns, all fall in the minute
	// before its end).
	counts := stream.Count(byPath.Window(window.Sliding(topSize, minute)))
	r.top = stream.Apply(counts.WindowAll(window.Tumbling(minute)), func(_ struct{}, _ window.Window, cs []window.Result[hostPath, int64], emit func(TopPath)) {
		slices.SortFunc(cs, byCountThenName)
		for i, c := range cs[:min(topN, len(cs))] {
			start, end := utc(c.Window)
			emit(TopPath{"top", start, end, i + 1, c.Key.Host, c.Key.Path, c.Value})
		}
	})

	// 4. Alerts: a delta window per host over its minutes, each entered
	// twice (see ratioCheck).
	checks := stream.FlatMap(r.hosts.Filter(func(h HostMinute) bool { return h.Requests >= cfg.alertMinRequests }),
		func(h HostMinute, emit func(ratioCheck)) {
			emit(ratioCheck{h, false})
			emit(ratioCheck{h, true})
		})
	deltas := stream.KeyBy(checks, func(c ratioCheck) string { return c.Host }).
		Window(window.Delta(cfg.alertJump, ratioMoved, ratioCheck{HostMinute{}, true}))
	r.alerts = stream.FlatMap(stream.Aggregate(deltas, alertWindows), func(w window.Result[string, alertWindow], emit func(Alert)) {
		a := w.Value
		if a.Last.check {
			return // the end of input emitted the open window: no alert
		}
		from := 0.0 // before the first alert
		if a.First.check {
			from = a.First.ErrorRatio // the minute of the last alert
		}
		h := a.Last.HostMinute
		rising := h.ErrorRatio > from
		kind := "alert"
		if !rising {
			kind = "recovered" // the section of its text, as for every kind
		}
		emit(Alert{kind, h.Start, h.End, h.Host, rising, from, h.ErrorRatio, h.Requests, h.Errors})
	})

	// 5. Distinct clients per host, and of all hosts, per 10 minutes.
	perHost := stream.Aggregate(stream.KeyBy(reqs, func(q Request) string { return q.Host }).Window(window.Tumbling(clientsWin)), distinctClients).Uid("clients per host")
	all := stream.Aggregate(reqs.WindowAll(window.Tumbling(clientsWin)), distinctClients).Uid("clients of all hosts")
	r.clients = stream.Map(perHost, func(w window.Result[string, int64]) Clients {
		start, end := utc(w.Window)
		return Clients{"clients", start, end, w.Key, w.Value}
	}).Merge(stream.Map(all, func(w window.Result[struct{}, int64]) Clients {
		start, end := utc(w.Window)
		return Clients{"clients", start, end, "*", w.Value}
	}))
	return r
}

// byCountThenName orders the paths of the top: most requests first, then
// by host and path.
func byCountThenName(a, b window.Result[hostPath, int64]) int {
	switch {
	case a.Value != b.Value:
		return int(b.Value - a.Value)
	case a.Key.Host != b.Key.Host:
		if a.Key.Host < b.Key.Host {
			return -1
		}
		return 1
	case a.Key.Path < b.Key.Path:
		return -1
	case a.Key.Path > b.Key.Path:
		return 1
	}
	return 0
}

// A ratioCheck is a host's minute as the alerts' delta window sees it.
//
// window.Delta fires a window before it adds the element that crossed the
// threshold, and a window function cannot tell a window fired by a move
// from one emitted at the end of input. So each minute enters the window
// twice: as itself (never a trigger), then as its check, the element the
// delta function compares with the trigger point. A window fired by a
// move ends in the minute that moved; one emitted at the end, in a check;
// and a window that starts with a check starts with the trigger point:
//
//	minutes    1%     2%     40% (jump from 0% > 10 points)
//	elements   m c    m c    m | c ...
//	windows    [m1 c1 m2 c2 m40]   fired by c40: ALERT 0% -> 40%
//	           [c40 ...            the next one, from 40%
type ratioCheck struct {
	HostMinute
	check bool
}

// ratioMoved is the delta function of the alerts: how far a check's 5xx
// ratio is from the trigger point's, 0 for a minute itself.
func ratioMoved(point, e ratioCheck) float64 {
	if !e.check {
		return 0
	}
	d := e.ErrorRatio - point.ErrorRatio
	return max(d, -d)
}

// An alertWindow is what an alert needs of a delta window: its first and
// last elements.
type alertWindow struct{ First, Last ratioCheck }

var alertWindows = stream.AggregateFunc[ratioCheck, alertWindow, alertWindow]{
	Init: func() alertWindow { return alertWindow{} },
	Add: func(a alertWindow, c ratioCheck) alertWindow {
		if a.First.Start.IsZero() {
			a.First = c
		}
		a.Last = c
		return a
	},
	Merge:  func(a, b alertWindow) alertWindow { return alertWindow{a.First, b.Last} }, // delta windows do not merge
	Result: func(a alertWindow) alertWindow { return a },
}

// The text of each kind of result: the section, the window, the figures.
// Hosts are "-" for lines without one; paths are quoted (they may hold
// spaces).

const stamp = "2006-01-02 15:04:05"

func span(start, end time.Time) string {
	return "[" + start.Format(stamp) + ", " + end.Format(time.TimeOnly) + ")"
}

func hostName(h string) string {
	if h == "" {
		return "-"
	}
	return h
}

func percent(r float64) string { return strconv.FormatFloat(100*r, 'f', 2, 64) + "%" }

func (h HostMinute) text() string {
	return fmt.Sprintf("HOST      %s  %-20s %7d requests %6d 5xx %7s", span(h.Start, h.End), hostName(h.Host), h.Requests, h.Errors, percent(h.ErrorRatio))
}

func (p PathMinute) text() string {
	return fmt.Sprintf("PATH      %s  %-20s %-30q %7d requests %6d 5xx %7s", span(p.Start, p.End), hostName(p.Host), p.Path, p.Requests, p.Errors, percent(p.ErrorRatio))
}

func (t TopPath) text() string {
	return fmt.Sprintf("TOP       %s  #%-2d %-20s %-30q %7d requests", span(t.Start, t.End), t.Rank, hostName(t.Host), t.Path, t.Requests)
}

func (a Alert) text() string {
	section := "ALERT    "
	if !a.Rising {
		section = "RECOVERED"
	}
	return fmt.Sprintf("%s %s  %-20s 5xx ratio %s -> %s (%d of %d requests)", section, span(a.Start, a.End), hostName(a.Host),
		percent(a.From), percent(a.ErrorRatio), a.Errors, a.Requests)
}

func (c Clients) text() string {
	return fmt.Sprintf("CLIENTS   %s  %-20s %7d client addresses", span(c.Start, c.End), hostName(c.Host), c.Clients)
}

// A result is any of the kinds.
type result interface {
	HostMinute | PathMinute | TopPath | Alert | Clients
	text() string
}

// render is a result's line: its text, or with asJSON its JSON object.
func render[T result](asJSON bool) func(T) string {
	if !asJSON {
		return T.text
	}
	return func(r T) string {
		b, err := json.Marshal(r)
		if err != nil {
			panic(err) // strings, times, integers and ratios of counts, none NaN (a window has requests)
		}
		return string(b)
	}
}

// lines are the job's results as lines of text or JSON, in event time;
// the lines of one instant (the end of their windows) in the order of
// their sections, then of their text, so that the output is the same
// whatever the order in which the windows fired.
func (r results) lines(asJSON bool) *stream.Stream[string] {
	top := render[TopPath](asJSON)
	all := stream.Map(r.hosts, inSection(0, render[HostMinute](asJSON))).Merge(
		stream.Map(r.paths, inSection(1, render[PathMinute](asJSON))),
		stream.Map(r.top, func(t TopPath) outLine { return outLine{2, t.Rank, top(t)} }),
		stream.Map(r.alerts, inSection(3, render[Alert](asJSON))),
		stream.Map(r.clients, inSection(4, render[Clients](asJSON))))
	sorted := stream.Process(stream.KeyBy(all, func(outLine) int { return 0 }), sortLines).Name("sort results").Uid("sort results")
	return stream.Map(sorted, func(l outLine) string { return l.Text })
}

// An outLine is a line of output, the section it is in (HOST first) and
// its rank in it (TOP's; 0 in the others).
type outLine struct {
	Section, Rank int
	Text          string
}

func inSection[T any](section int, render func(T) string) func(T) outLine {
	return func(r T) outLine { return outLine{section, 0, render(r)} }
}

// sortLines holds each line until event time passes it, then emits the
// lines of that time in section, rank and text order.
var sortLines = evsort.By(func(a, b outLine) int {
	if a.Section != b.Section {
		return a.Section - b.Section
	}
	if a.Rank != b.Rank {
		return a.Rank - b.Rank
	}
	return strings.Compare(a.Text, b.Text)
})
