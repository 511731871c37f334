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
// copied, all into one new string per event, so that the event holds none
// of the bodies. Strings with escapes are copies (unescaped), and the
// values events repeat (levels, stages, verbs, the resources and API
// groups of Kubernetes, the usual groups and namespaces, statuses,
// reasons and decisions) are constants. The groups and source addresses
// are in one new slice per event.
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
// keep an AuditParser instead. It makes at most two allocations per event:
// the slice of its groups and source addresses, if it names any, and the
// string of its copies, if it needs any (escapes, or a line over 4 KiB).
//
// It uses github.com/valyala/fastjson, which reads these events about
// four times as fast as encoding/json into a struct (see
// BenchmarkK8sAudit and BenchmarkK8sAuditEncodingJSON).
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
// it returns hold none of its memory, and stay valid after the next Parse.
// It keeps the memory of the longest line it has read.
type AuditParser struct {
	p fastjson.Parser
}

// Parse reads one audit event, as ParseK8sAudit does.
func (p *AuditParser) Parse(line string) (Audit, error) {
	var a Audit
	if err := parseAudit(&a, line, &p.p); err != nil {
		return Audit{}, err
	}
	return a, nil
}

func auditErr(field, reason string) error {
	return &ParseError{Format: "audit event", Field: field, Pos: -1, Reason: reason}
}

// auditStrings collects the strings of an event, to take them from the
// line or copy them all into one string at the end: fastjson's strings
// live in its parser's buffer, which the next line overwrites. Fields
// are named by number (f..., l...), not by pointer, so that the event
// need not escape to the heap.
//
// The values most events repeat (verbs, stages, levels, resources, the
// usual groups: see auditConst) are not copied: the event gets a constant.
type auditStrings struct {
	dst [32]uint8
	src [32][]byte
	// str is the string for src when known without a copy (known): a
	// constant, a substring of the line, or "".
	str   [32]string
	known [32]bool
	n     int
	size  int // the bytes to copy
	// line is the line when its substrings may be kept (see auditAliasMax);
	// kp is where fastjson's copy of its first key starts, keyOff where the
	// key starts in line: a slice of fastjson's buffer at kp+d is at
	// line[keyOff+d], when fastjson's copy is of the line as it is.
	line   string
	kp     uintptr
	keyOff int
	// The groups and source addresses: which list, and its values.
	lists   [3]uint8
	listSrc [3][]*fastjson.Value
	nl      int
	items   int
}

// The string fields of an Audit, and its lists.
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

	lGroups uint8 = iota
	lImpGroups
	lSourceIPs
)

func (a *Audit) setString(id uint8, v string) {
	switch id {
	case fLevel:
		a.Level = v
	case fAuditID:
		a.AuditID = v
	case fStage:
		a.Stage = v
	case fRequestURI:
		a.RequestURI = v
	case fVerb:
		a.Verb = v
	case fUsername:
		a.User.Username = v
	case fUID:
		a.User.UID = v
	case fImpUsername:
		a.ImpersonatedUser.Username = v
	case fImpUID:
		a.ImpersonatedUser.UID = v
	case fUserAgent:
		a.UserAgent = v
	case fResource:
		a.ObjectRef.Resource = v
	case fSubresource:
		a.ObjectRef.Subresource = v
	case fNamespace:
		a.ObjectRef.Namespace = v
	case fName:
		a.ObjectRef.Name = v
	case fObjectUID:
		a.ObjectRef.UID = v
	case fAPIGroup:
		a.ObjectRef.APIGroup = v
	case fAPIVersion:
		a.ObjectRef.APIVersion = v
	case fResourceVersion:
		a.ObjectRef.ResourceVersion = v
	case fStatus:
		a.ResponseStatus.Status = v
	case fStatusReason:
		a.ResponseStatus.Reason = v
	case fStatusMessage:
		a.ResponseStatus.Message = v
	case fDecision:
		a.Decision = v
	case fReason:
		a.Reason = v
	}
}

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

