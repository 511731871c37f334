package logs

import (
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"
)

// An Audit is one event of a Kubernetes API server's audit log: who did
// what to which object, from where, and what the server answered.
//
// Its strings are, as those of the other parsers' events, substrings of
// the line when the line is at most 4 KiB (the Metadata events most audit
// policies log), so that the event holds the line; those of a longer line
// (request and response bodies, at levels Request and RequestResponse) are
// copied, so that the event holds none of the bodies. Strings with
// escapes are copies (unescaped), and the values events repeat (levels,
// stages, verbs, the resources and API groups of Kubernetes, the usual
// groups and namespaces, statuses, reasons and decisions) are constants.
// Copies are cut from blocks the parser shares among the events it reads
// (see AuditParser); the groups and source addresses are in one new slice
// per event.
type Audit struct {
	Level      string // "None", "Metadata", "Request", "RequestResponse"
	AuditID    string
	Stage      string // "RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"
	RequestURI string
	Verb       string // "get", "list", "watch", "create", "update", "patch", "delete", ...

	User AuditUser
	// ImpersonatedUser is the user the request acted as (kubectl --as);
	// its Username is "" when there was no impersonation.
	ImpersonatedUser AuditUser

	SourceIPs []string // the client first, then the proxies it came through
	UserAgent string

	ObjectRef AuditObjectRef

	// ResponseStatus is the Status the server answered with: Code is the
	// HTTP status (0 when the event has none, as at stage
	// RequestReceived); Status, Reason and Message are set on failures
	// ("Failure", "Forbidden", "secrets is forbidden: ...").
	ResponseStatus AuditStatus

	RequestReceived time.Time // requestReceivedTimestamp
	StageTime       time.Time // stageTimestamp

	// Decision and Reason are the annotations authorization.k8s.io/decision
	// ("allow", "forbid") and authorization.k8s.io/reason.
	Decision, Reason string
}

// An AuditUser is the user of an audit event: UserInfo, without Extra.
type AuditUser struct {
	Username string
	UID      string
	Groups   []string
}

// An AuditObjectRef says which object a request was about; fields the
// request did not name are "".
type AuditObjectRef struct {
	Resource        string // "pods", "secrets", "rolebindings"
	Subresource     string // "exec", "log", "status", ...
	Namespace       string
	Name            string
	UID             string
	APIGroup        string // "" for the core group, "rbac.authorization.k8s.io", ...
	APIVersion      string
	ResourceVersion string
}

// An AuditStatus is the part of a response's Status an audit event keeps.
type AuditStatus struct {
	Code    int
	Status  string
	Reason  string
	Message string
}

