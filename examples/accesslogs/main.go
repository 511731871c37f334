// Command accesslogs is a small log-analytics job: it reads web-server
// access log lines (Common Log Format), parses them (bad lines are reported
// and skipped), and in event time prints
//
//   - requests per status class (2xx, 3xx, 4xx, 5xx) every 10 s,
//   - clients with more than -threshold requests in the last minute,
//     every 10 s (a sliding window),
//   - each client's visit (a session closed by 30 s of silence): its
//     length, requests and bytes.
//
// Without -file it reads a generated log (deterministic with -seed), so it
// runs anywhere:
//
//	go run ./examples/accesslogs
//	go run ./examples/accesslogs -file /var/log/nginx/access.log -follow
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/braidstream/braid/stream"
	"github.com/braidstream/braid/window"
)

// Request is one parsed log line.
type Request struct {
	Client string
	Time   time.Time
	Method string
	Path   string
	Status int
	Bytes  int64
}

const clfTime = "02/Jan/2006:15:04:05 -0700"

// Parse reads a Common Log Format line:
//
//	127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326
func Parse(line string) (Request, error) {
	var r Request
	client, rest, ok := strings.Cut(line, " ")
	if !ok || client == "" {
		return r, errors.New("no client address")
	}
	open, close := strings.IndexByte(rest, '['), strings.IndexByte(rest, ']')
	if open < 0 || close < open {
		return r, errors.New("no [time]")
	}
	t, err := time.Parse(clfTime, rest[open+1:close])
	if err != nil {
		return r, fmt.Errorf("bad time: %w", err)
	}
	rest = rest[close+1:]
	q1 := strings.IndexByte(rest, '"')
	q2 := strings.LastIndexByte(rest, '"')
	if q1 < 0 || q2 <= q1 {
		return r, errors.New(`no "request"`)
	}
	req := strings.Fields(rest[q1+1 : q2])
	if len(req) < 2 {
		return r, fmt.Errorf("bad request %q", rest[q1+1:q2])
	}
	tail := strings.Fields(rest[q2+1:])
	if len(tail) < 2 {
		return r, errors.New("no status and size")
	}
	status, err := strconv.Atoi(tail[0])
	if err != nil || status < 100 || status > 599 {
		return r, fmt.Errorf("bad status %q", tail[0])
	}
	var size int64
	if tail[1] != "-" {
		if size, err = strconv.ParseInt(tail[1], 10, 64); err != nil {
			return r, fmt.Errorf("bad size %q", tail[1])
		}
	}
	return Request{Client: client, Time: t, Method: req[0], Path: req[1], Status: status, Bytes: size}, nil
}

// generate returns line i of a synthetic access log: a few busy clients
// (one of them a scraper), arrivals a little out of order, and now and then
// a garbled line.
func generate(seed uint64) func(i int64) string {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	paths := []string{"/", "/login", "/api/items", "/static/app.js", "/admin"}
	return func(i int64) string {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		if rng.IntN(500) == 0 {
			return "garbled line " + strconv.FormatInt(i, 10)
		}
		client := fmt.Sprintf("10.0.0.%d", 1+rng.IntN(20))
		if rng.IntN(4) == 0 {
			client = "203.0.113.7" // the scraper
		}
		t := start.Add(time.Duration(i)*100*time.Millisecond - time.Duration(rng.IntN(1500))*time.Millisecond)
		status := []int{200, 200, 200, 200, 304, 404, 500}[rng.IntN(7)]
		return fmt.Sprintf(`%s - - [%s] "GET %s HTTP/1.1" %d %d`, client, t.Format(clfTime), paths[rng.IntN(len(paths))], status, rng.IntN(50000))
	}
}

func main() {
	file := flag.String("file", "", "access log to read (default: a generated one)")
	follow := flag.Bool("follow", false, "with -file, keep reading lines appended to it")
	n := flag.Int64("n", 20_000, "lines to generate without -file")
	seed := flag.Uint64("seed", 1, "seed of the generated log")
	threshold := flag.Int64("threshold", 150, "requests a minute that make a client worth reporting")
	flag.Parse()

	env := stream.NewEnv()
	var lines *stream.Stream[string]
	if *file != "" {
		lines = stream.TextFile(env, *file, stream.Follow(*follow))
	} else {
		lines = stream.Generate(env, generate(*seed), stream.Limit(*n))
	}
	reqs, bad := stream.MapErr(lines, Parse)
	bad.WriteTo(os.Stderr, func(d stream.DeadLetter[string]) string {
		return fmt.Sprintf("skipped line %q: %v", d.Value, d.Err)
	})
	reqs = reqs.WithTimestamps(func(r Request) time.Time { return r.Time }, stream.BoundedOutOfOrderness(2*time.Second))

	// Requests per status class, every 10 s.
	byClass := stream.KeyBy(reqs, func(r Request) string { return fmt.Sprintf("%dxx", r.Status/100) })
	stream.Count(byClass.Window(window.Tumbling(10*time.Second))).
		WriteTo(os.Stdout, func(r window.Result[string, int64]) string {
			return fmt.Sprintf("status   %s  %s  %6d requests", r.Window.EndTime().Format("15:04:05"), r.Key, r.Value)
		})

	// Busy clients: more than threshold requests in the last minute.
	byClient := stream.KeyBy(reqs, func(r Request) string { return r.Client })
	stream.Count(byClient.Window(window.Sliding(time.Minute, 10*time.Second))).
		Filter(func(r window.Result[string, int64]) bool { return r.Value > *threshold }).
		WriteTo(os.Stdout, func(r window.Result[string, int64]) string {
			return fmt.Sprintf("busy     %s  %-15s %6d requests in the last minute", r.Window.EndTime().Format("15:04:05"), r.Key, r.Value)
		})

	// Visits: sessions of a client closed by 30 s of silence.
	type visit struct {
		requests int64
		bytes    int64
	}
	visits := stream.Aggregate(byClient.Window(window.Session(30*time.Second)), stream.AggregateFunc[Request, visit, visit]{
		Init:   func() visit { return visit{} },
		Add:    func(v visit, r Request) visit { return visit{v.requests + 1, v.bytes + r.Bytes} },
		Merge:  func(a, b visit) visit { return visit{a.requests + b.requests, a.bytes + b.bytes} },
		Result: func(v visit) visit { return v },
	})
	visits.WriteTo(os.Stdout, func(r window.Result[string, visit]) string {
		return fmt.Sprintf("visit    %s  %-15s %6d requests %9d bytes over %v", r.Window.StartTime().Format("15:04:05"), r.Key,
			r.Value.requests, r.Value.bytes, r.Window.EndTime().Sub(r.Window.StartTime())-30*time.Second)
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := env.Execute(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "accesslogs:", err)
		os.Exit(1)
	}
}
