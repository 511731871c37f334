package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// textLine reads the text of a result back into its JSON line: the
// section, the window, then the figures, each read from the text alone.
var textLine = regexp.MustCompile(`^(HOST|PATH|TOP|ALERT|RECOVERED|CLIENTS) +\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d), (\d\d:\d\d:\d\d)\)  (.*)$`)

var (
	hostText    = regexp.MustCompile(`^(\S+) +(\d+) requests +(\d+) 5xx +([\d.]+)%$`)
	pathText    = regexp.MustCompile(`^(\S+) +("(?:[^"\\]|\\.)*") +(\d+) requests +(\d+) 5xx +([\d.]+)%$`)
	topText     = regexp.MustCompile(`^#(\d+) +(\S+) +("(?:[^"\\]|\\.)*") +(\d+) requests$`)
	alertText   = regexp.MustCompile(`^(\S+) +5xx ratio ([\d.]+)% -> ([\d.]+)% \((\d+) of (\d+) requests\)$`)
	clientsText = regexp.MustCompile(`^(\S+) +(\d+) client addresses$`)
)

// fromText is a text line as the comparable record: kind, window, host,
// path, figures, ratios as the text rounds them.
func fromText(t *testing.T, l string) string {
	t.Helper()
	m := textLine.FindStringSubmatch(l)
	if m == nil {
		t.Fatalf("text line %q: no section and window", l)
	}
	start, err1 := time.Parse(time.DateTime, m[2]+" "+m[3])
	end, err2 := time.Parse(time.DateTime, m[2]+" "+m[4])
	if err1 != nil || err2 != nil {
		t.Fatalf("text line %q: bad window", l)
	}
	if end.Before(start) {
		end = end.AddDate(0, 0, 1)
	}
	host := func(h string) string {
		if h == "-" {
			return ""
		}
		return h
	}
	n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	unq := func(s string) string { v, _ := strconv.Unquote(s); return v }
	var f []string
	rest := m[5]
	switch m[1] {
	case "HOST":
		f = hostText.FindStringSubmatch(rest)
		if f != nil {
			return record("host", start, end, host(f[1]), "", n(f[2]), n(f[3]), f[4])
		}
	case "PATH":
		f = pathText.FindStringSubmatch(rest)
		if f != nil {
			return record("path", start, end, host(f[1]), unq(f[2]), n(f[3]), n(f[4]), f[5])
		}
	case "TOP":
		f = topText.FindStringSubmatch(rest)
		if f != nil {
			return record("top", start, end, host(f[2]), unq(f[3]), n(f[4]), 0, "rank "+f[1])
		}
	case "ALERT", "RECOVERED":
		f = alertText.FindStringSubmatch(rest)
		if f != nil {
			return record(strings.ToLower(m[1]), start, end, host(f[1]), "", n(f[5]), n(f[4]), fmt.Sprintf("%s->%s rising=%t", f[2], f[3], m[1] == "ALERT"))
		}
	case "CLIENTS":
		f = clientsText.FindStringSubmatch(rest)
		if f != nil {
			return record("clients", start, end, host(f[1]), "", n(f[2]), 0, "")
		}
	}
	t.Fatalf("text line %q: figures not read", l)
	return ""
}

func record(kind string, start, end time.Time, host, path string, a, b int64, more string) string {
	return fmt.Sprintf("%s [%s, %s) %q %q %d %d %s", kind, start.Format(time.RFC3339), end.Format(time.RFC3339), host, path, a, b, more)
}

func pct(r float64) string { return strconv.FormatFloat(100*r, 'f', 2, 64) }

// fromJSON is a JSON line as the comparable record.
func fromJSON(t *testing.T, l string) string {
	t.Helper()
	var r struct {
		Kind, Host, Path          string
		Start, End                time.Time
		Requests, Errors, Clients int64
		Rank                      int
		ErrorRatio                float64 `json:"error_ratio"`
		From                      float64
		Rising                    bool
	}
	if err := json.Unmarshal([]byte(l), &r); err != nil {
		t.Fatalf("JSON line %q: %v", l, err)
	}
	switch r.Kind {
	case "host", "path":
		return record(r.Kind, r.Start, r.End, r.Host, r.Path, r.Requests, r.Errors, pct(r.ErrorRatio))
	case "top":
		return record(r.Kind, r.Start, r.End, r.Host, r.Path, r.Requests, 0, "rank "+strconv.Itoa(r.Rank))
	case "alert", "recovered":
		return record(r.Kind, r.Start, r.End, r.Host, "", r.Requests, r.Errors, fmt.Sprintf("%s->%s rising=%t", pct(r.From), pct(r.ErrorRatio), r.Rising))
	case "clients":
		return record(r.Kind, r.Start, r.End, r.Host, "", r.Clients, 0, "")
	}
	t.Fatalf("JSON line %q: kind %q", l, r.Kind)
	return ""
}

// generatedArgs are the arguments of a generated log with an alert and
// its recovery (a lower jump than the default, so that a short log has
// them).
var generatedArgs = []string{"-n", "12000", "-seed", "11", "-alert-jump", "0.05"}

