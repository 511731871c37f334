package operators

// twoInputs is what every operator with two inputs shares: the combined
// watermark (the least of the two, an idle input not counting, as Flink's
// two-input operators), idleness (idle when both are), and the end (when
// both inputs have finished). The operator calls watermark, idle and finish
// from its inputs' methods and learns through onWatermark when the combined
// watermark advances.
type twoInputs[R any] struct {
	out         Input[R]
	wm          [2]int64
	idle        [2]bool
	done        [2]bool
	emitted     int64
	outIdle     bool
	onWatermark func(wm int64) error // may be nil
}

func newTwoInputs[R any](out Input[R]) twoInputs[R] {
	return twoInputs[R]{out: out, wm: [2]int64{MinWatermark, MinWatermark}, emitted: MinWatermark}
}

func (t *twoInputs[R]) watermark(i int, wm int64) error {
	t.wm[i], t.idle[i] = wm, false
	return t.advance()
}

func (t *twoInputs[R]) setIdle(i int, idle bool) error {
	t.idle[i] = idle
	return t.advance()
}

func (t *twoInputs[R]) advance() error {
	if t.idle[0] && t.idle[1] {
		if !t.outIdle {
			// Both idle: event time first moves to the furthest either has
			// reached (as a gate does), then the output goes idle.
			if wm := max(t.wm[0], t.wm[1]); wm > t.emitted {
				t.emitted = wm
				if t.onWatermark != nil {
					if err := t.onWatermark(wm); err != nil {
						return err
					}
				}
				if err := t.out.Watermark(wm); err != nil {
					return err
				}
			}
			t.outIdle = true
			return t.out.Idle(true)
		}
		return nil
	}
	if t.outIdle {
		t.outIdle = false
		if err := t.out.Idle(false); err != nil {
			return err
		}
	}
	wm := int64(MaxWatermark)
	for i := range 2 {
		if !t.idle[i] {
			wm = min(wm, t.wm[i])
		}
	}
	if wm <= t.emitted {
		return nil
	}
	t.emitted = wm
	if t.onWatermark != nil {
		if err := t.onWatermark(wm); err != nil {
			return err
		}
	}
	return t.out.Watermark(wm)
}

// finish marks input i ended and finishes the output when both have.
func (t *twoInputs[R]) finish(i int, last func() error) error {
	t.done[i] = true
	if !t.done[0] || !t.done[1] {
		return nil
	}
	if last != nil {
		if err := last(); err != nil {
			return err
		}
	}
	return t.out.Finish()
}

// side is one input of a two-input operator, as an Input[T].
type side[T any] struct {
	i    int
	push func(b *Batch[T]) error
	base interface {
		watermark(i int, wm int64) error
		setIdle(i int, idle bool) error
	}
	final func(i int) error
}

func (s side[T]) Push(b *Batch[T]) error   { return s.push(b) }
func (s side[T]) Watermark(wm int64) error { return s.base.watermark(s.i, wm) }
func (s side[T]) Idle(idle bool) error     { return s.base.setIdle(s.i, idle) }
func (s side[T]) Finish() error            { return s.final(s.i) }

// CoMap applies fa to the elements of its first input and fb to those of
// its second, into one output; timestamps are kept. It has no state; the
// two inputs interleave as they arrive.
type CoMap[A, B, R any] struct {
	twoInputs[R]
	fa    func(A, func(R))
	fb    func(B, func(R))
	buf   Batch[R]
	ts    int64
	emit  func(R)
	timed bool
}

// NewCoMap returns the operator: each function may emit any number of
// outputs (CoFlatMap); a CoMap is a CoFlatMap emitting one.
func NewCoMap[A, B, R any](fa func(A, func(R)), fb func(B, func(R)), out Input[R]) *CoMap[A, B, R] {
	c := &CoMap[A, B, R]{twoInputs: newTwoInputs(out), fa: fa, fb: fb}
	c.emit = func(r R) {
		c.buf.Values = append(c.buf.Values, r)
		if c.timed {
			c.buf.Times = append(c.buf.Times, c.ts)
		}
	}
	return c
}

// Inputs returns the operator's two inputs, Input[A] and Input[B].
func (c *CoMap[A, B, R]) Inputs() []any {
	final := func(i int) error { return c.finish(i, nil) }
	return []any{
		Input[A](side[A]{i: 0, push: func(b *Batch[A]) error { return coPush(c, b, c.fa) }, base: &c.twoInputs, final: final}),
		Input[B](side[B]{i: 1, push: func(b *Batch[B]) error { return coPush(c, b, c.fb) }, base: &c.twoInputs, final: final}),
	}
}

func coPush[A, B, R, T any](c *CoMap[A, B, R], b *Batch[T], f func(T, func(R))) error {
	c.buf.Values, c.buf.Times = c.buf.Values[:0], c.buf.Times[:0]
	c.timed = b.Times != nil
	for i, v := range b.Values {
		if c.timed {
			c.ts = b.Times[i]
		}
		f(v, c.emit)
	}
	if !c.timed {
		c.buf.Times = nil
	}
	if len(c.buf.Values) == 0 {
		return nil
	}
	return c.out.Push(&c.buf)
}
