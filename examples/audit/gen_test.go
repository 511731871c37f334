package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// expectedGenerated derives, from the generated events alone (not from
// their lines), every finding of cfg's run over the generated logs, as
// records (see record), and the places of the lines that must be dead
// letters.
func expectedGenerated(cfg config) (want, dead []string) {
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	var facts []sshdFact
	type minuteKey struct {
		src   string
		start time.Time
	}
	ports := map[minuteKey]map[int]bool{}
	type probeKey struct {
		src   string
		port  int
		start time.Time
	}
	probes := map[probeKey]int{}
	denied := map[minuteKey]int64{}
	var bindings, reads []genEvent
	for _, g := range generators(cfg.seed) {
		for i := range cfg.n {
			e := g.event(i)
			if e.Garbled {
				dead = append(dead, fmt.Sprintf("generated %s line %d", g.name, i+1))
				continue
			}
			switch e.Kind {
			case kindFailed, kindInvalidUser, kindNoIdent, kindAccepted:
				facts = append(facts, sshdFact{kind: e.Kind, at: e.Time, ip: e.Host, user: e.User, n: e.N})
			case kindPacket:
				m := e.Time.Truncate(time.Minute)
				if e.Port > 0 {
					k := minuteKey{e.Src.String(), m}
					if ports[k] == nil {
						ports[k] = map[int]bool{}
					}
					ports[k][e.Port] = true
				}
				if (e.Port == 111 || e.Port == 2049) && !inAny(cfg, e.Src) {
					probes[probeKey{e.Src.String(), e.Port, m}]++
				}
			case kindAudit:
				if e.Code == 403 {
					denied[minuteKey{e.User, e.Time.Truncate(5 * time.Minute)}]++
				}
				if e.Resource == "pods" && e.Subresource == "exec" {
					want = append(want, fmt.Sprintf("exec %s %s %s/%s %d", stamp(e.Time), e.User, e.Namespace, e.Name, e.Code))
				}
				ok := e.Code >= 200 && e.Code < 300
				if ok && e.Verb == "create" && (e.Resource == "rolebindings" || e.Resource == "clusterrolebindings") {
					bindings = append(bindings, e)
				}
				if ok && e.Resource == "secrets" && (e.Verb == "get" || e.Verb == "list" || e.Verb == "watch") {
					reads = append(reads, e)
				}
			}
		}
	}
	want = append(want, expectedSSHD(facts, cfg)...)
	for k, ps := range ports {
		if int64(len(ps)) > cfg.scanPorts {
			keys := slices.Sorted(func(yield func(int) bool) {
				for p := range ps {
					if !yield(p) {
						return
					}
				}
			})
			want = append(want, fmt.Sprintf("scan %s %s %d %d-%d", k.src, stamp(k.start), len(ps), keys[0], keys[len(keys)-1]))
		}
	}
	for k, n := range probes {
		want = append(want, fmt.Sprintf("probe %s %s %d %d", k.src, stamp(k.start), k.port, n))
	}
	for k, n := range denied {
		if n > cfg.denied {
			want = append(want, fmt.Sprintf("denied %s %s %d", k.src, stamp(k.start), n))
		}
	}
	// Every pair, by brute force: the read after the binding, by at most
	// 10 minutes.
	for _, b := range bindings {
		for _, r := range reads {
			if d := r.Time.Sub(b.Time); r.User == b.User && d > 0 && d <= 10*time.Minute {
				want = append(want, fmt.Sprintf("escalate %s %s %s/%s %s %s %s/%s", r.User, stamp(b.Time), b.Namespace, b.Name,
					stamp(r.Time), r.Verb, r.Namespace, r.Name))
			}
		}
	}
	slices.Sort(want)
	return want, dead
}

