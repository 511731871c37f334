package nexmark

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no job leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