func (s *auditStrings) add(dst uint8, v *fastjson.Value, field string) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	b, err := v.StringBytes()
	if err != nil {
		return auditErr(field, "want a string, got "+v.Type().String())
	}
	if s.n == len(s.dst) {
		return nil // a field given over and over (duplicate keys): the first ones are kept
	}
	s.dst[s.n], s.src[s.n] = dst, b
	if s.str[s.n], s.known[s.n] = s.resolve(b, auditConst(dst, b)); !s.known[s.n] {
		s.size += len(b)
	}
	s.n++
	return nil
}

// resolve is the string for b without a copy, if there is one: c (its
// constant, when not ""), "", or the same bytes in the line.
func (s *auditStrings) resolve(b []byte, c string) (string, bool) {
	switch {
	case c != "":
		return c, true
	case len(b) == 0:
		return "", true
	case s.kp == 0:
		return "", false
	}
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))-s.kp) + s.keyOff
	if off < 0 || off > len(s.line)-len(b) {
		return "", false
	}
	// Compared, not assumed: a string unescaped (in place, shorter) is
	// not its bytes in the line.
	if l := s.line[off : off+len(b)]; l == unsafeString(b) {
		return l, true
	}
	return "", false
}

func (s *auditStrings) addList(dst uint8, v *fastjson.Value, field string) error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	items, err := v.Array()
	if err != nil {
		return auditErr(field, "want an array of strings, got "+v.Type().String())
	}
	for _, it := range items {
		b, err := it.StringBytes()
		if err != nil {
			return auditErr(field, "want an array of strings, got an element of type "+it.Type().String())
		}
		if _, ok := s.resolve(b, auditGroup(b)); !ok {
			s.size += len(b)
		}
	}
	if s.nl == len(s.lists) {
		return nil
	}
	s.lists[s.nl], s.listSrc[s.nl] = dst, items
	s.nl++
	s.items += len(items)
	return nil
}

// copy makes the one string and the one slice of the event.
func (s *auditStrings) copy(a *Audit) {
	var b strings.Builder
	b.Grow(s.size)
	for i := range s.n {
		if !s.known[i] {
			b.Write(s.src[i])
		}
	}
	for l := range s.nl {
		for _, it := range s.listSrc[l] {
			sb, _ := it.StringBytes()
			if _, ok := s.resolve(sb, auditGroup(sb)); !ok {
				b.Write(sb)
			}
		}
	}
	all := b.String()
	start := 0
	for i := range s.n {
		if s.known[i] {
			a.setString(s.dst[i], s.str[i])
			continue
		}
		a.setString(s.dst[i], all[start:start+len(s.src[i])])
		start += len(s.src[i])
	}
	if s.items == 0 {
		return
	}
	list := make([]string, s.items)
	k := 0
	for l := range s.nl {
		items := s.listSrc[l]
		for j, it := range items {
			sb, _ := it.StringBytes()
			if str, ok := s.resolve(sb, auditGroup(sb)); ok {
				list[k+j] = str
				continue
			}
			list[k+j] = all[start : start+len(sb)]
			start += len(sb)
		}
		a.setList(s.lists[l], list[k:k+len(items):k+len(items)])
		k += len(items)
	}
}

