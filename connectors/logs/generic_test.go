package logs

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

type appEvent struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	User  struct {
		ID int `json:"id"`
	} `json:"user"`
	At time.Time `json:"ts"`
}

func TestJSON(t *testing.T) {
	parse := JSON[appEvent]()
	e, err := parse(`{"level":"warn","msg":"disk \"/\" 91% full","user":{"id":7},"ts":"2024-03-01T12:00:00Z","extra":[1,2]}`)
	if err != nil || e.Level != "warn" || e.Msg != `disk "/" 91% full` || e.User.ID != 7 || !e.At.Equal(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v, %v", e, err)
	}
	for _, c := range []struct {
		name, line, field string
		pos               int
	}{
		{"syntax", `{"level":"warn" "msg":1}`, "line", 16},
		{"cut short", `{"level":"warn"`, "line", 14},
		{"empty", ``, "line", 0},
		{"type", `{"user":{"id":"seven"}}`, "user.id", 20},
		{"trailing", `{"level":"warn"} x`, "line", 17},
	} {
		_, err := parse(c.line)
		pe, ok := errors.AsType[*ParseError](err)
		if !ok || pe.Format != "json" || pe.Field != c.field || pe.Pos != c.pos {
			t.Errorf("%s: got %v (%+v), want field %q at %d", c.name, err, pe, c.field, c.pos)
		}
	}
	strict := JSONStrict[appEvent]()
	if _, err := strict(`{"level":"warn","extra":1}`); err == nil {
		t.Errorf("JSONStrict took an unknown field")
	} else if pe, ok := errors.AsType[*ParseError](err); !ok || pe.Field != "extra" || strings.Count(err.Error(), "json") != 1 {
		t.Errorf("JSONStrict, an unknown field: %v (%+v), want Field extra and one json: prefix", err, pe)
	}
	// Both say the same of lines both refuse.
	for _, l := range []string{`{"level":"warn" "msg":1}`, `{"level":"warn"`, ``, `{"user":{"id":"seven"}}`, `{"level":"warn"} x`, `{"level":"warn"} {}`} {
		_, e1 := parse(l)
		_, e2 := strict(l)
		if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
			t.Errorf("%q: JSON says %v, JSONStrict %v", l, e1, e2)
		}
	}
	if _, err := strict(`{"level":"warn"} {}`); err == nil {
		t.Errorf("JSONStrict took two values")
	}
	if e, err := strict(`{"level":"warn"} `); err != nil || e.Level != "warn" {
		t.Errorf("JSONStrict: %+v, %v", e, err)
	}
}

type csvRow struct {
	When    time.Time     `csv:"timestamp"`
	Host    string        // matched by name, case aside
	Bytes   int64         `csv:"bytes_sent"`
	Ratio   float64       `csv:"ratio"`
	OK      bool          `csv:"ok"`
	Latency time.Duration `csv:"latency"`
	Client  netip.Addr    `csv:"client"` // encoding.TextUnmarshaler
	Port    uint16        `csv:"port"`
	Secret  string        `csv:"-"`
	//lint:ignore U1000 unexported: CSV must never set it
	note string
}

func TestCSVHeader(t *testing.T) {
	parse := CSV[csvRow](CSVOptions{})
	header := "\uFEFFtimestamp,HOST,bytes_sent,ratio,ok,latency,client,port,Secret,unknown\r"
	if _, err := parse(header); !errors.Is(err, ErrCSVHeader) {
		t.Fatalf("header: %v, want ErrCSVHeader", err)
	}
	r, err := parse(`2024-03-01T12:00:00Z,"web,1",1024,0.5,true,1.5s,2001:db8::1,8080,hunter2,x`)
	want := csvRow{When: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), Host: "web,1", Bytes: 1024, Ratio: 0.5, OK: true,
		Latency: 1500 * time.Millisecond, Client: netip.MustParseAddr("2001:db8::1"), Port: 8080}
	if err != nil || r != want {
		t.Errorf("got %+v, %v\nwant %+v", r, err, want)
	}
	// Short rows, empty columns, quotes inside quotes.
	r, err = parse(`,"say ""hi""",,`)
	if err != nil || r != (csvRow{Host: `say "hi"`}) {
		t.Errorf("short row: %+v, %v", r, err)
	}
	// The header again (files joined): no record.
	if _, err := parse(header); !errors.Is(err, ErrCSVHeader) {
		t.Errorf("repeated header: %v, want ErrCSVHeader", err)
	}
	for _, c := range []struct {
		name, line, field string
		pos               int
	}{
		{"bad int", `2024-03-01T12:00:00Z,web,lots`, "bytes_sent", 25},
		{"bad time", `yesterday,web,1`, "timestamp", 0},
		{"bad bool", `,,,,maybe`, "ok", 4},
		{"port too big", `,,,,,,,65536`, "port", 7},
		{"bad address", `,,,,,,1.2.3`, "client", 6},
		{"bare quote", `a,b"c,d`, "line", 3},
		{"unclosed quote", `a,"bc`, "line", 5},
		{"newline inside", ",\"b\nc\",1\n,f", "line", -1},
		{"empty", "", "line", 0},
	} {
		_, err := parse(c.line)
		pe, ok := errors.AsType[*ParseError](err)
		if !ok || pe.Format != "csv" || pe.Field != c.field || pe.Pos != c.pos {
			t.Errorf("%s: got %v (%+v), want field %q at %d", c.name, err, pe, c.field, c.pos)
		}
		// The reader is reused: the next line must parse whole.
		if r, err := parse(`,h,1`); err != nil || r.Host != "h" || r.Bytes != 1 {
			t.Errorf("after %s: %+v, %v", c.name, r, err)
		}
	}
}

func TestCSVColumns(t *testing.T) {
	parse := CSV[csvRow](CSVOptions{Columns: []string{"host", "bytes_sent"}, Comma: ';', TrimLeadingSpace: true})
	r, err := parse("db1;  42")
	if err != nil || r.Host != "db1" || r.Bytes != 42 {
		t.Errorf("got %+v, %v", r, err)
	}
	if r, err := parse("host;bytes_sent"); err == nil {
		t.Errorf("with Columns, a header-like line is a record and must fail to convert: %+v", r)
	}
	// Concurrent use.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				line := "h;" + strings.Repeat("1", 1+(g+i)%9)
				if r, err := parse(line); err != nil || r.Host != "h" {
					t.Errorf("%q: %+v, %v", line, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCSVPanicsOnTypes(t *testing.T) {
	for name, f := range map[string]func(){
		"not a struct":     func() { CSV[int](CSVOptions{}) },
		"a field of a map": func() { CSV[struct{ M map[string]int }](CSVOptions{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