// ParseK8sAudit reads one event of a Kubernetes API server's audit log,
// as the log backend writes them (--audit-log-path; one JSON object a
// line, kind Event, apiVersion audit.k8s.io/v1 or v1beta1):
//
//	{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0f6b...","stage":"ResponseComplete",
//	 "requestURI":"/api/v1/namespaces/prod/secrets","verb":"list","user":{"username":"alice","groups":["dev"]},
//	 "sourceIPs":["203.0.113.50"],"userAgent":"kubectl/v1.29.2","objectRef":{"resource":"secrets","namespace":"prod","apiVersion":"v1"},
//	 "responseStatus":{"metadata":{},"status":"Failure","reason":"Forbidden","code":403},
//	 "requestReceivedTimestamp":"2024-03-01T12:00:01.000001Z","stageTimestamp":"2024-03-01T12:00:01.001534Z",
//	 "annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}
//
// Strings are unescaped; bytes that are not UTF-8 are kept as they are
// (encoding/json would make U+FFFD of them). Keys are matched exactly, as the API server writes them and as
// Kubernetes reads them (sigs.k8s.io/json), not regardless of case as
// encoding/json matches them. The fields of Audit are read; the others (requestObject and
// responseObject, the bodies a RequestResponse level logs, user.extra,
// the other annotations) are checked to be well-formed JSON and skipped.
// A field missing is left zero; an event without auditID, or of another
// kind, is refused.
//
// A line that does not fit returns the zero Audit and a *ParseError: for
// JSON that is not well formed, Field "line" and the byte offset at which
// encoding/json finds the error; for a field of the wrong type, its path
// ("objectRef.name", "responseStatus.code"). ParseK8sAudit never panics.
// It is safe for concurrent use; a goroutine that parses many lines can
// keep an AuditParser instead. It makes one allocation per event that
// names groups or source addresses (their slice), and a block of copies
// now and then (2 KiB last some 20 events of testdata/audit.jsonl; a
// copy over 512 bytes is allocated alone).
//
// It uses github.com/valyala/fastjson, which reads these events about
// four times as fast as encoding/json into a struct (see
// BenchmarkK8sAudit and BenchmarkK8sAuditEncodingJSON), and takes about
// twice the time of fastjson's parse alone (BenchmarkK8sAuditFastjson).
// Libraries that skip what they are not asked for did not do better on
// these lines: github.com/tidwall/gjson's ForEach over the same fields
// took as long without checking the JSON, and half as long again with
// gjson.Valid; github.com/buger/jsonparser's EachKey took twice as long.
func ParseK8sAudit(line string) (Audit, error) {
	p, _ := auditParsers.Get().(*AuditParser)
	if p == nil {
		p = new(AuditParser)
	}
	a, err := p.Parse(line)
	if len(line) > 1<<20 { // do not keep a huge line's buffer in the pool
		p = new(AuditParser)
	}
	auditParsers.Put(p)
	return a, err
}

// auditParsers holds AuditParsers for ParseK8sAudit to reuse.
var auditParsers sync.Pool

// An AuditParser reads audit events as ParseK8sAudit does, keeping its
// buffers from line to line: a caller that parses many lines on one
// goroutine saves ParseK8sAudit's trip through a pool. Its zero value is
// ready to use. An AuditParser is not safe for concurrent use; the events
// it returns stay valid after the next Parse.
//
// It keeps the memory of the longest line it has read. The copies its
// events need (strings with escapes, strings of lines over 4 KiB) are cut
// from blocks of 2 KiB it allocates as they fill, written once
// and never again, so that most events allocate no string: an event may
// keep its block, and so the copies of some of its neighbours (bytes, no
// pointers), alive. The slice of an event's groups and source addresses
// is its own, so that it keeps no other event's strings alive.
type AuditParser struct {
	p     fastjson.Parser
	bytes []byte // the free end of the current block of copies
}

// auditBlock is the size of the blocks an AuditParser cuts its events'
// copies from. A copy over a quarter of a block is allocated alone, so
// that a block is not dropped half used.
const auditBlock = 2 << 10

// Parse reads one audit event, as ParseK8sAudit does.
func (p *AuditParser) Parse(line string) (Audit, error) {
	var a Audit
	if err := p.parse(&a, line); err != nil {
		return Audit{}, err
	}
	return a, nil
}

// copyOf is b copied into the block of copies.
func (p *AuditParser) copyOf(b []byte) string {
	if len(b) > len(p.bytes) {
		if len(b) > auditBlock/4 {
			return string(b)
		}
		p.bytes = make([]byte, auditBlock)
	}
	n := copy(p.bytes, b)
	s := unsafe.String(unsafe.SliceData(p.bytes), n)
	p.bytes = p.bytes[n:]
	return s
}

func auditErr(field, reason string) error {
	return &ParseError{Format: "audit event", Field: field, Pos: -1, Reason: reason}
}

// An auditReader turns fastjson's strings, which live in its parser's
// buffer (overwritten by the next line), into an event's strings: a
// constant (see auditConst), a substring of the line, or a copy.
type auditReader struct {
	p *AuditParser
	// line is the line when its substrings may be kept (see auditAliasMax);
	// kp is where fastjson's copy of its first key starts, keyOff where the
	// key starts in line: a slice of fastjson's buffer at kp+d is at
	// line[keyOff+d], when fastjson's copy is of the line as it is.
	line   string
	kp     uintptr
	keyOff int
	// The lists of groups and source addresses (at most one per field),
	// and their number of strings.
	lists [3]auditList
	nl    int
	items int
}