// inAny says whether the address is in one of cfg's allowed networks.
func inAny(cfg config, addr netip.Addr) bool {
	for _, p := range cfg.allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// generated is the run of the job over the generated logs with -json and
// the default flags, which several tests read: made once.
var generated struct {
	once sync.Once
	r    result
	err  error
}

func generatedJSON(t *testing.T) result {
	t.Helper()
	generated.once.Do(func() { generated.r, generated.err = tryJob(t, flags(t, "-json")) })
	if generated.err != nil {
		t.Fatal(generated.err)
	}
	return generated.r
}

// The built-in generator's logs make every kind of finding, and the job
// finds exactly what the generated events (not their lines) say it
// should: the windows, sessions and pairs recomputed by brute force here.
// The scenario's negatives hold too: the slow scanner is no scan, the
// insider's rpcbind packets are no probe, mallory's read 15 minutes after
// the binding and the other users' reads are no escalation. Each garbled
// line is a dead letter at its place, the lines around it read.
func TestGeneratedFindings(t *testing.T) {
	cfg := flags(t, "-json")
	r := generatedJSON(t)
	want, dead := expectedGenerated(cfg)
	got := records(t, r.out)
	if !slices.Equal(got, want) {
		t.Fatalf("the job's findings differ from the generated events': %s", diff(got, want))
	}
	sections := map[string]int{}
	for _, w := range want {
		sections[strings.Fields(w)[0]]++
	}
	for _, s := range sectionNames {
		if sections[strings.ToLower(s)] == 0 {
			t.Errorf("no %s finding: the generator does not exercise it", s)
		}
	}
	count := func(prefix string) (n int) {
		for _, w := range want {
			if strings.HasPrefix(w, prefix) {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		prefix string
		n      int
	}{
		{"session " + bruteClient + " ", 2},       // two sessions, six minutes apart
		{"scan " + scanner.String() + " ", 2},     // two minutes of sweeping
		{"scan " + slowScanner.String() + " ", 0}, // 15 ports a minute
		{"probe " + insider.String() + " ", 0},    // inside the allowed networks
		{"escalate mallory ", 2},                  // the get and the list 4 minutes after the binding
		{"escalate carol ", 0},                    // a binding and no read
		{"escalate bob ", 0},                      // a read and no binding
		{"denied dev-intern ", 1},                 // two minutes of 403s in one 5-minute window
		{"denied bob ", 0},                        // now and then
	} {
		if n := count(c.prefix); n != c.n {
			t.Errorf("%d findings %q..., want %d", n, c.prefix, c.n)
		}
	}
	if n := count("exec "); n < 5 || !strings.Contains(strings.Join(want, "\n"), " dev-intern prod/web-1 403") {
		t.Errorf("%d execs, want alice's and dev-intern's refused one", n)
	}
	if !strings.Contains(strings.Join(want, "\n"), "accepted=1") {
		t.Error("no session with a login accepted: the brute force's success is not exercised")
	}
	// Dead letters (JSON, as the findings): the garbled lines, each once,
	// at its place, with the error and the line.
	var places []string
	for _, d := range r.dead {
		var v struct{ Where, Error, Line string }
		if err := json.Unmarshal([]byte(d), &v); err != nil || v.Where == "" || v.Error == "" || v.Line == "" {
			t.Fatalf("dead letter %q: %v", d, err)
		}
		places = append(places, v.Where)
	}
	slices.Sort(places)
	slices.Sort(dead)
	if !slices.Equal(places, dead) {
		t.Fatalf("dead letters at %d places, %d garbled lines: %s", len(places), len(dead), diff(places, dead))
	}
	if len(dead) < 30 {
		t.Fatalf("only %d garbled lines", len(dead))
	}
	t.Logf("%d findings, %d dead letters", len(want), len(dead))
}

// The text and the -json output say the same, line for line, in event
// time order, and the legend names every section.
func TestTextAgreesWithJSON(t *testing.T) {
	js := generatedJSON(t)
	text := runJob(t, flags(t))
	var texts []string
	legend := map[string]bool{}
	for _, l := range lines(text.out) {
		if f := strings.Fields(l); f[0] == "#" {
			legend[f[1]] = true
			continue
		}
		texts = append(texts, l)
	}
	fs := findings(t, js.out)
	if len(fs) != len(texts) {
		t.Fatalf("%d JSON findings, %d lines of text", len(fs), len(texts))
	}
	seen := map[string]bool{}
	var last time.Time
	for i, f := range fs {
		sec := strings.ToUpper(f["section"].(string))
		seen[sec] = true
		if strings.Fields(texts[i])[0] != sec {
			t.Fatalf("line %d: JSON %v, text %q", i, f, texts[i])
		}
		// The key and every number of the finding are in its text.
		for _, k := range []string{"client", "source", "user"} {
			if v, ok := f[k].(string); ok && !strings.Contains(texts[i], " "+v+" ") {
				t.Errorf("line %d: %s %q not in %q", i, k, v, texts[i])
			}
		}
		for _, k := range []string{"failed", "ports", "packets", "refused", "attempts", "code"} {
			if v, ok := f[k].(float64); ok && !strings.Contains(texts[i], fmt.Sprintf("%v", v)) {
				t.Errorf("line %d: %s %v not in %q", i, k, v, texts[i])
			}
		}
		// In order of the time each finding is about: a window's end, a
		// session's end (5 minutes after its last event), an event's time.
		var at time.Time
		switch {
		case f["end"] != nil:
			at, _ = time.Parse(time.RFC3339Nano, f["end"].(string))
		case f["last"] != nil:
			at, _ = time.Parse(time.RFC3339Nano, f["last"].(string))
			at = at.Add(5 * time.Minute)
		case f["at"] != nil:
			at, _ = time.Parse(time.RFC3339Nano, f["at"].(string))
		default:
			at, _ = time.Parse(time.RFC3339Nano, f["read"].(map[string]any)["at"].(string))
		}
		if at.Before(last) {
			t.Errorf("line %d at %v after one at %v", i, at, last)
		}
		last = at
	}
	for _, s := range sectionNames {
		if !seen[s] || !legend[s] {
			t.Errorf("section %s: printed %v, in the legend %v", s, seen[s], legend[s])
		}
	}
}

// writeGenerated writes the first n lines of each generated log to a file
// of a temporary directory and returns their paths.
func writeGenerated(t *testing.T, n int64) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, g := range generators(1) {
		var b strings.Builder
		for i := range n {
			b.WriteString(g.line(i))
			b.WriteByte('\n')
		}
		path := filepath.Join(dir, g.name+".log")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// The generated lines written to files (told apart by their first lines)
// make the same findings as the generator, and the same dead letters, at
// the same line numbers.
func TestGeneratedFilesFindTheSame(t *testing.T) {
	gen := generatedJSON(t)
	files := writeGenerated(t, 20_000)
	r := runJob(t, flags(t, append([]string{"-json", "-year", strconv.Itoa(genStart.Year())}, files...)...))
	if got, want := records(t, r.out), records(t, gen.out); !slices.Equal(got, want) {
		t.Fatalf("the files' findings differ from the generator's: %s", diff(got, want))
	}
	lineOf := func(d string) string { // "...sshd.log:12 (byte 345)" or "generated sshd line 12": "sshd 12"
		var v struct{ Where string }
		json.Unmarshal([]byte(d), &v)
		w := strings.TrimPrefix(v.Where, "generated ")
		if i := strings.LastIndex(w, "/"); i >= 0 {
			w = strings.Replace(w[i+1:], ".log:", " line ", 1)
			w = w[:strings.Index(w, " (byte")]
		}
		return w
	}
	var got, want []string
	for _, d := range r.dead {
		got = append(got, lineOf(d))
	}
	for _, d := range gen.dead {
		want = append(want, lineOf(d))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Fatalf("dead letters differ: %s", diff(got, want))
	}
}
