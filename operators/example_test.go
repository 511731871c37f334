package operators_test

import (
	"fmt"
	"strings"

	"github.com/braidstream/braid/operators"
)

// printer is an Input that prints what reaches it.
type printer struct{}

func (printer) Push(b *operators.Batch[string]) error {
	fmt.Println(strings.Join(b.Values, " "))
	return nil
}
func (printer) Watermark(wm int64) error { fmt.Println("watermark", wm); return nil }
func (printer) Idle(bool) error          { return nil }
func (printer) Finish() error            { fmt.Println("end"); return nil }

// Operators are synchronous: a test (or a task's loop) drives them by
// calling their methods, and they write to the Input that follows.
func Example() {
	upper := operators.NewMap(strings.ToUpper, operators.Input[string](printer{}))
	chain := operators.NewFilter(func(s string) bool { return s != "" }, operators.Input[string](upper))

	chain.Push(&operators.Batch[string]{Values: []string{"a", "", "b"}})
	chain.Watermark(42)
	chain.Finish()
	// Output:
	// A B
	// watermark 42
	// end
}
