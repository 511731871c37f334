//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package listen

import (
	"fmt"
	"runtime"

	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/stream"
)

// open fails: the listeners wait on all their sockets at once with
// poll(2), which this system lacks.
func open(name, tcpNet, udpNet, addr string, syslog bool, cfg *config) (stream.SourceReader[logs.Line], error) {
	return nil, fmt.Errorf("braid: %s: the listening sources are not available on %s (they need poll(2))", name, runtime.GOOS)
}
