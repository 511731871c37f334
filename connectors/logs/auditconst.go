package logs

// The values audit events repeat, which an Audit gets as constants rather
// than copies (a switch on a string compiles to comparisons, no map): the
// levels, stages and verbs the API server writes, the resources,
// subresources and API groups of Kubernetes itself, the usual namespaces,
// statuses, reasons, decisions and groups. Anything else is copied.

// auditConst is the constant equal to b for the field dst, or "".
func auditConst(dst uint8, b []byte) string {
	switch dst {
	case fLevel:
		switch string(b) {
		case "None":
			return "None"
		case "Metadata":
			return "Metadata"
		case "Request":
			return "Request"
		case "RequestResponse":
			return "RequestResponse"
		}
	case fStage:
		switch string(b) {
		case "RequestReceived":
			return "RequestReceived"
		case "ResponseStarted":
			return "ResponseStarted"
		case "ResponseComplete":
			return "ResponseComplete"
		case "Panic":
			return "Panic"
		}
	case fVerb:
		switch string(b) {
		case "get":
			return "get"
		case "list":
			return "list"
		case "watch":
			return "watch"
		case "create":
			return "create"
		case "update":
			return "update"
		case "patch":
			return "patch"
		case "delete":
			return "delete"
		case "deletecollection":
			return "deletecollection"
		case "proxy":
			return "proxy"
		case "post":
			return "post"
		case "put":
			return "put"
		case "head":
			return "head"
		case "options":
			return "options"
		}
	case fResource:
		return auditResource(b)
	case fSubresource:
		switch string(b) {
		case "exec":
			return "exec"
		case "log":
			return "log"
		case "status":
			return "status"
		case "attach":
			return "attach"
		case "portforward":
			return "portforward"
		case "proxy":
			return "proxy"
		case "scale":
			return "scale"
		case "binding":
			return "binding"
		case "eviction":
			return "eviction"
		case "token":
			return "token"
		case "finalize":
			return "finalize"
		case "approval":
			return "approval"
		case "ephemeralcontainers":
			return "ephemeralcontainers"
		}
	case fNamespace:
		switch string(b) {
		case "default":
			return "default"
		case "kube-system":
			return "kube-system"
		case "kube-public":
			return "kube-public"
		case "kube-node-lease":
			return "kube-node-lease"
		}
	case fAPIGroup:
		return auditAPIGroup(b)
	case fAPIVersion:
		switch string(b) {
		case "v1":
			return "v1"
		case "v1beta1":
			return "v1beta1"
		case "v1beta2":
			return "v1beta2"
		case "v1alpha1":
			return "v1alpha1"
		case "v2":
			return "v2"
		}
	case fStatus:
		switch string(b) {
		case "Success":
			return "Success"
		case "Failure":
			return "Failure"
		}
	case fStatusReason:
		switch string(b) {
		case "Forbidden":
			return "Forbidden"
		case "NotFound":
			return "NotFound"
		case "AlreadyExists":
			return "AlreadyExists"
		case "Conflict":
			return "Conflict"
		case "Unauthorized":
			return "Unauthorized"
		case "Invalid":
			return "Invalid"
		case "BadRequest":
			return "BadRequest"
		case "MethodNotAllowed":
			return "MethodNotAllowed"
		case "Timeout":
			return "Timeout"
		case "TooManyRequests":
			return "TooManyRequests"
		case "InternalError":
			return "InternalError"
		case "Expired":
			return "Expired"
		case "ServiceUnavailable":
			return "ServiceUnavailable"
		case "Gone":
			return "Gone"
		}
	case fDecision:
		switch string(b) {
		case "allow":
			return "allow"
		case "forbid":
			return "forbid"
		}
	}
	return ""
}

