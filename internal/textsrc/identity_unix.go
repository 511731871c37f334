//go:build unix

package textsrc

import (
	"os"
	"syscall"
)

// identityOf is the device and inode of the file st describes.
func identityOf(st os.FileInfo) FileIdentity {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return FileIdentity{Dev: uint64(s.Dev), Ino: uint64(s.Ino), Known: true}
	}
	return FileIdentity{}
}
