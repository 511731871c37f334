package textsrc

import (
	"context"
	"time"
)

// sleeper waits on one reused timer, returning early with ctx's error when
// ctx is done. The zero value is ready.
type sleeper struct{ t *time.Timer }

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	if s.t == nil {
		s.t = time.NewTimer(d)
	} else {
		s.t.Reset(d)
	}
	select {
	case <-s.t.C:
		return nil
	case <-ctx.Done():
		s.t.Stop()
		return ctx.Err()
	}
}

func (s *sleeper) stop() {
	if s.t != nil {
		s.t.Stop()
	}
}