func parseAudit(a *Audit, line string, p *fastjson.Parser) error {
	v, err := p.Parse(line)
	if err != nil {
		return auditSyntaxErr(line, err)
	}
	o, err := v.Object()
	if err != nil {
		return auditErr("line", "want a JSON object, got "+v.Type().String())
	}
	var s auditStrings
	if len(line) <= auditAliasMax {
		s.line, s.keyOff = line, strings.IndexByte(line, '"')+1
	}
	var ferr error
	var kind, apiVersion []byte
	var received, stage []byte
	o.Visit(func(k []byte, v *fastjson.Value) {
		if ferr != nil {
			return
		}
		if s.kp == 0 && s.line != "" { // the first key
			s.kp = uintptr(unsafe.Pointer(unsafe.SliceData(k)))
		}
		switch string(k) {
		case "kind":
			kind, _ = v.StringBytes()
		case "apiVersion":
			apiVersion, _ = v.StringBytes()
		case "level":
			ferr = s.add(fLevel, v, "level")
		case "auditID":
			ferr = s.add(fAuditID, v, "auditID")
		case "stage":
			ferr = s.add(fStage, v, "stage")
		case "requestURI":
			ferr = s.add(fRequestURI, v, "requestURI")
		case "verb":
			ferr = s.add(fVerb, v, "verb")
		case "user":
			ferr = auditUser(&s, v, &userFields)
		case "impersonatedUser":
			ferr = auditUser(&s, v, &impersonatedFields)
		case "sourceIPs":
			ferr = s.addList(lSourceIPs, v, "sourceIPs")
		case "userAgent":
			ferr = s.add(fUserAgent, v, "userAgent")
		case "objectRef":
			ferr = auditObjectRef(&s, v)
		case "responseStatus":
			ferr = auditStatus(&s, &a.ResponseStatus, v)
		case "requestReceivedTimestamp":
			received, ferr = auditTimeBytes(v, "requestReceivedTimestamp")
		case "stageTimestamp":
			stage, ferr = auditTimeBytes(v, "stageTimestamp")
		case "annotations":
			ferr = auditAnnotations(&s, v)
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
	if !hasField(&s, fAuditID) {
		return auditErr("auditID", "missing or empty: not an audit event")
	}
	if a.RequestReceived, err = auditTime(received, "requestReceivedTimestamp"); err != nil {
		return err
	}
	if a.StageTime, err = auditTime(stage, "stageTimestamp"); err != nil {
		return err
	}
	s.copy(a)
	return nil
}

// auditAliasMax is the longest line whose event may hold substrings of
// it: an event of a longer line (with request and response bodies) gets
// copies, so that it does not keep the bodies alive.
const auditAliasMax = 4 << 10

// hasField reports whether the event gave a non-empty string for dst.
func hasField(s *auditStrings, dst uint8) bool {
	for i := range s.n {
		if s.dst[i] == dst && len(s.src[i]) > 0 {
			return true
		}
	}
	return false
}

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
// line would allocate).
type userFieldNames struct {
	user, username, uid, groups string
	usernameID, uidID, groupsID uint8
}

var (
	userFields         = userFieldNames{"user", "user.username", "user.uid", "user.groups", fUsername, fUID, lGroups}
	impersonatedFields = userFieldNames{"impersonatedUser", "impersonatedUser.username", "impersonatedUser.uid", "impersonatedUser.groups",
		fImpUsername, fImpUID, lImpGroups}
)

func auditUser(s *auditStrings, v *fastjson.Value, names *userFieldNames) error {
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
			ferr = s.add(names.usernameID, v, names.username)
		case "uid":
			ferr = s.add(names.uidID, v, names.uid)
		case "groups":
			ferr = s.addList(names.groupsID, v, names.groups)
		}
	})
	return ferr
}

func auditObjectRef(s *auditStrings, v *fastjson.Value) error {
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
			ferr = s.add(fResource, v, "objectRef.resource")
		case "subresource":
			ferr = s.add(fSubresource, v, "objectRef.subresource")
		case "namespace":
			ferr = s.add(fNamespace, v, "objectRef.namespace")
		case "name":
			ferr = s.add(fName, v, "objectRef.name")
		case "uid":
			ferr = s.add(fObjectUID, v, "objectRef.uid")
		case "apiGroup":
			ferr = s.add(fAPIGroup, v, "objectRef.apiGroup")
		case "apiVersion":
			ferr = s.add(fAPIVersion, v, "objectRef.apiVersion")
		case "resourceVersion":
			ferr = s.add(fResourceVersion, v, "objectRef.resourceVersion")
		}
	})
	return ferr
}

func auditStatus(s *auditStrings, st *AuditStatus, v *fastjson.Value) error {
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
			ferr = s.add(fStatus, v, "responseStatus.status")
		case "reason":
			ferr = s.add(fStatusReason, v, "responseStatus.reason")
		case "message":
			ferr = s.add(fStatusMessage, v, "responseStatus.message")
		}
	})
	return ferr
}

func auditAnnotations(s *auditStrings, v *fastjson.Value) error {
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
			ferr = s.add(fDecision, v, "annotations.authorization.k8s.io/decision")
		case "authorization.k8s.io/reason":
			ferr = s.add(fReason, v, "annotations.authorization.k8s.io/reason")
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
