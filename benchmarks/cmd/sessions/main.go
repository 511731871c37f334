// Command sessions runs the Nexmark q11-like session count of the benchmark
// harness (benchmarks.Q11) as a whole process, so that its peak memory can be
// measured from outside, at several numbers of bids:
//
//	go build -o /tmp/sessions ./benchmarks/cmd/sessions
//	/usr/bin/time -v /tmp/sessions -n 4000000
//	/usr/bin/time -v /tmp/sessions -n 16000000
//	/usr/bin/time -v /tmp/sessions -n 16000000 -disorder 500ms
//	/usr/bin/time -v /tmp/sessions -n 16000000 -handloop
//
// With open sessions bounded (about 10,000 bidders are active at a time),
// peak memory must not grow with -n.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/braidstream/braid/benchmarks"
)

func main() {
	q := benchmarks.DefaultQ11()
	n := flag.Int64("n", 4_000_000, "bids")
	flag.Int64Var(&q.Active, "bidders", q.Active, "active bidders at a time")
	flag.DurationVar(&q.Disorder, "disorder", 0, "timestamps up to this late (0: monotonous)")
	flag.DurationVar(&q.Step, "step", q.Step, "event time between bids")
	flag.Int64Var(&q.ShiftEvery, "shift", q.ShiftEvery, "the population moves on by one bidder every this many bids")
	hand := flag.Bool("handloop", false, "run the hand-written loop instead of Braid (monotonous only)")
	profile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if flag.NArg() > 0 || *n < 0 || q.Active <= 0 || q.Disorder < 0 {
		fmt.Fprintln(os.Stderr, "usage: sessions [-n bids] [-bidders n] [-disorder d] [-handloop]")
		os.Exit(2)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	start, cpu := time.Now(), benchmarks.CPUTime()
	var res benchmarks.Result
	if *hand {
		res = q.HandLoop(*n)
	} else {
		var err error
		if res, err = q.Run(context.Background(), *n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	d, c := time.Since(start), benchmarks.CPUTime()-cpu
	fmt.Printf("%d bids, %d sessions (%d bids counted), %v wall, %v CPU, %.2f M events/s, %.2f M events/cpu-s\n",
		*n, res.Sessions, res.Bids, d.Round(time.Millisecond), c.Round(time.Millisecond),
		float64(*n)/d.Seconds()/1e6, float64(*n)/c.Seconds()/1e6)
}
