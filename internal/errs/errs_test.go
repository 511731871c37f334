package errs

import (
	"errors"
	"testing"
)

func TestBraidOnce(t *testing.T) {
	base := errors.New("braid: key type has no stable hash")
	err := Wrapf(base, "braid: KeyBy after %q", "map")
	if got, want := err.Error(), `braid: KeyBy after "map": key type has no stable hash`; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if !errors.Is(err, base) {
		t.Fatal("does not unwrap")
	}
	if got := Wrapf(errors.New("EOF"), "braid: read").Error(); got != "braid: read: EOF" {
		t.Fatal(got)
	}
}
