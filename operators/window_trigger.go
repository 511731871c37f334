package operators

import "github.com/braidstream/braid/window"

type winKey[K comparable] struct {
	key K
	win window.Window
}

type trigWindow[T any] struct {
	elems []window.Stamped[T]
	st    window.TriggerState[T]
}

// TriggerWindow is the general window operator: any trigger, evictors
// before and after the function, over global windows or tumbling and
// sliding time windows. It buffers every element of every open window (as
// Flink's EvictingWindowOperator) and folds them when the window fires.
//
// As in Flink: a trigger's Fire runs the function over the window's
// elements (after evicting with the before-evictor; the after-evictor runs
// once the function has); Purge empties the window (its trigger state
// stays); an empty window does not fire. Time windows are dropped at their
// cleanup time (end-1 plus the allowed lateness in event time, end-1 in
// processing time); an element whose every time window is past it is late.
// At the end of input the final watermark fires the event-time timers;
// processing-time timers left do not fire.
type TriggerWindow[T any, K comparable, A, R any] struct {
	spec          WindowSpec[T, K, A, R]
	trigger       window.Trigger[T]
	before, after window.Evictor[T]
	global        bool
	tw            window.TimeWindows
	out           Input[R]
	em            *emitter[R]
	late          *emitter[T]
	bc            *BuildContext
	wins          map[winKey[K]]*trigWindow[T]
	timers        [2]*timerQueue[winKey[K]] // event, processing
	wm            int64
	assigned      []window.Window
}

// NewTriggerWindow builds the operator for one subtask.
func NewTriggerWindow[T any, K comparable, A, R any](spec WindowSpec[T, K, A, R], trigger window.Trigger[T],
	before, after window.Evictor[T], bc *BuildContext, out Input[R], late Input[T]) *TriggerWindow[T, K, A, R] {
	o := &TriggerWindow[T, K, A, R]{spec: spec, trigger: trigger, before: before, after: after, out: out,
		em: newEmitter(out, spec.EventTime), bc: bc, wins: make(map[winKey[K]]*trigWindow[T]),
		timers: [2]*timerQueue[winKey[K]]{newTimerQueue[winKey[K]](), newTimerQueue[winKey[K]]()}, wm: MinWatermark}
	switch a := spec.Assigner.(type) {
	case window.GlobalWindows:
		o.global = true
	case window.TimeWindows:
		o.tw = a
	}
	if late != nil {
		o.late = newEmitter(late, true)
	}
	bc.AddTimed(o)
	return o
}

func (o *TriggerWindow[T, K, A, R]) now() int64 { return o.bc.Clock.Now().UnixNano() }

func (o *TriggerWindow[T, K, A, R]) cleanupTime(w window.Window) int64 {
	if o.spec.EventTime {
		return window.CleanupTime(w, o.spec.Lateness)
	}
	return w.MaxTimestamp()
}

// Push implements Input.
func (o *TriggerWindow[T, K, A, R]) Push(b *Batch[T]) error {
	keys := keysOf[T, K](b)
	now := o.now()
	for i, v := range b.Values {
		ts := now
		if o.spec.EventTime {
			ts = b.Times[i]
		}
		var k K
		if keys != nil {
			k = keys[i]
		} else {
			k = o.spec.Key(v)
		}
		o.assigned = o.assigned[:0]
		if o.global {
			o.assigned = append(o.assigned, window.Global().Window())
		} else {
			o.assigned = o.tw.Assign(ts, o.assigned)
		}
		added := false
		for _, w := range o.assigned {
			if !o.global && o.spec.EventTime && window.IsLate(w, o.spec.Lateness, o.wm) {
				continue
			}
			added = true
			wk := winKey[K]{k, w}
			tw := o.wins[wk]
			if tw == nil {
				tw = &trigWindow[T]{st: window.TriggerState[T]{Window: w}}
				o.wins[wk] = tw
				if !o.global {
					o.timers[o.domain()].set(wk, o.cleanupTime(w))
				}
			}
			tw.elems = append(tw.elems, window.Stamped[T]{Ts: ts, V: v})
			tw.st.Watermark, tw.st.Now = o.wm, now
			o.apply(wk, tw, o.trigger.OnElement(v, ts, &tw.st))
		}
		if !added {
			o.bc.CountLate(1)
			if o.late != nil {
				o.late.at(ts)
				o.late.emit(v)
			}
		}
	}
	return o.flush()
}

