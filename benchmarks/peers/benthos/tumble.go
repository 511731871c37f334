// Package benthos runs the workloads in the Benthos core
// (github.com/redpanda-data/benthos/v4), built in process with its
// StreamBuilder and configured in YAML as its documentation shows.
//
// Benthos windows with the system_window buffer, which follows the system
// clock: a window is flushed once the clock passes its end, messages older
// than the last flushed window are dropped, and at the end of input the
// pending window is nacked rather than flushed. Its event-time mode
// (timestamp_mapping) has the same clock, so a replay of historical event
// times at full speed would be dropped wholesale. The comparison is therefore
// with processing-time windows, checked as go-streams' are: every event
// counted once under its own key, whatever window it fell into.
package benthos

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure" // system_window, group_by_value, mapping
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

// Producers and Batch shape the input: Producers goroutines each write
// batches of Batch messages. A write returns only once its messages' window
// has been flushed and delivered (the buffer acknowledges then), so the
// input needs about a window's worth of messages in flight, as any Benthos
// input with asynchronous acknowledgements keeps.
const (
	Producers = 64
	Batch     = 4096
)

// Options are Tumble's settings beyond the workload.
type Options struct {
	// Window is the system_window's size.
	Window time.Duration
	// Pace, if not zero, is the time between two batches handed to the
	// producers, to keep the input below what the pipeline can take. Zero
	// writes as fast as Benthos accepts, which on a saturated machine makes
	// system_window drop whole windows (its documented behaviour under back
	// pressure).
	Pace time.Duration
	// Batch is the number of messages per write; zero means the constant
	// Batch.
	Batch int64
}

// Tumble is the keyed count as Benthos' system_window documentation shows
// it: a system_window buffer of the given size, then group_by_value on the
// key (the message's content) and a mapping that reduces each group to one
// message {"key", "count"}. It returns the per-key totals over all windows
// (see workload.Tumble.ExpectedTotals) and the number of results.
func Tumble(ctx context.Context, t workload.Tumble, o Options) (workload.Digest, int64, error) {
	size := o.Batch
	if size == 0 {
		size = Batch
	}
	b := service.NewStreamBuilder()
	if err := b.SetLoggerYAML("level: none"); err != nil {
		return workload.Digest{}, 0, err
	}
	if err := b.SetMetricsYAML("none: {}"); err != nil {
		return workload.Digest{}, 0, err
	}
	if err := b.SetBufferYAML(fmt.Sprintf("system_window:\n  size: %s\n", o.Window)); err != nil {
		return workload.Digest{}, 0, err
	}
	for _, proc := range []string{
		`group_by_value:
  value: '${! content() }'`,
		`mapping: |
  root = if batch_index() == 0 {
    {"key": content().string().number(), "count": batch_size()}
  } else { deleted() }`,
	} {
		if err := b.AddProcessorYAML(proc); err != nil {
			return workload.Digest{}, 0, err
		}
	}
	produce, err := b.AddBatchProducerFunc()
	if err != nil {
		return workload.Digest{}, 0, err
	}
	var mu sync.Mutex
	tot := workload.Totals{}
	var results int64
	var sinkErr error
	err = b.AddBatchConsumerFunc(func(_ context.Context, batch service.MessageBatch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range batch {
			v, err := m.AsStructured()
			if err != nil {
				sinkErr = errors.Join(sinkErr, err)
				continue
			}
			obj, ok := v.(map[string]any)
			key, kok := obj["key"].(int64)
			count, cok := obj["count"].(int64)
			if !ok || !kok || !cok {
				// Bloblang numbers may come out as float64 or json.Number.
				k, kerr := toInt(obj["key"])
				c, cerr := toInt(obj["count"])
				if !ok || kerr != nil || cerr != nil {
					sinkErr = errors.Join(sinkErr, fmt.Errorf("benthos: unexpected result %v", v))
					continue
				}
				key, count = k, c
			}
			tot[key] += count
			results++
		}
		return nil
	})
	if err != nil {
		return workload.Digest{}, 0, err
	}
	strm, err := b.Build()
	if err != nil {
		return workload.Digest{}, 0, err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- strm.Run(runCtx) }()

	// starts hands out the first event of each batch, paced if asked.
	starts := make(chan int64)
	go func() {
		defer close(starts)
		var tick <-chan time.Time
		if o.Pace > 0 {
			tk := time.NewTicker(o.Pace)
			defer tk.Stop()
			tick = tk.C
		}
		for lo := int64(0); lo < t.N; lo += size {
			if tick != nil {
				select {
				case <-tick:
				case <-runCtx.Done():
					return
				}
			}
			select {
			case starts <- lo:
			case <-runCtx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	prodErrs := make([]error, Producers)
	for p := range Producers {
		wg.Go(func() {
			for lo := range starts {
				hi := min(lo+size, t.N)
				batch := make(service.MessageBatch, 0, hi-lo)
				for i := lo; i < hi; i++ {
					batch = append(batch, service.NewMessage(strconv.AppendInt(nil, t.At(i).Key, 10)))
				}
				if err := produce(runCtx, batch); err != nil {
					prodErrs[p] = err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	// Every write has been acknowledged, so every window is delivered.
	stopErr := strm.StopWithin(10 * time.Second)
	cancel()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		stopErr = errors.Join(stopErr, err)
	}
	if err := errors.Join(append(prodErrs, stopErr, sinkErr)...); err != nil {
		return workload.Digest{}, 0, fmt.Errorf("benthos: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return tot.Digest(), results, nil
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	case interface{ Int64() (int64, error) }:
		return x.Int64()
	}
	return 0, fmt.Errorf("not a number: %T", v)
}