func auditResource(b []byte) string {
	switch string(b) {
	case "pods":
		return "pods"
	case "secrets":
		return "secrets"
	case "configmaps":
		return "configmaps"
	case "services":
		return "services"
	case "endpoints":
		return "endpoints"
	case "endpointslices":
		return "endpointslices"
	case "nodes":
		return "nodes"
	case "namespaces":
		return "namespaces"
	case "events":
		return "events"
	case "serviceaccounts":
		return "serviceaccounts"
	case "persistentvolumes":
		return "persistentvolumes"
	case "persistentvolumeclaims":
		return "persistentvolumeclaims"
	case "deployments":
		return "deployments"
	case "replicasets":
		return "replicasets"
	case "statefulsets":
		return "statefulsets"
	case "daemonsets":
		return "daemonsets"
	case "controllerrevisions":
		return "controllerrevisions"
	case "jobs":
		return "jobs"
	case "cronjobs":
		return "cronjobs"
	case "roles":
		return "roles"
	case "rolebindings":
		return "rolebindings"
	case "clusterroles":
		return "clusterroles"
	case "clusterrolebindings":
		return "clusterrolebindings"
	case "leases":
		return "leases"
	case "ingresses":
		return "ingresses"
	case "networkpolicies":
		return "networkpolicies"
	case "customresourcedefinitions":
		return "customresourcedefinitions"
	case "tokenreviews":
		return "tokenreviews"
	case "subjectaccessreviews":
		return "subjectaccessreviews"
	case "selfsubjectaccessreviews":
		return "selfsubjectaccessreviews"
	case "selfsubjectrulesreviews":
		return "selfsubjectrulesreviews"
	case "horizontalpodautoscalers":
		return "horizontalpodautoscalers"
	case "poddisruptionbudgets":
		return "poddisruptionbudgets"
	case "storageclasses":
		return "storageclasses"
	case "certificatesigningrequests":
		return "certificatesigningrequests"
	case "validatingwebhookconfigurations":
		return "validatingwebhookconfigurations"
	case "mutatingwebhookconfigurations":
		return "mutatingwebhookconfigurations"
	case "apiservices":
		return "apiservices"
	case "limitranges":
		return "limitranges"
	case "resourcequotas":
		return "resourcequotas"
	case "priorityclasses":
		return "priorityclasses"
	case "flowschemas":
		return "flowschemas"
	case "prioritylevelconfigurations":
		return "prioritylevelconfigurations"
	}
	return ""
}

func auditAPIGroup(b []byte) string {
	switch string(b) {
	case "apps":
		return "apps"
	case "batch":
		return "batch"
	case "policy":
		return "policy"
	case "autoscaling":
		return "autoscaling"
	case "rbac.authorization.k8s.io":
		return "rbac.authorization.k8s.io"
	case "authorization.k8s.io":
		return "authorization.k8s.io"
	case "authentication.k8s.io":
		return "authentication.k8s.io"
	case "networking.k8s.io":
		return "networking.k8s.io"
	case "coordination.k8s.io":
		return "coordination.k8s.io"
	case "discovery.k8s.io":
		return "discovery.k8s.io"
	case "storage.k8s.io":
		return "storage.k8s.io"
	case "apiextensions.k8s.io":
		return "apiextensions.k8s.io"
	case "apiregistration.k8s.io":
		return "apiregistration.k8s.io"
	case "admissionregistration.k8s.io":
		return "admissionregistration.k8s.io"
	case "certificates.k8s.io":
		return "certificates.k8s.io"
	case "events.k8s.io":
		return "events.k8s.io"
	case "scheduling.k8s.io":
		return "scheduling.k8s.io"
	case "node.k8s.io":
		return "node.k8s.io"
	case "flowcontrol.apiserver.k8s.io":
		return "flowcontrol.apiserver.k8s.io"
	}
	return ""
}

// auditGroup is the constant for a user's group, or "".
func auditGroup(b []byte) string {
	switch string(b) {
	case "system:authenticated":
		return "system:authenticated"
	case "system:unauthenticated":
		return "system:unauthenticated"
	case "system:masters":
		return "system:masters"
	case "system:nodes":
		return "system:nodes"
	case "system:serviceaccounts":
		return "system:serviceaccounts"
	case "system:serviceaccounts:kube-system":
		return "system:serviceaccounts:kube-system"
	case "system:bootstrappers":
		return "system:bootstrappers"
	case "system:monitoring":
		return "system:monitoring"
	}
	return ""
}
