package logs

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/braidstream/braid/internal/testseed"
)

// auditJSON is the twin of ParseK8sAudit: the same fields read with
// encoding/json into a struct shaped as audit.k8s.io/v1's Event.
type auditJSON struct {
	Level            string    `json:"level"`
	AuditID          string    `json:"auditID"`
	Stage            string    `json:"stage"`
	RequestURI       string    `json:"requestURI"`
	Verb             string    `json:"verb"`
	User             AuditUser `json:"user"`
	ImpersonatedUser AuditUser `json:"impersonatedUser"`
	SourceIPs        []string  `json:"sourceIPs"`
	UserAgent        string    `json:"userAgent"`
	ObjectRef        struct {
		Resource, Subresource, Namespace, Name, UID string
		APIGroup                                    string `json:"apiGroup"`
		APIVersion                                  string `json:"apiVersion"`
		ResourceVersion                             string `json:"resourceVersion"`
	} `json:"objectRef"`
	ResponseStatus  AuditStatus `json:"responseStatus"`
	RequestReceived time.Time   `json:"requestReceivedTimestamp"`
	StageTime       time.Time   `json:"stageTimestamp"`
	Annotations     struct {
		Decision string `json:"authorization.k8s.io/decision"`
		Reason   string `json:"authorization.k8s.io/reason"`
	} `json:"annotations"`
}

func (j *auditJSON) audit() Audit {
	a := Audit{Level: j.Level, AuditID: j.AuditID, Stage: j.Stage, RequestURI: j.RequestURI, Verb: j.Verb, User: j.User,
		ImpersonatedUser: j.ImpersonatedUser, SourceIPs: j.SourceIPs, UserAgent: j.UserAgent, ResponseStatus: j.ResponseStatus,
		RequestReceived: j.RequestReceived, StageTime: j.StageTime, Decision: j.Annotations.Decision, Reason: j.Annotations.Reason}
	a.ObjectRef = AuditObjectRef(j.ObjectRef)
	return a
}

// auditEqual compares two events, times as instants, empty and nil
// slices alike.
func auditEqual(a, b Audit) bool {
	if !a.RequestReceived.Equal(b.RequestReceived) || !a.StageTime.Equal(b.StageTime) {
		return false
	}
	a.RequestReceived, b.RequestReceived, a.StageTime, b.StageTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	for _, p := range []*[]string{&a.SourceIPs, &b.SourceIPs, &a.User.Groups, &b.User.Groups, &a.ImpersonatedUser.Groups, &b.ImpersonatedUser.Groups} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return reflect.DeepEqual(a, b)
}

