package stream_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test in the package checks that no goroutine outlives Execute.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