// The string fields of an Audit, for auditConst to pick its constants by.
const (
	fLevel uint8 = iota
	fAuditID
	fStage
	fRequestURI
	fVerb
	fUsername
	fUID
	fImpUsername
	fImpUID
	fUserAgent
	fResource
	fSubresource
	fNamespace
	fName
	fObjectUID
	fAPIGroup
	fAPIVersion
	fResourceVersion
	fStatus
	fStatusReason
	fStatusMessage
	fDecision
	fReason
)

// add sets *dst to the string v, the field id of the event; a null leaves
// it as it is.
func (r *auditReader) add(dst *string, id uint8, v *fastjson.Value, field string) error {
	// Type first: fastjson's errors are made by fmt.Errorf.
	switch v.Type() {
	case fastjson.TypeString:
	case fastjson.TypeNull:
		return nil
	default:
		return auditErr(field, "want a string, got "+v.Type().String())
	}
	b, _ := v.StringBytes()
	if c := auditConst(id, b); c != "" {
		*dst = c
		return nil
	}
	*dst = r.text(b)
	return nil
}

// text is b as a string of the event: a substring of the line if the line
// holds these bytes there, else a copy.
func (r *auditReader) text(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if r.kp != 0 {
		off := int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))-r.kp) + r.keyOff
		// Compared, not assumed: a string unescaped (in place, shorter) is
		// not its bytes in the line.
		if off >= 0 && off <= len(r.line)-len(b) {
			if l := r.line[off : off+len(b)]; l == unsafeString(b) {
				return l
			}
		}
	}
	return r.p.copyOf(b)
}

// addList has the list dst (lGroups...) set to the array of strings v once
// the line is read, when all the event's lists go into one slice; null
// leaves it as it is, [] makes it nil.
func (r *auditReader) addList(dst uint8, v *fastjson.Value, field string) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	items, err := v.Array()
	if err != nil {
		return auditErr(field, "want an array of strings, got "+v.Type().String())
	}
	for _, it := range items {
		if it.Type() != fastjson.TypeString {
			return auditErr(field, "want an array of strings, got an element of type "+it.Type().String())
		}
	}
	i := 0
	for i < r.nl && r.lists[i].dst != dst { // a key given twice: the last one is kept
		i++
	}
	if i == r.nl {
		r.nl++
	} else {
		r.items -= len(r.lists[i].items)
	}
	r.lists[i] = auditList{dst, items}
	r.items += len(items)
	return nil
}

// An auditList is an array of strings of the line, for the list dst. Lists
// are named by number, not by pointer, so that the event need not escape
// to the heap.
type auditList struct {
	dst   uint8
	items []*fastjson.Value
}

// The lists of an Audit.
const (
	lGroups uint8 = iota
	lImpGroups
	lSourceIPs
)

func (a *Audit) setList(id uint8, v []string) {
	switch id {
	case lGroups:
		a.User.Groups = v
	case lImpGroups:
		a.ImpersonatedUser.Groups = v
	case lSourceIPs:
		a.SourceIPs = v
	}
}

// setLists sets the event's lists, all in one slice.
func (r *auditReader) setLists(a *Audit) {
	var all []string
	if r.items > 0 {
		all = make([]string, r.items)
	}
	for _, l := range r.lists[:r.nl] {
		if len(l.items) == 0 {
			a.setList(l.dst, nil)
			continue
		}
		n := len(l.items)
		dst := all[:n:n]
		all = all[n:]
		for i, it := range l.items {
			b, _ := it.StringBytes()
			if l.dst != lSourceIPs {
				if c := auditGroup(b); c != "" {
					dst[i] = c
					continue
				}
			}
			dst[i] = r.text(b)
		}
		a.setList(l.dst, dst)
	}
}