// Text and -json are the same results: each text line, read back from
// its words alone, is a JSON line's figures (ratios to the text's two
// decimals).
func TestTextAgreesWithJSON(t *testing.T) {
	text := runJob(t, flags(t, generatedArgs...))
	js := runJob(t, flags(t, append([]string{"-json"}, generatedArgs...)...))
	var got, want []string
	for _, l := range lines(text.out) {
		got = append(got, fromText(t, l))
	}
	kinds := map[string]int{}
	for _, l := range lines(js.out) {
		want = append(want, fromJSON(t, l))
		kinds[kindOf(t, l)]++
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("text and JSON differ: %s", firstDiff(got, want))
	}
	if len(kinds) != 6 {
		t.Fatalf("results of kinds %v: want all six (an alert and its recovery among them)", kinds)
	}
	// The dead letters: the same places and errors.
	if len(text.dead) != len(js.dead) || len(text.dead) == 0 {
		t.Fatalf("%d dead letters in text, %d in JSON", len(text.dead), len(js.dead))
	}
	for i, d := range js.dead {
		var r struct {
			Where, Error, Line string
			Raw                []byte `json:"line_base64"`
		}
		if err := json.Unmarshal([]byte(d), &r); err != nil {
			t.Fatal(err)
		}
		if r.Raw != nil {
			r.Line = string(r.Raw)
		}
		want := r.Where + ": " + r.Error
		if r.Line != "" {
			want += ": " + strconv.Quote(r.Line)
		}
		if !slices.Contains(text.dead, want) {
			t.Errorf("JSON dead letter %d, %q, not in the text's", i, d)
		}
	}
}

// -parquet writes each kind into its own directory; read back with
// arrow-go's Parquet reader, the files hold the -json run's results, every
// value.
func TestParquetHoldsTheResults(t *testing.T) {
	js := runJob(t, flags(t, append([]string{"-json"}, generatedArgs...)...))
	dir := t.TempDir()
	pq := runJob(t, flags(t, append([]string{"-parquet", dir}, generatedArgs...)...))
	if pq.out != "" {
		t.Fatalf("with -parquet, stdout has %q", pq.out)
	}
	want := map[string][]string{}
	for _, l := range lines(js.out) {
		k := kindOf(t, l)
		if k == "recovered" {
			k = "alert" // in the alerts' files, its column rising false
		}
		want[k] = append(want[k], l)
	}
	for kind, dirName := range map[string]string{"host": "hosts", "path": "paths", "top": "top", "alert": "alerts", "clients": "clients"} {
		var got []string
		files, _ := filepath.Glob(filepath.Join(dir, dirName, "part-*.parquet"))
		if len(files) == 0 {
			t.Errorf("no Parquet file in %s", dirName)
		}
		for _, f := range files {
			for _, row := range readParquet(t, f) {
				got = append(got, rowJSON(t, kind, row))
			}
		}
		slices.Sort(got)
		slices.Sort(want[kind])
		if !slices.Equal(got, want[kind]) || len(got) == 0 {
			t.Errorf("%s: %d rows in Parquet, %d JSON lines: %s", kind, len(got), len(want[kind]), firstDiff(got, want[kind]))
		}
	}
}

// rowJSON is a Parquet row of a kind as the job's JSON line: the row's
// columns set into the kind's struct by name, then rendered.
func rowJSON(t *testing.T, kind string, row map[string]any) string {
	t.Helper()
	var v reflect.Value
	switch kind {
	case "host":
		v = reflect.ValueOf(&HostMinute{}).Elem()
	case "path":
		v = reflect.ValueOf(&PathMinute{}).Elem()
	case "top":
		v = reflect.ValueOf(&TopPath{}).Elem()
	case "alert":
		v = reflect.ValueOf(&Alert{}).Elem()
	case "clients":
		v = reflect.ValueOf(&Clients{}).Elem()
	}
	v.FieldByName("Kind").SetString(kind)
	if len(row) != v.NumField()-1 {
		t.Fatalf("%s: columns %v, want the %d fields of %s but Kind", kind, slices.Sorted(maps.Keys(row)), v.NumField()-1, v.Type())
	}
	for name, x := range row {
		f := v.FieldByName(name)
		if !f.IsValid() {
			t.Fatalf("%s: column %q is no field of %s", kind, name, v.Type())
		}
		switch x := x.(type) {
		case time.Time:
			f.Set(reflect.ValueOf(x))
		case int64:
			f.SetInt(x)
		default:
			f.Set(reflect.ValueOf(x))
		}
	}
	if kind == "alert" && !v.FieldByName("Rising").Bool() {
		v.FieldByName("Kind").SetString("recovered")
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readParquet reads a Parquet file with arrow-go's file and pqarrow
// readers into rows by column name, every value decoded from its typed
// array.
func readParquet(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1000}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var rows []map[string]any
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			r := map[string]any{}
			for c, col := range rec.Columns() {
				name := rec.Schema().Field(c).Name
				if col.IsNull(i) {
					t.Fatalf("%s: column %s, row %d is null", path, name, i)
				}
				switch a := col.(type) {
				case *array.String:
					r[name] = a.Value(i)
				case *array.Int64:
					r[name] = a.Value(i)
				case *array.Float64:
					r[name] = a.Value(i)
				case *array.Boolean:
					r[name] = a.Value(i)
				case *array.Timestamp:
					r[name] = a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit)
				default:
					t.Fatalf("%s: column %s of type %s", path, name, col.DataType())
				}
			}
			rows = append(rows, r)
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// The output is the same, line for line and in order, whatever the batch
// size and so whatever the order in which the windows fired: the lines of
// an instant come in section order, TOP by rank, the others by text.
func TestOutputOrderIsStable(t *testing.T) {
	cfg := flags(t, generatedArgs...)
	want := runJob(t, cfg).out
	for _, batch := range []int{1, 7, 300} {
		cfg.batchSize = batch
		if got := runJob(t, cfg).out; got != want {
			t.Fatalf("batch size %d: the output differs from the default's: %s", batch, firstDiff(lines(got), lines(want)))
		}
	}
	var sections []string
	for _, l := range lines(want)[:60] {
		sections = append(sections, strings.Fields(l)[0])
	}
	if !slices.IsSorted(sections[:4]) || sections[0] != "HOST" {
		t.Fatalf("the first minute's lines begin %v, want its HOST lines first", sections[:4])
	}
}
