package beam

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/braidstream/braid/benchmarks/peers/workload"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

// Every (window, key, count) of the keyed tumbling count, on an input small
// enough for prism under the race detector: 20,000 events, 100 keys, windows
// of 5,000 events, so each window holds each key 50 times.
func TestTumbleExact(t *testing.T) {
	tc := workload.Tumble{N: 20_000, Keys: 100, Step: 200_000, Size: 1_000_000_000} // 0.2 ms apart, 1 s windows
	got, err := Tumble(context.Background(), tc)
	if err != nil {
		t.Fatal(err)
	}
	if want := tc.Expected(); got != want {
		t.Errorf("digest %+v, want %+v", got, want)
	}
}