func (p *AuditParser) parse(a *Audit, line string) error {
	v, err := p.p.Parse(line)
	if err != nil {
		return auditSyntaxErr(line, err)
	}
	o, err := v.Object()
	if err != nil {
		return auditErr("line", "want a JSON object, got "+v.Type().String())
	}
	r := auditReader{p: p}
	if len(line) <= auditAliasMax {
		r.line, r.keyOff = line, strings.IndexByte(line, '"')+1
	}
	var ferr error
	var kind, apiVersion []byte
	var received, stage []byte
	o.Visit(func(k []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		if r.kp == 0 && r.line != "" { // the first key
			r.kp = uintptr(unsafe.Pointer(unsafe.SliceData(k)))
		}
		switch string(k) {
		case "kind":
			kind, _ = v.StringBytes()
		case "apiVersion":
			apiVersion, _ = v.StringBytes()
		case "level":
			ferr = r.add(&a.Level, fLevel, v, "level")
		case "auditID":
			ferr = r.add(&a.AuditID, fAuditID, v, "auditID")
		case "stage":
			ferr = r.add(&a.Stage, fStage, v, "stage")
		case "requestURI":
			ferr = r.add(&a.RequestURI, fRequestURI, v, "requestURI")
		case "verb":
			ferr = r.add(&a.Verb, fVerb, v, "verb")
		case "user":
			ferr = auditUser(&r, &a.User, v, &userFields)
		case "impersonatedUser":
			ferr = auditUser(&r, &a.ImpersonatedUser, v, &impersonatedFields)
		case "sourceIPs":
			ferr = r.addList(lSourceIPs, v, "sourceIPs")
		case "userAgent":
			ferr = r.add(&a.UserAgent, fUserAgent, v, "userAgent")
		case "objectRef":
			ferr = auditObjectRef(&r, &a.ObjectRef, v)
		case "responseStatus":
			ferr = auditStatus(&r, &a.ResponseStatus, v)
		case "requestReceivedTimestamp":
			received, ferr = auditTimeBytes(v, "requestReceivedTimestamp")
		case "stageTimestamp":
			stage, ferr = auditTimeBytes(v, "stageTimestamp")
		case "annotations":
			ferr = auditAnnotations(&r, a, v)
		}
	})
	if ferr != nil {
		return ferr
	}
	if kind != nil && string(kind) != "Event" {
		return auditErr("kind", "want Event, got "+quote(string(kind)))
	}
	if apiVersion != nil && !strings.HasPrefix(string(apiVersion), "audit.k8s.io/") {
		return auditErr("apiVersion", "want audit.k8s.io/v1, got "+quote(string(apiVersion)))
	}
	if a.AuditID == "" {
		return auditErr("auditID", "missing or empty: not an audit event")
	}
	if a.RequestReceived, err = auditTime(received, "requestReceivedTimestamp"); err != nil {
		return err
	}
	if a.StageTime, err = auditTime(stage, "stageTimestamp"); err != nil {
		return err
	}
	r.setLists(a)
	return nil
}

// auditAliasMax is the longest line whose event may hold substrings of
// it: an event of a longer line (with request and response bodies) gets
// copies, so that it does not keep the bodies alive.
const auditAliasMax = 4 << 10

// unsafeString is b as a string without a copy, for a call that does not
// keep it (b is in fastjson's buffer, which outlives the call).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// auditSyntaxErr reports JSON that fastjson refused, with the offset
// encoding/json finds the error at (the error path only: it reads the
// line once more).
func auditSyntaxErr(line string, ferr error) error {
	pe := &ParseError{Format: "audit event", Field: "line", Pos: -1, Err: ferr}
	var raw json.RawMessage
	err := json.Unmarshal([]byte(line), &raw)
	if se, ok := err.(*json.SyntaxError); ok {
		pe.Pos = int(se.Offset)
		pe.Reason = "not well-formed JSON: " + se.Error()
		if pe.Pos > 0 {
			pe.Pos-- // encoding/json's offset is past the byte it refused
		}
		return pe
	}
	msg := ferr.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	pe.Reason = "not well-formed JSON: " + msg
	return pe
}

// The names of a user's fields in errors (made once: a concatenation per
// line would allocate), and their constants' fields.
type userFieldNames struct {
	user, username, uid, groups string
	usernameID, uidID, groupsID uint8
}