func (o *TriggerWindow[T, K, A, R]) domain() TimeDomain {
	if o.spec.EventTime {
		return EventTime
	}
	return ProcessingTime
}

// apply carries out a trigger's decision and the timers it asked for.
func (o *TriggerWindow[T, K, A, R]) apply(wk winKey[K], tw *trigWindow[T], r window.TriggerResult) {
	if t := tw.st.EventTimer; t != 0 {
		o.timers[EventTime].set(wk, t)
		tw.st.EventTimer = 0
	}
	if t := tw.st.ProcessingTimer; t != 0 {
		o.timers[ProcessingTime].set(wk, t)
		tw.st.ProcessingTimer = 0
	}
	if r.Fires() {
		o.evaluate(wk, tw)
	}
	if r.Purges() {
		clear(tw.elems)
		tw.elems = tw.elems[:0]
	}
}

// evaluate runs the function over the window's elements, between the
// evictors.
func (o *TriggerWindow[T, K, A, R]) evaluate(wk winKey[K], tw *trigWindow[T]) {
	if o.before != nil {
		tw.elems = o.before(tw.elems)
	}
	if len(tw.elems) == 0 {
		return
	}
	acc := o.spec.Agg.first(tw.elems[0].V)
	for _, e := range tw.elems[1:] {
		acc = o.spec.Agg.Add(acc, e.V)
	}
	ts := wk.win.MaxTimestamp()
	if o.global {
		ts = tw.elems[len(tw.elems)-1].Ts
	}
	o.em.at(ts)
	o.spec.Fire(wk.key, wk.win, acc, o.em.emit)
	if o.after != nil {
		tw.elems = o.after(tw.elems)
	}
}

// fire runs the timers of domain d due by upTo.
func (o *TriggerWindow[T, K, A, R]) fire(d TimeDomain, upTo int64) error {
	now := o.now()
	for {
		it, ok := o.timers[d].pop(upTo)
		if !ok {
			break
		}
		tw := o.wins[it.key]
		if tw == nil {
			continue
		}
		tw.st.Watermark, tw.st.Now = o.wm, now
		o.apply(it.key, tw, o.trigger.OnTime(d == EventTime, it.at, &tw.st))
		if !o.global && d == o.domain() && it.at >= o.cleanupTime(it.key.win) {
			delete(o.wins, it.key)
		}
	}
	return o.flush()
}

func (o *TriggerWindow[T, K, A, R]) flush() error {
	if o.late != nil {
		if err := o.late.flush(); err != nil {
			return err
		}
	}
	return o.em.flush()
}

// Watermark implements Input.
func (o *TriggerWindow[T, K, A, R]) Watermark(wm int64) error {
	o.wm = wm
	if err := o.fire(EventTime, wm); err != nil {
		return err
	}
	return o.out.Watermark(wm)
}

// Idle implements Input.
func (o *TriggerWindow[T, K, A, R]) Idle(idle bool) error { return o.out.Idle(idle) }

// Finish implements Input.
func (o *TriggerWindow[T, K, A, R]) Finish() error {
	if err := o.flush(); err != nil {
		return err
	}
	return o.out.Finish()
}

func (o *TriggerWindow[T, K, A, R]) nextTimer() int64 { return o.timers[ProcessingTime].next() }

func (o *TriggerWindow[T, K, A, R]) onTimer(now int64) error { return o.fire(ProcessingTime, now) }