func auditLines(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// The events of testdata/audit.jsonl, written by hand in the log
// backend's format (a get by a controller, a 403 list of secrets, an exec
// with impersonation, a RequestResponse create of a role binding with its
// bodies, a watch at RequestReceived, a secret read, and one with escapes,
// nulls and v1beta1), give what encoding/json gives.
func TestParseK8sAudit(t *testing.T) {
	lines := auditLines(t)
	for i, line := range lines {
		var j auditJSON
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			t.Fatalf("event %d: encoding/json: %v", i, err)
		}
		got, err := ParseK8sAudit(line)
		if err != nil {
			t.Errorf("event %d: %v", i, err)
			continue
		}
		if want := j.audit(); !auditEqual(got, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	// A few fields by hand, so that the twin is not the only judge.
	a, _ := ParseK8sAudit(lines[2])
	if a.Verb != "create" || a.ObjectRef.Subresource != "exec" || a.ImpersonatedUser.Username != "system:serviceaccount:prod:deployer" ||
		a.User.Username != "bob" || a.ResponseStatus.Code != 101 || a.Decision != "allow" ||
		!a.StageTime.Equal(time.Date(2024, 3, 1, 12, 0, 2, 512345000, time.UTC)) || a.SourceIPs[0] != "198.51.100.23" ||
		a.RequestURI != "/api/v1/namespaces/prod/pods/web-0/exec?command=sh&container=web&stdin=true&stdout=true&tty=true" {
		t.Errorf("the exec event: %+v", a)
	}
	a, _ = ParseK8sAudit(lines[1])
	if a.ResponseStatus.Code != 403 || a.ResponseStatus.Reason != "Forbidden" || a.Decision != "forbid" ||
		!slicesEqual(a.SourceIPs, []string{"203.0.113.50", "10.0.0.1"}) || !slicesEqual(a.User.Groups, []string{"dev", "system:authenticated"}) {
		t.Errorf("the forbidden event: %+v", a)
	}
	a, err := ParseK8sAudit("{\"auditID\":\"x\",\"user\":{\"username\":\"\xff\xfeadmin\"}}")
	if err != nil || a.User.Username != "\xff\xfeadmin" {
		t.Errorf("invalid UTF-8 in a user name: %q, %v", a.User.Username, err)
	}
	a, _ = ParseK8sAudit(lines[6])
	if a.AuditID != "eé中-😀" || a.UserAgent != `probe "x" \ /` || a.ResponseStatus.Code != 500 {
		t.Errorf("the event with escapes: %+v", a)
	}
}

func slicesEqual(a, b []string) bool { return reflect.DeepEqual(a, b) }

func TestParseK8sAuditErrors(t *testing.T) {
	ok := auditLines(t)[1]
	for _, c := range []struct {
		name, line, field string
		pos               int
	}{
		{"empty", "", "line", 0},
		{"cut short", ok[:100], "line", 99},
		{"not JSON", "Dec 10 06:55:46 host kube-apiserver: hello", "line", 0},
		{"trailing garbage", ok + "x", "line", len(ok)},
		{"an array", "[1,2]", "line", -1},
		{"no auditID", `{"kind":"Event","verb":"get"}`, "auditID", -1},
		{"empty auditID", `{"kind":"Event","auditID":""}`, "auditID", -1},
		{"another kind", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`, "kind", -1},
		{"another apiVersion", `{"kind":"Event","apiVersion":"v1","auditID":"x"}`, "apiVersion", -1},
		{"verb a number", `{"auditID":"x","verb":5}`, "verb", -1},
		{"user a string", `{"auditID":"x","user":"alice"}`, "user", -1},
		{"groups not strings", `{"auditID":"x","user":{"groups":["a",1]}}`, "user.groups", -1},
		{"sourceIPs a string", `{"auditID":"x","sourceIPs":"1.2.3.4"}`, "sourceIPs", -1},
		{"code a string", `{"auditID":"x","responseStatus":{"code":"403"}}`, "responseStatus.code", -1},
		{"code a fraction", `{"auditID":"x","responseStatus":{"code":4.5}}`, "responseStatus.code", -1},
		{"name an object", `{"auditID":"x","objectRef":{"name":{}}}`, "objectRef.name", -1},
		{"bad timestamp", `{"auditID":"x","stageTimestamp":"2024-03-01 12:00:00"}`, "stageTimestamp", -1},
		{"timestamp with junk", `{"auditID":"x","requestReceivedTimestamp":"2024-03-01T12:00:00Zjunk"}`, "requestReceivedTimestamp", -1},
		{"decision a bool", `{"auditID":"x","annotations":{"authorization.k8s.io/decision":true}}`, "annotations.authorization.k8s.io/decision", -1},
	} {
		_, err := ParseK8sAudit(c.line)
		pe, isPE := errors.AsType[*ParseError](err)
		if !isPE {
			t.Errorf("%s: got %v, want a *ParseError", c.name, err)
			continue
		}
		if pe.Field != c.field || pe.Pos != c.pos || pe.Format != "audit event" {
			t.Errorf("%s: got %q (field %q at %d), want field %q at %d", c.name, err, pe.Field, pe.Pos, c.field, c.pos)
		}
	}
}

func TestParseK8sAuditAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops sync.Pool's parsers at random: allocation counts mean nothing")
	}
	for i, line := range auditLines(t) {
		ParseK8sAudit(line) // warm the parser pool
		n := testing.AllocsPerRun(50, func() { ParseK8sAudit(line) })
		want := 2.0
		if i == 6 { // no groups, no source address
			want = 1
		}
		if n > want {
			t.Errorf("event %d: %v allocations, want %v", i, n, want)
		}
		var p AuditParser
		p.Parse(line)
		if n := testing.AllocsPerRun(50, func() { p.Parse(line) }); n > want {
			t.Errorf("event %d, AuditParser: %v allocations, want %v", i, n, want)
		}
	}
	// Over many events, copies come from blocks: a block now and then,
	// not an allocation per event; the one slice of an event with groups
	// or source addresses remains.
	lines := auditLines(t)
	lists := 0
	for _, l := range lines {
		if a, _ := ParseK8sAudit(l); len(a.SourceIPs)+len(a.User.Groups)+len(a.ImpersonatedUser.Groups) > 0 {
			lists++
		}
	}
	var p AuditParser
	n := testing.AllocsPerRun(20, func() {
		for range 50 {
			for _, l := range lines {
				p.Parse(l)
			}
		}
	}) / float64(50*len(lines))
	if want := float64(lists)/float64(len(lines)) + 0.1; n > want {
		t.Errorf("%.3f allocations per event over %d events, want at most %.3f", n, 50*len(lines), want)
	}
}

// Random events, marshalled by encoding/json with fields in random order
// and bodies of random JSON, give what encoding/json reads back.
func TestParseK8sAuditAgainstEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 3))
	word := func() string {
		const alphabet = `abcXYZ019 -_:/."\é中` + "\t\n"
		b := make([]rune, rng.IntN(12))
		ar := []rune(alphabet)
		for i := range b {
			b[i] = ar[rng.IntN(len(ar))]
		}
		return string(b)
	}
	words := func() []string {
		if rng.IntN(4) == 0 {
			return nil
		}
		w := make([]string, rng.IntN(5))
		for i := range w {
			w[i] = word()
		}
		return w
	}
	var body func(depth int) any
	body = func(depth int) any {
		switch rng.IntN(6) {
		case 0:
			return word()
		case 1:
			return rng.Float64() * 1e6
		case 2:
			return nil
		case 3:
			if depth > 3 {
				return true
			}
			l := make([]any, rng.IntN(4))
			for i := range l {
				l[i] = body(depth + 1)
			}
			return l
		}
		if depth > 3 {
			return "leaf"
		}
		m := map[string]any{}
		for range rng.IntN(5) {
			m[word()] = body(depth + 1)
		}
		return m
	}
	for i := range 3000 {
		tm := func() time.Time {
			return time.Unix(rng.Int64N(4e9), rng.Int64N(1e6)*1000).In(time.FixedZone("", (rng.IntN(57)-28)*900))
		}
		ev := map[string]any{
			"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": word(), "auditID": "id-" + word(), "stage": word(),
			"requestURI": word(), "verb": word(),
			"user":      map[string]any{"username": word(), "uid": word(), "groups": words(), "extra": map[string]any{word(): words()}},
			"sourceIPs": words(), "userAgent": word(),
			"objectRef": map[string]any{"resource": word(), "subresource": word(), "namespace": word(), "name": word(), "uid": word(),
				"apiGroup": word(), "apiVersion": word(), "resourceVersion": word()},
			"responseStatus":           map[string]any{"metadata": map[string]any{}, "code": rng.IntN(600), "status": word(), "reason": word(), "message": word(), "details": body(0)},
			"requestReceivedTimestamp": tm().Format("2006-01-02T15:04:05.000000Z07:00"),
			"stageTimestamp":           tm().Format(time.RFC3339Nano),
			"annotations":              map[string]any{"authorization.k8s.io/decision": word(), "authorization.k8s.io/reason": word(), word(): word()},
			"requestObject":            body(0), "responseObject": body(0),
		}
		if rng.IntN(2) == 0 {
			ev["impersonatedUser"] = map[string]any{"username": word(), "groups": words()}
		}
		// Drop some fields; the twin leaves them zero too.
		for _, k := range []string{"level", "stage", "user", "objectRef", "responseStatus", "annotations", "sourceIPs", "stageTimestamp"} {
			if rng.IntN(8) == 0 {
				delete(ev, k)
			}
		}
		b, err := json.Marshal(ev) // keys sorted; fastjson is told no order
		if err != nil {
			t.Fatal(err)
		}
		line := string(b)
		var j auditJSON
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatalf("event %d: encoding/json: %v", i, err)
		}
		got, err := ParseK8sAudit(line)
		if err != nil {
			t.Fatalf("event %d: %s: %v", i, line, err)
		}
		if want := j.audit(); !auditEqual(got, want) {
			t.Fatalf("event %d: %s:\n got %+v\nwant %+v", i, line, got, want)
		}
	}
}

// Parsers come from a pool; events parsed at once on many goroutines
// must not share their strings (go test -race checks the rest).
func TestParseK8sAuditConcurrent(t *testing.T) {
	lines := auditLines(t)
	want := make([]Audit, len(lines))
	for i, l := range lines {
		want[i], _ = ParseK8sAudit(l)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for n := range 500 {
				i := (g + n) % len(lines)
				got, err := ParseK8sAudit(lines[i])
				if err != nil || !auditEqual(got, want[i]) {
					errs <- fmt.Errorf("goroutine %d, event %d: %v %+v", g, i, err, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestParseK8sAuditHugeLine(t *testing.T) {
	big := strings.Repeat("x", 10<<20)
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"create","requestObject":{"data":"` + big + `"},"objectRef":{"name":"n"}}`
	a, err := ParseK8sAudit(line)
	if err != nil || a.ObjectRef.Name != "n" || a.Verb != "create" {
		t.Errorf("10 MB request body: %+v, %v", a, err)
	}
	for _, junk := range []string{big, `{"auditID":"` + big, strings.Repeat("[", 10<<20), strings.Repeat(`{"a":`, 2<<20)} {
		_, err := ParseK8sAudit(junk)
		if err == nil || len(err.Error()) > 400 {
			t.Errorf("10 MB of %.8q...: error of %d bytes: %.400v", junk, len(fmt.Sprint(err)), err)
		}
	}
}

// An AuditParser's events hold none of its buffers: those of one line are
// intact after the parser has read others (the bytes fastjson hands out
// live in the buffer the next line overwrites).
func TestAuditParserEventsOutliveNextParse(t *testing.T) {
	lines := auditLines(t)
	var p AuditParser
	got := make([]Audit, len(lines))
	for i, l := range lines {
		a, err := p.Parse(l)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		got[i] = a
	}
	for i, l := range lines { // and once more, over the same buffers
		if _, err := p.Parse(l); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	for i, l := range lines {
		var j auditJSON
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatal(err)
		}
		if want := j.audit(); !auditEqual(got[i], want) {
			t.Errorf("event %d after other lines:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
	// Enough events to fill many blocks of copies and lists: the events
	// of the first blocks are intact after the parser has moved on.
	type kept struct {
		i int
		a Audit
	}
	var many []kept
	for n := range 40 * auditBlock / 100 {
		i := n % len(lines)
		a, err := p.Parse(lines[i])
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		many = append(many, kept{i, a})
	}
	for n, k := range many {
		if a, _ := ParseK8sAudit(lines[k.i]); !auditEqual(k.a, a) {
			t.Fatalf("event %d of %d (line %d), after the others:\n got %+v\nwant %+v", n, len(many), k.i, k.a, a)
		}
	}
	if _, err := p.Parse(`{"auditID":`); err == nil {
		t.Error("a line cut short: no error")
	}
	if a, err := p.Parse(lines[1]); err != nil || a.ResponseStatus.Code != 403 {
		t.Errorf("after an error: %+v, %v", a, err)
	}
}

// The constants of auditconst.go: each case returns the string it
// matched, so a constant cannot give a field a value its line did not
// hold (read from the source, so that no case is left out).
func TestAuditConstantsMatch(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "auditconst.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	ast.Inspect(f, func(n ast.Node) bool {
		cc, ok := n.(*ast.CaseClause)
		if !ok || len(cc.List) == 0 {
			return true
		}
		lit, ok := cc.List[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true // a case of the field's number
		}
		ret, ok := cc.Body[0].(*ast.ReturnStmt)
		if len(cc.List) != 1 || len(cc.Body) != 1 || !ok || len(ret.Results) != 1 {
			t.Errorf("case %s: want one string and a return of it", lit.Value)
			return true
		}
		if r, ok := ret.Results[0].(*ast.BasicLit); !ok || r.Value != lit.Value {
			t.Errorf("case %s returns %v", lit.Value, ret.Results[0])
		}
		cases++
		return true
	})
	if cases < 100 {
		t.Errorf("%d cases of strings found: the test reads auditconst.go wrong", cases)
	}
	// And through the parser: a constant is the value of its field.
	a, err := ParseK8sAudit(`{"auditID":"x","verb":"deletecollection","stage":"Panic","level":"None","objectRef":{"resource":"clusterrolebindings","apiGroup":"rbac.authorization.k8s.io","subresource":"status","namespace":"kube-system","apiVersion":"v1"},"user":{"groups":["system:masters","x"]},"responseStatus":{"status":"Failure","reason":"NotFound"},"annotations":{"authorization.k8s.io/decision":"forbid"}}`)
	if err != nil || a.Verb != "deletecollection" || a.Stage != "Panic" || a.Level != "None" || a.ObjectRef.Resource != "clusterrolebindings" ||
		a.ObjectRef.APIGroup != "rbac.authorization.k8s.io" || a.ObjectRef.Subresource != "status" || a.ObjectRef.Namespace != "kube-system" ||
		a.ObjectRef.APIVersion != "v1" || !slicesEqual(a.User.Groups, []string{"system:masters", "x"}) || a.ResponseStatus.Status != "Failure" ||
		a.ResponseStatus.Reason != "NotFound" || a.Decision != "forbid" {
		t.Errorf("%+v, %v", a, err)
	}
}

// inMemoryOf reports whether s is a substring of line's memory, not a copy.
func inMemoryOf(line, s string) bool {
	if len(s) == 0 {
		return false
	}
	l, p := uintptr(unsafe.Pointer(unsafe.StringData(line))), uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return p >= l && p+uintptr(len(s)) <= l+uintptr(len(line))
}

// The memory an event holds: a line up to auditAliasMax is kept by its
// event (its strings without escapes are substrings of it, no copies); a
// longer one, with bodies, is not (its strings are copies).
func TestParseK8sAuditMemory(t *testing.T) {
	line := auditLines(t)[0]
	a, err := ParseK8sAudit(line)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{a.AuditID, a.RequestURI, a.User.Username, a.User.UID, a.UserAgent, a.ObjectRef.Name, a.SourceIPs[0]} {
		if !inMemoryOf(line, s) {
			t.Errorf("%q of a short line: a copy, want a substring of the line", s)
		}
	}
	if inMemoryOf(line, a.Reason) || a.Reason != `RBAC: allowed by ClusterRoleBinding "system:controller:replicaset-controller" of ClusterRole "system:controller:replicaset-controller" to ServiceAccount "replicaset-controller/kube-system"` {
		t.Errorf("the reason, with escaped quotes: %q", a.Reason)
	}
	// Copies too long for a block get their own memory; long lists too.
	var groups []string
	for i := range 200 {
		groups = append(groups, fmt.Sprintf("team-%d", i))
	}
	gj, _ := json.Marshal(groups)
	agent := strings.Repeat("agent ", auditBlock/len("agent "))
	big := `{"auditID":"id-big","userAgent":"` + agent + `","user":{"username":"u","groups":` + string(gj) +
		`},"sourceIPs":["10.0.0.1"],"requestObject":{"data":"` + strings.Repeat("y", auditAliasMax) + `"}}`
	var p AuditParser
	for range 3 { // the second and third over blocks begun by the first
		a, err = p.Parse(big)
		if err != nil || a.UserAgent != agent || a.AuditID != "id-big" || !slicesEqual(a.User.Groups, groups) ||
			!slicesEqual(a.SourceIPs, []string{"10.0.0.1"}) {
			t.Fatalf("a long agent and %d groups: %.200v, %v", len(groups), a, err)
		}
	}
	body := strings.Repeat("x", auditAliasMax)
	long := `{"auditID":"id-long","objectRef":{"name":"n1"},"userAgent":"curl/8","requestObject":{"data":"` + body + `"}}`
	a, err = ParseK8sAudit(long)
	if err != nil || a.AuditID != "id-long" || a.ObjectRef.Name != "n1" || a.UserAgent != "curl/8" {
		t.Fatalf("%+v, %v", a, err)
	}
	for _, s := range []string{a.AuditID, a.ObjectRef.Name, a.UserAgent} {
		if inMemoryOf(long, s) {
			t.Errorf("%q of a line of %d bytes: a substring of it, want a copy (the event would keep the body)", s, len(long))
		}
	}
}