var (
	userFields         = userFieldNames{"user", "user.username", "user.uid", "user.groups", fUsername, fUID, lGroups}
	impersonatedFields = userFieldNames{"impersonatedUser", "impersonatedUser.username", "impersonatedUser.uid", "impersonatedUser.groups",
		fImpUsername, fImpUID, lImpGroups}
)

func auditUser(r *auditReader, u *AuditUser, v *fastjson.Value, names *userFieldNames) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return auditErr(names.user, "want an object, got "+v.Type().String())
	}
	var ferr error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		switch string(k) {
		case "username":
			ferr = r.add(&u.Username, names.usernameID, v, names.username)
		case "uid":
			ferr = r.add(&u.UID, names.uidID, v, names.uid)
		case "groups":
			ferr = r.addList(names.groupsID, v, names.groups)
		}
	})
	return ferr
}

func auditObjectRef(r *auditReader, ref *AuditObjectRef, v *fastjson.Value) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return auditErr("objectRef", "want an object, got "+v.Type().String())
	}
	var ferr error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		switch string(k) {
		case "resource":
			ferr = r.add(&ref.Resource, fResource, v, "objectRef.resource")
		case "subresource":
			ferr = r.add(&ref.Subresource, fSubresource, v, "objectRef.subresource")
		case "namespace":
			ferr = r.add(&ref.Namespace, fNamespace, v, "objectRef.namespace")
		case "name":
			ferr = r.add(&ref.Name, fName, v, "objectRef.name")
		case "uid":
			ferr = r.add(&ref.UID, fObjectUID, v, "objectRef.uid")
		case "apiGroup":
			ferr = r.add(&ref.APIGroup, fAPIGroup, v, "objectRef.apiGroup")
		case "apiVersion":
			ferr = r.add(&ref.APIVersion, fAPIVersion, v, "objectRef.apiVersion")
		case "resourceVersion":
			ferr = r.add(&ref.ResourceVersion, fResourceVersion, v, "objectRef.resourceVersion")
		}
	})
	return ferr
}

func auditStatus(r *auditReader, st *AuditStatus, v *fastjson.Value) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return auditErr("responseStatus", "want an object, got "+v.Type().String())
	}
	var ferr error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		switch string(k) {
		case "code":
			n, err := v.Int()
			if err != nil || n < 0 || n > 999 {
				ferr = auditErr("responseStatus.code", "want an HTTP status, got "+quote(v.String()))
				return
			}
			st.Code = n
		case "status":
			ferr = r.add(&st.Status, fStatus, v, "responseStatus.status")
		case "reason":
			ferr = r.add(&st.Reason, fStatusReason, v, "responseStatus.reason")
		case "message":
			ferr = r.add(&st.Message, fStatusMessage, v, "responseStatus.message")
		}
	})
	return ferr
}

func auditAnnotations(r *auditReader, a *Audit, v *fastjson.Value) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return auditErr("annotations", "want an object, got "+v.Type().String())
	}
	var ferr error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		switch string(k) {
		case "authorization.k8s.io/decision":
			ferr = r.add(&a.Decision, fDecision, v, "annotations.authorization.k8s.io/decision")
		case "authorization.k8s.io/reason":
			ferr = r.add(&a.Reason, fReason, v, "annotations.authorization.k8s.io/reason")
		}
	})
	return ferr
}

func auditTimeBytes(v *fastjson.Value, field string) ([]byte, error) {
	if v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	b, err := v.StringBytes()
	if err != nil {
		return nil, auditErr(field, "want a timestamp string, got "+v.Type().String())
	}
	return b, nil
}

// auditTime reads a MicroTime, "2024-03-01T12:00:01.000001Z".
func auditTime(b []byte, field string) (time.Time, error) {
	if b == nil {
		return time.Time{}, nil
	}
	s := unsafeString(b)
	t, n, why := rfc3339(s, false)
	if why == "" && n != len(s) {
		why = "want a timestamp alone, got " + quote(s)
	}
	if why != "" {
		return time.Time{}, auditErr(field, why)
	}
	return t, nil
}
