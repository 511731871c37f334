package harness

import (
	"fmt"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WriteThroughputChart writes an SVG bar chart of the throughput (million
// events per second) of each workload that has a Braid row without
// checkpoints: Braid's bar and, where it has one, its baseline's.
func WriteThroughputChart(w io.Writer, rows []Row) error {
	var names []string
	var braid, base plotter.Values
	for _, r := range rows {
		if r.Impl != "braid" || r.Checkpoint || r.Parallelism > 1 || !r.OK() {
			continue
		}
		names = append(names, strings.TrimPrefix(strings.TrimSuffix(r.Name, " braid"), "tumble "))
		braid = append(braid, r.EventsPerS/1e6)
		b, ok := Find(rows, r.Workload, "baseline", r.Keys, false)
		if ok {
			base = append(base, b.EventsPerS/1e6)
		} else {
			base = append(base, 0)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("braid: harness: no Braid rows to chart")
	}
	p := plot.New()
	p.Title.Text = "Throughput per workload (0 = no baseline)"
	p.Y.Label.Text = "million events/s"
	width := vg.Points(9)
	bb, err := plotter.NewBarChart(braid, width)
	if err != nil {
		return err
	}
	bb.Color = plotutil.Color(0)
	bb.Offset = -width / 2
	bl, err := plotter.NewBarChart(base, width)
	if err != nil {
		return err
	}
	bl.Color = plotutil.Color(1)
	bl.Offset = width / 2
	p.Add(bb, bl)
	p.Legend.Add("Braid", bb)
	p.Legend.Add("hand-written baseline", bl)
	p.Legend.Top = true
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = -1 // draw.XRight
	p.X.Tick.Label.YAlign = -0.5
	return save(w, p, vg.Points(float64(60+28*len(names))), 5*vg.Inch)
}

// WriteKeysChart writes an SVG line chart against the number of keys (log
// scale) of the keyed tumbling count: its throughput (million events/s) if
// rss is false, its peak RSS (MB) if true; one line per implementation
// (Braid, baseline, and each peer).
func WriteKeysChart(w io.Writer, rows []Row, rss bool) error {
	var impls []string
	pts := map[string]plotter.XYs{}
	for _, r := range rows {
		if r.Workload != "tumble" || r.Checkpoint || r.Parallelism > 1 || !r.OK() || r.Keys <= 0 {
			continue
		}
		if _, ok := pts[r.Impl]; !ok {
			impls = append(impls, r.Impl)
		}
		y := r.EventsPerS / 1e6
		if rss {
			y = r.PeakRSSBytes / 1e6
		}
		pts[r.Impl] = append(pts[r.Impl], plotter.XY{X: float64(r.Keys), Y: y})
	}
	if len(impls) == 0 {
		return fmt.Errorf("braid: harness: no tumbling count rows to chart")
	}
	p := plot.New()
	p.Title.Text = "Keyed tumbling count: throughput against keys"
	p.Y.Label.Text = "million events/s"
	if rss {
		p.Title.Text = "Keyed tumbling count: peak RSS against keys"
		p.Y.Label.Text = "peak RSS (MB)"
	}
	p.X.Label.Text = "keys"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	for i, impl := range impls {
		l, s, err := plotter.NewLinePoints(pts[impl])
		if err != nil {
			return err
		}
		l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
		s.Shape = plotutil.Shape(i)
		p.Add(l, s)
		p.Legend.Add(impl, l, s)
	}
	return save(w, p, 6*vg.Inch, 4*vg.Inch)
}

func save(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	wt, err := p.WriterTo(width, height, "svg")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
