package listen_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidstream/braid/connectors/listen"
	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/stream"
)

// benchLines is what each client sends per iteration: access-log lines of
// about 100 bytes.
func benchLines(client, n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "10.0.%d.%d - - [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif?i=%d HTTP/1.0\" 200 2326 \"-\" \"Mozilla/4.08\"\n",
			client, i%250, i)
	}
	return []byte(b.String())
}

// BenchmarkTCPLines measures lines a second from 8 clients over loopback
// into a job that counts them (server=listen), beside the plain Go way of
// serving them in the same process: a goroutine per connection with a
// bufio.Scanner, a string per line, counted the same way
// (server=goroutines). Each iteration, every client sends 25,000 lines
// and the iteration ends when all have been counted.
func BenchmarkTCPLines(b *testing.B) {
	const clients, perClient = 8, 25_000
	data := make([][]byte, clients)
	size := 0
	for i := range data {
		data[i] = benchLines(i, perClient)
		size += len(data[i])
	}
	total := int64(clients * perClient)
	name := fmt.Sprintf("clients=%d", clients)

	// server=durable: the same with checkpoints every second on the real
	// disk (b.TempDir) and Durable, one fsync per batch read.
	for _, durable := range []bool{false, true} {
		server := "listen"
		if durable {
			server = "durable"
		}
		b.Run(name+"/server="+server, func(b *testing.B) {
			benchListen(b, durable, data, size, total)
		})
	}

	b.Run(name+"/server=goroutines", func(b *testing.B) {
		var count atomic.Int64
		round := make(chan struct{}, 1)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					defer c.Close()
					peer := c.RemoteAddr().String()
					sc := bufio.NewScanner(c)
					var n int64
					for sc.Scan() {
						n++
						if countLine(&count, logs.Line{Text: sc.Text(), Source: peer, Offset: -1, Number: n})%total == 0 {
							round <- struct{}{}
						}
					}
				})
			}
		})
		runClients(b, ln.Addr().String(), data, size, total, round)
		ln.Close()
		wg.Wait()
	})
}

// countLine is the baseline's sink: it takes the line as the job's sink
// does, so that making it is not optimised away.
//
//go:noinline
func countLine(count *atomic.Int64, l logs.Line) int64 {
	_ = l
	return count.Add(1)
}

// runClients connects the clients and, each iteration, has each send its
// data and waits until the server has counted every line.
func runClients(b *testing.B, addr string, data [][]byte, size int, total int64, round chan struct{}) {
	conns := make([]net.Conn, len(data))
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var lines int64
	for b.Loop() {
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() {
				if _, err := c.Write(data[i]); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		<-round
		lines += total
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
	for _, c := range conns {
		c.Close()
	}
}

func benchListen(b *testing.B, durable bool, data [][]byte, size int, total int64) {
	var count atomic.Int64
	round := make(chan struct{}, 1)
	bound := make(chan net.Addr, 1)
	var opts []stream.Option
	lopts := []listen.Option{listen.Bound(func(a net.Addr) { bound <- a })}
	if durable {
		opts = append(opts, stream.WithCheckpointing(b.TempDir(), time.Second))
		lopts = append(lopts, listen.Durable())
	}
	env := stream.NewEnv(opts...)
	listen.TCPLines(env, "127.0.0.1:0", lopts...).
		ForEach(func(logs.Line) error {
			if count.Add(1)%total == 0 {
				round <- struct{}{}
			}
			return nil
		})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx) }()
	addr := (<-bound).String()
	runClients(b, addr, data, size, total, round)
	cancel()
	<-done
}
